"""The claim body parser (chalicelib.schemas.claims.parse_claim): strict, and explains each problem
by field without echoing values."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from chalicelib.domain.claim import Channel, ClaimSubmission
from chalicelib.domain.errors import MalformedBody, PayloadTooLarge, ValidationFailed
from chalicelib.schemas.claims import parse_batch, parse_claim
from tests.fakes import claim_body, motor_claim_body

NOT_RFC3339 = ("must be an RFC 3339 date-time with its UTC offset, e.g. 2026-11-24T12:30:00+08:00 or "
               "2026-11-24T04:30:00Z")


def _parse(body) -> object:
    raw = body if isinstance(body, (str, bytes)) else json.dumps(body, ensure_ascii=False)
    return parse_claim(raw, Channel.PARTNER_API)


def _problems(body, prefix: str = "") -> dict[str, str]:
    raw = json.dumps(body, ensure_ascii=False)
    with pytest.raises(ValidationFailed) as raised:
        parse_claim(raw, Channel.PARTNER_API, prefix=prefix)
    return {d.field: d.problem for d in raised.value.details}


def test_valid_body_becomes_a_submission():
    # GIVEN the contract's example body
    body = claim_body(external_ref="ELEME-20261125-000123", amount="35.50", plate="沪A12345")

    # WHEN it is parsed
    sub = _parse(body)

    # THEN every field lands in the channel-neutral command
    assert sub.channel is Channel.PARTNER_API
    assert (sub.external_ref, sub.policy_number, sub.order_id) == ("ELEME-20261125-000123", "PA2026000123", "E123456")
    assert (sub.claimant_name, sub.claimant_phone, sub.plate) == ("张三", "+8613800138000", "沪A12345")
    assert (sub.loss_type, sub.description) == ("food_safety", "午餐后腹泻，订单餐品变质")
    assert sub.occurred_at == datetime.fromisoformat(body["loss"]["occurred_at"])
    assert (sub.location.region_code, sub.location.lat, sub.location.lon) == ("310115", 31.22, 121.54)
    assert (sub.amount, sub.currency) == (Decimal("35.50"), "CNY")


def test_surrounding_whitespace_of_text_is_trimmed():
    # GIVEN a description with surrounding whitespace
    body = claim_body(description="  外卖变质  ")

    # WHEN it is parsed
    # THEN it is trimmed
    assert _parse(body).description == "外卖变质"


def test_optional_parts_may_be_left_out():
    # GIVEN a body with only the policy number to identify the claimant
    body = claim_body(external_ref=None)
    del body["claimant"]
    body["policy"] = {"number": "PA2026000123"}
    del body["loss"]["location"]["lat"], body["loss"]["location"]["lon"], body["loss"]["location"]["address"]

    # WHEN it is parsed
    sub = _parse(body)

    # THEN the absent parts are None
    assert (sub.external_ref, sub.claimant_phone, sub.order_id, sub.location.lat) == (None, None, None, None)


@pytest.mark.parametrize("path, value, field", [
    ("extra", "x", "extra"),
    ("loss.weather", "rain", "loss.weather"),
    ("loss.location.floor", 3, "loss.location.floor"),
    ("amount.value", 35.5, "amount.value"),
    ("amount.value", "35,50", "amount.value"),
    ("amount.value", "1234567890123", "amount.value"),
    ("amount.currency", "cny", "amount.currency"),
    ("loss.occurred_at", "2026-11-24T12:30:00", "loss.occurred_at"),
    ("loss.occurred_at", "yesterday", "loss.occurred_at"),
    ("loss.occurred_at", 1795619141, "loss.occurred_at"),
    ("loss.type", "Food_Safety", "loss.type"),
    ("loss.location.region_code", "31011", "loss.location.region_code"),
    ("loss.location.lat", 91, "loss.location.lat"),
    ("loss.location.lon", "121.5", "loss.location.lon"),
    ("loss.description", "   ", "loss.description"),
    ("loss.description", "x" * 4001, "loss.description"),
    ("external_ref", "has space", "external_ref"),
    ("claimant.phone", "call me", "claimant.phone"),
    ("policy", None, "policy"),
    ("vehicle", {"plate": ""}, "vehicle.plate"),
], ids=lambda v: v if isinstance(v, str) and len(v) < 40 else None)
def test_bad_field_is_reported_by_its_path(path, value, field):
    # GIVEN a valid body with one bad field
    body = claim_body()
    node = body
    *parents, last = path.split(".")
    for part in parents:
        node = node[part]
    node[last] = value

    # WHEN it is parsed
    problems = _problems(body)

    # THEN the problem is reported against that field
    assert field in problems
    assert problems[field]


@pytest.mark.parametrize("missing", ["loss", "amount", "loss.type", "loss.occurred_at", "loss.location",
                                     "loss.location.region_code", "amount.value", "amount.currency"])
def test_missing_required_field_is_reported_as_required(missing):
    # GIVEN a body without a required field
    body = claim_body()
    node = body
    *parents, last = missing.split(".")
    for part in parents:
        node = node[part]
    del node[last]

    # WHEN it is parsed
    # THEN it is reported as required
    assert _problems(body)[missing] == "is required"


def test_unknown_field_is_named_as_unknown():
    # GIVEN a body with a field the contract does not have
    body = claim_body()
    body["loss"]["weather"] = "rain"

    # WHEN it is parsed
    # THEN it is rejected, not ignored
    assert _problems(body) == {"loss.weather": "unknown field"}


def test_loss_in_the_future_is_refused():
    # GIVEN a loss two days ahead
    body = claim_body(occurred_at=(datetime.now(UTC) + timedelta(days=2)).isoformat())

    # WHEN it is parsed
    # THEN it is refused against loss.occurred_at
    assert _problems(body) == {"loss.occurred_at": "is in the future"}


@pytest.mark.parametrize("occurred_at", [
    "1764560000", "0", "-1", "1764560000.5",  # pydantic alone reads these as Unix times, in UTC
    "2026-11-24 12:30:00+08:00", "2026-11-24T12:30:00+0800", "2026-11-24T12:30+08:00", "2026-11-24T12:30:00+08",
    "2026-11-24", "2026-11-24T12:30:00.+08:00", " 2026-11-24T12:30:00+08:00",
])
def test_a_loss_time_that_is_not_rfc_3339_with_an_offset_is_refused(occurred_at):
    # GIVEN a loss time as a Unix time, or a date-time without the offset RFC 3339 requires
    body = claim_body(occurred_at=occurred_at)

    # WHEN it is parsed
    # THEN it is refused against loss.occurred_at, saying what form it must take
    assert _problems(body) == {"loss.occurred_at": NOT_RFC3339}


@pytest.mark.parametrize("occurred_at", ["0001-01-01T00:00:00+08:00", "0001-01-01T00:00:00+00:00",
                                         "1899-12-31T23:59:59Z", "0999-06-01T12:00:00-05:00"])
def test_a_loss_before_1900_is_refused(occurred_at):
    # GIVEN a loss dated before 1900 (year 1 in Shanghai has no UTC instant a datetime can hold)
    body = claim_body(occurred_at=occurred_at)

    # WHEN it is parsed
    # THEN it is refused against loss.occurred_at
    assert _problems(body) == {"loss.occurred_at": "must not be before 1900-01-01"}


@pytest.mark.parametrize("occurred_at", ["9999-12-31T23:59:59-14:00", "2999-01-01T00:00:00Z"])
def test_a_loss_in_a_far_year_is_in_the_future(occurred_at):
    # GIVEN a loss in a year no clock has reached (9999 at -14:00 is past what a datetime holds in UTC)
    body = claim_body(occurred_at=occurred_at)

    # WHEN it is parsed
    # THEN it is refused as in the future
    assert _problems(body) == {"loss.occurred_at": "is in the future"}


@pytest.mark.parametrize("occurred_at, utc", [
    ("2026-11-24T04:30:00Z", datetime(2026, 11, 24, 4, 30, tzinfo=UTC)),
    ("2026-11-24t04:30:00z", datetime(2026, 11, 24, 4, 30, tzinfo=UTC)),
    ("2026-11-24T12:30:00.250+08:00", datetime(2026, 11, 24, 4, 30, 0, 250000, tzinfo=UTC)),
    ("2026-11-23T23:30:00-05:00", datetime(2026, 11, 24, 4, 30, tzinfo=UTC)),
    ("1900-01-01T00:00:00Z", datetime(1900, 1, 1, tzinfo=UTC)),
])
def test_rfc_3339_loss_times_with_any_offset_are_accepted(occurred_at, utc):
    # GIVEN a loss time in RFC 3339 with Z or an offset (T and Z in either case, fractions of a second)
    body = claim_body(occurred_at=occurred_at)

    # WHEN it is parsed
    sub = _parse(body)

    # THEN it is that instant, keeping its offset
    assert sub.occurred_at == utc
    assert sub.occurred_at.utcoffset() is not None


def test_small_clock_skew_is_tolerated():
    # GIVEN a loss time a minute ahead of our clock (the partner's clock runs fast)
    body = claim_body(occurred_at=(datetime.now(UTC) + timedelta(minutes=1)).isoformat())

    # WHEN it is parsed
    # THEN it is accepted
    assert _parse(body).loss_type == "food_safety"


def test_motor_loss_without_vehicle_is_refused():
    # GIVEN a motor claim without a vehicle
    body = motor_claim_body(plate=None)

    # WHEN it is parsed
    # THEN the problem is reported on the missing plate
    assert _problems(body) == {"vehicle.plate": "is required for motor losses"}


def test_zero_amount_is_refused():
    # GIVEN a claim for nothing
    body = claim_body(amount="0.00")

    # WHEN it is parsed
    # THEN the amount is what is wrong
    assert _problems(body) == {"amount.value": "must be greater than 0"}


def test_claim_identifying_nobody_is_refused():
    # GIVEN a claim without policy, order, phone or plate
    body = claim_body()
    body["policy"] = {}
    body["claimant"] = {"name": "张三"}

    # WHEN it is parsed
    # THEN it asks for something to identify the claimant by
    assert "give at least one of" in _problems(body)["policy.number"]


def test_problems_inside_a_batch_are_prefixed_with_the_items_position():
    # GIVEN a bad item at position 3 of a batch
    body = claim_body()
    body["loss"]["weather"] = "rain"

    # WHEN it is parsed with the item's prefix
    # THEN the field is located inside the batch
    assert _problems(body, prefix="claims.3") == {"claims.3.loss.weather": "unknown field"}


def test_future_loss_inside_a_batch_is_prefixed_with_the_items_position():
    # GIVEN a future loss at position 2 of a batch
    body = claim_body(occurred_at="2099-01-01T00:00:00+08:00")

    # WHEN it is parsed with the item's prefix
    # THEN it is located inside the batch like any other problem
    assert _problems(body, prefix="claims.2") == {"claims.2.loss.occurred_at": "is in the future"}


def test_problems_never_echo_the_submitted_values():
    # GIVEN invalid values that are personal data
    body = claim_body(phone="my number is 13800138000")
    body["vehicle"] = {"plate": "沪A12345-TOO-LONG-PLATE"}

    # WHEN it is parsed
    problems = _problems(body)

    # THEN the explanations do not repeat them
    text = json.dumps(problems, ensure_ascii=False)
    assert "13800138000" not in text
    assert "沪A12345" not in text


@pytest.mark.parametrize("raw", ["", "{", "not json", '{"loss": }', b"\xff\xfe\x00", "[1, 2"], ids=repr)
def test_unreadable_json_is_a_malformed_body(raw):
    # GIVEN bytes that are not JSON
    # WHEN they are parsed
    # THEN the body is malformed (not a validation problem)
    with pytest.raises(MalformedBody):
        _parse(raw)


@pytest.mark.parametrize("raw", ["[]", "null", "42", '"claim"', "true"], ids=repr)
def test_json_that_is_not_an_object_fails_validation(raw):
    # GIVEN JSON that is not an object
    # WHEN it is parsed
    # THEN it fails validation
    with pytest.raises(ValidationFailed):
        _parse(raw)


# -- batches -----------------------------------------------------------------------------------------

def test_each_claim_of_a_batch_is_parsed_on_its_own_and_its_problems_located_in_the_batch():
    # GIVEN a batch of a valid claim, one without an amount and one larger than a single claim may be
    big = claim_body(description="长" * 1000)
    body = {"claims": [claim_body(external_ref="R-1"), {k: v for k, v in claim_body().items() if k != "amount"}, big]}

    # WHEN it is parsed with the single route's limit per claim
    parsed = parse_batch(body, Channel.PARTNER_API, max_claims=3, max_claim_bytes=2000)

    # THEN the valid claim is a submission, the others their own errors, named by position
    assert isinstance(parsed[0], ClaimSubmission) and parsed[0].external_ref == "R-1"
    assert isinstance(parsed[1], ValidationFailed) and [d.field for d in parsed[1].details] == ["claims.1.amount"]
    assert isinstance(parsed[2], PayloadTooLarge)


@pytest.mark.parametrize("body", [[], {}, {"claims": []}, {"claims": {}}, {"claims": [{}] * 4},
                                  {"claims": [{}], "more": 1}])
def test_a_batch_that_is_not_one_to_max_claims_and_nothing_else_is_refused_whole(body):
    # GIVEN a body that is not {"claims": [1 to 3 claims]}
    # WHEN it is parsed
    # THEN the whole batch is refused, naming the list
    with pytest.raises(ValidationFailed) as refused:
        parse_batch(body, Channel.PARTNER_API, max_claims=3, max_claim_bytes=2000)
    assert [(d.field, d.problem) for d in refused.value.details] == [
        ("claims", "give a list of 1 to 3 claims and nothing else")]
