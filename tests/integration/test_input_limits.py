"""Size limits on every body, string, list and upload, each tested at its boundary (the limit passes, one
more is a clear 4xx), and Unicode (Chinese, emoji and their ZWJ sequences, RTL, combining marks) kept
code point for code point from the request to storage and back."""
from __future__ import annotations

import base64
import json
import time
import uuid
from urllib.parse import parse_qsl, urlencode

import jsonschema
import pytest

from chalicelib import bootstrap
from chalicelib.api import openapi
from chalicelib.api.views import mask_name
from chalicelib.domain.claim import Channel
from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.signatures import sign_webhook, twilio_signature
from chalicelib.schemas import agent, claim_form, claims, ivr
from chalicelib.schemas.claim_form import parse
from chalicelib.schemas.claims import parse_claim
from infra.seed import DEMO_AGENT_TOKEN, DEMO_IVR_SECRET, DEMO_SURVEYOR_TOKENS, DEMO_TWILIO_AUTH_TOKEN
from tests.fakes import claim_body, unique_ref
from tests.integration.conftest import ELEME
from tests.integration.demo_claims import DEMO_PHONE, DEMO_POLICY, demo_stack, form_body

JSON = {"content-type": "application/json"}
FORM = "application/x-www-form-urlencoded"
BASE_URL = "http://127.0.0.1:8000"  # what Twilio signs: PUBLIC_BASE_URL in tests
WIDE = "𠀋"  # one code point, four UTF-8 bytes, two UTF-16 units: limits count it once
ZWJ_FAMILY = "👩‍👩‍👧‍👦"  # one glyph, seven code points: limits count seven
UNICODE = {
    "name": "王小明👩‍👩‍👧‍👦",
    "description": "外卖🍱到了就吐 — مرحبا بكم — שלום — Z̤͔ͧ̑̓ — e\u0301 — 🏳️‍🌈 — 𠀋𡈽",
    "address": "上海市浦东新区 شارع ١٢ 🏢",
    "order_id": "订单-🍱-٣-é",
    "policy_number": "PA2026000123",
}


@pytest.fixture(scope="module")
def stack():
    with demo_stack() as (client, claims_):
        yield client, claims_


@pytest.fixture(scope="module")
def document(stack) -> dict:
    client, _ = stack
    openapi.reset_cache()
    return json.loads(client.http.get("/openapi.json").body)


def _error(response) -> dict:
    return json.loads(response.body)["error"]


# -- every body has a byte limit, enforced at it ------------------------------------------------------------

def _pad_json(body: dict, size: int) -> bytes:
    raw = json.dumps(body, ensure_ascii=False).encode("utf-8")
    assert len(raw) <= size
    return raw + b" " * (size - len(raw))  # JSON allows trailing whitespace: the same body, at the size


def _pad_form(params: dict[str, str], size: int) -> bytes:
    base = urlencode({**params, "Pad": ""})
    return urlencode({**params, "Pad": "a" * (size - len(base))}).encode()


def _twilio(path: str):
    def send(client, size):
        body = _pad_form({"CallSid": f"CA{uuid.uuid4().hex}", "From": "+8613100000000", "To": "+8640012345"}, size)
        signature = twilio_signature(DEMO_TWILIO_AUTH_TOKEN, BASE_URL + path, parse_qsl(body.decode()))
        return client.http.post(path, headers={"content-type": FORM, "x-twilio-signature": signature}, body=body)
    return send


def _ivr_event(client, size):
    body = _pad_json({"type": "call.started", "call_id": f"call-{uuid.uuid4().hex}", "caller": DEMO_PHONE}, size)
    return client.http.post("/v1/ivr/events", body=body, headers={
        **JSON, "x-signature": sign_webhook(DEMO_IVR_SECRET, int(time.time()), body)})


# route → (send a valid request padded to ``size`` bytes, the status it answers within the limit)
BODY_ROUTES = {
    ("POST", "/v1/claims"): (lambda client, claims_, size: client.http.post(
        "/v1/claims", headers={**JSON, "x-api-key": ELEME}, body=_pad_json(claim_body(), size)), 202),
    ("POST", "/v1/claims/batch"): (lambda client, claims_, size: client.http.post(
        "/v1/claims/batch", headers={**JSON, "x-api-key": ELEME},
        body=_pad_json({"claims": [claim_body()]}, size)), 207),
    ("POST", "/v1/public/policy-check"): (lambda client, claims_, size: client.http.post(
        "/v1/public/policy-check", headers=JSON,
        body=_pad_json({"policy_number": DEMO_POLICY, "phone": DEMO_PHONE}, size)), 200),
    ("POST", "/v1/public/claims"): (lambda client, claims_, size: client.http.post(
        "/v1/public/claims", headers=JSON,
        body=_pad_json(form_body(submission_key=uuid.uuid4().hex), size)), 202),
    ("POST", "/v1/claims/{claim_id}/attachments"): (lambda client, claims_, size: client.http.post(
        f"/v1/claims/{claims_.form_claim}/attachments", headers={**JSON, "x-status-token": claims_.status_token},
        body=_pad_json({"content_type": "image/png", "size": 1024}, size)), 201),
    ("POST", "/v1/ivr/events"): (lambda client, claims_, size: _ivr_event(client, size), 200),
    ("POST", "/v1/ivr/twilio/voice"): (lambda client, claims_, size: _twilio("/v1/ivr/twilio/voice")(
        client, size), 200),
    ("POST", "/v1/ivr/twilio/gather"): (lambda client, claims_, size: _twilio("/v1/ivr/twilio/gather")(
        client, size), 200),
    ("POST", "/v1/agent/callers/lookup"): (lambda client, claims_, size: client.http.post(
        "/v1/agent/callers/lookup", headers={**JSON, "authorization": f"Bearer {DEMO_AGENT_TOKEN}"},
        body=_pad_json({"phone": DEMO_PHONE}, size)), 200),
    # a stale If-Match: past the size check, the answer is the version conflict, and nothing changes
    ("POST", "/v1/agent/claims/{claim_id}/decision"): (lambda client, claims_, size: client.http.post(
        f"/v1/agent/claims/{claims_.review_claim}/decision",
        headers={**JSON, "authorization": f"Bearer {DEMO_AGENT_TOKEN}", "if-match": '"999"'},
        body=_pad_json({"decision": "reject", "reason": "test"}, size)), 409),
    ("POST", "/v1/surveyors/{surveyor_id}/status"): (lambda client, claims_, size: client.http.post(
        f"/v1/surveyors/{claims_.surveyor}/status",
        headers={**JSON, "authorization": f"Bearer {DEMO_SURVEYOR_TOKENS[claims_.surveyor]}"},
        body=_pad_json({"status": "AVAILABLE"}, size)), 200),
    ("POST", "/v1/surveyors/{surveyor_id}/assignments/{claim_id}/complete"): (lambda client, claims_, size:
        client.http.post(f"/v1/surveyors/{claims_.surveyor}/assignments/{claims_.field_claim}/complete",
                         headers={**JSON, "authorization": f"Bearer {DEMO_SURVEYOR_TOKENS[claims_.surveyor]}"},
                         body=_pad_json({"notes": "done"}, size)), 200),
}


def test_every_route_that_takes_a_body_states_its_byte_limit(document):
    # GIVEN the operations of the document that take a body
    taking = {(method.upper(), path) for path, item in document["paths"].items() for method, op in item.items()
              if "requestBody" in op}

    # THEN each is tested below at its stated limit, and each limit is within the settings' body limit
    assert taking == set(BODY_ROUTES)
    settings = bootstrap.container().settings
    for method, path in taking:
        limit = document["paths"][path][method.lower()]["requestBody"]["x-max-body-bytes"]
        per_claim = settings.max_body_bytes * (settings.max_batch_claims if path.endswith("/batch") else 1)
        assert 1024 <= limit <= per_claim, (method, path)


@pytest.mark.parametrize("route", list(BODY_ROUTES), ids=lambda r: f"{r[0]} {r[1]}")
def test_a_body_at_its_limit_passes_and_one_byte_more_is_413(stack, document, route):
    # GIVEN a route's stated byte limit, and a valid request padded to exactly that many bytes
    client, claims_ = stack
    send, ok_status = BODY_ROUTES[route]
    limit = document["paths"][route[1]][route[0].lower()]["requestBody"]["x-max-body-bytes"]

    # WHEN it is sent at the limit, then one byte over
    at_limit = send(client, claims_, limit)
    over = send(client, claims_, limit + 1)

    # THEN the first is answered as usual; the second is a 413 in the contract's envelope
    assert at_limit.status_code == ok_status, at_limit.body
    assert over.status_code == 413, over.body
    assert _error(over)["code"] == "PAYLOAD_TOO_LARGE"


# -- every string and list of a request has a limit -------------------------------------------------------

def _resolve(schema: dict, document: dict) -> dict:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _bounded_pattern(pattern: str) -> bool:
    return pattern.startswith("^") and pattern.endswith("$") and not any(
        token in pattern for token in ("*", "+}", ",}")) and "+" not in pattern.replace("\\+", "")


def _unbounded(schema: dict, document: dict, where: str, seen: set[str]):
    """Every string, array and object of a request schema that has no limit of its own."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        if name in seen:
            return
        seen = seen | {name}
        if name == "TwilioCallForm":  # Twilio's own, open set of parameters: bounded by the 16 KiB body
            return
    schema = _resolve(schema, document)
    for key in ("anyOf", "oneOf", "allOf"):
        for branch in schema.get(key, []):
            yield from _unbounded(branch, document, where, seen)
    kind = schema.get("type")
    if kind == "string" and not ("maxLength" in schema or "enum" in schema or "const" in schema
                                 or schema.get("format") == "date-time"
                                 or _bounded_pattern(schema.get("pattern", ""))):
        yield where
    if kind == "array":
        if "maxItems" not in schema:
            yield where
        yield from _unbounded(schema.get("items", {}), document, f"{where}[]", seen)
    if kind == "object":
        if schema.get("additionalProperties") is not False and "maxProperties" not in schema:
            yield where
        for name, child in schema.get("properties", {}).items():
            yield from _unbounded(child, document, f"{where}.{name}", seen)


def test_every_string_list_and_object_a_request_carries_has_a_limit(document):
    # GIVEN every request body, parameter and header of every operation
    unbounded = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            for content in operation.get("requestBody", {}).get("content", {}).values():
                unbounded += _unbounded(content["schema"], document, f"{method.upper()} {path} body", set())
            for parameter in operation.get("parameters", []):
                if "$ref" in parameter:
                    parameter = document["components"]["parameters"][parameter["$ref"].rsplit("/", 1)[1]]
                unbounded += _unbounded(parameter["schema"], document,
                                        f"{method.upper()} {path} {parameter['name']}", set())

    # THEN none is without a maximum (length, items, or a pattern of bounded length); objects take no extras
    assert unbounded == []


REQUEST_MODELS = {  # each with a valid body that has every optional field, so every limit can be reached
    claims.ClaimIn: claim_body(plate="沪A12345", external_ref="REF-1"),
    claim_form.PublicClaimIn: form_body(address="浦东", claimant_name="张三", language="en"),
    claim_form.PolicyCheckIn: {"policy_number": DEMO_POLICY, "phone": DEMO_PHONE},
    claim_form.UploadRequestIn: {"content_type": "image/png", "size": 1, "filename": "a.png"},
    agent.DecisionIn: {"decision": "reject", "reason": "no cover"},
    agent.SurveyCompletedIn: {"assessed_amount": "1.00", "notes": "done"},
    ivr.ClaimReported: {"type": "claim.reported", "call_id": "c-1", "caller": DEMO_PHONE,
                        "policy": {"number": DEMO_POLICY, "order_id": "o-1"},
                        "loss": {"type": "food_safety", "description": "d",
                                 "location": {"region_code": "310115", "address": "a"}},
                        "vehicle": {"plate": "沪A12345"}},
}


def _string_limits(schema: dict, defs: dict, path: tuple = ()):
    if "$ref" in schema:
        yield from _string_limits(defs[schema["$ref"].rsplit("/", 1)[1]], defs, path)
        return
    for branch in schema.get("anyOf", []):
        yield from _string_limits(branch, defs, path)
    if schema.get("type") == "string" and "maxLength" in schema:
        yield path, schema["maxLength"]
    for name, child in schema.get("properties", {}).items():
        yield from _string_limits(child, defs, path + (name,))


STRING_LIMITS = [(model, path, limit) for model in REQUEST_MODELS
                 for path, limit in _string_limits(model.model_json_schema(),
                                                   model.model_json_schema().get("$defs", {}))]


def _parse(model, body: dict):
    raw = json.dumps(body, ensure_ascii=False).encode("utf-8")
    if model is claims.ClaimIn:
        return parse_claim(raw, Channel.PARTNER_API)
    return parse(model, raw, "body")


@pytest.mark.parametrize("model, path, limit", STRING_LIMITS,
                         ids=[f"{m.__name__}.{'.'.join(p)}" for m, p, _ in STRING_LIMITS])
def test_every_string_limit_holds_at_its_boundary_counted_in_characters(model, path, limit):
    # GIVEN a valid body, and one of its strings filled to its limit with a four-byte character
    def body_with(value: str) -> dict:
        body = json.loads(json.dumps(REQUEST_MODELS[model]))
        node = body
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
        return body

    # WHEN it is parsed at the limit, and one character over
    # THEN the limit passes (counted in characters, not bytes) and one more is refused on that field
    _parse(model, body_with(WIDE * limit))
    with pytest.raises(ValidationFailed) as refused:
        _parse(model, body_with(WIDE * (limit + 1)))
    assert [d.field for d in refused.value.details] == [".".join(path)]


@pytest.mark.parametrize("model, body, field, limit", [
    (claims.ClaimIn, claim_body(), "external_ref", 64),
    (claim_form.PublicClaimIn, form_body(), "submission_key", 64),
    (ivr.ClaimReported, REQUEST_MODELS[ivr.ClaimReported], "call_id", 128),
    (ivr.CallStarted, {"type": "call.started"}, "call_id", 128),
    (claim_form.PolicyCheckIn, {"policy_number": DEMO_POLICY}, "phone", 32),
])
def test_identifiers_bounded_by_their_pattern_hold_at_the_boundary(model, body, field, limit):
    # GIVEN an identifier whose pattern bounds its length
    value = "+" + "1" * (limit - 1) if field == "phone" else "a" * limit

    # WHEN it is parsed at its longest, and one character longer
    # THEN the first passes, the second is refused on that field
    _parse(model, {**body, field: value})
    with pytest.raises(ValidationFailed) as refused:
        _parse(model, {**body, field: value + "1"})
    assert [d.field for d in refused.value.details] == [field]


def test_a_batch_takes_up_to_its_limit_of_claims_and_not_one_more(stack):
    # GIVEN the batch limit
    client, _ = stack
    most = bootstrap.container().settings.max_batch_claims

    def batch(count: int):
        return client.http.post("/v1/claims/batch", headers={**JSON, "x-api-key": ELEME},
                                body=json.dumps({"claims": [claim_body() for _ in range(count)]}))

    # WHEN a batch of that many claims is sent, then one more
    full, over = batch(most), batch(most + 1)

    # THEN the first is answered claim by claim; the second is refused as a whole, on its list
    assert full.status_code == 207 and len(json.loads(full.body)["results"]) == most
    assert over.status_code == 400
    assert [d["field"] for d in _error(over)["details"]] == ["claims"]


def test_each_claim_of_a_batch_is_held_to_the_single_claim_limit(stack):
    # GIVEN a batch whose second claim alone is larger than a single claim may be
    client, _ = stack
    limit = bootstrap.container().settings.max_body_bytes
    big = {**claim_body(), "padding": "x" * limit}

    # WHEN it is posted
    answer = client.http.post("/v1/claims/batch", headers={**JSON, "x-api-key": ELEME},
                              body=json.dumps({"claims": [claim_body(), big, claim_body()]}))

    # THEN that claim alone is refused for its size; the others are taken
    results = json.loads(answer.body)["results"]
    assert answer.status_code == 207
    assert [r["status"] for r in results] == [202, 413, 202]
    assert results[1]["error"]["code"] == "PAYLOAD_TOO_LARGE"


def test_headers_with_a_length_limit_hold_at_the_boundary(stack):
    # GIVEN an Idempotency-Key and a correlation id of 128 characters, then of 129
    client, _ = stack

    def post(key: str):
        return client.http.post("/v1/claims", headers={**JSON, "x-api-key": ELEME, "idempotency-key": key,
                                                       "x-correlation-id": key}, body=json.dumps(claim_body()))

    at_limit, over = post("k" * 128), post("k" * 129)

    # THEN the key is taken and the id echoed at the limit; beyond it the key is refused on its header
    assert at_limit.status_code == 202 and at_limit.headers["x-correlation-id"] == "k" * 128
    assert over.status_code == 400 and _error(over)["details"][0]["field"] == "Idempotency-Key"
    assert over.headers["x-correlation-id"] != "k" * 129


@pytest.mark.parametrize("limit", ["²", "١٢", "9" * 5000, "100000"])
def test_a_page_size_in_other_digits_or_too_long_is_bad_input_not_a_crash(stack, limit):
    # GIVEN a page size that str.isdigit() would take ('²' is a digit to it, int() refuses it)
    client, _ = stack

    # WHEN the agent asks for the queue with it
    response = client.http.get(f"/v1/agent/queue?limit={limit}",
                               headers={"authorization": f"Bearer {DEMO_AGENT_TOKEN}"})

    # THEN it is a 400 on the limit, never a 500
    assert response.status_code == 400, response.body
    assert _error(response)["details"][0]["field"] == "limit"


# -- photo uploads ---------------------------------------------------------------------------------------

def test_a_photo_of_the_largest_size_may_be_uploaded_and_one_byte_more_may_not(stack):
    # GIVEN the claimant of a form claim and the photo size limit of the contract (10 MiB)
    client, claims_ = stack
    largest = 10 * 1024 * 1024

    def ask(size: int):
        return client.http.post(f"/v1/claims/{claims_.form_claim}/attachments",
                                headers={**JSON, "x-status-token": claims_.status_token},
                                body=json.dumps({"content_type": "image/jpeg", "size": size}))

    # WHEN an upload is asked for at 10 MiB, one byte more, and nothing at all
    at_limit, over, empty = ask(largest), ask(largest + 1), ask(0)

    # THEN only the first gets a presigned POST, whose policy makes S3 hold the same range itself
    assert at_limit.status_code == 201, at_limit.body
    assert over.status_code == 413 and _error(over)["code"] == "PAYLOAD_TOO_LARGE"
    assert empty.status_code == 400 and _error(empty)["details"][0]["field"] == "size"
    ticket = json.loads(at_limit.body)
    assert ticket["max_bytes"] == largest
    policy = json.loads(base64.b64decode(ticket["upload"]["fields"]["policy"]))
    assert ["content-length-range", 1, largest] in policy["conditions"]


# -- Unicode, code point for code point --------------------------------------------------------------------

def test_unicode_round_trips_from_a_partner_post_to_storage_and_back_out_of_get(stack):
    # GIVEN a partner claim with Chinese, an emoji ZWJ sequence, Arabic, Hebrew and combining marks
    client, _ = stack
    body = claim_body(name=UNICODE["name"], description=UNICODE["description"])
    body["loss"]["location"]["address"] = UNICODE["address"]
    body["policy"]["order_id"] = UNICODE["order_id"]

    # WHEN it is posted (as UTF-8) and read back
    posted = client.http.post("/v1/claims", headers={**JSON, "x-api-key": ELEME},
                              body=json.dumps(body, ensure_ascii=False).encode("utf-8"))
    assert posted.status_code == 202, posted.body
    claim_id = json.loads(posted.body)["claim_id"]
    got = client.http.get(f"/v1/claims/{claim_id}", headers={"x-api-key": ELEME})
    view = json.loads(got.body.decode("utf-8"))

    # THEN storage holds exactly the bytes sent, and the answer gives back exactly what it shows
    stored = bootstrap.container().claims.get(claim_id).submission
    for sent, kept in ((UNICODE["name"], stored.claimant_name), (UNICODE["description"], stored.description),
                       (UNICODE["address"], stored.location.address), (UNICODE["order_id"], stored.order_id)):
        assert kept.encode("utf-8") == sent.encode("utf-8")
    assert view["policy"]["order_id"].encode("utf-8") == UNICODE["order_id"].encode("utf-8")
    # the masked name keeps one character in view and one * per other code point
    assert view["claimant"]["name"] == mask_name(UNICODE["name"]) == UNICODE["name"][0] + "*" * (
        len(UNICODE["name"]) - 1)


def test_unicode_round_trips_from_the_claim_form_to_storage_and_the_status_page(stack):
    # GIVEN a form claim with the same Unicode in every free-text field
    client, _ = stack
    body = form_body(submission_key=uuid.uuid4().hex, claimant_name=UNICODE["name"],
                     description=UNICODE["description"], address=UNICODE["address"])

    # WHEN it is submitted and its status read with the link it answers
    answer = json.loads(client.http.post("/v1/public/claims", headers=JSON,
                                         body=json.dumps(body, ensure_ascii=False).encode("utf-8")).body)
    data = client.http.get(f"/v1/public/claims/{answer['claim_id']}?t={answer['status_token']}")
    page = client.http.get(answer["status_url"])

    # THEN storage holds exactly what was typed, and the status page and its data are served for it
    stored = bootstrap.container().claims.get(answer["claim_id"]).submission
    assert stored.claimant_name.encode("utf-8") == UNICODE["name"].encode("utf-8")
    assert stored.description.encode("utf-8") == UNICODE["description"].encode("utf-8")
    assert stored.location.address.encode("utf-8") == UNICODE["address"].encode("utf-8")
    assert data.status_code == 200 and json.loads(data.body)["claim_id"] == answer["claim_id"]
    assert page.status_code == 200 and page.headers["Content-Type"] == "text/html; charset=utf-8"


def test_unicode_round_trips_from_a_vendor_ivr_event_to_storage(stack):
    # GIVEN a signed claim.reported event whose description mixes scripts and emoji
    client, _ = stack
    raw = json.dumps({"type": "claim.reported", "call_id": f"call-{uuid.uuid4().hex}", "caller": "+8613900139000",
                      "loss": {"type": "food_safety", "description": UNICODE["description"]}},
                     ensure_ascii=False).encode("utf-8")

    # WHEN it is posted
    response = client.http.post("/v1/ivr/events", body=raw, headers={
        **JSON, "x-signature": sign_webhook(DEMO_IVR_SECRET, int(time.time()), raw)})

    # THEN the stored description is the one sent
    assert response.status_code == 202, response.body
    stored = bootstrap.container().claims.get(json.loads(response.body)["claim_id"]).submission
    assert stored.description.encode("utf-8") == UNICODE["description"].encode("utf-8")


@pytest.mark.parametrize("name, accepted", [
    (WIDE * 100, True), (WIDE * 101, False),  # four UTF-8 bytes each: characters are counted
    (ZWJ_FAMILY * 14 + "ab", True), (ZWJ_FAMILY * 14 + "abc", False),  # 7 code points a family: 98 + 2, 98 + 3
    ("e\u0301" * 50, True), ("e\u0301" * 50 + "e", False),  # a combining accent is a code point of its own
])
def test_a_name_limit_counts_code_points_alike_in_the_api_and_its_document(stack, document, name, accepted):
    # GIVEN a claimant name at or just over 100 code points, however many bytes or glyphs that is
    client, _ = stack
    body = claim_body(name=name, external_ref=unique_ref())

    # WHEN it is posted, and checked against the document's schema of the same field
    response = client.http.post("/v1/claims", headers={**JSON, "x-api-key": ELEME},
                                body=json.dumps(body, ensure_ascii=False).encode("utf-8"))
    documented = document["components"]["schemas"]["ClaimantIn"]["properties"]["name"]
    valid_in_document = jsonschema.Draft202012Validator(documented).is_valid(name)

    # THEN the API and the document agree, and the refusal names the field
    assert valid_in_document is accepted
    if accepted:
        assert response.status_code == 202, response.body
        stored = bootstrap.container().claims.get(json.loads(response.body)["claim_id"]).submission
        assert stored.claimant_name == name
    else:
        assert response.status_code == 400
        assert [d["field"] for d in _error(response)["details"]] == ["claimant.name"]
