"""Normalisers for the keys customers and partners identify themselves with.

Each returns the one canonical form stored and looked up, or None when the input cannot be one.
"""
from __future__ import annotations

import re
import unicodedata

DEFAULT_REGION = "CN"

_SEPARATORS = re.compile(r"[\s·•．.\-_]+")
_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼使领"
# Province, issuing-office letter, then 5 characters (7 in all) or 6 for new-energy plates (8 in all);
# the last character may be one of the special suffixes.
_PLATE = re.compile(rf"^[{_PROVINCES}][A-Z][A-HJ-NP-Z0-9]{{4,5}}[A-HJ-NP-Z0-9挂学警港澳]$")
_POLICY_NUMBER = re.compile(r"^[A-Z0-9][A-Z0-9/\-]{3,39}$")


def _fold(text: str) -> str:
    """Full-width to half-width, upper case, separators out."""
    return _SEPARATORS.sub("", unicodedata.normalize("NFKC", text)).upper()


def normalise_policy_number(value: str | None) -> str | None:
    if not value:
        return None
    folded = re.sub(r"\s+", "", unicodedata.normalize("NFKC", value)).upper()
    return folded if _POLICY_NUMBER.match(folded) else None


def normalise_plate(value: str | None) -> str | None:
    """``沪A·12345``, ``沪a 12345`` and ``沪A12345`` are one plate; new-energy plates have 8 characters."""
    if not value:
        return None
    folded = _fold(value)
    return folded if _PLATE.match(folded) else None


def normalise_phone(value: str | None, region: str = DEFAULT_REGION) -> str | None:
    """E.164, China by default: ``138 0013 8000``, ``+86 138-0013-8000``, ``8613800138000`` → ``+8613800138000``."""
    if not value:
        return None
    import phonenumbers  # deferred: its metadata costs ~60 ms of import on a cold start

    text = unicodedata.normalize("NFKC", value).strip()
    candidates = [text]
    digits = re.sub(r"\D", "", text)
    if not text.startswith("+") and digits.startswith("86") and len(digits) == 13:
        candidates.append("+" + digits)  # 86 country code written without the plus
    for candidate in candidates:
        try:
            number = phonenumbers.parse(candidate, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return None
