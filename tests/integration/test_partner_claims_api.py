"""Partner intake over HTTP (chalicelib/api/partner_claims.py) against moto: auth, validation,
idempotency, ownership, and that a rejected request never leaves anything behind."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from chalicelib.adapters.models import ApiKeyModel
from chalicelib.adapters.resources import SCORING_QUEUE, Tables
from chalicelib.services.auth import hash_api_key
from tests.fakes import claim_body, motor_claim_body
from tests.integration.conftest import API_KEYS, ELEME, HELLOBIKE, get_claim, headers, post_claim

# -- the accepted answer -------------------------------------------------------------------------


def test_valid_claim_is_accepted_with_id_status_links_and_location(client):
    # GIVEN a valid claim from a partner
    body = claim_body()

    # WHEN the partner posts it
    response = post_claim(client, body)

    # THEN it is accepted for processing, with where to find it
    assert response.status_code == 202
    answer = response.json_body
    assert answer["claim_id"].startswith("CLM-")
    assert answer["status"] == "RECEIVED"
    assert answer["links"] == {"self": f"/v1/claims/{answer['claim_id']}"}
    assert response.headers["Location"] == f"/v1/claims/{answer['claim_id']}"
    assert "Idempotent-Replayed" not in response.headers


def test_accepted_claim_is_stored_once_with_its_first_event_and_queued_for_scoring(client, queues, stored_items):
    # GIVEN an empty claims store
    before = stored_items()

    # WHEN a partner posts a claim
    claim_id = post_claim(client, claim_body()).json_body["claim_id"]

    # THEN one claim, one idempotency record and one timeline event are stored, and scoring is asked
    assert stored_items() == {table: count + 1 for table, count in before.items()}
    assert [b["claim_id"] for b in queues.bodies(SCORING_QUEUE.name)] == [claim_id]


def test_partner_reads_its_own_claim_with_masked_personal_data(client):
    # GIVEN a claim posted by the partner
    claim_id = post_claim(client, claim_body(name="张三", phone="+8613800138000")).json_body["claim_id"]

    # WHEN the partner reads it back
    response = get_claim(client, claim_id)

    # THEN it sees the claim and its timeline, with the claimant's name and phone masked
    assert response.status_code == 200
    view = response.json_body
    assert view["claim_id"] == claim_id
    assert view["status"] == "RECEIVED"
    assert [e["status"] for e in view["timeline"]] == ["RECEIVED"]
    assert view["claimant"] == {"name": "张*", "phone": "+86138****8000"}
    assert "13800138000" not in response.body.decode("utf-8")


# -- authentication ----------------------------------------------------------------------------------


def test_new_partner_key_works_once_its_sha256_is_stored(client):
    # GIVEN a key issued to a new partner, stored only as its SHA-256
    ApiKeyModel(hash_api_key("fresh-key-0001"), partner_id="meituan", active=1,
                created_at=datetime.now(UTC)).save()

    # WHEN the partner posts a claim and reads it back with that key
    response = post_claim(client, claim_body(), api_key="fresh-key-0001")
    read = get_claim(client, response.json_body["claim_id"], api_key="fresh-key-0001")

    # THEN the claim is theirs
    assert response.status_code == 202
    assert read.status_code == 200


def test_api_keys_table_holds_no_plain_key(aws):
    # GIVEN the seeded partners' keys
    items = boto3.client("dynamodb").scan(TableName=Tables.API_KEYS)["Items"]

    # WHEN the table is read
    text = json.dumps(items)

    # THEN only hashes are stored, never the keys themselves
    assert len(items) == len(API_KEYS)
    assert all(key not in text for key in API_KEYS.values())
    assert {i["key_hash"]["S"] for i in items} == {hash_api_key(k) for k in API_KEYS.values()}


def test_inactive_key_is_refused(client):
    # GIVEN a key stored (hashed) but deactivated
    ApiKeyModel(hash_api_key("retired-key-123"), partner_id="eleme", active=0,
                created_at=datetime.now(UTC)).save()

    # WHEN a request uses it
    response = post_claim(client, claim_body(), api_key="retired-key-123")

    # THEN it is refused
    assert response.status_code == 401
    assert response.json_body["error"]["code"] == "UNAUTHENTICATED"


def test_reading_a_claim_needs_a_valid_api_key(client):
    # GIVEN an existing claim
    claim_id = post_claim(client, claim_body()).json_body["claim_id"]

    # WHEN it is read without a key
    response = get_claim(client, claim_id, api_key=None)

    # THEN the request is unauthenticated
    assert response.status_code == 401
    assert response.json_body["error"]["code"] == "UNAUTHENTICATED"


# -- every rejected request: right error, nothing stored, nothing queued ------------------------------


def _with(body: dict, path: str, value) -> dict:
    node = body
    *parents, last = path.split(".")
    for part in parents:
        node = node[part]
    node[last] = value
    return body


def _without(body: dict, path: str) -> dict:
    node = body
    *parents, last = path.split(".")
    for part in parents:
        node = node[part]
    del node[last]
    return body


FUTURE = (datetime.now(UTC) + timedelta(days=2)).isoformat()

REJECTED = {
    # name: (raw body or dict, extra headers, status, code, field expected in details or None)
    "unknown-top-level-field": (_with(claim_body(), "weather", "rain"), {}, 400, "VALIDATION_FAILED", "weather"),
    "unknown-nested-field": (_with(claim_body(), "loss.weather", "rain"), {}, 400, "VALIDATION_FAILED", "loss.weather"),
    "naive-datetime": (_with(claim_body(), "loss.occurred_at", "2026-11-24T12:30:00"), {}, 400,
                       "VALIDATION_FAILED", "loss.occurred_at"),
    "future-occurred-at": (_with(claim_body(), "loss.occurred_at", FUTURE), {}, 400, "VALIDATION_FAILED",
                           "loss.occurred_at"),
    "year-1-in-shanghai": (_with(claim_body(), "loss.occurred_at", "0001-01-01T00:00:00+08:00"), {}, 400,
                           "VALIDATION_FAILED", "loss.occurred_at"),
    "year-1-utc": (_with(claim_body(), "loss.occurred_at", "0001-01-01T00:00:00+00:00"), {}, 400,
                   "VALIDATION_FAILED", "loss.occurred_at"),
    "unix-time-string": (_with(claim_body(), "loss.occurred_at", "1764560000"), {}, 400, "VALIDATION_FAILED",
                         "loss.occurred_at"),
    "zero-as-time": (_with(claim_body(), "loss.occurred_at", "0"), {}, 400, "VALIDATION_FAILED", "loss.occurred_at"),
    "minus-one-as-time": (_with(claim_body(), "loss.occurred_at", "-1"), {}, 400, "VALIDATION_FAILED",
                          "loss.occurred_at"),
    "missing-loss": (_without(claim_body(), "loss"), {}, 400, "VALIDATION_FAILED", "loss"),
    "missing-description": (_without(claim_body(), "loss.description"), {}, 400, "VALIDATION_FAILED",
                            "loss.description"),
    "amount-as-number": (_with(claim_body(), "amount.value", 35.5), {}, 400, "VALIDATION_FAILED", "amount.value"),
    "amount-three-decimals": (_with(claim_body(), "amount.value", "35.505"), {}, 400, "VALIDATION_FAILED",
                              "amount.value"),
    "amount-negative": (_with(claim_body(), "amount.value", "-1.00"), {}, 400, "VALIDATION_FAILED", "amount.value"),
    "region-as-number": (_with(claim_body(), "loss.location.region_code", 310115), {}, 400, "VALIDATION_FAILED",
                         "loss.location.region_code"),
    "lat-as-string": (_with(claim_body(), "loss.location.lat", "31.2"), {}, 400, "VALIDATION_FAILED",
                      "loss.location.lat"),
    "unknown-loss-type": (_with(claim_body(), "loss.type", "alien_abduction"), {}, 400, "VALIDATION_FAILED",
                          "loss.type"),
    "motor-without-vehicle": (motor_claim_body(plate=None), {}, 400, "VALIDATION_FAILED", None),
    "body-is-a-list": ([claim_body()], {}, 400, "VALIDATION_FAILED", None),
    "malformed-json": ('{"loss": {', {}, 400, "MALFORMED_BODY", None),
    "empty-body": ("", {}, 400, "MALFORMED_BODY", None),
    "oversize-body": (_with(claim_body(), "loss.description", "x" * (64 * 1024)), {}, 413, "PAYLOAD_TOO_LARGE", None),
    "text-plain": (claim_body(), {"content-type": "text/plain"}, 415, "UNSUPPORTED_MEDIA_TYPE", None),
    "no-content-type": (claim_body(), {"content-type": None}, 415, "UNSUPPORTED_MEDIA_TYPE", None),
    "latin-1-charset": (claim_body(), {"content-type": "application/json; charset=latin-1"}, 415,
                        "UNSUPPORTED_MEDIA_TYPE", None),
    "utf-16-charset": (claim_body(), {"content-type": "application/json;charset=UTF-16"}, 415,
                       "UNSUPPORTED_MEDIA_TYPE", None),
    "bad-idempotency-key": (claim_body(), {"idempotency-key": "has spaces and /slashes/"}, 400,
                            "VALIDATION_FAILED", "Idempotency-Key"),
    "overlong-idempotency-key": (claim_body(), {"idempotency-key": "k" * 129}, 400, "VALIDATION_FAILED",
                                 "Idempotency-Key"),
    "missing-api-key": (claim_body(), {"x-api-key": None}, 401, "UNAUTHENTICATED", None),
    "empty-api-key": (claim_body(), {"x-api-key": ""}, 401, "UNAUTHENTICATED", None),
    "unknown-api-key": (claim_body(), {"x-api-key": "guessed-key"}, 401, "UNAUTHENTICATED", None),
    "too-long-api-key": (claim_body(), {"x-api-key": "k" * 300}, 401, "UNAUTHENTICATED", None),
}


@pytest.mark.parametrize("body, extra, status, code, field", REJECTED.values(), ids=REJECTED.keys())
def test_rejected_claim_gets_contract_error_and_leaves_nothing_behind(client, queues, stored_items,
                                                                      body, extra, status, code, field):
    # GIVEN the store as it is
    before = stored_items()
    raw = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False)
    request_headers = {k: v for k, v in {**headers(ELEME), **extra}.items() if v is not None}

    # WHEN a partner posts an unacceptable request
    response = client.http.post("/v1/claims", headers=request_headers, body=raw)

    # THEN it gets the contract's error for it
    assert response.status_code == status
    error = response.json_body["error"]
    assert error["code"] == code
    assert error["message"]
    if field is not None:
        assert field in [d["field"] for d in error["details"]]
    # AND nothing was written or queued
    assert stored_items() == before
    assert queues.receive(SCORING_QUEUE.name) == []


def test_motor_loss_without_vehicle_is_explained(client):
    # GIVEN a motor claim without a vehicle
    body = motor_claim_body(plate=None)

    # WHEN it is posted
    response = post_claim(client, body)

    # THEN the problem names what is missing
    assert response.status_code == 400
    fields = [d["field"] for d in response.json_body["error"]["details"]]
    assert fields == ["vehicle.plate"]


def test_validation_errors_never_echo_submitted_values(client):
    # GIVEN a claim whose phone and region are invalid
    body = claim_body(phone="call me on 13800138000 please")
    body["loss"]["location"]["region_code"] = "SECRET-REGION"

    # WHEN it is posted
    response = post_claim(client, body)

    # THEN the errors say what is wrong without repeating the values
    assert response.status_code == 400
    text = response.body.decode("utf-8")
    assert "13800138000" not in text
    assert "SECRET-REGION" not in text


# -- idempotency ----------------------------------------------------------------------------------------


def test_same_idempotency_key_and_body_replays_the_same_claim(client, queues, stored_items):
    # GIVEN a claim posted with an Idempotency-Key
    body = claim_body(external_ref=None)
    first = post_claim(client, body, idempotency_key="order-42:attempt")
    after_first = stored_items()

    # WHEN the same request is sent again
    again = post_claim(client, body, idempotency_key="order-42:attempt")

    # THEN it answers the same claim, marked as a replay, and stores and queues nothing new
    assert again.status_code == 202
    assert again.json_body["claim_id"] == first.json_body["claim_id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["Location"] == first.headers["Location"]
    assert stored_items() == after_first
    assert len(queues.receive_all(SCORING_QUEUE.name)) == 1


def test_same_idempotency_key_with_another_body_conflicts(client, stored_items):
    # GIVEN a claim posted with an Idempotency-Key
    post_claim(client, claim_body(external_ref=None, amount="35.50"), idempotency_key="k-1")
    after_first = stored_items()

    # WHEN the key is reused for a different claim
    response = post_claim(client, claim_body(external_ref=None, amount="99.00"), idempotency_key="k-1")

    # THEN it is a conflict and nothing is stored
    assert response.status_code == 409
    assert response.json_body["error"]["code"] == "IDEMPOTENCY_CONFLICT"
    assert stored_items() == after_first


def test_external_ref_identifies_the_claim_when_no_header_is_given(client, stored_items):
    # GIVEN a claim posted with an external_ref and no Idempotency-Key
    body = claim_body(external_ref="ELEME-20261125-000123")
    first = post_claim(client, body)
    after_first = stored_items()

    # WHEN the same body is posted again
    again = post_claim(client, body)

    # THEN the same claim is answered as a replay
    assert again.status_code == 202
    assert again.json_body["claim_id"] == first.json_body["claim_id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert stored_items() == after_first


def test_external_ref_reused_with_another_body_conflicts(client, stored_items):
    # GIVEN a claim posted with an external_ref
    post_claim(client, claim_body(external_ref="ELEME-1", amount="10.00"))
    after_first = stored_items()

    # WHEN another claim reuses it
    response = post_claim(client, claim_body(external_ref="ELEME-1", amount="20.00"))

    # THEN it is a conflict and nothing is stored
    assert response.status_code == 409
    assert response.json_body["error"]["code"] == "IDEMPOTENCY_CONFLICT"
    assert stored_items() == after_first


def test_external_ref_names_one_claim_whatever_the_idempotency_key(client, queues, stored_items):
    # GIVEN a claim posted with Idempotency-Key k1 and an external_ref
    body = claim_body(external_ref="ELEME-20261125-000777")
    first = post_claim(client, body, idempotency_key="k1")
    after_first = stored_items()

    # WHEN the same body is posted with key k2, then with no key
    with_k2 = post_claim(client, body, idempotency_key="k2")
    without = post_claim(client, body)

    # THEN both answer the first claim as replays; nothing new is stored or queued
    for again in (with_k2, without):
        assert again.status_code == 202
        assert again.json_body["claim_id"] == first.json_body["claim_id"]
        assert again.headers["Idempotent-Replayed"] == "true"
    assert stored_items() == after_first
    assert len(queues.receive_all(SCORING_QUEUE.name)) == 1


def test_external_ref_with_another_body_under_a_new_key_conflicts(client, stored_items):
    # GIVEN a claim posted with key k1 and an external_ref
    post_claim(client, claim_body(external_ref="ELEME-2", amount="10.00"), idempotency_key="k1")
    after_first = stored_items()

    # WHEN another body names the same external_ref under key k2
    response = post_claim(client, claim_body(external_ref="ELEME-2", amount="20.00"), idempotency_key="k2")

    # THEN it is a conflict and nothing is stored
    assert response.status_code == 409
    assert response.json_body["error"]["code"] == "IDEMPOTENCY_CONFLICT"
    assert stored_items() == after_first


def test_idempotency_keys_are_scoped_per_partner(client):
    # GIVEN a partner's claim with an external_ref
    body = claim_body(external_ref="SHARED-REF-1")
    first = post_claim(client, body, api_key=ELEME)

    # WHEN another partner happens to use the same external_ref
    second = post_claim(client, body, api_key=HELLOBIKE)

    # THEN each partner has its own claim
    assert second.status_code == 202
    assert second.json_body["claim_id"] != first.json_body["claim_id"]
    assert "Idempotent-Replayed" not in second.headers


def test_claims_without_any_key_are_each_stored(client):
    # GIVEN a body with neither Idempotency-Key nor external_ref
    body = claim_body(external_ref=None)

    # WHEN it is posted twice
    first = post_claim(client, body)
    second = post_claim(client, body)

    # THEN there is nothing to recognise it by, so two claims exist
    assert second.status_code == 202
    assert first.json_body["claim_id"] != second.json_body["claim_id"]


# -- ownership -------------------------------------------------------------------------------------------


def test_partner_cannot_read_another_partners_claim(client):
    # GIVEN a claim of one partner
    claim_id = post_claim(client, claim_body(), api_key=ELEME).json_body["claim_id"]

    # WHEN another partner asks for it
    response = get_claim(client, claim_id, api_key=HELLOBIKE)

    # THEN it does not exist for them
    assert response.status_code == 404
    assert response.json_body["error"]["code"] == "NOT_FOUND"


@pytest.mark.parametrize("claim_id", ["CLM-01M89KMC8SKZE7MME4AQ1K4GK3", "not-a-claim-id", "CLM-123"],
                         ids=["unknown", "malformed", "too-short"])
def test_unknown_or_malformed_claim_id_is_not_found(client, claim_id):
    # GIVEN no such claim
    # WHEN a partner asks for it
    response = get_claim(client, claim_id)

    # THEN it is not found, in the contract's shape
    assert response.status_code == 404
    assert response.json_body["error"]["code"] == "NOT_FOUND"


def test_response_carries_the_callers_correlation_id(client):
    # GIVEN a request with a correlation id
    # WHEN it is posted
    response = post_claim(client, claim_body(), x_correlation_id="abc-123")

    # THEN the answer carries it back
    assert response.headers["x-correlation-id"] == "abc-123"
