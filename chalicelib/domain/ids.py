"""Claim ids: time-sortable (48-bit millisecond prefix) and unguessable (80 random bits).

Crockford base32, 26 characters, the ULID layout, prefixed with ``CLM-``.
"""
from __future__ import annotations

import secrets
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
PREFIX = "CLM-"
ATTACHMENT_PREFIX = "ATT-"
# The same rule as ``is_claim_id``, for regular expressions and the API's published schema.
CLAIM_ID_PATTERN = f"{PREFIX}[0-9A-HJKMNP-TV-Z]{{26}}"
ATTACHMENT_ID_PATTERN = f"{ATTACHMENT_PREFIX}[0-9A-HJKMNP-TV-Z]{{26}}"


def _b32(value: int, length: int) -> str:
    out = []
    for _ in range(length):
        value, rem = divmod(value, 32)
        out.append(_ALPHABET[rem])
    return "".join(reversed(out))


def new_claim_id(now_ms: int | None = None) -> str:
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    return PREFIX + _b32(ms, 10) + _b32(secrets.randbits(80), 16)


def is_claim_id(value: str) -> bool:
    if not value.startswith(PREFIX) or len(value) != len(PREFIX) + 26:
        return False
    return all(c in _ALPHABET for c in value[len(PREFIX):])



def new_attachment_id(now_ms: int | None = None) -> str:
    """Same layout as a claim id, prefix ``ATT-``."""
    return ATTACHMENT_PREFIX + new_claim_id(now_ms)[len(PREFIX):]
