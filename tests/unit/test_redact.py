"""The log redaction safety net (chalicelib.observability.redact) and the formatter that applies it."""
from __future__ import annotations

import json
import logging

import pytest

from chalicelib.observability import RedactingFormatter, redact


@pytest.mark.parametrize("text", [
    "+8613800138000",
    "+447911123456",
    "+12025550123",
    "13800138000",
    "138 0013 8000",
    "138-0013-8000",
    "8613800138000",
    "86 13800138000",
    "19912345678",
], ids=repr)
def test_phone_numbers_are_redacted(text):
    # GIVEN a phone number inside a message
    message = f"caller {text} reported"

    # WHEN it is redacted
    out = redact(message)

    # THEN no digit of it is left
    assert out == "caller *** reported"


@pytest.mark.parametrize("text", ["11010519491231002X", "110105194912310021", "11010519491231002x"], ids=repr)
def test_resident_id_numbers_are_redacted(text):
    # GIVEN an 18-character PRC resident ID number
    # WHEN it is redacted
    # THEN it is masked
    assert redact(f"id={text};") == "id=***;"


@pytest.mark.parametrize("text", [
    "2026-11-25 15:01:50,608",
    "2026-11-25T15:01:50.608Z",
    "CLM-01M89KMC8SKZE7MME4AQ1K4GK3",
    "1795619141545",            # a millisecond timestamp
    "PA2026000123",             # a policy number
    "310115",                   # a region code
    "amount 35.50 CNY",
    "12345678901",              # 11 digits but not a mobile (second digit 2)
    "1101051949123100211",      # 19 digits: not an ID number
], ids=repr)
def test_ordinary_values_are_left_alone(text):
    # GIVEN a timestamp, id or number that is not personal data
    # WHEN it is redacted
    # THEN it is unchanged
    assert redact(text) == text


def test_redaction_inside_json_keeps_it_valid():
    # GIVEN a JSON log line with a phone in it
    line = json.dumps({"claim_id": "CLM-01M89KMC8SKZE7MME4AQ1K4GK3", "note": "call +8613800138000",
                       "timestamp": "2026-11-25 15:01:50,608"})

    # WHEN it is redacted
    out = json.loads(redact(line))

    # THEN only the phone is masked
    assert out == {"claim_id": "CLM-01M89KMC8SKZE7MME4AQ1K4GK3", "note": "call ***",
                   "timestamp": "2026-11-25 15:01:50,608"}


def test_formatter_redacts_what_it_serialises():
    # GIVEN a log record carrying a phone in its message and in an extra key
    record = logging.LogRecord("claims-intake", logging.INFO, __file__, 1, "caller 13800138000", None, None)
    record.phone = "+8613800138000"

    # WHEN the service formatter serialises it
    out = RedactingFormatter().format(record)

    # THEN neither form of the phone is in the line
    assert "13800138000" not in out
    assert json.loads(out)["phone"] == "***"
