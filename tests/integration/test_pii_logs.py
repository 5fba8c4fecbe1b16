"""Personal data never reaches a log line, and partners only ever see it masked.

One customer with distinctive details (a Chinese name, a mobile number, an 18-digit resident ID number
ending in X, a plate) goes through every channel and every function: partner claim and read, form
claim with a photo, Twilio call, vendor IVR events, Amazon Connect identify and report, scoring,
dispatch, contacts, the agent's screen pop, queue, view and decision, the surveyor's completion,
partner notifications and the reconciler. Their details are also typed where people type them (the
loss description, an agent's reason, a surveyor's notes). Everything logged meanwhile is captured: the
service logger at DEBUG, every stdlib logger through the root logger at DEBUG, stdout and stderr.
"""
from __future__ import annotations

import json
import logging
from datetime import timedelta
from pathlib import Path

import pytest

from chalicelib import bootstrap
from chalicelib.api.views import mask_id_number, mask_name, mask_phone
from chalicelib.domain.claim import ClaimStatus
from chalicelib.observability import logger, mask_personal, redact
from infra.import_policies import Report, import_files
from infra.seed import DEMO_AGENT_TOKEN, DEMO_SURVEYOR_TOKENS
from tests.fakes import claim_body, motor_claim_body, yesterday_in_shanghai
from tests.integration.callbacks import deliver_all_notices, partner_callback
from tests.integration.claim_form import FORM, photo, upload
from tests.integration.conftest import ELEME, MOTOR, post_claim
from tests.integration.hotline import (
    GATHER_ZH,
    VOICE,
    call_started,
    claim_reported,
    digits,
    flow_event,
    incoming_call,
    post_event,
    post_form,
)

NAME = "欧阳娜娜"
PHONE = "+8615987654321"
ID_NUMBER = "31010419900307123X"
PLATE = "沪C8K271"
MOTOR_POLICY, FOOD_POLICY = "PM2099000001", "PA2099000001"

# Every way the details might be written: E.164, without the plus, national, spaced, dashed; the ID
# number with a lower-case x; the plate with its dot; and each as a JSON \\u escape would show it.
PHONE_FORMS = (PHONE, "8615987654321", "15987654321", "159 8765 4321", "159-8765-4321", "+86 159 8765 4321")
PERSONAL = (NAME, *PHONE_FORMS, ID_NUMBER, ID_NUMBER.lower(), PLATE, "沪C·8K271")
AGENT = {"authorization": f"Bearer {DEMO_AGENT_TOKEN}", "content-type": "application/json"}
TYPED = f"联系人{NAME}，电话 159 8765 4321，身份证 {ID_NUMBER}，车牌 {PLATE}"  # what people type in free text


def leaks(text: str) -> list[str]:
    """The personal values found in ``text``, as written or JSON-escaped."""
    return [value for value in PERSONAL
            if value in text or json.dumps(value)[1:-1] in text]


@pytest.fixture
def customer(aws, tmp_path: Path):
    """The customer's two policies (motor with the plate, food safety), imported as any policy is."""
    rows = ["policy_number,product,starts_on,ends_on,holder_name,holder_phone,holder_id_number,plate,partner_id",
            f"{MOTOR_POLICY},motor,2026-01-01,2030-12-31,{NAME},159 8765 4321,{ID_NUMBER},沪C·8K271,motor-direct",
            f"{FOOD_POLICY},food_safety,2026-01-01,2030-12-31,{NAME},{PHONE},{ID_NUMBER},,eleme"]
    (tmp_path / "customer.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    outcome = import_files([tmp_path / "customer.csv"], report=Report())
    assert outcome.exit_code == 0 and outcome.counts.imported == 2


@pytest.fixture
def everything_logged(log_output, caplog):
    """Reads all output; the service logger and the root logger at DEBUG while the test runs."""
    level = logger.log_level
    logger.setLevel(logging.DEBUG)
    caplog.set_level(logging.DEBUG)
    try:
        yield log_output
    finally:
        logger.setLevel(level)


def _full_flow(client, pipeline, queues, monkeypatch) -> dict:
    """Runs every function with the customer's details; returns what partners were shown."""
    shown: dict[str, list] = {"views": [], "notifications": []}

    # partners: a motor claim and a food claim with the claimant's details, read back
    motor = post_claim(client, motor_claim_body(name=NAME, phone=PHONE, plate=PLATE, policy_number=MOTOR_POLICY,
                                                description=TYPED, region="310115"), api_key=MOTOR)
    food = post_claim(client, claim_body(name=NAME, phone="159 8765 4321", policy_number=FOOD_POLICY,
                                         description=TYPED, amount="135.50"), api_key=ELEME)
    assert (motor.status_code, food.status_code) == (202, 202), (motor.body, food.body)
    motor_id, food_id = motor.json_body["claim_id"], food.json_body["claim_id"]

    # the customer's form, with a photo sent with the status token
    check = client.http.post("/v1/public/policy-check", headers={"content-type": "application/json"},
                             body=json.dumps({"policy_number": FOOD_POLICY, "phone": "159-8765-4321"}))
    assert check.status_code == 200, check.body
    form = client.http.post("/v1/public/claims", headers={"content-type": "application/json"}, body=json.dumps(
        {**FORM, "submission_key": "pii-form-0001", "policy_number": FOOD_POLICY, "phone": "159 8765 4321",
         "claimant_name": NAME, "description": TYPED}, ensure_ascii=False))
    assert form.status_code == 202, form.body
    form = json.loads(form.body)
    upload(client, form["claim_id"], photo(7), headers={"x-status-token": form["status_token"]})

    # the hotline: Twilio, another IVR vendor, Amazon Connect
    call = {"From": PHONE, "Caller": PHONE, "CallSid": "CApii00000000000000000000000000001"}
    assert post_form(client, VOICE, incoming_call(**call)).status_code == 200
    assert post_form(client, GATHER_ZH, digits(**call)).status_code == 200
    assert post_event(client, call_started(caller="159 8765 4321", call_id="pii-call-1")).status_code == 200
    reported = claim_reported(caller=PHONE, call_id="pii-call-2", policy={"number": FOOD_POLICY})
    reported["loss"] = {**reported["loss"], "type": "food_safety", "description": TYPED,
                        "occurred_at": yesterday_in_shanghai().isoformat()}
    assert post_event(client, reported).status_code == 202
    assert client.lambda_.invoke("connect_identify_caller", flow_event(caller=PHONE)).payload["result"] == "ok"
    connect = client.lambda_.invoke("connect_report_claim", flow_event("connect_report_claim_event.json",
                                                                       caller=PHONE, contact_id="pii-contact-1"))
    assert connect.payload["result"] in ("created", "already_reported"), connect.payload

    # scoring, dispatch, contacts
    pipeline.score_all()
    pipeline.dispatch_all()
    pipeline.record_contacts()

    # the agent: screen pop, queue, a claim, a decision with the customer's details in the reason
    pop = client.http.post("/v1/agent/callers/lookup", headers=AGENT,
                           body=json.dumps({"phone": "159 8765 4321"}))
    assert pop.status_code == 200 and json.loads(pop.body)["customer"]["id_number"] == mask_id_number(ID_NUMBER)
    assert client.http.get("/v1/agent/queue?limit=50", headers=AGENT).status_code == 200
    food_claim = bootstrap.container().claims.get(food_id)
    assert food_claim.status is ClaimStatus.IN_REVIEW, food_claim.status
    view = client.http.get(f"/v1/agent/claims/{food_id}", headers=AGENT)
    decision = client.http.post(f"/v1/agent/claims/{food_id}/decision",
                                headers={**AGENT, "if-match": view.headers["ETag"]},
                                body=json.dumps({"decision": "reject", "reason": TYPED}, ensure_ascii=False))
    assert decision.status_code == 200, decision.body

    # the surveyor: the motor claim, with notes naming the customer
    surveyor = bootstrap.container().claims.get(motor_id).surveyor_id
    assert surveyor in DEMO_SURVEYOR_TOKENS
    done = client.http.post(f"/v1/surveyors/{surveyor}/assignments/{motor_id}/complete",
                            headers={"authorization": f"Bearer {DEMO_SURVEYOR_TOKENS[surveyor]}",
                                     "content-type": "application/json"},
                            body=json.dumps({"assessed_amount": "2800.00", "notes": TYPED}, ensure_ascii=False))
    assert done.status_code == 200, done.body

    # partner notifications, delivered to motor-direct's callback
    with partner_callback("motor-direct") as receiver:
        deliver_all_notices(client, queues)
    assert receiver.received, "no notification was delivered"
    shown["notifications"] = [r.body.decode("utf-8") for r in receiver.received]

    # the reconciler, with a claim left RECEIVED (its scoring message lost) and every claim old enough to
    # count as stuck
    assert post_claim(client, claim_body(name=NAME, phone=PHONE, policy_number=FOOD_POLICY, description=TYPED),
                      api_key=ELEME).status_code == 202
    queues.delete("claims-intake-scoring", queues.receive("claims-intake-scoring"))
    monkeypatch.setattr(bootstrap.container().reconciler, "_after", timedelta(seconds=-3600))
    client.lambda_.invoke("reconcile_claims", client.events.generate_cw_event(
        source="aws.events", detail_type="Scheduled Event", detail={}, resources=[]))

    # what partners read of their claims
    for claim_id, key in ((motor_id, MOTOR), (food_id, ELEME)):
        response = client.http.get(f"/v1/claims/{claim_id}", headers={"x-api-key": key})
        assert response.status_code == 200
        shown["views"].append(response.body.decode("utf-8"))
    shown["claim_ids"] = [motor_id, food_id, form["claim_id"]]
    return shown


def test_no_personal_data_in_any_log_line_nor_unmasked_to_partners_over_the_whole_flow(
        customer, client, pipeline, queues, monkeypatch, everything_logged):
    # GIVEN everything logged from here on, at DEBUG, by any logger
    everything_logged()
    logging.getLogger("pii-probe").debug("root logger captured at DEBUG")

    # WHEN the customer goes through every channel and every function
    shown = _full_flow(client, pipeline, queues, monkeypatch)
    output = everything_logged()

    # THEN the flow was logged (the capture works: service lines, root DEBUG lines, claim ids) ...
    for line in ("claim received", "claim scored", "surveyor assigned", "claim decided", "call started",
                 "attachment event handled", "re-queued claims", "NotificationsDelivered", "root logger captured"):
        assert line in output, line
    assert all(claim_id in output for claim_id in shown["claim_ids"])
    # ... and no line holds the name, the phone in any form, the ID number or the plate
    leaked = [line for line in output.splitlines() if leaks(line)]
    assert leaked == []

    # AND the partners' views show the claimant masked, never the details themselves
    for body in shown["views"]:
        claimant = json.loads(body)["claimant"]
        assert claimant["name"] == "欧***"
        assert claimant["phone"] in ("+86159****4321", "159****4321")  # as the partner sent it, masked
        assert leaks(body) == []
    # AND the notifications posted to the partner carry none of them
    for body in shown["notifications"]:
        assert leaks(body) == []


# -- the maskers ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("phone, shown", [
    ("+8613800138000", "+86138****8000"),
    ("13800138000", "138****8000"),
    ("138 0013 8000", "138****8000"),
    ("+14155550123", "+141****0123"),
    ("+862161234567", "+8621****4567"),
    ("12345", "***45"),
    (None, None),
])
def test_phones_are_masked_to_their_head_and_last_four(phone, shown):
    assert mask_phone(phone) == shown


def test_names_and_id_numbers_are_masked():
    assert mask_name(NAME) == "欧***"
    assert mask_name("张三") == "张*"
    assert mask_id_number(ID_NUMBER) == "310*************3X"


def test_the_formatter_masks_personal_fields_by_name_and_phones_ids_and_plates_by_shape():
    # GIVEN a log record whose fields carry personal data, some of it nested, some in free text
    record = {"message": "claim received", "claim_id": "CLM-01M89KN7JB04VKQXB3E9A3HNRC",
              "claimant": {"name": NAME, "phone": PHONE}, "holder_name": NAME, "Caller": PHONE,
              "note": f"车牌 {PLATE}，身份证 {ID_NUMBER}，电话 159 8765 4321", "items": [{"plate": PLATE}]}

    # WHEN it is masked
    masked = json.dumps(mask_personal(record), ensure_ascii=False)

    # THEN no value survives, and the rest is kept
    assert leaks(masked) == []
    assert "CLM-01M89KN7JB04VKQXB3E9A3HNRC" in masked and "claim received" in masked
    assert redact("plate 京A·D12345 and 沪C8K271.") == "plate *** and ***."


def test_aws_libraries_stay_quiet_below_info_even_when_the_root_logger_is_at_debug(caplog):
    # GIVEN the root logger at DEBUG
    caplog.set_level(logging.DEBUG)

    # WHEN the AWS libraries log their request dumps at DEBUG
    for name in ("botocore.endpoint", "pynamodb.connection.base", "urllib3.connectionpool", "boto3.resources"):
        logging.getLogger(name).debug("Making request with params: %s", {"Item": {"name": NAME}})

    # THEN none of it is emitted
    assert leaks(caplog.text) == []
