"""Policy resolution and the coverage check through the real flow: POST /v1/claims, the scoring
consumer on a real SQS event, then the stored claim, its GET view and its timeline. Each test writes
the policies it needs (keys stored normalised, as the importer stores them) instead of relying on
the seeded demo data. Also the cost of a resolution: one DynamoDB call per key tried, never a scan."""
from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from chalicelib import bootstrap
from chalicelib.adapters.models import PolicyModel
from chalicelib.domain.claim import ClaimStatus, Segment
from chalicelib.domain.policy import MatchKey, ResolutionOutcome
from devkit.aws_calls import app_clients, count_aws_calls
from tests.fakes import SHANGHAI, claim_body, submission
from tests.integration.conftest import ELEME, HELLOBIKE, MOTOR, get_claim, post_claim

# Keys no seeded demo policy uses.
NUMBER, NUMBER_2 = "PR2026100001", "PR2026100002"
ORDER = "RES-ORDER-0001"
PHONE = "+8619900001001"
PLATE = "琼AD99001"  # new-energy plate: 8 characters

ALL_KEYS = [k.value for k in (MatchKey.POLICY_NUMBER, MatchKey.ORDER_ID, MatchKey.PHONE, MatchKey.PLATE)]


def _today():
    return datetime.now(SHANGHAI).date()


def store_policy(number: str, product: str = "food_safety", *, phone: str | None = None, plate: str | None = None,
                 order_id: str | None = None, partner_id: str | None = "eleme", status: str = "ACTIVE") -> None:
    """A policy running from half a year ago to half a year ahead, keys already normalised."""
    PolicyModel(number, product=product, customer_id=f"CUS-{number}", holder_name="测试", holder_phone=phone,
                plate=plate, order_id=order_id, partner_id=partner_id,
                starts_on=(_today() - timedelta(days=180)).isoformat(),
                ends_on=(_today() + timedelta(days=180)).isoformat(), status=status).save()


def body(*, number: str | None = None, order_id: str | None = None, phone: str | None = None,
         plate: str | None = None, loss_type: str = "food_safety", amount: str = "35.50") -> dict:
    """A claim body carrying exactly the keys given."""
    out = claim_body(loss_type=loss_type, amount=amount, plate=plate)
    out["policy"] = {k: v for k, v in (("number", number), ("order_id", order_id)) if v}
    out["claimant"] = {"name": "张三", **({"phone": phone} if phone else {})}
    return out


def submit_and_score(client, pipeline, claim: dict, api_key: str = ELEME) -> str:
    response = post_claim(client, claim, api_key=api_key)
    assert response.status_code == 202, response.body
    claim_id = response.json_body["claim_id"]
    answer, messages = pipeline.run("score_claims")
    assert answer == {"batchItemFailures": []} and len(messages) == 1
    return claim_id


def stored(claim_id: str):
    return bootstrap.container().claims.get(claim_id)


def resolution_event(claim_id: str):
    [event] = [e for e in bootstrap.container().claims.events(claim_id) if e.kind == "claim.policy_resolved"]
    return event


# -- RESOLVED, by each path -----------------------------------------------------------------------------

RESOLVED_CASES = {
    # path: (policy stored, body posted, partner key)
    "policy_number": (dict(number=NUMBER), dict(number=" pr 2026100001 "), ELEME),
    "order_id": (dict(number=NUMBER, order_id=ORDER), dict(order_id=ORDER), ELEME),
    "phone": (dict(number=NUMBER, phone=PHONE), dict(phone="199 0000 1001"), ELEME),
}


@pytest.mark.parametrize("path", list(RESOLVED_CASES))
def test_micro_claim_resolved_by_one_key_is_covered_and_fast_tracked(client, pipeline, path):
    # GIVEN a food-safety policy findable by the path's key, and a small claim giving only that key
    stored_policy, posted, api_key = RESOLVED_CASES[path]
    store_policy(**stored_policy)

    # WHEN the claim is posted and scored
    claim_id = submit_and_score(client, pipeline, body(**posted), api_key)

    # THEN the claim is tied to that policy by that key, covered in full, fast-tracked, and (35.50 being
    # below what food safety auto-approves) approved for the suggested payout
    claim = stored(claim_id)
    assert (claim.resolution, claim.matched_by, claim.policy_number, claim.product, claim.candidates) == (
        "RESOLVED", path, NUMBER, "food_safety", ())
    assert (claim.covered, claim.coverage_reasons, claim.payable) == (True, (), Decimal("35.50"))
    assert (claim.status, claim.segment, claim.approved_amount) == (
        ClaimStatus.APPROVED, Segment.FAST_TRACK, Decimal("35.50"))


@pytest.mark.parametrize("path", list(RESOLVED_CASES))
def test_resolved_claim_shows_resolution_coverage_and_timeline_entry(client, pipeline, path):
    # GIVEN a food-safety policy findable by the path's key
    stored_policy, posted, api_key = RESOLVED_CASES[path]
    store_policy(**stored_policy)

    # WHEN a claim giving only that key is posted and scored
    claim_id = submit_and_score(client, pipeline, body(**posted), api_key)

    # THEN the partner's view and the timeline both say how it was resolved and what is payable
    view = get_claim(client, claim_id, api_key).json_body
    assert view["resolution"] == {"outcome": "RESOLVED", "matched_by": path, "policy_number": NUMBER,
                                  "product": "food_safety", "candidates": []}
    assert view["coverage"] == {"covered": True, "reasons": [], "suggested_payable": "35.50"}
    event = resolution_event(claim_id)
    assert (event.status, event.actor) == (ClaimStatus.RECEIVED, "system:scoring")
    assert event.detail == {"outcome": "RESOLVED", "keys_tried": [path], "matched_by": path,
                            "policy_number": NUMBER, "covered": True, "coverage_reasons": [], "payable": "35.50"}


def test_motor_claim_resolved_by_untidy_plate_is_covered_less_deductible_and_sent_to_survey(client, pipeline):
    # GIVEN a motor policy on a new-energy plate
    store_policy(NUMBER, "motor", plate=PLATE, partner_id="motor-direct")

    # WHEN a collision claim giving only the plate, written untidily, is posted and scored
    claim_id = submit_and_score(client, pipeline, body(plate="琼ad·99001", loss_type="motor_collision",
                                                       amount="3200.00"), MOTOR)

    # THEN it is tied to the policy by plate, payable less the 500 deductible, and awaits a surveyor
    claim = stored(claim_id)
    assert (claim.resolution, claim.matched_by, claim.policy_number, claim.product) == (
        "RESOLVED", "plate", NUMBER, "motor")
    assert (claim.covered, claim.coverage_reasons, claim.payable) == (True, ("deductible_500.00",), Decimal("2700.00"))
    assert (claim.status, claim.segment) == (ClaimStatus.AWAITING_SURVEYOR, Segment.FIELD_SURVEY)
    assert get_claim(client, claim_id, MOTOR).json_body["coverage"] == {
        "covered": True, "reasons": ["deductible_500.00"], "suggested_payable": "2700.00"}
    assert resolution_event(claim_id).detail == {
        "outcome": "RESOLVED", "keys_tried": ["plate"], "matched_by": "plate", "policy_number": NUMBER,
        "covered": True, "coverage_reasons": ["deductible_500.00"], "payable": "2700.00"}


def test_unknown_policy_number_falls_through_to_the_phone(client, pipeline):
    # GIVEN a policy on a phone, and a claim whose policy number is mistyped
    store_policy(NUMBER, phone=PHONE)

    # WHEN the claim is posted and scored
    claim_id = submit_and_score(client, pipeline, body(number="PR2026199999", phone=PHONE))

    # THEN the phone resolves it after the policy number found nothing
    assert (stored(claim_id).resolution, stored(claim_id).matched_by) == ("RESOLVED", "phone")
    assert resolution_event(claim_id).detail["keys_tried"] == ["policy_number", "phone"]


def test_resolved_policy_that_is_cancelled_is_not_covered_and_goes_to_review(client, pipeline):
    # GIVEN a cancelled food-safety policy
    store_policy(NUMBER, status="CANCELLED")

    # WHEN a claim naming it is posted and scored
    claim_id = submit_and_score(client, pipeline, body(number=NUMBER))

    # THEN it is resolved but not covered, nothing is payable, and an agent reviews it
    claim = stored(claim_id)
    assert (claim.resolution, claim.covered, claim.coverage_reasons, claim.payable) == (
        "RESOLVED", False, ("policy_cancelled",), Decimal("0.00"))
    assert (claim.status, claim.segment) == (ClaimStatus.IN_REVIEW, Segment.STANDARD_REVIEW)
    assert get_claim(client, claim_id).json_body["coverage"] == {
        "covered": False, "reasons": ["policy_cancelled"], "suggested_payable": "0.00"}


# -- AMBIGUOUS --------------------------------------------------------------------------------------------

AMBIGUOUS_CASES = {
    # path: (what the two policies share, body posted, product, loss type, amount, partner key)
    "order_id": (dict(order_id=ORDER), dict(order_id=ORDER), "food_safety", "food_safety", "35.50", ELEME),
    "phone": (dict(phone=PHONE), dict(phone=PHONE), "food_safety", "food_safety", "35.50", ELEME),
    "plate": (dict(plate=PLATE, partner_id="motor-direct"), dict(plate=PLATE), "motor", "motor_collision",
              "3200.00", MOTOR),
}


def ambiguous_claim(client, pipeline, path: str) -> tuple[str, str]:
    """Two running policies share the path's key; a claim giving only that key is posted and scored.
    Returns the claim's id and the key of the partner that posted it."""
    shared, posted, product, loss_type, amount, api_key = AMBIGUOUS_CASES[path]
    store_policy(NUMBER_2, product, **shared)
    store_policy(NUMBER, product, **shared)
    return submit_and_score(client, pipeline, body(loss_type=loss_type, amount=amount, **posted), api_key), api_key


@pytest.mark.parametrize("path", list(AMBIGUOUS_CASES))
def test_two_running_policies_on_one_key_leave_the_claim_ambiguous_for_review(client, pipeline, path):
    # GIVEN two running policies of the same product sharing the path's key
    # WHEN a claim giving only that key is posted and scored
    claim_id, api_key = ambiguous_claim(client, pipeline, path)

    # THEN it is kept as AMBIGUOUS with both candidates, no coverage, and goes to standard review
    claim = stored(claim_id)
    assert (claim.resolution, claim.matched_by, claim.policy_number, claim.product, claim.candidates) == (
        "AMBIGUOUS", path, None, None, (NUMBER, NUMBER_2))
    assert (claim.covered, claim.coverage_reasons, claim.payable) == (None, (), None)
    assert (claim.status, claim.segment) == (ClaimStatus.IN_REVIEW, Segment.STANDARD_REVIEW)


@pytest.mark.parametrize("path", list(AMBIGUOUS_CASES))
def test_ambiguous_claim_lists_its_candidates_in_the_view_and_timeline(client, pipeline, path):
    # GIVEN two running policies of the same product sharing the path's key
    # WHEN a claim giving only that key is posted and scored
    claim_id, api_key = ambiguous_claim(client, pipeline, path)

    # THEN the view and the timeline list the candidates, in order, and say nothing of coverage
    view = get_claim(client, claim_id, api_key).json_body
    assert view["resolution"] == {"outcome": "AMBIGUOUS", "matched_by": path, "policy_number": None,
                                  "product": None, "candidates": [NUMBER, NUMBER_2]}
    assert view["coverage"] is None
    assert resolution_event(claim_id).detail == {"outcome": "AMBIGUOUS", "keys_tried": [path], "matched_by": path,
                                                 "candidates": [NUMBER, NUMBER_2]}


# -- UNVERIFIED ---------------------------------------------------------------------------------------------

def test_claim_whose_keys_match_nothing_is_kept_unverified_for_review(client, pipeline):
    # GIVEN no policy under any of the claim's keys
    claim = body(number="PR2026199999", order_id="RES-ORDER-9999", phone="+8619900009999", plate="琼A9Z999",
                 loss_type="motor_collision", amount="3200.00")

    # WHEN it is posted and scored
    claim_id = submit_and_score(client, pipeline, claim, MOTOR)

    # THEN it is kept, unverified, with every key tried once, and goes to standard review, never rejected
    stored_claim = stored(claim_id)
    assert (stored_claim.resolution, stored_claim.matched_by, stored_claim.policy_number,
            stored_claim.candidates, stored_claim.covered, stored_claim.payable) == (
        "UNVERIFIED", None, None, (), None, None)
    assert (stored_claim.status, stored_claim.segment) == (ClaimStatus.IN_REVIEW, Segment.STANDARD_REVIEW)
    view = get_claim(client, claim_id, MOTOR).json_body
    assert (view["status"], view["segment"], view["coverage"]) == ("IN_REVIEW", "STANDARD_REVIEW", None)
    assert view["resolution"] == {"outcome": "UNVERIFIED", "matched_by": None, "policy_number": None,
                                  "product": None, "candidates": []}
    assert resolution_event(claim_id).detail == {"outcome": "UNVERIFIED", "keys_tried": ALL_KEYS}


def test_order_id_of_another_partner_leaves_the_claim_unverified(client, pipeline):
    # GIVEN a policy sold through eleme under an order id
    store_policy(NUMBER, order_id=ORDER, partner_id="eleme")

    # WHEN hellobike claims with that order id
    claim_id = submit_and_score(client, pipeline, body(order_id=ORDER), HELLOBIKE)

    # THEN eleme's policy is not matched: the claim is kept unverified for review
    claim = stored(claim_id)
    assert (claim.resolution, claim.policy_number, claim.segment) == ("UNVERIFIED", None, Segment.STANDARD_REVIEW)
    assert resolution_event(claim_id).detail == {"outcome": "UNVERIFIED", "keys_tried": ["order_id"]}


# -- what a resolution costs --------------------------------------------------------------------------------

def test_resolution_trying_all_four_keys_costs_one_call_per_key_and_no_scan(aws):
    # GIVEN a claim with four keys, none stored
    sub = submission(policy_number="PR2026199999", order_id="RES-ORDER-9999", phone="+8619900009999",
                     plate="琼A9Z999", loss_type="motor_collision")
    resolver = bootstrap.container().scoring._resolver

    # WHEN it is resolved
    with count_aws_calls(*app_clients()) as calls:
        result = resolver.resolve(sub, "eleme")

    # THEN one GetItem for the policy number and one GSI Query for each other key: four calls in all
    assert result.outcome is ResolutionOutcome.UNVERIFIED
    assert calls == {"GetItem": 1, "Query": 3}
    assert calls.sequence == ["GetItem", "Query", "Query", "Query"]


def test_resolution_by_policy_number_costs_one_get_item(aws):
    # GIVEN a stored policy and a claim giving its number along with every other key
    store_policy(NUMBER, order_id=ORDER, phone=PHONE)
    sub = submission(policy_number=NUMBER, order_id=ORDER, phone=PHONE, plate=PLATE)
    resolver = bootstrap.container().scoring._resolver

    # WHEN it is resolved
    with count_aws_calls(*app_clients()) as calls:
        result = resolver.resolve(sub, "eleme")

    # THEN a single GetItem found it and nothing else was asked
    assert (result.outcome, result.policy.policy_number) == (ResolutionOutcome.RESOLVED, NUMBER)
    assert calls == {"GetItem": 1}
