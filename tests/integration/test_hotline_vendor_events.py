"""Any other IVR vendor: signed JSON events on ``POST /v1/ivr/events`` against the in-process app and
moto. Signatures are computed here with hmac/hashlib, as a vendor would, not with the app's own code."""
from __future__ import annotations

import json
import time
from pathlib import Path
from types import SimpleNamespace

import boto3
import pytest

from chalicelib import bootstrap
from chalicelib.adapters.models import ContactModel
from chalicelib.adapters.resources import CONTACTS_QUEUE, SCORING_QUEUE, Tables
from chalicelib.domain.claim import Channel
from infra.seed import DEMO_IVR_SECRET, DEMO_IVR_VENDOR
from tests.integration.hotline import call_started, claim_reported, post_event, raw, sign

EVENTS = Path(__file__).resolve().parent.parent / "events"

KNOWN = "+8613800138000"  # 张三, one food-safety policy PA2026000123, no ID number on file
TWO_POLICIES = "+8613600136000"  # 赵六, two policies, ID number on file
ZHAO_ID_NUMBER = "310115198503120039"
ENGLISH = "+8618600186000"  # 孙八, prefers English, ID number on file
UNKNOWN = "+8613100000000"

NEW_SECRET = "demo-ivr-rotated-secret-71c4e9a2"
UNCONFIGURED_SECRET = "some-other-vendors-secret-5b0d13"


def answer(response) -> dict:
    return json.loads(response.body)


def as_text(response) -> str:
    """The body as a reader would see it: JSON with non-ASCII unescaped, and the headers."""
    body = response.body.decode("utf-8")
    try:
        body += json.dumps(json.loads(body), ensure_ascii=False)
    except ValueError:
        pass
    return body + json.dumps(response.headers, ensure_ascii=False)


def claim_count() -> int:
    return boto3.client("dynamodb").scan(TableName=Tables.CLAIMS, Select="COUNT")["Count"]


@pytest.fixture
def clock(monkeypatch):
    """The API's clock, fixed, so a timestamp just outside the tolerance is outside whatever the timing."""
    now = int(time.time())
    monkeypatch.setattr("chalicelib.api.ivr_events.time", SimpleNamespace(time=lambda: float(now)))
    return now


# -- call.started ---------------------------------------------------------------------------------------

def test_known_caller_is_described_without_personal_data(client):
    # GIVEN a call from a number on one food-safety policy
    # WHEN the vendor reports that the call started
    response = post_event(client, call_started())

    # THEN the vendor learns the customer, their language and their policies
    assert response.status_code == 200, response.body
    body = answer(response)
    assert body["call_id"] == "vendor-call-20261125-0001"
    assert body["customer"]["found"] is True
    assert body["customer"]["customer_ref"].startswith("CUS-")
    assert body["customer"]["language"] == "zh-CN"
    assert body["policies"]["active"] == 1
    assert body["policies"]["primary_policy"] == "PA2026000123"
    assert body["policies"]["primary_product"] == "food_safety"
    # AND nothing that identifies the person: no name, no phone number
    text = as_text(response)
    assert "张三" not in text
    assert "13800138000" not in text


def test_caller_with_two_policies_is_counted_without_their_id_number(client):
    # GIVEN a call from a number on two policies whose holder's ID number is on file
    # WHEN the vendor reports that the call started
    response = post_event(client, call_started(caller=TWO_POLICIES))

    # THEN both policies in force are counted
    assert response.status_code == 200, response.body
    body = answer(response)
    assert body["customer"]["found"] is True
    assert body["policies"]["active"] == 2
    assert body["policies"]["primary_policy"] in {"PA2026000124", "PF2026000125"}
    # AND the name, the phone digits and the ID number (or any part of it) stay out of the answer
    text = as_text(response)
    for personal in ("赵六", "13600136000", ZHAO_ID_NUMBER, ZHAO_ID_NUMBER[-6:]):
        assert personal not in text


def test_english_speaking_caller_is_reported_as_english(client):
    response = post_event(client, call_started(caller=ENGLISH))

    assert response.status_code == 200, response.body
    assert answer(response)["customer"]["language"] == "en"
    assert "孙八" not in as_text(response)


def test_unknown_caller_is_not_found(client):
    # GIVEN a call from a number on no policy
    # WHEN the vendor reports that the call started
    response = post_event(client, call_started(caller=UNKNOWN))

    # THEN the caller is not found and no policy is named
    assert response.status_code == 200, response.body
    body = answer(response)
    assert body["customer"]["found"] is False
    assert body["customer"]["customer_ref"] is None
    assert body["policies"]["active"] == 0
    assert body["policies"]["primary_policy"] is None


# -- claim.reported -------------------------------------------------------------------------------------

def test_reported_claim_is_accepted_and_stored_for_the_vendor(client, queues):
    # GIVEN a food-safety loss reported on a vendor's call
    # WHEN the vendor posts the claim
    response = post_event(client, claim_reported())

    # THEN it is accepted with the claim's id and the reference the caller is told
    assert response.status_code == 202, response.body
    body = answer(response)
    claim_id = body["claim_id"]
    assert body["reference"] == claim_id[-8:].upper()
    assert body["already_reported"] is False
    assert body["replayed"] is False
    # AND the claim is stored once, from the vendor's webhook, owned by that vendor
    assert claim_count() == 1
    claim = bootstrap.container().claims.get(claim_id)
    assert claim.submission.channel is Channel.IVR_WEBHOOK
    assert claim.owner == f"ivr:{DEMO_IVR_VENDOR}" == "ivr:demo-ivr"
    assert claim.submission.loss_type == "food_safety"
    assert claim.submission.policy_number == "PA2026000123"
    assert claim.submission.claimant_phone == KNOWN
    assert str(claim.submission.amount) == "86.00"
    # AND it waits on the scoring queue
    assert [m["claim_id"] for m in queues.bodies(SCORING_QUEUE.name)] == [claim_id]


def test_same_call_reported_again_answers_the_same_claim_as_a_replay(client):
    # GIVEN a claim the vendor has reported once
    first = answer(post_event(client, claim_reported()))

    # WHEN the vendor retries the same event
    response = post_event(client, claim_reported())

    # THEN the same claim is answered, marked as a replay, and nothing new is stored
    assert response.status_code == 202, response.body
    again = answer(response)
    assert again["claim_id"] == first["claim_id"]
    assert again["replayed"] is True
    assert again["already_reported"] is False
    assert claim_count() == 1


def test_same_loss_from_another_call_the_same_day_answers_the_first_claim(client):
    # GIVEN a food-safety loss reported on one call
    first = answer(post_event(client, claim_reported()))

    # WHEN the caller calls back and the same loss, on the same day, is reported from a new call
    response = post_event(client, claim_reported(call_id="vendor-call-20261125-0002"))

    # THEN the first claim is answered, marked as already reported, and nothing new is stored
    assert response.status_code == 202, response.body
    again = answer(response)
    assert again["claim_id"] == first["claim_id"]
    assert again["reference"] == first["reference"]
    assert again["already_reported"] is True
    assert claim_count() == 1


# -- replays --------------------------------------------------------------------------------------------

def contact_entries(phone: str) -> list[tuple[str, str]]:
    return [(m.kind, m.contact_id) for m in ContactModel.query(phone)]


def test_replayed_call_started_is_answered_as_before_and_recorded_once(client, pipeline):
    # GIVEN a signed call.started the vendor has posted once
    body = raw(call_started(call_id="vendor-call-replayed"))
    signature = sign(body)
    first = post_event(client, body, signature=signature)

    # WHEN the very same request (body and signature) arrives three more times within the tolerance
    again = [post_event(client, body, signature=signature) for _ in range(3)]
    pipeline.record_contacts()

    # THEN each is answered as the first was
    assert first.status_code == 200, first.body
    assert all(r.status_code == 200 and answer(r) == answer(first) for r in again)
    # AND the call has one contact entry, not four
    assert contact_entries(KNOWN) == [("call_started", "vendor-call-replayed")]


def test_replayed_call_back_report_is_recorded_once(client, pipeline):
    # GIVEN a loss reported on one call, and reported again from another call (a call-back)
    first = answer(post_event(client, claim_reported(call_id="first-call")))
    body = raw(claim_reported(call_id="call-back"))
    signature = sign(body)
    call_back = answer(post_event(client, body, signature=signature))

    # WHEN the call-back's event is replayed twice
    replays = [answer(post_event(client, body, signature=signature)) for _ in range(2)]
    pipeline.record_contacts()

    # THEN every answer names the first claim, already reported
    assert {a["claim_id"] for a in [call_back, *replays]} == {first["claim_id"]}
    assert all(a["already_reported"] for a in [call_back, *replays])
    # AND the screen pop's entries are one per call and step
    assert sorted(contact_entries(KNOWN)) == [("claim_already_reported", "call-back"),
                                              ("claim_reported", "first-call")]


# -- signatures ------------------------------------------------------------------------------------------

def test_timestamp_at_the_edge_of_the_five_minute_tolerance_is_accepted(client, clock):
    for at in (clock - 300, clock + 300):
        body = raw(call_started())
        response = post_event(client, body, signature=sign(body, at=at))
        assert response.status_code == 200, (at - clock, response.body)


def _stale(body, now):
    return body, sign(body, at=now - 301)


def _future(body, now):
    return body, sign(body, at=now + 301)


def _tampered(body, now):
    signature = sign(body, at=now)
    return body.replace(b'"86.00"', b'"8600.00"'), signature  # signed, then the amount raised


def _missing(body, now):
    return body, None


def _empty(body, now):
    return body, ""


def _not_a_signature(body, now):
    return body, "sha256=deadbeef"


def _no_timestamp(body, now):
    return body, sign(body, at=now).split(",", 1)[1]


def _no_v1(body, now):
    return body, f"t={now}"


def _short_hex(body, now):
    return body, sign(body, at=now)[:-2]


def _unconfigured_secret(body, now):
    return body, sign(body, secret=UNCONFIGURED_SECRET, at=now)


def _signed_with_timestamp_swapped(body, now):
    digest = sign(body, at=now).split("v1=", 1)[1]
    return body, f"t={now - 1},v1={digest}"  # a valid signature replayed under another timestamp


REJECTED = [_stale, _future, _tampered, _missing, _empty, _not_a_signature, _no_timestamp, _no_v1, _short_hex,
            _unconfigured_secret, _signed_with_timestamp_swapped]


@pytest.mark.parametrize("fault", REJECTED, ids=lambda f: f.__name__.strip("_"))
def test_event_without_a_valid_signature_is_refused_and_creates_nothing(client, queues, clock, fault):
    # GIVEN a claim event whose signature is stale, for another body, malformed, missing or from an unknown secret
    body, signature = fault(raw(claim_reported()), clock)

    # WHEN it is posted
    response = post_event(client, body, signature=signature)

    # THEN it is refused with the contract's error body
    assert response.status_code == 403, response.body
    assert response.headers["Content-Type"] == "application/json"
    error = answer(response)["error"]
    assert set(error) <= {"code", "message", "details"}
    assert error["code"] == "SIGNATURE_INVALID"
    # AND no claim is stored, nothing is queued, no contact is recorded
    assert claim_count() == 0
    assert queues.receive(SCORING_QUEUE.name) == []
    assert queues.receive(CONTACTS_QUEUE.name) == []
    # AND the answer echoes neither a secret nor the signature
    text = as_text(response)
    for secret in (DEMO_IVR_SECRET, UNCONFIGURED_SECRET):
        assert secret not in text
    if signature:
        assert signature not in text
        for part in signature.split(","):
            name, _, value = part.partition("=")
            assert name != "v1" or value not in text


def test_call_started_without_a_valid_signature_records_no_contact(client, queues, clock):
    # GIVEN a call.started event signed with a secret that is not configured
    body = raw(call_started())

    # WHEN it is posted
    response = post_event(client, body, signature=sign(body, secret=UNCONFIGURED_SECRET, at=clock))

    # THEN it is refused before the caller is looked up or a contact is recorded
    assert response.status_code == 403
    assert "found" not in as_text(response)
    assert queues.receive(CONTACTS_QUEUE.name) == []


def test_both_secrets_verify_while_the_vendor_rotates(client, monkeypatch):
    # GIVEN the vendor listed with its old and its new secret
    monkeypatch.setenv("IVR_WEBHOOK_SECRETS", f"{DEMO_IVR_VENDOR}:{DEMO_IVR_SECRET},{DEMO_IVR_VENDOR}:{NEW_SECRET}")
    bootstrap.reset()  # the settings are read once per container: rebuild before the first request

    # WHEN one claim is signed with the old secret, and another with the new one
    old_body = raw(claim_reported(call_id="rotation-old"))
    new_body = raw(claim_reported(call_id="rotation-new", loss={"type": "online_shopping_fraud"}))
    old = post_event(client, old_body, signature=sign(old_body, secret=DEMO_IVR_SECRET))
    new = post_event(client, new_body, signature=sign(new_body, secret=NEW_SECRET))

    # THEN both verify, and both claims belong to the vendor
    assert (old.status_code, new.status_code) == (202, 202), (old.body, new.body)
    claims = bootstrap.container().claims
    owners = {claims.get(answer(r)["claim_id"]).owner for r in (old, new)}
    assert owners == {"ivr:demo-ivr"}
    assert claim_count() == 2


def test_header_carrying_the_old_and_new_signatures_verifies_during_rotation(client, monkeypatch):
    # GIVEN the service knows only the vendor's new secret
    monkeypatch.setenv("IVR_WEBHOOK_SECRETS", f"{DEMO_IVR_VENDOR}:{NEW_SECRET}")
    bootstrap.reset()
    body = raw(call_started())
    t = int(time.time())
    old, new = (sign(body, secret=s, at=t).split("v1=")[1] for s in (DEMO_IVR_SECRET, NEW_SECRET))

    # WHEN the vendor sends both signatures, old first
    response = post_event(client, body, signature=f"t={t},v1={old},v1={new}")

    # THEN the event is accepted; the old secret alone no longer is
    assert response.status_code == 200, response.body
    assert post_event(client, body, signature=f"t={t},v1={old}").status_code == 403


# -- bad input ---------------------------------------------------------------------------------------------

def test_unknown_event_type_is_refused_as_bad_input(client):
    # GIVEN a correctly signed event of a type the contract does not have
    # WHEN it is posted
    response = post_event(client, call_started(type="call.ended"))

    # THEN it is a 400 naming the type field
    assert response.status_code == 400, response.body
    error = answer(response)["error"]
    assert error["code"] == "VALIDATION_FAILED"
    assert [d["field"] for d in error["details"]] == ["type"]


def test_claim_with_an_unknown_loss_type_is_refused_naming_the_field(client):
    # GIVEN a correctly signed claim whose loss type is not one we cover
    body = claim_reported()
    body["loss"]["type"] = "alien_abduction"

    # WHEN it is posted
    response = post_event(client, body)

    # THEN it is a 400 whose details name loss.type, and no claim is stored
    assert response.status_code == 400, response.body
    error = answer(response)["error"]
    assert error["code"] == "VALIDATION_FAILED"
    assert "loss.type" in [d["field"] for d in error["details"]]
    assert "alien_abduction" not in as_text(response)
    assert claim_count() == 0


def test_claim_with_an_unknown_field_is_refused_naming_the_field(client):
    response = post_event(client, claim_reported(claimant_id_number=ZHAO_ID_NUMBER))

    assert response.status_code == 400, response.body
    assert "claimant_id_number" in [d["field"] for d in answer(response)["error"]["details"]]
    assert ZHAO_ID_NUMBER not in as_text(response)
    assert claim_count() == 0


def _with_loss_time(value):
    body = claim_reported()
    body["loss"]["occurred_at"] = value
    return body


DATES_REFUSED = {
    "loss in year 1, Shanghai": (_with_loss_time("0001-01-01T00:00:00+08:00"), "loss.occurred_at"),
    "loss in year 1, UTC": (_with_loss_time("0001-01-01T00:00:00+00:00"), "loss.occurred_at"),
    "loss as a Unix time": (_with_loss_time("1764560000"), "loss.occurred_at"),
    "loss without an offset": (_with_loss_time("2026-11-25T08:10:00"), "loss.occurred_at"),
    "report's own time in year 1": (claim_reported(occurred_at="0001-01-01T00:00:00+00:00"), "occurred_at"),
    "report's own time as -1": (claim_reported(occurred_at="-1"), "occurred_at"),
    "call started at 0": (call_started(occurred_at="0"), "occurred_at"),
    "call started in year 1": (call_started(occurred_at="0001-01-01T00:00:00+08:00"), "occurred_at"),
}


@pytest.mark.parametrize("body, field", DATES_REFUSED.values(), ids=DATES_REFUSED.keys())
def test_an_event_date_out_of_range_or_without_an_offset_is_a_400_on_its_field(client, queues, body, field):
    # GIVEN a correctly signed event carrying a date before 1900, a Unix time or no UTC offset
    # WHEN it is posted
    response = post_event(client, body)

    # THEN it is a 400 naming that field, and nothing is stored or queued
    assert response.status_code == 400, response.body
    error = answer(response)["error"]
    assert error["code"] == "VALIDATION_FAILED"
    assert [d["field"] for d in error["details"]] == [field]
    assert claim_count() == 0
    assert queues.bodies(SCORING_QUEUE.name) == [] and queues.bodies(CONTACTS_QUEUE.name) == []


def test_body_over_64_kib_is_refused_as_too_large(client):
    # GIVEN a correctly signed claim padded past 64 KiB
    body = claim_reported()
    body["loss"]["description"] = "腹泻" * 12000  # 72,000 bytes of UTF-8
    data = raw(body)
    assert len(data) > 64 * 1024

    # WHEN it is posted
    response = post_event(client, data)

    # THEN it is a 413 in the contract's shape, and no claim is stored
    assert response.status_code == 413, response.body
    assert answer(response)["error"]["code"] == "PAYLOAD_TOO_LARGE"
    assert claim_count() == 0


def test_event_that_is_not_json_is_refused_as_the_wrong_media_type(client):
    body = raw(call_started())
    response = post_event(client, body, content_type="text/plain")

    assert response.status_code == 415, response.body
    assert answer(response)["error"]["code"] == "UNSUPPORTED_MEDIA_TYPE"
