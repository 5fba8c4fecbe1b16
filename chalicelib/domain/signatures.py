"""Webhook signatures: Twilio's ``X-Twilio-Signature`` and the generic vendor ``X-Signature`` header.

Every comparison is constant-time (``hmac.compare_digest``). Nothing here logs or returns a secret or a
signature; a rejection carries only a short reason.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping, Sequence
from urllib.parse import urlsplit

from chalicelib.domain.errors import Forbidden

MISSING = "missing"
MALFORMED = "malformed"
STALE = "stale"
MISMATCH = "mismatch"

DEFAULT_TOLERANCE_SECONDS = 300
MAX_HEADER_CHARS = 2048
MAX_SIGNATURES = 8

_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_HEX_SHA256 = re.compile(r"[0-9a-fA-F]{64}")


class SignatureRejected(Forbidden):
    """A webhook whose signature is missing, unreadable, too old or wrong. The API answers 403."""

    code = "SIGNATURE_INVALID"

    def __init__(self, reason: str):
        super().__init__("The request signature could not be verified.")
        self.reason = reason  # one of MISSING, MALFORMED, STALE, MISMATCH: safe to log


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("utf-8", "surrogatepass"), b.encode("utf-8", "surrogatepass"))


# -- Twilio ----------------------------------------------------------------------------------------

def twilio_signature(auth_token: str, url: str, params: Iterable[tuple[str, str]] | Mapping[str, str]) -> str:
    """Twilio's request signature: the full URL, then each POST parameter as name + value, sorted by name
    (and by value for a repeated name), HMAC-SHA1 keyed with the auth token, base64.

    Parse the form body with ``keep_blank_values=True``: Twilio signs empty parameters too. Like Twilio's
    own ``RequestValidator``, a name=value pair repeated verbatim counts once.
    """
    pairs = params.items() if isinstance(params, Mapping) else params
    data = url + "".join(name + value for name, value in sorted(set(pairs)))
    digest = hmac.new(auth_token.encode("utf-8"), data.encode("utf-8", "surrogatepass"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def _with_and_without_port(url: str) -> list[str]:
    """The URL as given, without its port and with the scheme's default port: Twilio signs some requests
    with an explicit port and some without, so its RequestValidator accepts either."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return [url]
    host = parts.netloc.rsplit(":", 1)[0] if port is not None else parts.netloc
    default_port = 443 if parts.scheme == "https" else 80
    variants = [url, parts._replace(netloc=host).geturl()]
    if port is None:
        variants.append(parts._replace(netloc=f"{host}:{default_port}").geturl())
    return list(dict.fromkeys(variants))


def twilio_signature_valid(auth_token: str, url: str, params: Iterable[tuple[str, str]] | Mapping[str, str],
                           signature: str | None) -> bool:
    """Whether ``signature`` (the ``X-Twilio-Signature`` header) signs this URL and these parameters."""
    if not signature or not auth_token:
        return False
    pairs = list(params.items() if isinstance(params, Mapping) else params)
    matched = False
    for candidate in _with_and_without_port(url):
        matched |= _same(twilio_signature(auth_token, candidate, pairs), signature.strip())
    return matched


# -- generic vendor webhooks -----------------------------------------------------------------------

def _expected(secret: str, timestamp: str, body: bytes) -> str:
    return hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256).hexdigest()


def sign_webhook(secret: str, timestamp: int, body: bytes) -> str:
    """The ``X-Signature`` header value: ``t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">``."""
    if isinstance(timestamp, bool) or not isinstance(timestamp, int) or timestamp < 0:
        raise ValueError("timestamp must be non-negative unix seconds")
    t = str(timestamp)
    return f"t={t},v1={_expected(secret, t, body)}"


def _parse(header: str | None) -> tuple[str, list[str]]:
    """The timestamp and the v1 signatures of a header; SignatureRejected for anything else."""
    if header is None or (isinstance(header, str) and not header.strip()):
        raise SignatureRejected(MISSING)
    if not isinstance(header, str) or len(header) > MAX_HEADER_CHARS:
        raise SignatureRejected(MALFORMED)
    timestamp: str | None = None
    signatures: list[str] = []
    for part in header.split(","):
        name, separator, value = part.partition("=")
        name, value = name.strip(), value.strip()
        if not separator or not name:
            raise SignatureRejected(MALFORMED)
        if name == "t":
            if timestamp is not None or not _TIMESTAMP.fullmatch(value):
                raise SignatureRejected(MALFORMED)
            timestamp = value
        elif name == "v1":
            if not _HEX_SHA256.fullmatch(value):
                raise SignatureRejected(MALFORMED)
            signatures.append(value.lower())
        # other schemes (v0, v2 …) are skipped, so a vendor can add one before we read it
    if timestamp is None or not signatures or len(signatures) > MAX_SIGNATURES:
        raise SignatureRejected(MALFORMED)
    return timestamp, signatures


def signed_at(header: str | None) -> int:
    """The unix time a signature header says its body was signed at (``t=``); SignatureRejected when
    the header is unreadable. A replay of a signed request carries the same time."""
    return int(_parse(header)[0])


def verify_webhook(header: str | None, body: bytes, secrets: Sequence[tuple[str, str]], now: int,
                   tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS) -> str:
    """The vendor whose secret signed ``body``, from ``(vendor_id, secret)`` pairs.

    A vendor may be listed with two secrets while it rotates; any listed secret verifies, and any of
    several ``v1=`` entries may match. Raises SignatureRejected with reason missing, malformed, stale
    (more than ``tolerance_seconds`` from ``now``, either way) or mismatch.
    """
    timestamp, signatures = _parse(header)
    if abs(now - int(timestamp)) > tolerance_seconds:
        raise SignatureRejected(STALE)
    vendor: str | None = None
    for vendor_id, secret in secrets:
        if not secret:
            continue  # an empty secret would let anyone sign
        expected = _expected(secret, timestamp, body or b"")
        matched = False
        for signature in signatures:
            matched |= hmac.compare_digest(expected, signature)
        if matched and vendor is None:
            vendor = vendor_id
    if vendor is None:
        raise SignatureRejected(MISMATCH)
    return vendor
