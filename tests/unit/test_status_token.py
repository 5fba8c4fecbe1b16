"""Signed, expiring status-page tokens (chalicelib/domain/status_token.py)."""
from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.status_token import issue, verify

SECRET = b"unit-test-status-secret"
CLAIM = "CLM-01M89Z5D2V54KBR4MFQD6N8C9A"
NOW = 1_795_000_000


def test_a_token_verifies_for_its_claim_until_it_expires_and_carries_the_language():
    token = issue(SECRET, CLAIM, "en", NOW + 60)
    assert re.fullmatch(r"[A-Za-z0-9_.\-]{1,40}", token)
    grant = verify(SECRET, CLAIM, token, NOW)
    assert (grant.claim_id, grant.language, grant.expires_at) == (CLAIM, "en", NOW + 60)
    assert verify(SECRET, CLAIM, token, NOW + 60) is None  # expired at its expiry second


def test_a_token_is_worthless_for_another_claim_or_under_another_secret():
    token = issue(SECRET, CLAIM, "zh-CN", NOW + 60)
    assert verify(SECRET, "CLM-01M89Z5D2V54KBR4MFQD6N8C9B", token, NOW) is None
    assert verify(b"another-secret", CLAIM, token, NOW) is None


def test_changing_the_expiry_or_the_language_breaks_the_signature():
    expiry, language, signature = issue(SECRET, CLAIM, "zh-CN", NOW + 60).split(".")
    later = format(int(expiry, 36) + 86400, "x")  # any other expiry
    assert verify(SECRET, CLAIM, f"{later}.{language}.{signature}", NOW) is None
    assert verify(SECRET, CLAIM, f"{expiry}.e.{signature}", NOW) is None


@given(st.text(max_size=80))
def test_any_text_is_either_a_valid_grant_or_none_never_an_error(token):
    assert verify(SECRET, CLAIM, token, NOW) is None


@given(st.integers(min_value=NOW + 1, max_value=NOW + 10 * 365 * 86400), st.sampled_from(["zh-CN", "en"]))
def test_issue_then_verify_round_trips(expires_at, language):
    grant = verify(SECRET, CLAIM, issue(SECRET, CLAIM, language, expires_at), NOW)
    assert (grant.language, grant.expires_at) == (language, expires_at)
