"""Property-based tests of the claim parser (chalicelib.schemas.claims.parse_claim)."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from chalicelib.domain.claim import Channel
from chalicelib.domain.errors import MalformedBody, ValidationFailed
from chalicelib.domain.perils import MOTOR, PERILS
from chalicelib.schemas.claims import parse_claim
from tests.fakes import claim_body
from tests.unit.dates import (
    assert_a_date_in_the_window,
    date_texts,
)

EXPECTED_ERRORS = (ValidationFailed, MalformedBody)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=25,
)


def _parses_or_fails_cleanly(raw) -> None:
    try:
        parse_claim(raw, Channel.PARTNER_API)
    except EXPECTED_ERRORS:
        pass


@given(json_values)
def test_any_json_value_parses_or_fails_with_a_contract_error(value):
    # GIVEN any JSON value at all
    raw = json.dumps(value)

    # WHEN it is parsed as a claim
    # THEN the only errors are ValidationFailed or MalformedBody (never a crash, never a 500)
    _parses_or_fails_cleanly(raw)


@given(st.binary(max_size=200))
def test_any_bytes_parse_or_fail_with_a_contract_error(raw):
    # GIVEN arbitrary bytes
    # WHEN they are parsed as a claim
    # THEN the only errors are the contract's
    _parses_or_fails_cleanly(raw)


def _paths(node, prefix=()):
    if isinstance(node, dict):
        for key, child in node.items():
            yield prefix + (key,)
            yield from _paths(child, prefix + (key,))


CLAIM_PATHS = sorted(_paths(claim_body(plate="沪A12345")))


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(CLAIM_PATHS), json_values)
def test_claim_with_any_field_replaced_parses_or_fails_with_a_contract_error(path, value):
    # GIVEN a valid claim with one field (at any depth) replaced by any JSON value
    body = claim_body(plate="沪A12345")
    node = body
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value

    # WHEN it is parsed
    # THEN it either parses or fails with the contract's errors
    _parses_or_fails_cleanly(json.dumps(body, ensure_ascii=False))


# -- valid claims round-trip ---------------------------------------------------------------------------

LATEST = datetime.now(UTC) - timedelta(days=1)

cjk = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF)
emoji = st.sampled_from(list("🍱🚲🚗💳📦😀🔥✅"))
plain = st.sampled_from(list("abcXYZ0189.,-()"))
word_char = cjk | emoji | plain
descriptions = st.builds(lambda first, middle, last: first + middle + last,
                         word_char, st.text(alphabet=word_char | st.just(" "), max_size=200), word_char)
amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("999999999999.99"), places=2, allow_nan=False,
                      allow_infinity=False)
offsets = st.integers(min_value=-12 * 60, max_value=14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
occurred = st.builds(lambda ts, tz: ts.replace(tzinfo=UTC).astimezone(tz),
                     st.datetimes(min_value=datetime(2000, 1, 1), max_value=LATEST.replace(tzinfo=None)), offsets)
regions = st.from_regex(r"\A[0-9]{6}\Z")


@given(loss_type=st.sampled_from(sorted(PERILS)), amount=amounts, description=descriptions,
       region=regions, occurred_at=occurred)
def test_valid_claim_round_trips(loss_type, amount, description, region, occurred_at):
    # GIVEN a valid claim with any amount, a unicode description (Chinese, emoji), any region and loss time
    body = claim_body(loss_type=loss_type, amount=f"{amount:f}", description=description, region=region,
                      occurred_at=occurred_at.isoformat(),
                      plate="沪A12345" if PERILS[loss_type] == MOTOR else None)

    # WHEN it is parsed
    sub = parse_claim(json.dumps(body, ensure_ascii=False).encode("utf-8"), Channel.PARTNER_API)

    # THEN what was sent is what the command holds
    assert sub.loss_type == loss_type
    assert sub.amount == amount
    assert str(sub.amount) == f"{amount:f}"
    assert sub.description == description
    assert sub.location.region_code == region
    assert sub.occurred_at == occurred_at
    assert sub.occurred_at.utcoffset() == occurred_at.utcoffset()


@given(amount=amounts)
def test_amount_keeps_its_exact_decimal_value(amount):
    # GIVEN an amount of up to 12 digits and 2 decimals
    body = claim_body(amount=f"{amount:f}")

    # WHEN it is parsed
    # THEN it is the exact decimal, with no float rounding
    assert parse_claim(json.dumps(body), Channel.PARTNER_API).amount == Decimal(f"{amount:f}")


# -- dates: RFC 3339 with an offset, from 1900 to now ---------------------------------------------------


@settings(max_examples=300)
@given(occurred_at=date_texts)
@example(occurred_at="0001-01-01T00:00:00+08:00")
@example(occurred_at="0001-01-01T00:00:00+00:00")
@example(occurred_at="1764560000")
@example(occurred_at="-1")
@example(occurred_at="9999-12-31T23:59:59-14:00")
def test_any_accepted_loss_time_has_an_offset_and_is_between_1900_and_now(occurred_at):
    # GIVEN a claim whose loss time is anything a sender might write there
    body = claim_body()
    body["loss"]["occurred_at"] = occurred_at

    # WHEN it is parsed
    try:
        sub = parse_claim(json.dumps(body, ensure_ascii=False), Channel.PARTNER_API)
    except ValidationFailed as refused:
        assert [d.field for d in refused.details] == ["loss.occurred_at"]
        return

    # THEN an accepted time carried its offset, lies in the window, and the claim's fingerprint is sound
    assert_a_date_in_the_window(occurred_at, sub.occurred_at)
    assert sub.fingerprint()
