"""The hand-written IAM policies against what the code really calls.

The main flow of every function runs under moto through the integration tier's helpers (partner,
form, photos, hotline, agents, surveyors, scoring, dispatch, contacts, notifications, reconciler);
every AWS call is recorded with the function that made it (the HTTP routes are the API handler) and
checked against that function's role in the synthesized prod template: action and resource ARN, as
IAM evaluates them. A call the role does not allow would be AccessDenied once deployed.
"""
from __future__ import annotations

import contextlib
import fnmatch
import json
from dataclasses import dataclass
from datetime import timedelta

import botocore.client
import pytest
from chalice import test as chalice_test

from chalicelib import bootstrap
from chalicelib.adapters.resources import ATTACHMENTS_BUCKET
from chalicelib.schemas.messages import PartnerNotice
from chalicelib.services.partner_notices import MAX_ATTEMPTS
from infra.cdk.access import FUNCTIONS
from infra.cdk.chalice_app import ChaliceApp
from infra.seed import DEMO_AGENT_TOKEN
from tests.fakes import claim_body, motor_claim_body
from tests.infra.cfn import as_list, getatt_target, props
from tests.integration.agents import decide, surveyor_headers, version_of
from tests.integration.callbacks import deliver_all_notices, partner_callback
from tests.integration.claim_form import photo, status, submit, upload
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

REGION, ACCOUNT = "ap-southeast-1", "123456789012"  # moto's account; the region of tests/conftest.py
AGENT = {"authorization": f"Bearer {DEMO_AGENT_TOKEN}", "content-type": "application/json"}


# -- recording -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Call:
    function: str
    service: str
    operation: str
    params: str  # JSON of the request parameters


class Recorder:
    def __init__(self):
        self.function: str | None = None
        self.calls: list[Call] = []

    @contextlib.contextmanager
    def as_function(self, name: str):
        outer, self.function = self.function, name
        try:
            yield
        finally:
            self.function = outer


@pytest.fixture
def recorder(monkeypatch):
    """Every AWS call made while a function runs, labelled with the function: an HTTP request is the
    API handler, ``client.lambda_.invoke(name, ...)`` the function of that name. Calls the test makes
    itself (setup, receiving from queues) belong to no function and are not checked."""
    rec = Recorder()
    make_api_call = botocore.client.BaseClient._make_api_call

    def recording(self, operation_name, api_params):
        if rec.function is not None:
            rec.calls.append(Call(rec.function, self.meta.service_model.service_name, operation_name,
                                  json.dumps(api_params, default=str)))
        return make_api_call(self, operation_name, api_params)

    http_request = chalice_test.TestHTTPClient.request
    invoke = chalice_test.TestLambdaClient.invoke

    def request(self, *args, **kwargs):
        with rec.as_function("api_handler"):
            return http_request(self, *args, **kwargs)

    def invoking(self, function_name, *args, **kwargs):
        with rec.as_function(function_name):
            return invoke(self, function_name, *args, **kwargs)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", recording)
    monkeypatch.setattr(chalice_test.TestHTTPClient, "request", request)
    monkeypatch.setattr(chalice_test.TestLambdaClient, "invoke", invoking)
    return rec


# -- what IAM would check for a call ---------------------------------------------------------------

def _table_arn(name: str) -> str:
    return f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}"


def _queue_arn_from_url(url: str) -> str:
    return f"arn:aws:sqs:{REGION}:{ACCOUNT}:{url.rstrip('/').rsplit('/', 1)[1]}"


_TRANSACT = {"Put": "dynamodb:PutItem", "Update": "dynamodb:UpdateItem", "Delete": "dynamodb:DeleteItem",
             "ConditionCheck": "dynamodb:ConditionCheckItem"}


def _deployed_bucket(name: str) -> str:
    """Deployed, the bucket is named per account and region and the functions get that name as
    ATTACHMENTS_BUCKET (tests/infra/test_stack.py checks it); here they use the local stack's."""
    return f"{name}-{ACCOUNT}-{REGION}" if name == ATTACHMENTS_BUCKET else name


def required(call: Call) -> list[tuple[str, str]]:
    """(IAM action, resource ARN) pairs the call needs."""
    p = json.loads(call.params)
    if call.service == "dynamodb":
        if call.operation == "TransactWriteItems":
            return [(_TRANSACT[kind], _table_arn(spec["TableName"]))
                    for item in p["TransactItems"] for kind, spec in item.items()]
        if call.operation in ("BatchWriteItem", "BatchGetItem"):
            return [(f"dynamodb:{call.operation}", _table_arn(table)) for table in p["RequestItems"]]
        arn = _table_arn(p["TableName"])
        if p.get("IndexName"):
            arn = f"{arn}/index/{p['IndexName']}"
        return [(f"dynamodb:{call.operation}", arn)]
    if call.service == "sqs":
        if call.operation == "GetQueueUrl":
            return [("sqs:GetQueueUrl", f"arn:aws:sqs:{REGION}:{ACCOUNT}:{p['QueueName']}")]
        action = "SendMessage" if call.operation == "SendMessageBatch" else call.operation
        return [(f"sqs:{action}", _queue_arn_from_url(p["QueueUrl"]))]
    if call.service == "s3":
        action = {"HeadObject": "GetObject"}.get(call.operation, call.operation)
        return [(f"s3:{action}", f"arn:aws:s3:::{_deployed_bucket(p['Bucket'])}/{p['Key']}")]
    return [(f"{call.service}:{call.operation}", "?")]


def _resolve(value, template: dict) -> str:
    """A policy resource as a plain ARN, for moto's account and region."""
    if isinstance(value, str):
        return value
    if "Ref" in value:
        return {"AWS::Partition": "aws", "AWS::Region": REGION, "AWS::AccountId": ACCOUNT,
                "AWS::URLSuffix": "amazonaws.com"}[value["Ref"]]
    if "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return separator.join(_resolve(part, template) for part in parts)
    if "Fn::GetAtt" in value:
        logical_id, attribute = value["Fn::GetAtt"]
        resource = template["Resources"][logical_id]
        assert attribute == "Arn", value
        if resource["Type"] == "AWS::DynamoDB::Table":
            return _table_arn(props(resource)["TableName"])
        if resource["Type"] == "AWS::SQS::Queue":
            return f"arn:aws:sqs:{REGION}:{ACCOUNT}:{props(resource)['QueueName']}"
    raise AssertionError(f"cannot resolve {value}")


def allowed_pairs(template: dict, function: str) -> list[tuple[list[str], list[str], bool]]:
    """(actions, resources, has condition) of each Allow statement of the function's role."""
    logical_id = ChaliceApp.logical_id(function)
    role = template["Resources"][getatt_target(props(template["Resources"][logical_id])["Role"])]
    out = []
    for policy in props(role)["Policies"]:
        for statement in as_list(policy["PolicyDocument"]["Statement"]):
            if statement["Effect"] == "Allow":
                resources = [_resolve(r, template) for r in as_list(statement["Resource"])]
                out.append((as_list(statement["Action"]), resources, "Condition" in statement))
    return out


def is_allowed(statements, action: str, resource: str) -> bool:
    for actions, resources, conditional in statements:
        if conditional:
            continue  # none of the recorded calls relies on a conditional grant
        if any(fnmatch.fnmatchcase(action.lower(), a.lower()) for a in actions) and \
                any(fnmatch.fnmatchcase(resource, r) for r in resources):
            return True
    return False


def _deployed_without_lookup(call: Call) -> bool:
    """Deployed, the function gets the URLs of its queues in its environment (settings.py reads them),
    so the code never asks; the tests run without them, so it does here."""
    if call.service != "sqs" or call.operation != "GetQueueUrl":
        return False
    return json.loads(call.params)["QueueName"] in FUNCTIONS[call.function].queue_url_env


# -- the flows ---------------------------------------------------------------------------------------

def _run_every_function(client, pipeline, queues, monkeypatch):
    # partner API: a claim, its replay, a read, a batch
    body = claim_body()
    first = post_claim(client, body)
    assert first.status_code == 202, first.body
    assert post_claim(client, body).status_code in (200, 202)
    claim_id = json.loads(first.body)["claim_id"]
    assert client.http.get(f"/v1/claims/{claim_id}", headers={"x-api-key": ELEME}).status_code == 200
    client.http.post("/v1/claims/batch", headers={"content-type": "application/json", "x-api-key": MOTOR},
                     body=json.dumps({"claims": [claim_body(), claim_body()]}, ensure_ascii=False))

    # scoring, dispatch, a surveyor's status and completed survey, an agent's screen pop, queue and decisions
    review = post_claim(client, claim_body(amount="135.50"))
    motor = post_claim(client, motor_claim_body(region="310115"), api_key=MOTOR)
    # a claim whose photo follows: scoring asks for itself back when the photo window closes; and one
    # approved by the system (their own policies: claims sharing one would be possible duplicates)
    photo_follows = json.loads(post_claim(client, claim_body(
        amount="86.00", attachments_expected=1, policy_number="PA2026000124", phone="+8613600136000")).body)["claim_id"]
    auto_approved = json.loads(post_claim(client, claim_body(
        amount="86.00", policy_number="PA2026000126", phone="+8615800158000")).body)["claim_id"]
    pipeline.score_all()
    pipeline.dispatch_all()
    motor_id = json.loads(motor.body)["claim_id"]
    motor_claim = bootstrap.container().claims.get(motor_id)
    if motor_claim.surveyor_id:
        client.http.post(f"/v1/surveyors/{motor_claim.surveyor_id}/assignments/{motor_id}/complete",
                         headers=surveyor_headers(motor_claim.surveyor_id),
                         body=json.dumps({"assessed_amount": "2800.00", "notes": "rear bumper"}))
    client.http.post("/v1/surveyors/SV-SH-002/status", headers=surveyor_headers("SV-SH-002"),
                     body=json.dumps({"status": "OFF_DUTY"}))
    client.http.post("/v1/agent/callers/lookup", headers=AGENT,
                     body=json.dumps({"phone": "+8613800138000"}))
    client.http.get("/v1/agent/queue?limit=5", headers=AGENT)
    review_id = json.loads(review.body)["claim_id"]
    decide(client, review_id, {"decision": "reject", "reason": "not a covered loss"}, version_of(client, review_id))
    if bootstrap.container().claims.get(motor_id).status.value == "IN_REVIEW":
        decide(client, motor_id, {"decision": "accept"}, version_of(client, motor_id))

    # the customer's form, status page and a photo (S3 trigger)
    form = json.loads(submit(client).body)
    client.http.post("/v1/public/policy-check", headers={"content-type": "application/json"},
                     body=json.dumps({"policy_number": "PA2026000123", "phone": "13800138000"}))
    status(client, form)
    upload(client, form["claim_id"], photo(3), headers={"x-status-token": form["status_token"]})
    # the awaited photo asks scoring to decide now; a reused one puts an automatic approval on hold
    upload(client, photo_follows, photo(4), headers={"x-api-key": ELEME})
    upload(client, auto_approved, photo(4), headers={"x-api-key": ELEME})
    assert bootstrap.container().claims.get(auto_approved).hold

    # the hotline: another IVR vendor, Twilio, Amazon Connect; then the contact entries
    post_event(client, call_started())
    post_event(client, claim_reported())
    post_form(client, VOICE, incoming_call())
    post_form(client, GATHER_ZH, digits())
    client.lambda_.invoke("connect_identify_caller", flow_event())
    client.lambda_.invoke("connect_report_claim", flow_event("connect_report_claim_event.json"))
    pipeline.score_all()
    pipeline.record_contacts()

    # partner notifications: delivered to a callback, then one on its last attempt parked in the DLQ
    with partner_callback("motor-direct") as receiver:
        deliver_all_notices(client, queues)
        receiver.status = 500
        last_try = PartnerNotice(claim_id=motor_id, event_seq=99, status="APPROVED", attempt=MAX_ATTEMPTS - 1)
        queues.send("claims-intake-notify", last_try.model_dump_json())
        messages = queues.receive("claims-intake-notify")
        client.lambda_.invoke("notify_partners", queues.event("claims-intake-notify", messages))

    # the reconciler, with every claim old enough to count as stuck
    post_claim(client, claim_body())  # left RECEIVED
    monkeypatch.setattr(bootstrap.container().reconciler, "_after", timedelta(seconds=-3600))
    client.lambda_.invoke("reconcile_claims", client.events.generate_cw_event(
        source="aws.events", detail_type="Scheduled Event", detail={}, resources=[]))


def test_every_aws_call_of_every_function_is_allowed_by_its_role(synth, recorder, client, pipeline,
                                                                 queues, monkeypatch):
    # GIVEN every function's main flow run against moto, its AWS calls recorded
    _run_every_function(client, pipeline, queues, monkeypatch)
    template = synth.transformed["prod"]

    # THEN every function was exercised
    assert {c.function for c in recorder.calls} == set(FUNCTIONS)

    # AND every call is allowed by that function's role (action and exact resource)
    denied = set()
    for call in recorder.calls:
        if _deployed_without_lookup(call):
            continue
        statements = allowed_pairs(template, call.function)
        for action, resource in required(call):
            if not is_allowed(statements, action, resource):
                denied.add((call.function, action, resource))
    assert not denied, "calls the deployed roles would refuse:\n" + "\n".join(map(str, sorted(denied)))


def test_the_checker_refuses_what_a_role_does_not_grant(synth):
    # GIVEN the dispatch function's role
    statements = allowed_pairs(synth.transformed["prod"], "dispatch_claims")

    # THEN it may reserve surveyors but not touch partners, other queues' messages or the photos
    assert is_allowed(statements, "dynamodb:UpdateItem", _table_arn("claims-intake-surveyors"))
    assert is_allowed(statements, "dynamodb:Query", _table_arn("claims-intake-surveyors") + "/index/region-index")
    assert not is_allowed(statements, "dynamodb:GetItem", _table_arn("claims-intake-partners"))
    assert not is_allowed(statements, "dynamodb:Query", _table_arn("claims-intake-claims") + "/index/review-index")
    assert not is_allowed(statements, "sqs:SendMessage", f"arn:aws:sqs:{REGION}:{ACCOUNT}:claims-intake-scoring")
    assert not is_allowed(statements, "s3:GetObject", f"arn:aws:s3:::{_deployed_bucket(ATTACHMENTS_BUCKET)}/claims/x")
