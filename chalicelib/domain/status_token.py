"""Signed, expiring links to a claim's status page: ``/claims/{claim_id}?t=<token>``.

A token is ``<expiry, unix seconds, base 36>.<language: z or e>.<signature>``, the signature being
the first 16 bytes of HMAC-SHA256(secret, "<claim_id>|<expiry>|<language>") in unpadded base64url.
It proves that whoever holds it was given it for this claim; it carries no personal data, and only
letters, digits, '-', '_' and '.', so it sits in a URL as it is. Anything wrong with a token (forged,
for another claim, expired, garbled) reads as "no such claim", so a guess learns nothing.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass

_LANGUAGE_CODES = {"zh-CN": "z", "en": "e"}
_LANGUAGES = {code: language for language, code in _LANGUAGE_CODES.items()}
_TOKEN = re.compile(r"([0-9a-z]{1,10})\.([ze])\.([A-Za-z0-9_\-]{22})")
MAX_TOKEN_CHARS = 40


@dataclass(frozen=True)
class StatusGrant:
    claim_id: str
    language: str
    expires_at: int


def _signature(secret: bytes, claim_id: str, expiry: str, language_code: str) -> str:
    digest = hmac.new(secret, f"{claim_id}|{expiry}|{language_code}".encode(), hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
        if number == 0:
            return out


def issue(secret: bytes, claim_id: str, language: str, expires_at: int) -> str:
    code = _LANGUAGE_CODES.get(language, "z")
    expiry = _base36(expires_at)
    return f"{expiry}.{code}.{_signature(secret, claim_id, expiry, code)}"


def verify(secret: bytes, claim_id: str, token: str | None, now: int) -> StatusGrant | None:
    """The grant, or None for a token that is missing, garbled, forged, for another claim or expired."""
    if not token or len(token) > MAX_TOKEN_CHARS:
        return None
    match = _TOKEN.fullmatch(token)
    if match is None:
        return None
    expiry, code, signature = match.groups()
    if not hmac.compare_digest(_signature(secret, claim_id, expiry, code), signature):
        return None
    expires_at = int(expiry, 36)
    if expires_at <= now:
        return None
    return StatusGrant(claim_id, _LANGUAGES[code], expires_at)
