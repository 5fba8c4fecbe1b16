"""The channel-neutral claim command and its fingerprint (used to tell a replay from a conflict)."""
from __future__ import annotations

from dataclasses import replace
from datetime import UTC, timedelta
from decimal import Decimal

from tests.fakes import submission


def test_same_content_has_the_same_fingerprint():
    # GIVEN two submissions built from the same content
    # WHEN they are fingerprinted
    # THEN the fingerprints match
    assert submission(external_ref="R-1").fingerprint() == submission(external_ref="R-1").fingerprint()


def test_different_amount_has_a_different_fingerprint():
    # GIVEN the same claim with another amount
    # WHEN both are fingerprinted
    # THEN they differ
    assert submission(amount="35.50").fingerprint() != submission(amount="35.51").fingerprint()


def test_amount_written_differently_is_the_same_claim():
    # GIVEN "35.5" and "35.50"
    first = submission(amount="35.5")
    second = submission(amount="35.50")

    # WHEN both are fingerprinted
    # THEN they are the same claim
    assert first.fingerprint() == second.fingerprint()


def test_same_instant_in_another_offset_is_the_same_claim():
    # GIVEN the loss time in Shanghai time and the same instant in UTC
    local = submission()
    utc = replace(local, occurred_at=local.occurred_at.astimezone(UTC))

    # WHEN both are fingerprinted
    # THEN they are the same claim
    assert local.fingerprint() == utc.fingerprint()


def test_another_loss_time_is_another_claim():
    # GIVEN the same claim an hour later
    sub = submission()
    later = replace(sub, occurred_at=sub.occurred_at + timedelta(hours=1))

    # WHEN both are fingerprinted
    # THEN they differ
    assert sub.fingerprint() != later.fingerprint()


def test_fingerprint_is_a_sha256_hex_digest():
    # GIVEN a submission with unicode content
    sub = replace(submission(), description="外卖变质 🍱", amount=Decimal("1"))

    # WHEN it is fingerprinted
    digest = sub.fingerprint()

    # THEN it is 64 hex characters
    assert len(digest) == 64
    assert set(digest) <= set("0123456789abcdef")
