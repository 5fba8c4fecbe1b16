"""Property-based tests of every parser that reads hostile input, beyond the partner claim body
(tests/unit/test_claim_schema_properties.py): the form, upload, agent, surveyor and IVR event models,
JSON bodies, Twilio's form, vendor signatures, Amazon Connect events, phone numbers and status tokens.
Whatever arrives, each answers a value or its documented error, never anything else."""
from __future__ import annotations

import json
import re
from decimal import Decimal
from types import SimpleNamespace
from urllib.parse import parse_qsl, urlencode

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from chalicelib.api import agent as agent_api
from chalicelib.api import connect
from chalicelib.api.http import IDEMPOTENCY_KEY, idempotency_key_of, load_json
from chalicelib.api.ivr_events import _event
from chalicelib.domain import status_token
from chalicelib.domain.errors import MalformedBody, ValidationFailed
from chalicelib.domain.identity import normalise_phone
from chalicelib.domain.perils import PERILS
from chalicelib.domain.signatures import SignatureRejected, sign_webhook, verify_webhook
from chalicelib.observability import correlation_id_from
from chalicelib.schemas.agent import DecisionIn, SurveyCompletedIn, SurveyorStatusIn
from chalicelib.schemas.claim_form import PolicyCheckIn, PublicClaimIn, UploadRequestIn, parse
from chalicelib.schemas.ivr import (
    CONNECT_MAX_AMOUNT,
    CallStarted,
    ClaimReported,
    ContactFlowEvent,
    TwilioCallForm,
    connect_value,
    twilio_form,
)
from tests.fakes import yesterday_in_shanghai
from tests.unit.dates import assert_a_date_in_the_window, date_texts

CONTRACT_ERRORS = (ValidationFailed, MalformedBody)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=25,
)

PUBLIC_CLAIM = {"submission_key": "5b0c7a52-9a0e-4d53", "policy_number": "PA2026000123", "phone": "+8613800138000",
                "loss_type": "food_safety", "occurred_at": yesterday_in_shanghai().isoformat(),
                "region_code": "310115", "description": "午餐外卖后腹泻", "amount": "45.00", "language": "en"}
# One valid body per model the routes parse with schemas.claim_form.parse; each field is then replaced below.
VALID_BODIES = {
    PolicyCheckIn: {"policy_number": "PA2026000123", "phone": "+8613800138000"},
    PublicClaimIn: PUBLIC_CLAIM,
    UploadRequestIn: {"content_type": "image/png", "size": 1024, "filename": "photo.png"},
    DecisionIn: {"decision": "override", "amount": "80.00", "reason": "receipt checked"},
    SurveyorStatusIn: {"status": "AVAILABLE"},
    SurveyCompletedIn: {"assessed_amount": "3000.00", "notes": "rear bumper"},
}
IVR_EVENTS = {
    CallStarted: {"type": "call.started", "call_id": "call-0001", "caller": "+8613800138000",
                  "occurred_at": "2026-11-24T12:30:00+08:00"},
    ClaimReported: {"type": "claim.reported", "call_id": "call-0002", "caller": "+8613800138000",
                    "policy": {"number": "PA2026000123"},
                    "loss": {"type": "food_safety", "description": "腹泻", "location": {"region_code": "310115"}},
                    "amount": {"value": "45.00", "currency": "CNY"}},
}
# Unicode that trips naive code: astral emoji and ZWJ sequences, RTL, combining marks, other scripts'
# digits, NUL, and the escapes of lone surrogates (valid JSON text, but no valid UTF-8 string).
NASTY = ["👩‍👩‍👧‍👦", "🏳️‍🌈", "𠀋𡈽", "مرحبا", "שלום", "é", "Z̤͔ͧ̑̓", "３１０１１５", "١٢٣", "²", "\x00", "\u202e", "\ufeff"]
nasty_text = st.sampled_from(NASTY) | st.text(max_size=30)


def _parses_or_fails_cleanly(model, raw) -> None:
    try:
        result = parse(model, raw, "body")
    except CONTRACT_ERRORS:
        return
    assert isinstance(result, model)


# -- the request models of the form, uploads, agents and surveyors -------------------------------------

@settings(max_examples=300)
@given(model=st.sampled_from(list(VALID_BODIES)), value=json_values)
def test_any_json_value_parses_or_fails_with_a_contract_error(model, value):
    # GIVEN any JSON value at all
    # WHEN a route parses it as its body
    # THEN it is the model or one of the contract's errors (400), never a crash (500)
    _parses_or_fails_cleanly(model, json.dumps(value))


@settings(max_examples=300)
@given(model=st.sampled_from(list(VALID_BODIES) + list(IVR_EVENTS)), raw=st.binary(max_size=200))
@example(model=PublicClaimIn, raw=b'{"a": "\\ud800"}')
@example(model=ClaimReported, raw=b"\xff\xfe{}")
def test_any_bytes_parse_or_fail_with_a_contract_error(model, raw):
    # GIVEN arbitrary bytes (not UTF-8, not JSON, half a surrogate pair)
    # WHEN a route parses them
    # THEN the only errors are the contract's
    if model in IVR_EVENTS:
        try:
            _event(raw, model)
        except ValidationFailed:
            pass
    else:
        _parses_or_fails_cleanly(model, raw)


def _fields(body: dict):
    for key, value in body.items():
        yield (key,)
        if isinstance(value, dict):
            for rest in _fields(value):
                yield (key, *rest)


FIELD_CASES = [(model, path) for model, body in {**VALID_BODIES, **IVR_EVENTS}.items() for path in _fields(body)]


def _valid_body_with(model, path: tuple, value) -> bytes:
    """A valid body of the model (a request or an IVR event) with the field at ``path`` set to ``value``."""
    body = json.loads(json.dumps({**VALID_BODIES, **IVR_EVENTS}[model]))
    node = body
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return json.dumps(body, ensure_ascii=False).encode("utf-8")


def _parsed(model, raw: bytes):
    return _event(raw, model) if model in IVR_EVENTS else parse(model, raw, "body")


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(case=st.sampled_from(FIELD_CASES), value=json_values | nasty_text)
def test_a_valid_body_with_any_field_replaced_parses_or_fails_with_a_contract_error(case, value):
    # GIVEN a valid body of any model with one field (at any depth) replaced by anything at all
    model, path = case
    raw = _valid_body_with(model, path, value)

    # WHEN it is parsed (and, for the form, turned into the claim the intake stores)
    # THEN it is valid, or refused with the contract's error
    try:
        parsed = _parsed(model, raw)
        if isinstance(parsed, PublicClaimIn):
            parsed.to_submission()
    except CONTRACT_ERRORS:
        pass


# Every date a request body carries besides the partner claim's loss (tests/unit/test_claim_schema_properties.py).
DATE_FIELDS = {
    "form claim's loss": (PublicClaimIn, ("occurred_at",)),
    "call started at": (CallStarted, ("occurred_at",)),
    "IVR report's own time": (ClaimReported, ("occurred_at",)),
    "IVR report's loss": (ClaimReported, ("loss", "occurred_at")),
}


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(case=st.sampled_from(list(DATE_FIELDS.values())), sent=date_texts)
@example(case=DATE_FIELDS["IVR report's loss"], sent="0001-01-01T00:00:00+08:00")
@example(case=DATE_FIELDS["call started at"], sent="0")
@example(case=DATE_FIELDS["form claim's loss"], sent="0001-01-01T00:00:00+00:00")
def test_any_accepted_request_date_has_an_offset_and_is_between_1900_and_now(case, sent):
    # GIVEN a form claim or an IVR event whose date field holds anything a sender might write there
    model, path = case
    raw = _valid_body_with(model, path, sent)

    # WHEN it is parsed
    try:
        parsed = _parsed(model, raw)
    except ValidationFailed as refused:
        assert [d.field for d in refused.details] == [".".join(path)]
        return

    # THEN an accepted date carried its offset and lies between 1900 and now
    for key in path:
        parsed = getattr(parsed, key)
    assert_a_date_in_the_window(sent, parsed)


@given(text=st.text(min_size=1, max_size=4000).filter(lambda t: t.strip() == t and t.strip()))
@example(text="👩‍👩‍👧‍👦 مرحبا Z̤͔ͧ̑̓ 𠀋")
def test_any_unicode_description_is_kept_code_point_for_code_point(text):
    # GIVEN a form claim whose description is any text within the limit (no surrounding blanks)
    raw = json.dumps({**PUBLIC_CLAIM, "description": text}, ensure_ascii=False).encode("utf-8")

    # WHEN it is parsed into the claim the intake stores
    submission = parse(PublicClaimIn, raw, "claim").to_submission()

    # THEN the description is exactly what was sent: nothing normalised, cut or re-encoded
    assert submission.description == text
    assert submission.description.encode("utf-8") == text.encode("utf-8")


@pytest.mark.parametrize("field, value", [("amount", "١٢.٥٠"), ("amount", "１２"), ("region_code", "３１０１１５"),
                                          ("amount", "²")])
def test_digits_of_other_scripts_are_not_amounts_or_region_codes(field, value):
    # GIVEN digits that are not ASCII (the validator's \d would take them; Decimal would even read them)
    raw = json.dumps({**PUBLIC_CLAIM, field: value}, ensure_ascii=False).encode("utf-8")

    # WHEN the form is parsed
    # THEN the field is refused
    with pytest.raises(ValidationFailed) as refused:
        parse(PublicClaimIn, raw, "claim")
    assert [d.field for d in refused.value.details] == [field]


# -- JSON bodies read as JSON (batch, IVR events) ---------------------------------------------------------

@given(raw=st.binary(max_size=300) | json_values.map(lambda v: json.dumps(v).encode()))
@example(raw=b'{"claims": [{"external_ref": "a\\ud800b"}]}')
@example(raw=b'"\\udfff"')
@example(raw=b"9" * 5000)
def test_any_body_loads_as_json_that_encodes_back_to_utf8_or_is_malformed(raw):
    # GIVEN any bytes, including JSON that escapes half a surrogate pair
    # WHEN the body is read as JSON
    try:
        value = load_json(raw)
    except MalformedBody:
        return
    # THEN what comes out can be written again as UTF-8 (as the batch does per claim, and DynamoDB must)
    json.dumps(value, ensure_ascii=False).encode("utf-8")


# -- headers -----------------------------------------------------------------------------------------------

def _request(**headers: str):
    return SimpleNamespace(headers={k.replace("_", "-"): v for k, v in headers.items()})


@given(st.text(max_size=200) | st.sampled_from(NASTY))
def test_any_idempotency_key_is_taken_or_refused_as_bad_input(key):
    # GIVEN any Idempotency-Key header
    # WHEN it is read
    try:
        taken = idempotency_key_of(_request(idempotency_key=key))
    except ValidationFailed:
        return
    # THEN it is ASCII of the documented alphabet, at most 128 characters
    assert taken == key and IDEMPOTENCY_KEY.match(key) and key.isascii() and len(key) <= 128


@given(st.text(max_size=200) | st.sampled_from(NASTY))
def test_any_correlation_id_is_kept_only_when_safe_to_log(value):
    # GIVEN any x-correlation-id header
    # WHEN it is read
    kept = correlation_id_from({"x-correlation-id": value}, "fallback")

    # THEN it is the header (letters, digits, ._:-, up to 128) or the request's own id
    assert kept == "fallback" or (kept == value and re.fullmatch(r"[A-Za-z0-9._:\-]{1,128}", value))


@given(st.text(max_size=20) | st.sampled_from(NASTY))
@example("²")
@example("9" * 5000)
def test_any_if_match_and_page_size_read_as_whole_numbers_or_not_at_all(value):
    # GIVEN any If-Match or ?limit= value
    version = agent_api._VERSION.match(value.strip())
    page = agent_api._PAGE_SIZE.fullmatch(value)

    # THEN whatever the patterns take, int() reads (ASCII digits, a few of them)
    if version:
        assert 0 <= int(version.group(1)) < 10 ** 9
    if page:
        assert 0 <= int(value) < 10 ** 4


# -- Twilio's form ---------------------------------------------------------------------------------------

@given(raw=st.binary(max_size=300) | st.builds(urlencode, st.dictionaries(st.text(max_size=12), nasty_text,
                                                                                  max_size=6)).map(str.encode))
@example(raw=b"CallSid=%FF%FE&From=%F0%9F")
@example(raw=b"CallSid=CA%E2%80%AE1")
def test_any_twilio_form_parses_to_parameters_or_is_refused_as_bad_input(raw):
    # GIVEN any bytes posted as Twilio's form
    # WHEN they are read as the webhook reads them
    pairs = parse_qsl(raw.decode("utf-8", errors="replace"), keep_blank_values=True)
    try:
        form = twilio_form(pairs)
    except ValidationFailed as refused:
        assert [d.field for d in refused.details] == ["CallSid"]
        return
    # THEN the call is identified by an ASCII CallSid, and every parameter is kept as sent
    assert re.fullmatch(r"[A-Za-z0-9]{2,64}", form["CallSid"])
    assert form == dict(pairs)


@given(sid=st.from_regex(r"\A[A-Za-z0-9]{2,64}\Z"), extra=st.dictionaries(
    st.text(min_size=1, max_size=12).filter(lambda k: k != "CallSid"), nasty_text, max_size=5))
def test_a_twilio_form_round_trips_through_encoding(sid, extra):
    # GIVEN Twilio's parameters, with any others it may add (any Unicode)
    params = {"CallSid": sid, **extra}

    # WHEN they are form-encoded and read back
    form = twilio_form(parse_qsl(urlencode(params), keep_blank_values=True))

    # THEN they are exactly what was sent, and the documented model reads them too
    assert form == params
    assert TwilioCallForm.model_validate(form).CallSid == sid


# -- vendor webhook signatures -----------------------------------------------------------------------------

SECRETS = [("demo-ivr", "demo-ivr-webhook-secret-8d21f0")]
NOW = 1_795_000_000


@given(header=st.text(max_size=200) | st.sampled_from(NASTY), body=st.binary(max_size=200),
       now=st.integers(min_value=0, max_value=2 ** 40))
def test_any_signature_header_and_body_verify_or_are_rejected_as_403(header, body, now):
    # GIVEN any X-Signature header, body and clock
    # WHEN the event is verified
    # THEN the answer is a vendor or SignatureRejected (403), nothing else
    try:
        assert verify_webhook(header, body, SECRETS, now=now, tolerance_seconds=300) == "demo-ivr"
    except SignatureRejected:
        pass


@given(body=st.binary(max_size=500), skew=st.integers(min_value=-300, max_value=300))
def test_any_body_signed_by_the_vendor_verifies(body, skew):
    # GIVEN any body, signed within the tolerance
    header = sign_webhook(SECRETS[0][1], NOW + skew, body)

    # WHEN it is verified
    # THEN it is the vendor's; a changed byte is not
    assert verify_webhook(header, body, SECRETS, now=NOW, tolerance_seconds=300) == "demo-ivr"
    with pytest.raises(SignatureRejected):
        verify_webhook(header, body + b"x", SECRETS, now=NOW, tolerance_seconds=300)


# -- Amazon Connect ----------------------------------------------------------------------------------------

def _flow(contact_data: dict, parameters) -> dict:
    return {"Name": "ContactFlowEvent", "Details": {"ContactData": contact_data, "Parameters": parameters}}


connect_events = json_values | st.builds(
    _flow,
    st.fixed_dictionaries({"ContactId": st.text(max_size=40) | st.just("0b6f2c1e-4a5d-4bc0-9f3e-1a2b3c4d5e6f")},
                          optional={"CustomerEndpoint": st.dictionaries(st.sampled_from(["Address", "Type"]),
                                                                        json_values, max_size=2),
                                    "Attributes": st.dictionaries(st.text(max_size=12), json_values, max_size=5)}),
    st.dictionaries(st.sampled_from(["loss_type", "loss_digit", "amount", "region_code", "policy_number",
                                     "language"]), json_values | nasty_text, max_size=6))


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(event=connect_events)
@example(event=_flow({"ContactId": "c-1", "Attributes": {str(i): i for i in range(300)}}, {}))
@example(event=_flow({"ContactId": "c-1"}, {"amount": "²", "region_code": "３１０１１５", "loss_digit": "１"}))
def test_any_connect_event_parses_or_is_bad_event_and_its_inputs_never_raise(event):
    # GIVEN any invocation payload (a contact-flow event or not)
    # WHEN it is parsed as the Connect functions parse it
    flow = connect._parse(event)
    if flow is None:
        return  # answered result=error, BAD_EVENT

    # THEN every input the functions read is read without raising, and within its bounds
    assert flow.caller is None or isinstance(flow.caller, str)
    assert flow.loss_type in (None, *PERILS)
    amount = flow.amount
    assert amount is None or (amount == amount.to_integral_value() and 0 < amount < CONNECT_MAX_AMOUNT)
    assert flow.region_code is None or re.fullmatch(r"[0-9]{6}", flow.region_code)
    for name in ("policy_number", "region_code", "language", "anything"):
        value = flow.value(name)
        assert value is None or (isinstance(value, str) and value == value.strip() and value)


@pytest.mark.parametrize("parameters, attributes, expected", [
    ({"loss_type": "card_theft", "loss_digit": "1"}, {}, ("card_theft", None, None)),
    ({"loss_type": "alien_abduction", "loss_digit": "3#"}, {}, ("rental_account_security", None, None)),
    ({"loss_digit": "0", "amount": "300#", "region_code": "310115"}, {}, (None, Decimal("300"), "310115")),
    ({"amount": "12.5", "region_code": "31011"}, {}, (None, None, None)),
    ({"amount": "0", "region_code": "3101150"}, {}, (None, None, None)),
    ({"amount": "1000000000"}, {"amount": "5", "region_code": "310115"}, (None, None, "310115")),
    ({}, {"loss_digit": "2", "amount": "999999999"}, ("shared_bike_accident", Decimal("999999999"), None)),
])
def test_a_contact_flow_event_reads_the_callers_inputs_or_leaves_them_for_an_agent(parameters, attributes, expected):
    # GIVEN what a flow collected, as block parameters or contact attributes (parameters first)
    flow = ContactFlowEvent.model_validate(_flow({"ContactId": "c-1", "Attributes": attributes}, parameters))

    # WHEN the report reads the loss type, the amount keyed in and the district
    # THEN each is what the caller gave when it is valid, else none (an agent asks for it)
    assert (flow.loss_type, flow.amount, flow.region_code) == expected


@given(value=json_values | nasty_text)
def test_any_value_answers_connect_as_letters_digits_dash_and_underscore(value):
    # GIVEN any value an answer may carry
    # WHEN it is flattened for Connect
    # THEN only what Connect accepts is left
    assert re.fullmatch(r"[A-Za-z0-9_\-]*", connect_value(value))


def test_the_connect_answer_never_takes_a_region_in_other_digits():
    # GIVEN a caller keying a district in full-width digits (a flow passing text through)
    flow = ContactFlowEvent.model_validate(_flow({"ContactId": "c-1"}, {"region_code": "３１０１１５"}))

    # WHEN the report reads it
    region = flow.value("region_code")

    # THEN it is not taken as a region code (the report carries None)
    assert not (region.isascii() and region.isdigit())
    assert flow.region_code is None


# -- phone numbers and status tokens -----------------------------------------------------------------------

phone_like = st.text(alphabet=st.characters(categories=["Nd", "Zs", "Pd"]) | st.sampled_from("+()"), max_size=30)


@given(phone_like | st.sampled_from(NASTY))
@example("١٣٨٠٠١٣٨٠٠٠")
@example("+８６ １３８ ００１３ ８０００")
def test_any_digits_of_any_script_normalise_to_ascii_e164_or_none(text):
    # GIVEN digits of any script, separators and signs
    # WHEN they are normalised as a phone number
    result = normalise_phone(text)

    # THEN the result is None or ASCII E.164 (what the indexes and the screen pop are keyed on)
    assert result is None or re.fullmatch(r"\+[1-9][0-9]{4,14}", result)


SECRET = b"demo-status-token-secret-4e90b2"
token_shaped = st.from_regex(r"\A[0-9a-z]{1,10}\.[ze]\.[A-Za-z0-9_\-]{22}\Z")


@given(claim_id=st.text(max_size=40) | st.sampled_from(NASTY), token=token_shaped | st.text(max_size=60),
       now=st.integers(min_value=0, max_value=2 ** 40))
def test_any_claim_id_and_token_give_a_grant_or_none(claim_id, token, now):
    # GIVEN any claim id and any token, shaped like one or not
    # WHEN the token is verified
    grant = status_token.verify(SECRET, claim_id, token, now)

    # THEN a guess is never a grant
    assert grant is None


@given(claim_id=st.text(min_size=1, max_size=40), language=st.sampled_from(["zh-CN", "en"]),
       expires_at=st.integers(min_value=NOW + 1, max_value=NOW + 10 ** 9))
def test_a_token_issued_for_any_claim_id_verifies_for_it_alone(claim_id, language, expires_at):
    # GIVEN a token issued for any claim id
    token = status_token.issue(SECRET, claim_id, language, expires_at)

    # THEN it is URL-safe, verifies for that claim, and not for another
    assert re.fullmatch(r"[0-9a-z]+\.[ze]\.[A-Za-z0-9_\-]{22}", token)
    assert status_token.verify(SECRET, claim_id, token, NOW).language == language
    assert status_token.verify(SECRET, claim_id + "x", token, NOW) is None
