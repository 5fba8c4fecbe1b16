"""Rule-based scoring (chalicelib/domain/scoring.py): score, segment and the reasons."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from chalicelib.domain.claim import Segment
from chalicelib.domain.coverage import Coverage
from chalicelib.domain.policy import MatchKey, Resolution, ResolutionOutcome
from chalicelib.domain.perils import PERILS, MOTOR
from chalicelib.domain.scoring import RULES_VERSION, score_submission
from tests.fakes import demo_policies, submission

RECEIVED = datetime(2026, 11, 25, 8, 0, tzinfo=timezone.utc)


RESOLVED = Resolution(ResolutionOutcome.RESOLVED, MatchKey.POLICY_NUMBER, demo_policies()[0])


def _covered(sub, survey: bool | None = None) -> Coverage:
    survey = sub.loss_type.startswith("motor_") if survey is None else survey
    return Coverage(True, (), sub.amount, survey)


def _score(days_late: float = 1, **kwargs):
    """Scored as a claim resolved to one policy that covers it (a field survey for motor)."""
    sub = submission(occurred_at=RECEIVED - timedelta(days=days_late), **kwargs)
    return score_submission(sub, RECEIVED, RESOLVED, _covered(sub))


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
    assert "product_needs_survey" in result.reasons


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
    sub = submission(occurred_at=occurred)
    result = score_submission(sub, RECEIVED, RESOLVED, _covered(sub))

    # THEN the offset does not change the count of days
    assert result.reasons[0] == "late_report:31d"


@pytest.mark.parametrize("outcome", [ResolutionOutcome.UNVERIFIED, ResolutionOutcome.AMBIGUOUS])
def test_claim_without_one_policy_is_kept_for_review(outcome):
    # GIVEN a small claim that matched no policy, or several
    sub = submission(amount="35.50")

    # WHEN it is scored (there is no coverage to check)
    result = score_submission(sub, RECEIVED, Resolution(outcome), None)

    # THEN an agent reviews it: never rejected, never fast-tracked
    assert result.segment is Segment.STANDARD_REVIEW
    assert result.score == 10
    assert result.reasons == (f"policy_{outcome.value.lower()}",)


def test_unverified_motor_claim_is_not_sent_to_a_surveyor_before_review():
    # GIVEN a motor claim that matched no policy
    sub = submission(loss_type="motor_collision", plate="沪A12345", amount="3000")

    # WHEN it is scored
    result = score_submission(sub, RECEIVED, Resolution(ResolutionOutcome.UNVERIFIED), None)

    # THEN it waits for an agent rather than taking a surveyor's time
    assert result.segment is Segment.STANDARD_REVIEW


def test_claim_not_covered_goes_to_review_with_the_reasons():
    # GIVEN a claim whose policy had ended on the loss date
    sub = submission(amount="35.50")
    coverage = Coverage(False, ("loss_outside_policy_period",), sub.amount * 0, False)

    # WHEN it is scored
    result = score_submission(sub, RECEIVED, RESOLVED, coverage)

    # THEN an agent confirms the refusal: the reason is spelt out
    assert (result.segment, result.score) == (Segment.STANDARD_REVIEW, 20)
    assert result.reasons == ("not_covered:loss_outside_policy_period",)
