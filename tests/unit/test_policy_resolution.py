"""PolicyResolver with the in-memory policy directory: which key decides, how several candidates are
narrowed, and what happens when nothing matches. No I/O."""
from __future__ import annotations

from datetime import datetime

import pytest

from chalicelib.domain.policy import MatchKey, ResolutionOutcome
from chalicelib.domain.products import catalogue
from chalicelib.services.resolve import PolicyResolver
from tests.fakes import SHANGHAI, FakePolicyDirectory, policy, submission

LOSS_AT = datetime(2026, 6, 15, 12, 30, tzinfo=SHANGHAI)
ALL_KEYS = (MatchKey.POLICY_NUMBER, MatchKey.ORDER_ID, MatchKey.PHONE, MatchKey.PLATE)

FOOD = policy("PA2026000123", "food_safety", phone="+8613800138000", order_id="E123456", partner_id="eleme")
MOTOR = policy("PM2026000789", "motor", phone="+8613700137000", plate="沪A12345", partner_id="motor-direct")
NEW_ENERGY = policy("PM2026000790", "motor", phone="+8618600186000", plate="沪AD12345", partner_id="motor-direct")


def resolver(*policies) -> tuple[PolicyResolver, FakePolicyDirectory]:
    directory = FakePolicyDirectory(list(policies) or [FOOD, MOTOR, NEW_ENERGY])
    return PolicyResolver(directory, catalogue()), directory


def claim(*, number: str | None = None, order_id: str | None = None, phone: str | None = None,
          plate: str | None = None, loss_type: str = "food_safety", occurred_at: datetime = LOSS_AT):
    """A submission carrying exactly the keys given (the fakes' defaults name a demo policy)."""
    return submission(loss_type=loss_type, occurred_at=occurred_at, policy_number=number or "",
                      order_id=order_id, phone=phone, plate=plate)


# -- each path ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("sub, owner, expected, key", [
    (claim(number="PA2026000123"), "eleme", "PA2026000123", MatchKey.POLICY_NUMBER),
    (claim(order_id="E123456"), "eleme", "PA2026000123", MatchKey.ORDER_ID),
    (claim(phone="+8613800138000"), "eleme", "PA2026000123", MatchKey.PHONE),
    (claim(plate="沪A12345", loss_type="motor_collision"), "motor-direct", "PM2026000789", MatchKey.PLATE),
    (claim(plate="沪AD12345", loss_type="motor_collision"), "motor-direct", "PM2026000790", MatchKey.PLATE),
], ids=["policy_number", "order_id", "phone", "plate", "new_energy_plate"])
def test_each_key_alone_resolves_its_policy(sub, owner, expected, key):
    # GIVEN a claim that carries only one key of a stored policy
    resolve, _ = resolver()

    # WHEN it is resolved
    result = resolve.resolve(sub, owner)

    # THEN that policy is the one, matched by that key
    assert (result.outcome, result.matched_by, result.policy.policy_number) == (
        ResolutionOutcome.RESOLVED, key, expected)
    assert result.candidates == ()
    assert result.keys_tried == (key,)


@pytest.mark.parametrize("sub, key, expected", [
    (claim(number=" pa 2026000123 "), MatchKey.POLICY_NUMBER, "PA2026000123"),
    (claim(number="ＰＡ２０２６０００１２３"), MatchKey.POLICY_NUMBER, "PA2026000123"),
    (claim(phone="138 0013 8000"), MatchKey.PHONE, "PA2026000123"),
    (claim(phone="8613800138000"), MatchKey.PHONE, "PA2026000123"),
    (claim(phone="+86 138-0013-8000"), MatchKey.PHONE, "PA2026000123"),
    (claim(plate="沪a·12345", loss_type="motor_collision"), MatchKey.PLATE, "PM2026000789"),
    (claim(plate="沪A 12345", loss_type="motor_collision"), MatchKey.PLATE, "PM2026000789"),
    (claim(plate="沪ad·12345", loss_type="motor_collision"), MatchKey.PLATE, "PM2026000790"),
], ids=["number_spaces_lower", "number_full_width", "phone_spaced", "phone_86_no_plus", "phone_dashed",
        "plate_dot_lower", "plate_space", "new_energy_plate_dot_lower"])
def test_messy_keys_are_normalised_before_the_lookup(sub, key, expected):
    # GIVEN policies stored under normalised keys and a claim that writes its key untidily
    resolve, _ = resolver()

    # WHEN it is resolved
    result = resolve.resolve(sub, "eleme")

    # THEN the untidy key still finds the policy
    assert (result.outcome, result.matched_by, result.policy.policy_number) == (
        ResolutionOutcome.RESOLVED, key, expected)


def test_order_id_is_looked_up_without_surrounding_whitespace():
    # GIVEN a partner order id sent with stray whitespace
    resolve, _ = resolver()

    # WHEN it is resolved for that partner
    result = resolve.resolve(claim(order_id="  E123456 "), "eleme")

    # THEN it matches the stored order id
    assert (result.outcome, result.policy.policy_number) == (ResolutionOutcome.RESOLVED, "PA2026000123")


# -- which key decides --------------------------------------------------------------------------------

def test_first_key_that_finds_a_policy_decides_and_later_keys_are_not_looked_up():
    # GIVEN a claim carrying all four keys, the policy number among them
    resolve, directory = resolver()
    sub = claim(number="PA2026000123", order_id="E123456", phone="+8613800138000", plate="沪A12345")

    # WHEN it is resolved
    result = resolve.resolve(sub, "eleme")

    # THEN the policy number decides with one lookup; order id, phone and plate are never looked up
    assert (result.outcome, result.matched_by, result.keys_tried) == (
        ResolutionOutcome.RESOLVED, MatchKey.POLICY_NUMBER, (MatchKey.POLICY_NUMBER,))
    assert dict(directory.lookups) == {"number": 1}


def test_first_key_that_finds_several_decides_even_when_a_later_key_would_find_one():
    # GIVEN two food policies on one order id, and a phone that belongs to only one of them
    resolve, directory = resolver(
        policy("PA1", "food_safety", order_id="E9", partner_id="eleme", phone="+8613800138000"),
        policy("PA2", "food_safety", order_id="E9", partner_id="eleme", phone="+8613900139000"))

    # WHEN a claim with that order id and phone is resolved
    result = resolve.resolve(claim(order_id="E9", phone="+8613800138000"), "eleme")

    # THEN the order id decides (ambiguous) and the phone is never looked up
    assert (result.outcome, result.matched_by, result.candidates) == (
        ResolutionOutcome.AMBIGUOUS, MatchKey.ORDER_ID, ("PA1", "PA2"))
    assert dict(directory.lookups) == {"order_id": 1}


def test_policy_number_that_finds_nothing_falls_through_to_the_next_key():
    # GIVEN a claim whose policy number is unknown but whose order id is the partner's
    resolve, directory = resolver()

    # WHEN it is resolved
    result = resolve.resolve(claim(number="PA2026999999", order_id="E123456", phone="+8613800138000"), "eleme")

    # THEN the order id resolves it; the phone is not looked up
    assert (result.outcome, result.matched_by, result.policy.policy_number) == (
        ResolutionOutcome.RESOLVED, MatchKey.ORDER_ID, "PA2026000123")
    assert result.keys_tried == (MatchKey.POLICY_NUMBER, MatchKey.ORDER_ID)
    assert dict(directory.lookups) == {"number": 1, "order_id": 1}


# -- narrowing several candidates ----------------------------------------------------------------------

def test_two_policies_on_one_phone_are_narrowed_by_peril_to_one():
    # GIVEN a food-safety and a motor policy on the same phone
    resolve, _ = resolver(policy("PA1", "food_safety", phone="+8613800138000"),
                          policy("PM1", "motor", phone="+8613800138000", plate="沪A12345"))

    # WHEN a food-safety loss is resolved by that phone
    result = resolve.resolve(claim(phone="+8613800138000", loss_type="food_safety"), "eleme")

    # THEN only the policy covering the peril is left
    assert (result.outcome, result.matched_by, result.policy.policy_number) == (
        ResolutionOutcome.RESOLVED, MatchKey.PHONE, "PA1")


def test_two_policies_covering_the_peril_are_narrowed_to_the_one_running_on_the_loss_date():
    # GIVEN last year's and this year's food-safety policy on the same phone
    resolve, _ = resolver(
        policy("PA2025", "food_safety", phone="+8613800138000", starts="2025-01-01", ends="2025-12-31"),
        policy("PA2026", "food_safety", phone="+8613800138000", starts="2026-01-01", ends="2026-12-31"))

    # WHEN a loss in 2026 is resolved by that phone
    result = resolve.resolve(claim(phone="+8613800138000"), "eleme")

    # THEN the policy running on the loss date is the one
    assert (result.outcome, result.policy.policy_number) == (ResolutionOutcome.RESOLVED, "PA2026")


def test_a_cancelled_and_an_active_policy_both_running_are_narrowed_to_the_active_one():
    # GIVEN a cancelled and a replacing active food-safety policy on the same phone, same period
    resolve, _ = resolver(policy("PA-OLD", "food_safety", phone="+8613800138000", status="CANCELLED"),
                          policy("PA-NEW", "food_safety", phone="+8613800138000"))

    # WHEN a loss is resolved by that phone
    result = resolve.resolve(claim(phone="+8613800138000"), "eleme")

    # THEN the policy in force is the one
    assert (result.outcome, result.policy.policy_number) == (ResolutionOutcome.RESOLVED, "PA-NEW")


def test_a_single_cancelled_policy_still_resolves_so_coverage_can_say_why_it_does_not_pay():
    # GIVEN only a cancelled policy on the phone
    resolve, _ = resolver(policy("PA-OLD", "food_safety", phone="+8613800138000", status="CANCELLED"))

    # WHEN a loss is resolved by that phone
    result = resolve.resolve(claim(phone="+8613800138000"), "eleme")

    # THEN it resolves to that policy (the coverage check then reports it cancelled)
    assert (result.outcome, result.policy.status) == (ResolutionOutcome.RESOLVED, "CANCELLED")


def test_loss_date_for_narrowing_is_taken_in_the_products_time_zone():
    # GIVEN two consecutive yearly policies on one phone
    resolve, _ = resolver(
        policy("PA2025", "food_safety", phone="+8613800138000", starts="2025-01-01", ends="2025-12-31"),
        policy("PA2026", "food_safety", phone="+8613800138000", starts="2026-01-01", ends="2026-12-31"))

    # WHEN the loss is at 00:30 on 1 January in Shanghai, sent in UTC (still 31 December there)
    result = resolve.resolve(claim(phone="+8613800138000", occurred_at=datetime.fromisoformat(
        "2025-12-31T16:30:00+00:00")), "eleme")

    # THEN the policy that runs on the Shanghai date is the one
    assert (result.outcome, result.policy.policy_number) == (ResolutionOutcome.RESOLVED, "PA2026")


def test_several_policies_still_left_after_narrowing_are_ambiguous_with_sorted_candidates():
    # GIVEN three running food-safety policies on one phone, stored out of order
    resolve, _ = resolver(*(policy(n, "food_safety", phone="+8613800138000") for n in ("PA3", "PA1", "PA2")))

    # WHEN a food-safety loss is resolved by that phone
    result = resolve.resolve(claim(phone="+8613800138000"), "eleme")

    # THEN it is ambiguous, with every candidate listed in order and no policy chosen
    assert (result.outcome, result.matched_by, result.policy) == (ResolutionOutcome.AMBIGUOUS, MatchKey.PHONE, None)
    assert result.candidates == ("PA1", "PA2", "PA3")


def test_ambiguous_candidates_leave_out_policies_that_do_not_cover_the_peril():
    # GIVEN two food-safety policies and a card-theft policy on one phone
    resolve, _ = resolver(policy("PA2", "food_safety", phone="+8613800138000"),
                          policy("PC1", "card_theft", phone="+8613800138000"),
                          policy("PA1", "food_safety", phone="+8613800138000"))

    # WHEN a food-safety loss is resolved by that phone
    result = resolve.resolve(claim(phone="+8613800138000"), "eleme")

    # THEN only the food-safety policies are candidates
    assert (result.outcome, result.candidates) == (ResolutionOutcome.AMBIGUOUS, ("PA1", "PA2"))


# -- nothing matches ----------------------------------------------------------------------------------

def test_no_key_matching_leaves_the_claim_unverified_with_each_key_tried_once():
    # GIVEN a claim with four keys, none of them stored
    resolve, directory = resolver()
    sub = claim(number="PX0000000000", order_id="NOPE-1", phone="+8613999999999", plate="京B99999",
                loss_type="motor_collision")

    # WHEN it is resolved
    result = resolve.resolve(sub, "eleme")

    # THEN it is unverified, every key was tried once, in order, and nothing was chosen
    assert (result.outcome, result.matched_by, result.policy, result.candidates) == (
        ResolutionOutcome.UNVERIFIED, None, None, ())
    assert result.keys_tried == ALL_KEYS
    assert dict(directory.lookups) == {"number": 1, "order_id": 1, "phone": 1, "plate": 1}


def test_order_id_of_another_partner_never_matches():
    # GIVEN a policy sold through eleme under order id E123456
    resolve, _ = resolver()

    # WHEN another partner claims with that order id
    result = resolve.resolve(claim(order_id="E123456"), "hellobike")

    # THEN nothing matches
    assert (result.outcome, result.policy, result.keys_tried) == (
        ResolutionOutcome.UNVERIFIED, None, (MatchKey.ORDER_ID,))


def test_order_id_of_a_policy_without_a_partner_matches_nobody():
    # GIVEN a policy with an order id but no selling partner on record
    resolve, _ = resolver(policy("PA-NP", "food_safety", order_id="E999", partner_id=None))

    # WHEN a partner claims with that order id
    result = resolve.resolve(claim(order_id="E999"), "eleme")

    # THEN it is not that partner's order: nothing matches
    assert result.outcome is ResolutionOutcome.UNVERIFIED


def test_order_id_of_another_partner_falls_through_to_the_next_key():
    # GIVEN a policy sold through eleme under order id E123456 whose holder has a phone on file
    resolve, _ = resolver()

    # WHEN another partner claims with that order id and the holder's phone
    result = resolve.resolve(claim(order_id="E123456", phone="+8613800138000"), "hellobike")

    # THEN the order id finds nothing for that partner and the phone decides
    assert (result.outcome, result.matched_by, result.keys_tried) == (
        ResolutionOutcome.RESOLVED, MatchKey.PHONE, (MatchKey.ORDER_ID, MatchKey.PHONE))


def test_order_id_shared_by_two_partners_matches_only_the_claiming_partners_policy():
    # GIVEN two partners that both use order id 1001
    resolve, _ = resolver(policy("PA1", "food_safety", order_id="1001", partner_id="eleme"),
                          policy("PB1", "food_safety", order_id="1001", partner_id="hellobike"))

    # WHEN each partner claims with it
    eleme = resolve.resolve(claim(order_id="1001"), "eleme")
    hellobike = resolve.resolve(claim(order_id="1001"), "hellobike")

    # THEN each gets its own policy, never an ambiguity with the other's
    assert (eleme.outcome, eleme.policy.policy_number) == (ResolutionOutcome.RESOLVED, "PA1")
    assert (hellobike.outcome, hellobike.policy.policy_number) == (ResolutionOutcome.RESOLVED, "PB1")


@pytest.mark.parametrize("sub", [
    claim(phone="12345"),
    claim(phone="+86 138"),
    claim(plate="XYZ", loss_type="motor_collision"),
    claim(plate="沪A1234", loss_type="motor_collision"),
    claim(number="??"),
    claim(order_id="   "),
], ids=["phone_too_short", "phone_incomplete", "plate_not_chinese", "plate_too_short", "number_invalid",
        "order_id_blank"])
def test_keys_that_cannot_be_normalised_are_skipped_without_a_lookup(sub):
    # GIVEN a claim whose only key is not a valid phone, plate, policy number or order id
    resolve, directory = resolver()

    # WHEN it is resolved
    result = resolve.resolve(sub, "eleme")

    # THEN nothing is looked up and it is unverified with no key tried
    assert (result.outcome, result.keys_tried) == (ResolutionOutcome.UNVERIFIED, ())
    assert dict(directory.lookups) == {}


def test_invalid_phone_is_skipped_and_the_plate_is_still_tried():
    # GIVEN a motor claim with an invalid phone and a valid plate
    resolve, directory = resolver()

    # WHEN it is resolved
    result = resolve.resolve(claim(phone="12345", plate="沪A12345", loss_type="motor_collision"), "motor-direct")

    # THEN the plate decides and the phone was never looked up
    assert (result.outcome, result.matched_by, result.keys_tried) == (
        ResolutionOutcome.RESOLVED, MatchKey.PLATE, (MatchKey.PLATE,))
    assert dict(directory.lookups) == {"plate": 1}
