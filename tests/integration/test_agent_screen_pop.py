"""The agent's screen pop, and the contacts consumer that feeds it."""
from __future__ import annotations

import json

import boto3
import pytest

from chalicelib.adapters.resources import CONTACTS_QUEUE, Tables
from chalicelib.api import connect
from infra.seed import DEMO_AGENT_TOKEN
from tests.fakes import yesterday_in_shanghai
from tests.integration.conftest import MOTOR, post_claim
from tests.integration.hotline import flow_event, identify, report

ZHAO = "+8613600136000"  # two policies, ID number 310115198503120039
AGENT = {"authorization": f"Bearer {DEMO_AGENT_TOKEN}"}
LOOKUP = "/v1/agent/callers/lookup"


@pytest.fixture(autouse=True)
def _time_enough_for_contact_entries(monkeypatch):
    """These tests are about what the screen pop shows, not about Connect's time budget (the contact
    entry is skipped with < 2 s of the 8 s left: tests/unit/test_hotline_services.py covers that). On a loaded
    CI machine a slow invocation would otherwise lose the entry these tests look for."""
    monkeypatch.setattr(connect, "_seconds_left", lambda context: lambda: float("inf"))


def screen_pop(client, phone: str, headers: dict | None = None):
    """The screen pop as an agent's desk asks for it: the number in the body, never in the URL."""
    headers = {"content-type": "application/json", **(AGENT if headers is None else headers)}
    return client.http.post(LOOKUP, headers=headers, body=json.dumps({"phone": phone}))


def test_screen_pop_needs_an_agent_token(client):
    for headers in ({}, {"authorization": "Bearer not-a-token"}, {"authorization": DEMO_AGENT_TOKEN},
                    {"x-api-key": MOTOR}):
        response = screen_pop(client, ZHAO, headers)
        assert response.status_code == 401, headers
        assert json.loads(response.body)["error"]["code"] == "UNAUTHENTICATED"


def test_screen_pop_shows_customer_policies_open_claims_and_last_contacts(client, pipeline):
    # GIVEN a caller with two policies who called the hotline and reported a claim (after a first call
    # from elsewhere has built the function's container, as in a warm Lambda: the contact entry is
    # skipped when little of Connect's 8 s is left, which a cold build on a loaded machine can eat)
    identify(client, flow_event(caller="+8613100000000", contact_id="warm-up"))
    identify(client, flow_event(caller=ZHAO, contact_id="call-1"))
    claim_id = report(client, flow_event("connect_report_claim_event.json", caller=ZHAO, contact_id="call-1",
                                         parameters={"loss_type": "online_shopping_fraud"}))["claim_id"]
    pipeline.record_contacts()

    # WHEN an agent's screen pops for the next call from that number, written any way
    for written in (ZHAO, "136 0013 6000", "8613600136000"):
        response = screen_pop(client, written)

        # THEN it shows the customer with the ID number masked, both policies, the open claim and the
        # contacts, newest first
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == "no-store"
        view = json.loads(response.body)
        assert view["phone"] == ZHAO
        assert view["customer"]["name"] == "赵六"
        assert view["customer"]["id_number"] == "310*************39"
        assert "310115198503120039" not in response.body.decode()
        assert sorted(p["policy_number"] for p in view["policies"]) == ["PA2026000124", "PF2026000125"]
        assert [c["claim_id"] for c in view["open_claims"]] == [claim_id]
        assert [(c["kind"], c["contact_id"]) for c in view["contacts"]] == [
            ("claim_reported", "call-1"), ("identified", "call-1")]


def test_screen_pop_of_an_unknown_number_is_empty_not_an_error(client):
    response = screen_pop(client, "+8613100000000")
    assert response.status_code == 200
    assert json.loads(response.body) == {"phone": "+8613100000000", "customer": None, "policies": [],
                                         "open_claims": [], "contacts": []}


def test_screen_pop_of_something_that_is_not_a_phone_number_is_a_400(client):
    response = screen_pop(client, "not-a-phone")
    assert response.status_code == 400
    assert json.loads(response.body)["error"]["details"] == [{"field": "phone", "problem": "is not a phone number"}]


@pytest.mark.parametrize("body, field", [
    ({}, "phone"),
    ({"phone": 13600136000}, "phone"),
    ({"phone": ""}, "phone"),
    ({"phone": "1" * 65}, "phone"),
    ({"phone": ZHAO, "name": "赵六"}, "name"),
], ids=["missing", "a number", "empty", "too long", "unknown field"])
def test_a_lookup_without_a_phone_in_its_body_is_a_400_naming_the_field(client, body, field):
    response = client.http.post(LOOKUP, headers={"content-type": "application/json", **AGENT},
                                body=json.dumps(body, ensure_ascii=False))
    assert response.status_code == 400, response.body
    assert [d["field"] for d in json.loads(response.body)["error"]["details"]] == [field]


def test_the_old_screen_pop_route_answers_the_same_marked_as_deprecated(client, pipeline):
    # GIVEN a caller who has called the hotline
    identify(client, flow_event(caller=ZHAO, contact_id="call-1"))
    pipeline.record_contacts()

    # WHEN an agent's desk still asks with the number in the URL
    old = client.http.get(f"/v1/agent/callers/{ZHAO.replace('+', '%2B')}", headers=AGENT)

    # THEN it answers what the lookup answers, and says the route is deprecated and what replaces it
    assert old.status_code == 200, old.body
    assert json.loads(old.body) == json.loads(screen_pop(client, ZHAO).body)
    assert old.headers["Deprecation"] == "true"
    assert old.headers["Link"] == '</v1/agent/callers/lookup>; rel="successor-version"'
    # AND so does its refusal of a request without a token
    refused = client.http.get(f"/v1/agent/callers/{ZHAO.replace('+', '%2B')}")
    assert refused.status_code == 401
    assert refused.headers["Deprecation"] == "true"


def test_claims_from_partners_on_the_callers_number_show_as_open(client, pipeline):
    # GIVEN a partner claim whose claimant phone is the caller's, written loosely
    body = {"policy": {"number": "PM2026000790"}, "claimant": {"phone": "186 0018 6000"},
            "loss": {"type": "motor_glass", "occurred_at": yesterday_in_shanghai().isoformat(),
                     "description": "windscreen", "location": {"region_code": "310115"}},
            "amount": {"value": "900.00", "currency": "CNY"}, "vehicle": {"plate": "沪AD12345"}}
    claim_id = json.loads(post_claim(client, body, api_key=MOTOR).body)["claim_id"]

    # WHEN the agent's screen pops for that number
    view = json.loads(screen_pop(client, "+8618600186000").body)

    # THEN the claim is listed
    assert [c["claim_id"] for c in view["open_claims"]] == [claim_id]


def test_a_contact_flow_that_identifies_the_caller_twice_shows_the_call_once(client, pipeline):
    # GIVEN a call whose contact flow invoked the identify function twice (a loop back to the menu, or
    # Connect invoking again after a slow answer)
    for _ in range(2):
        identify(client, flow_event(caller=ZHAO, contact_id="call-twice"))
    pipeline.record_contacts()

    # WHEN an agent's screen pops for that number
    view = json.loads(screen_pop(client, ZHAO).body)

    # THEN the call's identification is listed once
    assert [(c["kind"], c["contact_id"]) for c in view["contacts"]] == [("identified", "call-twice")]


# -- contacts consumer ---------------------------------------------------------------------------------

def contacts_stored() -> int:
    return boto3.client("dynamodb").scan(TableName=Tables.CONTACTS, Select="COUNT")["Count"]


def test_contacts_consumer_is_idempotent_under_redelivery(client, pipeline, queues):
    # GIVEN two contact messages
    identify(client, flow_event(caller=ZHAO, contact_id="call-1"))
    identify(client, flow_event(caller=ZHAO, contact_id="call-2"))
    messages = queues.receive(CONTACTS_QUEUE.name)
    assert len(messages) == 2

    # WHEN the consumer gets them twice (at-least-once delivery)
    first = pipeline.invoke("record_contacts", messages)
    second = pipeline.invoke("record_contacts", messages)

    # THEN both runs succeed and there are two entries, not four
    assert first == second == {"batchItemFailures": []}
    assert contacts_stored() == 2


def test_a_replayed_contact_in_the_same_batch_as_its_original_is_written_once(client, pipeline, queues, log_output):
    # GIVEN a contact message and its exact replay (same call, step and time), received in one batch
    identify(client, flow_event(caller=ZHAO, contact_id="call-1"))
    [message] = queues.receive(CONTACTS_QUEUE.name)
    queues.send(CONTACTS_QUEUE.name, message["Body"])
    messages = queues.receive(CONTACTS_QUEUE.name) + [message]
    assert len(messages) == 2

    log_output()

    # WHEN the consumer processes the batch (one BatchWriteItem may not name a key twice)
    answer = pipeline.invoke("record_contacts", messages)

    # THEN both succeed at the first write (not by falling back to one write per entry), one entry stored
    assert answer == {"batchItemFailures": []}
    assert "not written" not in log_output()
    assert contacts_stored() == 1


def test_an_unreadable_contact_message_fails_alone(client, pipeline, queues):
    # GIVEN a batch with a good contact and a poison message
    identify(client, flow_event(caller=ZHAO, contact_id="call-1"))
    queues.send(CONTACTS_QUEUE.name, '{"type": "contact.recorded", "phone": "13600136000"}')
    messages = queues.receive(CONTACTS_QUEUE.name)
    poison = next(m for m in messages if "13600136000" in m["Body"] and "call-1" not in m["Body"])

    # WHEN the consumer processes the batch
    answer = pipeline.invoke("record_contacts", messages)

    # THEN only the poison message comes back (SQS dead-letters it after maxReceiveCount); the good one is written
    assert answer == {"batchItemFailures": [{"itemIdentifier": poison["MessageId"]}]}
    assert contacts_stored() == 1


def test_a_failed_write_returns_the_whole_readable_batch(client, pipeline, queues, monkeypatch):
    # GIVEN contact messages and a store that fails
    identify(client, flow_event(caller=ZHAO, contact_id="call-1"))
    messages = queues.receive(CONTACTS_QUEUE.name)
    from chalicelib import bootstrap

    def broken(contacts):
        raise RuntimeError("throttled")

    monkeypatch.setattr(bootstrap.container().contact_store, "write_many", broken)

    # WHEN the consumer runs
    answer = pipeline.invoke("record_contacts", messages)

    # THEN every record is reported failed, for SQS to redeliver
    assert answer == {"batchItemFailures": [{"itemIdentifier": m["MessageId"]} for m in messages]}
