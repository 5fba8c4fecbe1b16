"""check_coverage: the policy period in the product's time zone, status, peril, currency, limit,
deductible and the suggested payable amount. No I/O."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from decimal import Decimal

import pytest

from chalicelib.domain.coverage import check_coverage
from chalicelib.domain.products import catalogue
from tests.fakes import policy, submission

FOOD = catalogue().get("food_safety")  # limit 500.00, no deductible
MOTOR = catalogue().get("motor")  # limit 300000.00, deductible 500.00
BIKE = catalogue().get("shared_bike_accident")  # deductible 100.00

# Policy period 2026-03-01 .. 2026-05-31 inclusive, Shanghai dates.
FOOD_POLICY = policy("PA1", "food_safety", starts="2026-03-01", ends="2026-05-31")
MOTOR_POLICY = policy("PM1", "motor", plate="沪A12345", starts="2026-03-01", ends="2026-05-31")
BIKE_POLICY = policy("PB1", "shared_bike_accident", starts="2026-03-01", ends="2026-05-31")
IN_PERIOD = "2026-04-10T12:00:00+08:00"


def loss(occurred_at: str = IN_PERIOD, *, loss_type: str = "food_safety", amount: str = "35.50"):
    return submission(loss_type=loss_type, amount=amount, occurred_at=datetime.fromisoformat(occurred_at),
                      plate="沪A12345" if loss_type.startswith("motor_") else None)


# -- the policy period, in Shanghai time ------------------------------------------------------------

@pytest.mark.parametrize("occurred_at", [
    "2026-05-31T23:30:00+08:00",  # 23:30 on the last day in Shanghai
    "2026-05-31T15:30:00Z",  # the same instant in UTC
    "2026-06-01T00:30:00+09:00",  # the same instant from a device on +09:00: already 1 June there
], ids=["+08:00", "Z", "+09:00_next_day"])
def test_loss_late_on_the_last_day_in_shanghai_is_covered_whatever_the_offset(occurred_at):
    # GIVEN a policy ending on 31 May and a loss at 23:30 on 31 May, Shanghai time
    sub = loss(occurred_at)

    # WHEN its coverage is checked
    coverage = check_coverage(FOOD_POLICY, FOOD, sub)

    # THEN it is covered
    assert (coverage.covered, coverage.reasons) == (True, ())


@pytest.mark.parametrize("occurred_at", [
    "2026-06-01T00:30:00+08:00",  # 00:30 on the day after the last day in Shanghai
    "2026-05-31T16:30:00Z",  # the same instant in UTC: still 31 May there
], ids=["+08:00", "Z_still_last_day_in_utc"])
def test_loss_early_on_the_day_after_the_last_day_in_shanghai_is_not_covered(occurred_at):
    # GIVEN a policy ending on 31 May and a loss at 00:30 on 1 June, Shanghai time
    sub = loss(occurred_at)

    # WHEN its coverage is checked
    coverage = check_coverage(FOOD_POLICY, FOOD, sub)

    # THEN it is outside the policy period and nothing is payable
    assert (coverage.covered, coverage.reasons, coverage.payable) == (
        False, ("loss_outside_policy_period",), Decimal("0.00"))


@pytest.mark.parametrize("occurred_at", [
    "2026-03-01T00:00:00+08:00",  # midnight starting the first day in Shanghai
    "2026-02-28T16:00:00Z",  # the same instant in UTC: still 28 February there
], ids=["+08:00", "Z_previous_day_in_utc"])
def test_loss_at_the_first_moment_of_the_first_day_in_shanghai_is_covered(occurred_at):
    # GIVEN a policy starting on 1 March and a loss at 00:00 on 1 March, Shanghai time
    sub = loss(occurred_at)

    # WHEN its coverage is checked
    coverage = check_coverage(FOOD_POLICY, FOOD, sub)

    # THEN it is covered
    assert coverage.covered is True


@pytest.mark.parametrize("occurred_at", [
    "2026-02-28T23:59:59+08:00",  # the last second before the first day in Shanghai
    "2026-02-28T15:59:59Z",  # the same instant in UTC
], ids=["+08:00", "Z"])
def test_loss_just_before_the_first_day_in_shanghai_is_not_covered(occurred_at):
    # GIVEN a policy starting on 1 March and a loss at 23:59:59 on 28 February, Shanghai time
    sub = loss(occurred_at)

    # WHEN its coverage is checked
    coverage = check_coverage(FOOD_POLICY, FOOD, sub)

    # THEN it is outside the policy period
    assert (coverage.covered, coverage.reasons) == (False, ("loss_outside_policy_period",))


# -- status, peril, currency --------------------------------------------------------------------------

def test_cancelled_policy_does_not_cover():
    # GIVEN a cancelled policy and a loss inside its period
    cancelled = replace(FOOD_POLICY, status="CANCELLED")

    # WHEN coverage is checked
    coverage = check_coverage(cancelled, FOOD, loss())

    # THEN it is not covered, because of the status, and nothing is payable
    assert (coverage.covered, coverage.reasons, coverage.payable) == (False, ("policy_cancelled",), Decimal("0.00"))


def test_peril_outside_the_product_is_not_covered():
    # GIVEN a food-safety policy and a card-theft loss
    sub = loss(loss_type="card_theft")

    # WHEN coverage is checked
    coverage = check_coverage(FOOD_POLICY, FOOD, sub)

    # THEN the peril is not covered
    assert (coverage.covered, coverage.reasons, coverage.payable) == (False, ("peril_not_covered",), Decimal("0.00"))


def test_amount_in_another_currency_is_not_covered():
    # GIVEN a CNY product and a loss claimed in USD
    sub = replace(loss(), currency="USD")

    # WHEN coverage is checked
    coverage = check_coverage(FOOD_POLICY, FOOD, sub)

    # THEN it is a currency mismatch
    assert (coverage.covered, coverage.reasons, coverage.payable) == (False, ("currency_mismatch",), Decimal("0.00"))


def test_every_reason_for_refusal_is_listed():
    # GIVEN a cancelled policy, and a loss after its period, of another peril, in another currency
    sub = replace(loss("2026-07-01T10:00:00+08:00", loss_type="card_theft"), currency="USD")

    # WHEN coverage is checked
    coverage = check_coverage(replace(FOOD_POLICY, status="CANCELLED"), FOOD, sub)

    # THEN each reason is given, in a fixed order
    assert coverage.reasons == ("policy_cancelled", "loss_outside_policy_period", "peril_not_covered",
                                "currency_mismatch")


# -- limit, deductible and the suggested payable amount ---------------------------------------------------

def test_claim_within_limit_without_deductible_is_payable_in_full():
    # GIVEN a food-safety loss of 35.50 (limit 500, no deductible)
    # WHEN coverage is checked
    coverage = check_coverage(FOOD_POLICY, FOOD, loss(amount="35.50"))

    # THEN all of it is payable, with no reasons
    assert (coverage.covered, coverage.reasons, coverage.payable) == (True, (), Decimal("35.50"))


def test_amount_above_the_limit_is_capped_at_the_limit_with_a_reason():
    # GIVEN a food-safety loss of 800.00 against a limit of 500.00
    # WHEN coverage is checked
    coverage = check_coverage(FOOD_POLICY, FOOD, loss(amount="800.00"))

    # THEN it is covered, capped at the limit, and says so
    assert (coverage.covered, coverage.reasons, coverage.payable) == (
        True, ("amount_capped_at_limit",), Decimal("500.00"))


def test_amount_equal_to_the_limit_is_not_capped():
    # GIVEN a food-safety loss of exactly the limit
    # WHEN coverage is checked
    coverage = check_coverage(FOOD_POLICY, FOOD, loss(amount="500.00"))

    # THEN all of it is payable and no cap is reported
    assert (coverage.reasons, coverage.payable) == ((), Decimal("500.00"))


def test_motor_deductible_is_subtracted():
    # GIVEN a motor loss of 3200.00 (deductible 500.00)
    # WHEN coverage is checked
    coverage = check_coverage(MOTOR_POLICY, MOTOR, loss(loss_type="motor_collision", amount="3200.00"))

    # THEN the deductible is subtracted and named, and the claim needs a survey
    assert (coverage.covered, coverage.reasons, coverage.payable) == (
        True, ("deductible_500.00",), Decimal("2700.00"))
    assert coverage.needs_survey is True


def test_deductible_is_subtracted_from_the_capped_amount():
    # GIVEN a motor loss of 400000.00 against a limit of 300000.00 and a deductible of 500.00
    # WHEN coverage is checked
    coverage = check_coverage(MOTOR_POLICY, MOTOR, loss(loss_type="motor_collision", amount="400000.00"))

    # THEN payable is limit minus deductible
    assert (coverage.reasons, coverage.payable) == (
        ("amount_capped_at_limit", "deductible_500.00"), Decimal("299500.00"))


@pytest.mark.parametrize("amount", ["300.00", "500.00"], ids=["below_deductible", "equal_to_deductible"])
def test_payable_is_never_negative(amount):
    # GIVEN a motor loss no larger than the 500.00 deductible
    # WHEN coverage is checked
    coverage = check_coverage(MOTOR_POLICY, MOTOR, loss(loss_type="motor_collision", amount=amount))

    # THEN it is covered but nothing is payable
    assert (coverage.covered, coverage.payable) == (True, Decimal("0.00"))
    assert str(coverage.payable) == "0.00"


@pytest.mark.parametrize("product, pol, loss_type, amount, payable", [
    (FOOD, FOOD_POLICY, "food_safety", "35.5", "35.50"),
    (FOOD, FOOD_POLICY, "food_safety", "0.01", "0.01"),
    (FOOD, FOOD_POLICY, "food_safety", "499.99", "499.99"),
    (BIKE, BIKE_POLICY, "shared_bike_accident", "100.01", "0.01"),
    (BIKE, BIKE_POLICY, "shared_bike_accident", "1234.56", "1134.56"),
    (MOTOR, MOTOR_POLICY, "motor_glass", "1234.56", "734.56"),
    (MOTOR, MOTOR_POLICY, "motor_collision", "500.10", "0.10"),
], ids=lambda v: v if isinstance(v, str) else None)
def test_payable_is_exact_to_the_cent(product, pol, loss_type, amount, payable):
    # GIVEN a covered loss of a decimal amount
    # WHEN coverage is checked
    coverage = check_coverage(pol, product, loss(loss_type=loss_type, amount=amount))

    # THEN the payable amount is exact, with two decimals
    assert str(coverage.payable) == payable
