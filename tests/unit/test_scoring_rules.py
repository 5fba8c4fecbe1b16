"""Explainable scoring (chalicelib/domain/scoring.py, the rules' model in scoring_rules.py) over the
shipped rules: each rule alone, the lanes, auto-approval, priority, and the reasons. Thresholds and
weights are read from the rule set, so these tests pin the engine's behaviour, not the insurer's current
numbers."""
from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.domain.claim import Channel, Segment
from chalicelib.domain.coverage import Coverage
from chalicelib.domain.perils import MOTOR, PERILS
from chalicelib.domain.policy import MatchKey, Resolution, ResolutionOutcome
from chalicelib.domain.products import catalogue
from chalicelib.domain.scoring import (
    LANE_DEFAULT_REVIEW,
    LANE_FAST_TRACK,
    LANE_FIELD_SURVEY,
    LANE_NEEDS_AGENT,
    LANE_SPECIAL_INVESTIGATION,
    PAYOUT_AUTO_APPROVE,
    PAYOUT_NEEDS_APPROVAL,
    ScoreResult,
    Signals,
    score,
    score_submission,
)
from chalicelib.domain.scoring_rules import load_rules
from tests.fakes import demo_policies, submission

RULES = load_rules()
RECEIVED = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
RESOLVED = Resolution(ResolutionOutcome.RESOLVED, MatchKey.POLICY_NUMBER, demo_policies()[0])
FOOD = catalogue().get("food_safety")  # fast-track up to 500.00, auto-approve below 100.00
CARD = catalogue().get("card_theft")  # limit 10000, typical 1500: 500 sets off no amount rule
MOTOR_PRODUCT = catalogue().get("motor")
BIKE = catalogue().get("shared_bike_accident")  # never auto-approved
# A product against which no amount is large: to see the other rules alone.
ROOMY = replace(CARD, limit=Decimal("100000000"), typical_claim=Decimal("10000000"))
COVERED = object()  # default: covered in full (capped at the limit), survey as the product says


def signals(*, amount: str = "35.50", days_late: float = 1, product=FOOD, resolution=RESOLVED, coverage=COVERED,
            loss_type: str | None = None, **others) -> Signals:
    sub_fields = {k: others.pop(k) for k in ("description", "phone", "channel", "plate", "occurred_at") if k in others}
    loss_type = loss_type or (sorted(product.perils)[0] if product else "food_safety")
    if loss_type.startswith("motor_"):
        sub_fields.setdefault("plate", "沪A12345")
    sub_fields.setdefault("occurred_at", RECEIVED - timedelta(days=days_late))
    sub = submission(loss_type=loss_type, amount=amount, **sub_fields)
    if coverage is COVERED:
        coverage = Coverage(True, (), min(sub.amount, product.limit) if product else sub.amount,
                            product.field_survey if product else False)
    return Signals(sub, RECEIVED, resolution, coverage, product, **others)


def reasons(result: ScoreResult) -> dict:
    return {r.rule_id: r for r in result.reasons}


def risk_ids(result: ScoreResult) -> list[str]:
    return [r.rule_id for r in result.reasons if r.weight]


def weight(rule_id: str) -> int:
    return RULES.rule(rule_id).weight


def param(rule_id: str, name: str):
    return getattr(RULES.rule(rule_id), name)


# -- each rule alone -------------------------------------------------------------------------------------------

def test_small_clean_covered_claim_scores_zero_and_says_it_is_covered():
    # GIVEN a 35.50 food-safety claim reported the next day, covered in full
    # WHEN it is scored
    result = score(signals(amount="35.50"))

    # THEN nothing adds risk, and the covered reason gives the payable amount
    assert result.score == 0
    assert risk_ids(result) == []
    assert reasons(result)["coverage.covered"].evidence == {"payable": "35.50", "coverage_reasons": []}
    assert reasons(result)["coverage.covered"].weight == 0


@pytest.mark.parametrize("outcome,rule_id", [(ResolutionOutcome.UNVERIFIED, "policy.unverified"),
                                             (ResolutionOutcome.AMBIGUOUS, "policy.ambiguous")])
def test_claim_without_one_policy_adds_the_rule_for_its_outcome(outcome, rule_id):
    # GIVEN a small claim that matched no policy, or several
    candidates = ("PA1", "PA2") if outcome is ResolutionOutcome.AMBIGUOUS else ()
    resolution = Resolution(outcome, MatchKey.PHONE, None, candidates, (MatchKey.POLICY_NUMBER, MatchKey.PHONE))

    # WHEN it is scored (there is no coverage to check)
    result = score(signals(resolution=resolution, coverage=None, product=None))

    # THEN only that rule adds risk, with the outcome, the number of candidates and the keys tried
    assert risk_ids(result) == [rule_id]
    assert result.score == weight(rule_id)
    assert reasons(result)[rule_id].evidence == {
        "outcome": outcome.value, "candidate_count": len(candidates), "keys_tried": ["policy_number", "phone"]}


def test_resolved_claim_sets_off_neither_resolution_rule():
    # GIVEN a claim tied to one policy
    # WHEN it is scored
    result = score(signals())

    # THEN neither unresolved rule fires
    assert not {"policy.unverified", "policy.ambiguous"} & set(reasons(result))


def test_claim_not_covered_adds_risk_with_the_coverage_reasons():
    # GIVEN a claim whose policy had ended on the loss date
    coverage = Coverage(False, ("loss_outside_policy_period",), Decimal("0.00"), False)

    # WHEN it is scored
    result = score(signals(coverage=coverage))

    # THEN the not-covered rule fires with why, and nothing is suggested for payment
    assert risk_ids(result) == ["coverage.not_covered"]
    assert result.score == weight("coverage.not_covered")
    assert reasons(result)["coverage.not_covered"].evidence == {"coverage_reasons": ["loss_outside_policy_period"]}
    assert "coverage.covered" not in reasons(result)
    assert result.suggested_payout is None


def test_amount_at_the_limit_ratio_adds_risk_and_just_below_does_not():
    # GIVEN a product with a 1000 limit and a large typical claim, and the rule's ratio
    product = replace(ROOMY, limit=Decimal("1000.00"))
    at = (product.limit * param("amount.near_limit", "min_ratio")).quantize(Decimal("0.01"))

    # WHEN a claim at that share of the limit, and one a cent below, are scored
    fired = score(signals(product=product, amount=str(at)))
    below = score(signals(product=product, amount=str(at - Decimal("0.01"))))

    # THEN only the first sets off the rule, with the ratio and the limit
    assert risk_ids(fired) == ["amount.near_limit"]
    assert fired.score == weight("amount.near_limit")
    assert reasons(fired)["amount.near_limit"].evidence == {
        "product": "card_theft", "limit": "1000.00", "ratio": f"{at / product.limit:.2f}",
        "min_ratio": str(param("amount.near_limit", "min_ratio"))}
    assert risk_ids(below) == []


def test_amount_at_the_typical_multiple_adds_risk_and_just_below_does_not():
    # GIVEN a product whose typical claim is 100
    product = replace(ROOMY, typical_claim=Decimal("100.00"))
    at = product.typical_claim * param("amount.above_typical", "min_multiple")

    # WHEN a claim at that multiple, and one a cent below, are scored
    fired = score(signals(product=product, amount=str(at)))
    below = score(signals(product=product, amount=str(at - Decimal("0.01"))))

    # THEN only the first sets off the rule, with the multiple and the typical claim
    assert risk_ids(fired) == ["amount.above_typical"]
    assert fired.score == weight("amount.above_typical")
    evidence = reasons(fired)["amount.above_typical"].evidence
    assert evidence["typical_claim"] == "100.00"
    assert evidence["multiple"] == f"{param('amount.above_typical', 'min_multiple'):.2f}"
    assert risk_ids(below) == []


def test_amount_at_the_investigation_threshold_adds_risk_and_just_below_does_not():
    # GIVEN the investigation amount
    at = param("amount.investigation_threshold", "min_amount")

    # WHEN a claim of exactly that, and one a cent below, are scored
    fired = score(signals(product=ROOMY, amount=str(at)))
    below = score(signals(product=ROOMY, amount=str(at - Decimal("0.01"))))

    # THEN only the first sets off the rule
    assert risk_ids(fired) == ["amount.investigation_threshold"]
    assert fired.score == weight("amount.investigation_threshold")
    assert reasons(fired)["amount.investigation_threshold"].evidence == {"amount": str(at), "min_amount": str(at)}
    assert risk_ids(below) == []


def test_possible_duplicates_are_flagged_with_their_claim_ids():
    # GIVEN two other claims on the same policy around the loss date
    # WHEN the claim is scored
    result = score(signals(duplicates=("CLM-A1", "CLM-B2")))

    # THEN the duplicate rule fires with the ids and the count, and the claim is kept for an agent
    assert risk_ids(result) == ["history.possible_duplicate"]
    assert result.score == weight("history.possible_duplicate")
    assert reasons(result)["history.possible_duplicate"].evidence == {"claim_ids": ["CLM-A1", "CLM-B2"], "count": 2}
    assert result.segment is Segment.STANDARD_REVIEW


def test_reused_photo_is_flagged_with_the_other_claims():
    # GIVEN a photo already attached to another claim
    # WHEN the claim is scored
    result = score(signals(reused_photo_claims=("CLM-P1",)))

    # THEN the photo rule fires with that claim's id
    assert risk_ids(result) == ["photos.reused"]
    assert result.score == weight("photos.reused")
    assert reasons(result)["photos.reused"].evidence == {"claim_ids": ["CLM-P1"], "count": 1}


def test_no_other_claims_sets_off_neither_history_rule():
    # GIVEN no duplicates and no reused photos
    # WHEN the claim is scored
    # THEN neither rule fires
    assert not {"history.possible_duplicate", "photos.reused"} & set(reasons(score(signals())))


@pytest.mark.parametrize("rule_id,signal", [("velocity.phone", "claims_from_phone"),
                                            ("velocity.policy", "claims_on_policy")])
def test_claim_velocity_at_the_threshold_adds_risk_and_just_below_does_not(rule_id, signal):
    # GIVEN the rule's count of other claims in the window
    at = param(rule_id, "min_count")

    # WHEN a claim with that many others, and with one fewer, is scored
    fired = score(signals(**{signal: at}))
    below = score(signals(**{signal: at - 1}))

    # THEN only the first sets off the rule, with the count and the window
    assert risk_ids(fired) == [rule_id]
    assert fired.score == weight(rule_id)
    assert reasons(fired)[rule_id].evidence == {"count": at, "min_count": at,
                                                "window_hours": RULES.velocity_window_hours}
    assert risk_ids(below) == []


def test_late_report_adds_risk_with_the_days_and_just_below_does_not():
    # GIVEN the rule's number of days
    days = param("timing.late_report", "min_days")

    # WHEN a claim reported that many days after the loss, and one reported an hour short of it, are scored
    fired = score(signals(days_late=days))
    below = score(signals(days_late=days - 1 / 24))

    # THEN only the first is late, with the whole days
    assert risk_ids(fired) == ["timing.late_report"]
    assert fired.score == weight("timing.late_report")
    assert reasons(fired)["timing.late_report"].evidence == {"days": days, "min_days": days}
    assert risk_ids(below) == []


def test_lateness_is_measured_across_time_zones():
    # GIVEN a loss stated in Shanghai time, the rule's days and 30 minutes before receipt (in UTC)
    days = param("timing.late_report", "min_days")
    occurred = (RECEIVED - timedelta(days=days, minutes=30)).astimezone(timezone(timedelta(hours=8)))

    # WHEN it is scored
    result = score(signals(occurred_at=occurred))

    # THEN the offset does not change the count of days
    assert reasons(result)["timing.late_report"].evidence["days"] == days


@pytest.mark.parametrize("description,category,count", [
    ("救命！孩子吃完住院了", "distress", 2),
    ("ＨＥＬＰ please, this is URGENT", "distress", 2),  # full-width and capitals
    ("Urgently need the money", "distress", 1),  # a trailing * in the list matches any ending
    ("外卖太过分了，我要投诉", "anger", 2),
    ("I am FURIOUS and will call my lawyers", "anger", 2),
    ("你們是騙子", "anger", 1),  # traditional characters
])
def test_distress_or_anger_raises_priority_not_risk(description, category, count):
    # GIVEN a claim whose description shows distress or anger
    rule_id = f"sentiment.{category}"

    # WHEN it is scored, and the same claim with a calm description
    result = score(signals(description=description))
    calm = score(signals(description="午餐后腹泻"))

    # THEN the rule fires with its category and the number of keywords matched, adds nothing to the risk
    # score, and raises the priority by its boost
    assert reasons(result)[rule_id].evidence == {"category": category, "count": count}
    assert reasons(result)[rule_id].weight == 0
    assert result.score == calm.score == 0
    assert result.priority == calm.priority + RULES.rule(rule_id).priority_boost


@pytest.mark.parametrize("description", [
    "午餐后腹泻，订单餐品变质",
    "急性肠胃炎",  # 急 inside 急性 (acute) is medical vocabulary, not urgency
    "The courier was helpful",  # English keywords match whole words
    "sued nobody, unhurried",
    "",
])
def test_calm_description_sets_off_no_sentiment_rule(description):
    # GIVEN a claim with a calm description
    # WHEN it is scored
    result = score(signals(description=description))

    # THEN no sentiment rule fires
    assert not [r for r in result.reasons if r.rule_id.startswith("sentiment.")]


def test_amount_not_stated_forces_standard_review_and_a_cent_does_not():
    # GIVEN a clean, covered phone report with no amount, and one of a cent
    none_stated = score(signals(amount="0", channel=Channel.IVR_CONNECT))
    a_cent = score(signals(amount="0.01", channel=Channel.IVR_CONNECT))

    # THEN the first is reviewed by a person, adds no risk and says why; the cent is fast-tracked
    assert reasons(none_stated)["amount.not_stated"].evidence == {"channel": "ivr_connect"}
    assert (none_stated.score, none_stated.segment) == (0, Segment.STANDARD_REVIEW)
    assert reasons(none_stated)[LANE_NEEDS_AGENT].evidence == {"because": ["amount_not_stated"]}
    assert "amount.not_stated" not in reasons(a_cent)
    assert a_cent.segment is Segment.FAST_TRACK


# -- combinations ----------------------------------------------------------------------------------------------

def test_duplicate_and_late_report_together_cross_into_special_investigation():
    # GIVEN a duplicate that alone stays below the investigation threshold, and a late report
    days = param("timing.late_report", "min_days")
    total = weight("history.possible_duplicate") + weight("timing.late_report")
    assert weight("history.possible_duplicate") < RULES.si_threshold <= total  # the data this test is about

    # WHEN a claim with both is scored
    result = score(signals(days_late=days, duplicates=("CLM-A1",)))

    # THEN both weights add up, and the sum sends it to special investigation, saying so
    assert risk_ids(result) == ["history.possible_duplicate", "timing.late_report"]
    assert result.score == total
    assert result.segment is Segment.SPECIAL_INVESTIGATION
    assert reasons(result)[LANE_SPECIAL_INVESTIGATION].evidence == {"score": total, "si_threshold": RULES.si_threshold}


def test_late_and_large_claim_adds_both_risks():
    # GIVEN a large claim reported late
    amount = param("amount.investigation_threshold", "min_amount") + 10000

    # WHEN it is scored
    result = score(signals(product=ROOMY, amount=str(amount), days_late=45))

    # THEN both risks count, in the order of the rules
    assert risk_ids(result) == ["amount.investigation_threshold", "timing.late_report"]
    assert result.score == min(100, weight("amount.investigation_threshold") + weight("timing.late_report"))


def test_score_is_capped_at_100_when_everything_fires():
    # GIVEN a claim that sets off every risk rule that can fire together
    result = score(signals(product=FOOD, amount="60000", days_late=90, duplicates=("CLM-1",),
                           reused_photo_claims=("CLM-2",), claims_from_phone=50, claims_on_policy=50,
                           coverage=Coverage(False, ("policy_cancelled",), Decimal("0"), False)))

    # THEN the score is 100 though the weights add up to more, and every reason is still listed
    assert sum(r.weight for r in result.reasons) > 100
    assert result.score == 100
    assert result.segment is Segment.SPECIAL_INVESTIGATION


# -- lanes -----------------------------------------------------------------------------------------------------

def test_small_clean_micro_claim_is_fast_tracked_and_says_why():
    # GIVEN a 35.50 food-safety claim reported the next day
    # WHEN it is scored
    result = score(signals(amount="35.50"))

    # THEN it goes to the fast track, and the lane reason gives the amount, the limit and the score
    assert result.segment is Segment.FAST_TRACK
    assert reasons(result)[LANE_FAST_TRACK].evidence == {
        "amount": "35.50", "fast_track_limit": "500.00", "score": 0,
        "fast_track_max_score": RULES.fast_track_max_score}


def test_fast_track_limit_is_inclusive():
    # GIVEN a card-theft claim of exactly the product's fast-track limit
    # WHEN it is scored
    # THEN it is still fast-tracked
    assert score(signals(product=CARD, amount=str(CARD.fast_track_limit))).segment is Segment.FAST_TRACK


def test_claim_above_the_fast_track_limit_goes_to_standard_review_saying_why():
    # GIVEN a card-theft claim a cent above the fast-track limit
    # WHEN it is scored
    result = score(signals(product=CARD, amount=str(CARD.fast_track_limit + Decimal("0.01"))))

    # THEN it is reviewed the standard way, because of the amount
    assert result.segment is Segment.STANDARD_REVIEW
    assert reasons(result)[LANE_DEFAULT_REVIEW].evidence["because"] == ["amount_above_fast_track_limit"]


def test_small_claim_with_some_risk_loses_the_fast_track():
    # GIVEN a small claim from a phone with many recent claims (risk, but far from investigation)
    result = score(signals(claims_from_phone=param("velocity.phone", "min_count")))

    # THEN it is reviewed the standard way, because of the score
    assert 0 < result.score < RULES.si_threshold
    assert result.segment is Segment.STANDARD_REVIEW
    assert reasons(result)[LANE_DEFAULT_REVIEW].evidence["because"] == ["score_above_fast_track_max"]


@pytest.mark.parametrize("loss_type", [p for p, line in PERILS.items() if line == MOTOR])
def test_motor_loss_needs_a_field_survey(loss_type):
    # GIVEN a small covered motor claim
    # WHEN it is scored
    result = score(signals(product=MOTOR_PRODUCT, loss_type=loss_type, amount="3200"))

    # THEN it needs a surveyor, and says so
    assert result.segment is Segment.FIELD_SURVEY
    assert reasons(result)[LANE_FIELD_SURVEY].evidence == {"product": "motor"}
    assert result.auto_approve is False


def test_investigation_outranks_the_field_survey_for_motor():
    # GIVEN a motor claim above the investigation amount
    # WHEN it is scored
    result = score(signals(product=MOTOR_PRODUCT, loss_type="motor_theft", amount="80000"))

    # THEN it goes to special investigation, not to a surveyor
    assert result.segment is Segment.SPECIAL_INVESTIGATION


UNRESOLVED = Resolution(ResolutionOutcome.UNVERIFIED, keys_tried=(MatchKey.POLICY_NUMBER,))
NOT_COVERED = Coverage(False, ("peril_not_covered",), Decimal("0.00"), False)


@pytest.mark.parametrize("changes,because", [
    (dict(resolution=UNRESOLVED, coverage=None, product=None), ["policy_not_resolved"]),
    (dict(resolution=Resolution(ResolutionOutcome.AMBIGUOUS, candidates=("P1", "P2")), coverage=None, product=None),
     ["policy_not_resolved"]),
    (dict(coverage=None, product=None), ["coverage_not_checked"]),  # tied to a policy of an unknown product
    (dict(coverage=NOT_COVERED), ["not_covered"]),
    (dict(amount="0"), ["amount_not_stated"]),
    (dict(amount="-5.00"), ["amount_not_usable"]),
    (dict(duplicates=("CLM-1",)), ["possible_duplicate"]),
    (dict(reused_photo_claims=("CLM-2",)), ["reused_photo"]),
    (dict(resolution=UNRESOLVED, coverage=None, product=None, amount="0", duplicates=("CLM-1",)),
     ["policy_not_resolved", "amount_not_stated", "possible_duplicate"]),
], ids=["unverified", "ambiguous", "unknown_product", "not_covered", "no_amount", "negative_amount", "duplicate",
        "reused_photo", "several"])
def test_claim_an_agent_must_see_goes_to_standard_review_with_every_cause(changes, because):
    # GIVEN an otherwise small claim that needs a person
    # WHEN it is scored
    result = score(signals(**changes))

    # THEN it is reviewed, never fast-tracked or rejected, and the lane reason lists every cause
    assert result.segment is Segment.STANDARD_REVIEW
    assert reasons(result)[LANE_NEEDS_AGENT].evidence == {"because": because}
    assert result.auto_approve is False


def test_unverified_motor_claim_is_not_sent_to_a_surveyor_before_review():
    # GIVEN a motor claim that matched no policy
    # WHEN it is scored
    result = score(signals(product=None, loss_type="motor_collision", amount="3000", resolution=UNRESOLVED,
                           coverage=None))

    # THEN it waits for an agent rather than taking a surveyor's time
    assert result.segment is Segment.STANDARD_REVIEW


def test_lane_reason_is_always_there_after_the_rules_and_adds_nothing():
    # GIVEN claims in each lane
    results = [score(signals()), score(signals(duplicates=("C",))), score(signals(product=CARD, amount="900")),
               score(signals(product=MOTOR_PRODUCT, amount="3000")), score(signals(product=ROOMY, amount="60000"))]

    # THEN each has exactly one lane reason, of weight 0, after the rule reasons
    assert {r.segment for r in results} == set(Segment)
    for result in results:
        lanes = [r for r in result.reasons if r.rule_id.startswith("lane.")]
        assert len(lanes) == 1 and lanes[0].weight == 0
        assert not any(r.rule_id.startswith(("policy.", "coverage.", "amount.", "history.", "photos."))
                       for r in result.reasons[result.reasons.index(lanes[0]):])


# -- suggested payout and auto-approval ---------------------------------------------------------------------------

@pytest.mark.parametrize("payable,auto", [("99.99", True), ("100.00", False), ("100.01", False)])
def test_fast_tracked_payout_below_the_products_threshold_is_auto_approved(payable, auto):
    # GIVEN a clean food-safety claim (auto-approve below 100.00) paying ``payable``
    # WHEN it is scored
    result = score(signals(amount=payable))

    # THEN it is auto-approved only strictly below the threshold, and a payout reason says which way and why
    assert result.segment is Segment.FAST_TRACK
    assert (result.suggested_payout, result.auto_approve) == (Decimal(payable), auto)
    rule_id = PAYOUT_AUTO_APPROVE if auto else PAYOUT_NEEDS_APPROVAL
    assert reasons(result)[rule_id].evidence == {"suggested_payout": payable, "auto_approve_below": "100.00"}


def test_product_that_never_auto_approves():
    # GIVEN a small clean shared-bike claim (auto_approve_below 0.00)
    # WHEN it is scored
    result = score(signals(product=BIKE, amount="50.00"))

    # THEN it is fast-tracked but a person approves the payout
    assert (result.segment, result.auto_approve) == (Segment.FAST_TRACK, False)
    assert PAYOUT_NEEDS_APPROVAL in reasons(result)


def test_small_payout_outside_the_fast_track_is_not_auto_approved():
    # GIVEN a small food-safety claim that has a possible duplicate
    # WHEN it is scored
    result = score(signals(amount="20.00", duplicates=("CLM-1",)))

    # THEN the payout is suggested but a person decides
    assert (result.suggested_payout, result.auto_approve) == (Decimal("20.00"), False)
    assert not {PAYOUT_AUTO_APPROVE, PAYOUT_NEEDS_APPROVAL} & set(reasons(result))


def test_suggested_payout_is_the_covered_payable_amount_else_none():
    # GIVEN a covered claim with a deductible, a claim not covered, and an unresolved one
    covered = score(signals(product=BIKE, amount="300.00", coverage=Coverage(True, ("deductible_100.00",),
                                                                               Decimal("200.00"), False)))
    refused = score(signals(coverage=NOT_COVERED))
    unresolved = score(signals(resolution=UNRESOLVED, coverage=None, product=None))

    # THEN only the covered one suggests a payout: the payable amount, not the claimed one
    assert (covered.suggested_payout, refused.suggested_payout, unresolved.suggested_payout) == (
        Decimal("200.00"), None, None)


# -- priority ----------------------------------------------------------------------------------------------------

def test_distress_outranks_the_same_claim_without():
    # GIVEN the same claim twice, once with a cry for help
    calm = score(signals(duplicates=("CLM-1",)))
    distressed = score(signals(duplicates=("CLM-1",), description="救命，孩子住院了"))

    # THEN the distressed one comes first in the agent queue, with the same risk score
    assert distressed.priority > calm.priority
    assert distressed.score == calm.score


def test_higher_risk_and_larger_amount_come_first():
    # GIVEN claims differing only in risk, or only in amount
    quiet, risky = score(signals()), score(signals(duplicates=("CLM-1",)))
    small, large = score(signals(product=CARD, amount="100")), score(signals(product=CARD, amount="5000"))

    # THEN the riskier and the larger come first
    assert risky.priority > quiet.priority
    assert (small.score, large.score) == (0, 0)
    assert large.priority > small.priority


def test_priority_follows_the_documented_formula():
    # GIVEN a late claim with a duplicate and an angry description, and the formula's parts from the data
    result = score(signals(product=CARD, amount="6000", days_late=40, duplicates=("CLM-1",),
                           description="I will complain"))
    formula = RULES.priority
    base = int((formula.risk_factor * result.score).to_integral_value(rounding="ROUND_HALF_UP"))
    points = max(step.points for step in formula.amount_steps if Decimal("6000") >= step.start)

    # THEN priority = risk part + amount points + the anger boost, capped at 100
    assert result.priority == min(100, base + points + RULES.rule("sentiment.anger").priority_boost)


# -- version and personal data --------------------------------------------------------------------------------------

def test_every_result_records_the_rules_version():
    # GIVEN the shipped rules and a copy with another version
    other = RULES.model_copy(update={"version": "test-2099.1"})

    # WHEN the same claim is scored with each
    # THEN each result records the version that produced it
    assert score(signals()).rules_version == RULES.version
    assert score(signals(), other).rules_version == "test-2099.1"


def test_reasons_carry_no_description_text_phone_name_or_plate():
    # GIVEN a claim with a distressed, angry, identifying description, that sets off every kind of rule
    description = "救命！骗子平台，我要投诉，张三 13800138000 住院 HELP lawyer"
    result = score(signals(product=MOTOR_PRODUCT, loss_type="motor_theft", amount="90000", days_late=60,
                           description=description, phone="+8613800138000", plate="沪A12345",
                           duplicates=("CLM-1",), reused_photo_claims=("CLM-2",), claims_from_phone=9,
                           claims_on_policy=9))

    # THEN the evidence is JSON-safe and holds none of the text, the words matched, the phone, name or plate
    dumped = json.dumps([r.as_dict() for r in result.reasons], ensure_ascii=False)
    private = ("救命", "骗子", "投诉", "住院", "help", "lawyer", "张三", "13800138000", "沪A12345", description)
    assert [word for word in private if word.lower() in dumped.lower()] == []
    assert {"sentiment.distress", "sentiment.anger"} <= set(reasons(result))
    assert reasons(result)["sentiment.anger"].evidence == {"category": "anger", "count": 3}


# -- compatibility ------------------------------------------------------------------------------------------------

def test_score_submission_scores_without_history_and_finds_the_product():
    # GIVEN the arguments the scoring service passes today, for a small covered food-safety claim
    sub = submission(amount="35.50", occurred_at=RECEIVED - timedelta(days=1))
    coverage = Coverage(True, (), Decimal("35.50"), False)

    # WHEN scored through the compatibility function
    result = score_submission(sub, RECEIVED, RESOLVED, coverage)

    # THEN it is the same result as scoring the signals with the policy's product
    assert result == score(Signals(sub, RECEIVED, RESOLVED, coverage, FOOD))
    assert (result.segment, result.auto_approve) == (Segment.FAST_TRACK, True)


# -- properties ---------------------------------------------------------------------------------------------------

offsets = st.builds(timezone, st.timedeltas(min_value=timedelta(hours=-14), max_value=timedelta(hours=14)))
aware = st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1), timezones=offsets)
amounts = st.decimals(allow_nan=True, allow_infinity=True) | st.decimals(min_value=0, max_value=10**9, places=2)
outcomes = st.sampled_from(list(ResolutionOutcome))
coverages = st.none() | st.builds(Coverage, st.booleans(), st.lists(st.sampled_from(
    ["policy_cancelled", "peril_not_covered", "amount_capped_at_limit"]), max_size=3).map(tuple),
    st.decimals(min_value=0, max_value=10**9, places=2), st.booleans())
products = st.none() | st.sampled_from(list(catalogue().products.values()))
claim_ids = st.lists(st.text(alphabet="CLM-0123456789ABCDEF", min_size=1, max_size=12), max_size=4).map(tuple)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(amount=amounts, occurred=aware, received=aware, text=st.text(max_size=300), outcome=outcomes,
       coverage=coverages, product=products, duplicates=claim_ids, photos=claim_ids,
       phone_count=st.integers(-5, 10**6), policy_count=st.integers(-5, 10**6))
def test_any_claim_scores_within_bounds_without_raising(amount, occurred, received, text, outcome, coverage,
                                                        product, duplicates, photos, phone_count, policy_count):
    # GIVEN any amount, dates, description and signals
    sub = replace(submission(description=text, occurred_at=occurred), amount=amount)
    resolution = Resolution(outcome, policy=demo_policies()[0] if outcome is ResolutionOutcome.RESOLVED else None)

    # WHEN it is scored
    result = score(Signals(sub, received, resolution, coverage, product, duplicates, photos, phone_count, policy_count))

    # THEN score and priority are within 0..100, one lane reason is given, and the evidence is JSON-safe
    assert 0 <= result.score <= 100
    assert 0 <= result.priority <= 100
    assert result.segment in set(Segment)
    assert sum(r.rule_id.startswith("lane.") for r in result.reasons) == 1
    json.dumps([r.as_dict() for r in result.reasons])
    assert not result.auto_approve or result.segment is Segment.FAST_TRACK
