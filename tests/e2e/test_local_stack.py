"""The local stack end to end: claims go in over HTTP and come out scored, routed and dispatched.

The tests share one stack (module fixture) but nothing else: each claims on a demo policy of its own (a
second claim on a policy would be scored as its duplicate), and the test that stops a stack starts its
own; so each passes alone and in any order.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import re
import signal
import subprocess
import time
import urllib.parse
import uuid

import pytest

from infra.local_stack import DEMO_CLAIM, YESTERDAY_NOON_SHANGHAI
from infra.seed import DEMO_AGENT_TOKEN, DEMO_IVR_SECRET, DEMO_PARTNERS
from tests.e2e.stack import LocalStack, nobody_listens_on, running_stack

pytestmark = pytest.mark.e2e

KEYS = {p.partner_id: p.api_key for p in DEMO_PARTNERS}
SETTLE_WITHIN_SECONDS = 30
STOP_WITHIN_SECONDS = 15

FOOD_SAFETY_CLAIM = {  # not the hotline demo's caller's policy (PA2026000123), which the IVR test claims on
    "external_ref": "E2E-ELEME-0001",
    "policy": {"number": "PA2026000124", "order_id": "E223344"},
    "claimant": {"name": "赵六", "phone": "+8613600136000"},
    "loss": {"type": "food_safety", "occurred_at": YESTERDAY_NOON_SHANGHAI,
             "description": "stomach ache after lunch", "location": {"region_code": "310115"}},
    "amount": {"value": "135.50", "currency": "CNY"},  # above what food safety auto-approves (100)
}


def submit(stack: LocalStack, partner_id: str, claim: dict):
    return stack.http.post(f"{stack.api_url}/v1/claims", json=claim, timeout=10,
                           headers={"x-api-key": KEYS[partner_id]})


def claim_once_settled(stack: LocalStack, partner_id: str, claim_id: str, status: str) -> dict:
    """The claim as soon as it reaches ``status``; fails with the last answer if it never does."""
    deadline = time.monotonic() + SETTLE_WITHIN_SECONDS
    while True:
        answer = stack.http.get(f"{stack.api_url}/v1/claims/{claim_id}", timeout=10,
                                headers={"x-api-key": KEYS[partner_id]})
        assert answer.status_code == 200, answer.text
        claim = answer.json()
        if claim["status"] == status:
            return claim
        if time.monotonic() > deadline:
            pytest.fail(f"claim stayed {claim['status']}, never reached {status}:\n{claim}\n{stack.tail()}")
        time.sleep(0.2)


def test_the_banner_tells_a_newcomer_how_to_call_the_api(local_stack: LocalStack):
    # GIVEN the local stack has started
    # WHEN a newcomer reads what it printed
    output = local_stack.output()

    # THEN every demo key and a curl for each step is there, pointing at the API it serves
    for key in KEYS.values():
        assert key in output
    assert f"curl -s -X POST {local_stack.api_url}/v1/claims" in output
    assert f"curl -s {local_stack.api_url}/v1/claims/$CLAIM_ID -H 'x-api-key: {KEYS['motor-direct']}'" in output


def test_a_motor_claim_is_scored_and_dispatched_to_a_surveyor(local_stack: LocalStack):
    # GIVEN the demo motor claim, a collision in region 310115 where surveyors work
    claim = {**DEMO_CLAIM, "external_ref": "E2E-MOTOR-0001"}

    # WHEN the motor-direct partner submits it
    answer = submit(local_stack, "motor-direct", claim)

    # THEN it is accepted at once ...
    assert answer.status_code == 202, answer.text
    accepted = answer.json()
    assert accepted["status"] == "RECEIVED"
    assert accepted["links"]["self"] == f"/v1/claims/{accepted['claim_id']}"
    # ... and the queue consumers take it all the way to a surveyor of its region
    settled = claim_once_settled(local_stack, "motor-direct", accepted["claim_id"], "SURVEYOR_ASSIGNED")
    assert [(step["kind"], step["status"]) for step in settled["timeline"]] == [
        ("claim.received", "RECEIVED"), ("claim.policy_resolved", "RECEIVED"), ("claim.scored", "SCORED"),
        ("claim.routed", "AWAITING_SURVEYOR"), ("claim.surveyor_assigned", "SURVEYOR_ASSIGNED")]
    assert settled["resolution"]["outcome"] == "RESOLVED"
    assert settled["coverage"]["covered"] is True
    assert settled["segment"] == "FIELD_SURVEY"
    assert settled["surveyor_id"] in {"SV-SH-001", "SV-SH-002"}
    # AND motor-direct's callback (the stack's stand-in receiver) was told, signed, of the assignment
    told = f"partner callback: claim {accepted['claim_id']} is SURVEYOR_ASSIGNED (signature verified"
    deadline = time.monotonic() + SETTLE_WITHIN_SECONDS
    while told not in local_stack.output():
        if time.monotonic() > deadline:
            pytest.fail(f"the partner was never told of the assignment:\n{local_stack.tail()}")
        time.sleep(0.2)


def test_a_small_food_safety_claim_is_fast_tracked_to_review(local_stack: LocalStack):
    # GIVEN a 135.50 CNY food-safety claim on an eleme policy
    # WHEN eleme submits it
    answer = submit(local_stack, "eleme", FOOD_SAFETY_CLAIM)

    # THEN it is accepted, scored into the fast track and waits for review, with no surveyor
    assert answer.status_code == 202, answer.text
    settled = claim_once_settled(local_stack, "eleme", answer.json()["claim_id"], "IN_REVIEW")
    assert settled["segment"] == "FAST_TRACK"
    assert [step["status"] for step in settled["timeline"]] == ["RECEIVED", "RECEIVED", "SCORED", "IN_REVIEW"]
    assert settled["coverage"] == {"covered": True, "reasons": [], "suggested_payable": "135.50"}
    assert settled["surveyor_id"] is None


def test_an_unknown_api_key_is_refused(local_stack: LocalStack):
    # GIVEN a key no partner was issued
    # WHEN it is used to submit a claim
    answer = local_stack.http.post(f"{local_stack.api_url}/v1/claims", json=DEMO_CLAIM, timeout=10,
                                   headers={"x-api-key": "demo-key-nobody-000000"})

    # THEN the API answers 401 in the contract's error shape
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "UNAUTHENTICATED"


def test_a_vendor_ivr_report_shows_in_the_agents_screen_pop(local_stack: LocalStack):
    # GIVEN the banner's hotline demo: a signed vendor event reporting a loss for a known caller
    assert f"{local_stack.api_url}/v1/ivr/events" in local_stack.output()
    body = json.dumps({"type": "claim.reported", "call_id": "e2e-call-0001", "caller": "+8613800138000",
                       "loss": {"type": "food_safety"}}).encode()
    stamp = str(int(time.time()))
    signature = hmac.new(DEMO_IVR_SECRET.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()

    # WHEN the vendor posts it
    answer = local_stack.http.post(f"{local_stack.api_url}/v1/ivr/events", data=body, timeout=10,
                                   headers={"content-type": "application/json",
                                            "x-signature": f"t={stamp},v1={signature}"})

    # THEN the claim is accepted, and the agent's screen pop soon lists it and the call
    assert answer.status_code == 202, answer.text
    claim_id = answer.json()["claim_id"]
    deadline = time.monotonic() + SETTLE_WITHIN_SECONDS
    while True:
        pop = local_stack.http.post(f"{local_stack.api_url}/v1/agent/callers/lookup", timeout=10,
                                    json={"phone": "+8613800138000"},
                                    headers={"authorization": f"Bearer {DEMO_AGENT_TOKEN}"})
        assert pop.status_code == 200, pop.text
        view = pop.json()
        contacts = [(c["kind"], c["contact_id"]) for c in view["contacts"]]
        if ("claim_reported", "e2e-call-0001") in contacts:
            break
        if time.monotonic() > deadline:
            pytest.fail(f"the call never reached the screen pop: {view}\n{local_stack.tail()}")
        time.sleep(0.2)
    assert claim_id in [c["claim_id"] for c in view["open_claims"]]
    assert view["customer"]["name"] == "张三"


@pytest.mark.parametrize("method, path, headers", [
    ("GET", "/v1/nothing-here", {}),
    ("POST", "/v1/claims/batch/extra", {"content-type": "application/json"}),
    ("GET", "/v1/agent/nothing", {"authorization": f"Bearer {DEMO_AGENT_TOKEN}"}),
])
def test_an_unknown_route_is_a_404_in_the_contracts_error_shape(local_stack: LocalStack, method, path, headers):
    # GIVEN a path the API does not have (with or without credentials)
    # WHEN it is called over HTTP
    answer = local_stack.http.request(method, f"{local_stack.api_url}{path}", headers=headers, data=b"{}",
                                      timeout=10)

    # THEN it is a 404 in the contract's error shape, as the deployed API Gateway answers it
    assert answer.status_code == 404, answer.text
    assert answer.headers["content-type"] == "application/json"
    assert answer.json() == {"error": {"code": "NOT_FOUND", "message": "No such route."}}


@pytest.mark.parametrize("headers", [{}, {"content-type": "application/json; charset=latin-1"}],
                         ids=["no Content-Type", "charset latin-1"])
def test_a_claim_not_sent_as_json_in_utf8_is_a_415_over_http(local_stack: LocalStack, headers):
    # GIVEN a claim body sent over real HTTP without a Content-Type, or declared latin-1, on the other demo
    # motor policy than the motor test's (whose claim would otherwise be scored as a duplicate of this one)
    claim = {**DEMO_CLAIM, "external_ref": f"E2E-MEDIA-{uuid.uuid4().hex[:12]}", "policy": {"number": "PM2026000790"},
             "claimant": {"name": "孙八", "phone": "+8618600186000"}, "vehicle": {"plate": "沪AD12345"}}
    body = json.dumps(claim, ensure_ascii=False).encode("utf-8")

    # WHEN it is posted
    answer = local_stack.http.post(f"{local_stack.api_url}/v1/claims", data=body, timeout=10,
                                   headers={"x-api-key": KEYS["motor-direct"], **headers})

    # THEN it is refused as the wrong media type
    assert answer.status_code == 415, answer.text
    assert answer.json()["error"]["code"] == "UNSUPPORTED_MEDIA_TYPE"
    # AND no claim was made of it: the same claim sent as JSON is a new one, not a replay
    again = submit(local_stack, "motor-direct", claim)
    assert again.status_code == 202, again.text
    assert "Idempotent-Replayed" not in again.headers


def test_the_request_log_never_shows_a_phone_number(local_stack: LocalStack):
    # GIVEN agents' desks asking for a screen pop: the lookup, and the deprecated route with the number
    # in its URL, written several ways
    agent = {"authorization": f"Bearer {DEMO_AGENT_TOKEN}"}
    lookup = local_stack.http.post(f"{local_stack.api_url}/v1/agent/callers/lookup", timeout=10,
                                   json={"phone": "+8613900139000"}, headers=agent)
    assert lookup.status_code == 200, lookup.text
    for written in ("%2B8613900139000", "139%200013%209000", "8613900139000"):
        old = local_stack.http.get(f"{local_stack.api_url}/v1/agent/callers/{written}", timeout=10, headers=agent)
        assert old.status_code == 200, old.text
        assert old.headers["Deprecation"] == "true"

    # WHEN the stack's output is read
    requests_logged = [line for line in local_stack.output().splitlines()
                       if re.search(r'"(GET|POST) /v1/agent/callers/', line)]

    # THEN every request was logged, and none with the number in any form
    assert len(requests_logged) >= 4, local_stack.tail()
    for line in requests_logged:
        digits = re.sub(r"[^0-9]", "", urllib.parse.unquote(line.split('"', 1)[-1]))
        assert "13900139000" not in digits, line


@pytest.fixture
def own_stack():
    """A stack of the test's own, not the one the module's other tests share."""
    with running_stack("sigint") as stack:
        yield stack


def test_sigint_stops_everything_cleanly(own_stack: LocalStack):
    # GIVEN a running stack
    # WHEN it gets SIGINT, as from Ctrl-C
    own_stack.process.send_signal(signal.SIGINT)

    # THEN it exits 0 without a traceback, and neither the API nor moto listens any more
    try:
        exit_code = own_stack.process.wait(timeout=STOP_WITHIN_SECONDS)
    except subprocess.TimeoutExpired:
        pytest.fail(f"still running {STOP_WITHIN_SECONDS} s after SIGINT:\n{own_stack.tail()}")
    assert exit_code == 0, own_stack.tail()
    assert "Traceback" not in own_stack.output()
    assert nobody_listens_on(own_stack.api_port)
    assert nobody_listens_on(own_stack.moto_port)
