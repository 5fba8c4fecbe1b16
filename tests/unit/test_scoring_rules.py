"""Rule-based scoring (chalicelib/domain/scoring.py): score, segment and the reasons."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from chalicelib.domain.claim import Segment
from chalicelib.domain.perils import PERILS, MOTOR
from chalicelib.domain.scoring import RULES_VERSION, score_submission
from tests.fakes import submission

RECEIVED = datetime(2026, 11, 25, 8, 0, tzinfo=timezone.utc)


def _score(days_late: float = 1, **kwargs):
    return score_submission(submission(occurred_at=RECEIVED - timedelta(days=days_late), **kwargs), RECEIVED)


def test_small_clean_micro_claim_is_fast_tracked():
    # GIVEN a 35.50 food-safety claim reported the next day
    # WHEN it is scored
    result = _score(amount="35.50")

    # THEN it goes to the fast track with a zero score
    assert (result.score, result.segment, result.reasons) == (0, Segment.FAST_TRACK, ("small_clean_claim",))
    assert result.rules_version == RULES_VERSION


def test_fast_track_limit_is_inclusive():
    # GIVEN a claim of exactly 500
    # WHEN it is scored
    # THEN it is still fast-tracked
    assert _score(amount="500").segment is Segment.FAST_TRACK


def test_micro_claim_above_the_fast_track_limit_goes_to_standard_review():
    # GIVEN a claim of 500.01
    # WHEN it is scored
    result = _score(amount="500.01")

    # THEN it is reviewed the standard way
    assert (result.segment, result.reasons) == (Segment.STANDARD_REVIEW, ("default_review",))


@pytest.mark.parametrize("loss_type", [p for p, line in PERILS.items() if line == MOTOR])
def test_motor_loss_needs_a_field_survey(loss_type):
    # GIVEN a small motor claim
    # WHEN it is scored
    result = _score(loss_type=loss_type, amount="200", plate="沪A12345")

    # THEN it needs a surveyor
    assert result.segment is Segment.FIELD_SURVEY
    assert "motor_loss_needs_survey" in result.reasons


def test_late_report_adds_risk_and_loses_the_fast_track():
    # GIVEN a small claim reported 31 days after the loss
    # WHEN it is scored
    result = _score(days_late=31, amount="35.50")

    # THEN it scores 30 for lateness and goes to standard review
    assert result.score == 30
    assert result.reasons[0] == "late_report:31d"
    assert result.segment is Segment.STANDARD_REVIEW


def test_report_after_exactly_30_days_is_not_late():
    # GIVEN a claim reported 30 days after the loss
    # WHEN it is scored
    # THEN nothing is added for lateness
    assert _score(days_late=30, amount="35.50").score == 0


def test_amount_at_the_investigation_threshold_goes_to_special_investigation():
    # GIVEN a claim of exactly 50000
    # WHEN it is scored
    result = _score(amount="50000")

    # THEN it is investigated
    assert result.score == 50
    assert result.segment is Segment.SPECIAL_INVESTIGATION
    assert result.reasons == ("amount_at_or_above_investigation_threshold",)


def test_investigation_outranks_the_field_survey_for_motor():
    # GIVEN a motor claim of 80000
    # WHEN it is scored
    result = _score(loss_type="motor_theft", amount="80000", plate="沪A12345")

    # THEN it goes to special investigation, not to a surveyor
    assert result.segment is Segment.SPECIAL_INVESTIGATION


def test_late_and_large_claim_adds_both_risks():
    # GIVEN a large claim reported late
    # WHEN it is scored
    result = _score(days_late=45, amount="60000")

    # THEN both risks count
    assert result.score == 80
    assert result.segment is Segment.SPECIAL_INVESTIGATION
    assert result.reasons == ("late_report:45d", "amount_at_or_above_investigation_threshold")


def test_lateness_is_measured_across_time_zones():
    # GIVEN a loss at 23:30 Shanghai time, 31 days and 30 minutes before receipt in UTC terms
    shanghai = timezone(timedelta(hours=8))
    occurred = (RECEIVED - timedelta(days=31, minutes=30)).astimezone(shanghai)

    # WHEN it is scored
    result = score_submission(submission(occurred_at=occurred), RECEIVED)

    # THEN the offset does not change the count of days
    assert result.reasons[0] == "late_report:31d"
