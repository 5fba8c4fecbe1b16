"""Nothing lost, nothing duplicated, when AWS misbehaves on the hot path (against in-process moto).

Faults are injected under botocore, where AWS would cause them:

- ``AwsFaults`` takes the place of moto's request stubber on the app's clients and answers chosen
  operations with the error response AWS would send (a throttle, a 500) — or lets moto apply the request
  and then loses its answer. botocore's own retries run exactly as they would against AWS (their backoff
  is set to zero so the tests never wait), and every attempt that reached "the wire" is counted.
- ``crash_on`` makes one call fail with an unexpected error (a ``before-parameter-build`` hook, which
  sees the call's parameters): the 3rd record of a batch whose claim, contact or notification it names.

Consumers are invoked through ``chalice.test.Client`` with real SQS event shapes built from messages
received from the moto queues, which have their real redrive policies (DLQ after 5 receives).
"""
from __future__ import annotations

import io
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import boto3
import botocore.retries.standard
import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import EndpointConnectionError
from moto.core.models import botocore_stubber

from chalicelib import bootstrap
from chalicelib.adapters.resources import CONTACTS_QUEUE, DISPATCH_QUEUE, NOTIFY_QUEUE, SCORING_QUEUE, Tables
from chalicelib.domain.claim import ClaimStatus
from devkit.aws_calls import app_clients
from infra import redrive
from tests.fakes import claim_body, yesterday_in_shanghai
from tests.integration.conftest import MOTOR, post_claim
from tests.integration.hotline import claim_reported, flow_event, post_event, report
from tests.integration.workloads import contact_message, field_claims, later

THROTTLES = ["ProvisionedThroughputExceededException", "ThrottlingException"]
FORM = {"submission_key": "0e4c1a52-7d1e-4b2a-9f0c-5a3b8c9d2e11", "policy_number": "PA2026000123",
        "phone": "138 0013 8000", "loss_type": "food_safety", "occurred_at": yesterday_in_shanghai().isoformat(),
        "region_code": "310115", "description": "午餐外卖后腹泻", "amount": "45.00", "language": "zh-CN"}
CONSUMER_QUEUE = {"score_claims": SCORING_QUEUE, "dispatch_claims": DISPATCH_QUEUE,
                  "record_contacts": CONTACTS_QUEUE, "notify_partners": NOTIFY_QUEUE}


# -- fault injection ---------------------------------------------------------------------------------------

class _Raw(io.BytesIO):
    def stream(self, **_kwargs):
        yield self.getvalue()


@dataclass
class Fault:
    operation: str
    code: str = ""
    status: int = 400
    times: int | None = None  # None: every attempt
    unreachable: bool = False
    after_commit: bool = False  # moto applies the request; its answer is replaced by the error
    used: int = 0

    def active(self) -> bool:
        return self.times is None or self.used < self.times


class AwsFaults:
    def __init__(self, clients):
        self._clients = list({id(c): c for c in clients}.values())
        self._faults: list[Fault] = []
        self._hooks: list[tuple[object, str, Callable]] = []
        self.attempts: Counter = Counter()
        for client in self._clients:
            client.meta.events.unregister("before-send", botocore_stubber)
            client.meta.events.register("before-send", self._send, unique_id="aws-faults")

    def fail(self, operation: str, code: str, *, status: int = 400, times: int | None = None,
             after_commit: bool = False) -> Fault:
        fault = Fault(operation, code, status, times, after_commit=after_commit)
        self._faults.append(fault)
        return fault

    def unreachable(self, operation: str, times: int | None = None) -> Fault:
        fault = Fault(operation, times=times, unreachable=True)
        self._faults.append(fault)
        return fault

    def crash_on(self, operation: str, when: Callable[[dict], bool]) -> None:
        """An unexpected error (not an AWS one) from every ``operation`` call whose parameters match."""
        def hook(params, **_kwargs):
            if when(params):
                raise RuntimeError("injected fault")
        for client in self._clients:
            event = f"before-parameter-build.{client.meta.service_model.service_id.hyphenize()}.{operation}"
            client.meta.events.register(event, hook)
            self._hooks.append((client, event, hook))

    def clear(self) -> None:
        """The cause is fixed: every call reaches moto again."""
        self._faults.clear()
        for client, event, hook in self._hooks:
            client.meta.events.unregister(event, hook)
        self._hooks.clear()

    def end(self) -> None:
        self.clear()
        for client in self._clients:
            client.meta.events.unregister("before-send", unique_id="aws-faults")
            client.meta.events.register("before-send", botocore_stubber)

    def _send(self, request, event_name: str, **kwargs):
        operation = event_name.rsplit(".", 1)[-1]
        self.attempts[operation] += 1
        fault = next((f for f in self._faults if f.operation == operation and f.active()), None)
        if fault is None:
            return botocore_stubber(event_name=event_name, request=request, **kwargs)
        fault.used += 1
        if fault.unreachable:
            raise EndpointConnectionError(endpoint_url=request.url)
        if fault.after_commit:
            botocore_stubber(event_name=event_name, request=request, **kwargs)
        body = {"__type": f"com.amazonaws.service#{fault.code}", "message": "injected by the test"}
        if fault.code == "TransactionCanceledException":  # every item of the transaction throttled
            items = json.loads(request.body)["TransactItems"]
            body["CancellationReasons"] = [{"Code": "ThrottlingError", "Message": "Throughput exceeds the "
                                            "current capacity for one or more global secondary indexes."}
                                           for _ in items]
        if fault.code == "TransactionConflict":  # another transaction held the same items
            items = json.loads(request.body)["TransactItems"]
            body["__type"] = "com.amazonaws.service#TransactionCanceledException"
            body["CancellationReasons"] = [{"Code": "TransactionConflict", "Message": "Transaction is ongoing for "
                                            "the item"} for _ in items]
        return AWSResponse(request.url, fault.status, {"x-amzn-requestid": "fault",
                                                      "content-type": "application/x-amz-json-1.0"},
                           _Raw(json.dumps(body).encode()))


@pytest.fixture
def faults(client, monkeypatch):
    """Faults on every client of the app's container (built now), with botocore's backoff at zero."""
    monkeypatch.setattr(botocore.retries.standard.ExponentialBackoff, "delay_amount", lambda self, context: 0)
    bootstrap.container().claims._sleep = lambda seconds: None  # the repository's own transaction retries
    injected = AwsFaults(app_clients())
    yield injected
    injected.end()


def claim_count() -> int:
    return boto3.client("dynamodb").scan(TableName=Tables.CLAIMS, Select="COUNT")["Count"]


def error_of(response) -> dict:
    return json.loads(response.body)["error"]


def assert_retry_later(response) -> None:
    """What a client may retry: 503, Retry-After, the contract's error body, nothing else."""
    assert response.status_code == 503, response.body
    assert int(response.headers["Retry-After"]) >= 1
    assert error_of(response)["code"] == "TEMPORARILY_UNAVAILABLE"
    assert b"Traceback" not in response.body and b"injected" not in response.body


# -- DynamoDB throttling on intake --------------------------------------------------------------------------

@pytest.mark.parametrize("code", THROTTLES)
def test_partner_claim_throttled_through_every_retry_is_a_503_and_the_retry_stores_it_once(
        client, faults, queues, stored_items, code):
    # GIVEN DynamoDB throttling every attempt of the intake transaction
    faults.fail("TransactWriteItems", code)
    body, key = claim_body(), "retry-0001"

    # WHEN a partner posts a claim
    refused = post_claim(client, body, idempotency_key=key)

    # THEN it is told to retry later, after botocore tried as often as AWS_MAX_ATTEMPTS allows
    assert_retry_later(refused)
    assert faults.attempts["TransactWriteItems"] == bootstrap.container().settings.aws_max_attempts
    # AND nothing was stored or queued
    assert stored_items() == {Tables.CLAIMS: 0, Tables.IDEMPOTENCY: 0, Tables.CLAIM_EVENTS: 0}
    assert queues.receive(SCORING_QUEUE.name) == []

    # WHEN the throttling ends and the partner retries with the same key, then once more
    faults.clear()
    accepted = post_claim(client, body, idempotency_key=key)
    again = post_claim(client, body, idempotency_key=key)

    # THEN the first retry stores the claim (a new claim, not a replay), the second answers the same one
    assert accepted.status_code == 202 and "Idempotent-Replayed" not in accepted.headers
    assert again.status_code == 202 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json_body["claim_id"] == accepted.json_body["claim_id"]
    # (two idempotency items: the key's and the body's external_ref's)
    assert stored_items() == {Tables.CLAIMS: 1, Tables.IDEMPOTENCY: 2, Tables.CLAIM_EVENTS: 1}
    assert [b["claim_id"] for b in queues.bodies(SCORING_QUEUE.name)] == [accepted.json_body["claim_id"]]


def test_a_throttle_that_botocore_retries_away_is_a_plain_202(client, faults, queues, stored_items):
    # GIVEN DynamoDB throttling the first attempt of the intake transaction only
    faults.fail("TransactWriteItems", "ProvisionedThroughputExceededException", times=1)

    # WHEN a partner posts a claim
    response = post_claim(client, claim_body(), idempotency_key="retry-0002")

    # THEN botocore's second attempt stores it: accepted once, queued once
    assert response.status_code == 202, response.body
    assert faults.attempts["TransactWriteItems"] == 2
    assert stored_items()[Tables.CLAIMS] == 1
    assert [b["claim_id"] for b in queues.bodies(SCORING_QUEUE.name)] == [response.json_body["claim_id"]]


def test_items_throttled_inside_the_transaction_are_retried_by_the_repository_then_answered_503(
        client, faults, stored_items):
    # GIVEN every intake transaction cancelled because its items are throttled (botocore never retries that)
    faults.fail("TransactWriteItems", "TransactionCanceledException")
    body, key = claim_body(), "retry-0003"

    # WHEN a partner posts a claim
    refused = post_claim(client, body, idempotency_key=key)

    # THEN the repository tried a few times itself, then answered "retry later"; nothing is stored
    assert_retry_later(refused)
    assert faults.attempts["TransactWriteItems"] > 1
    assert stored_items()[Tables.CLAIMS] == 0

    # WHEN only the first attempt of the partner's retry is throttled
    faults.clear()
    faults.fail("TransactWriteItems", "TransactionCanceledException", times=1)
    accepted = post_claim(client, body, idempotency_key=key)

    # THEN the repository's own second attempt stores it, once
    assert accepted.status_code == 202 and "Idempotent-Replayed" not in accepted.headers
    assert stored_items()[Tables.CLAIMS] == 1


def test_a_throttled_api_key_lookup_is_a_503_not_a_500(client, faults, stored_items):
    # GIVEN a fresh container (no key cached) and the API-key table throttling every read
    faults.fail("GetItem", "ProvisionedThroughputExceededException")

    # WHEN a partner posts a claim
    response = post_claim(client, claim_body())

    # THEN it is told to retry later, and nothing is stored
    assert_retry_later(response)
    assert stored_items()[Tables.CLAIMS] == 0


def test_a_503_whose_write_did_land_is_answered_by_the_retry_and_queued_by_the_reconciler(
        client, faults, pipeline, queues, stored_items):
    # GIVEN a transaction that DynamoDB applies, but whose every answer is lost to a 500 (botocore's
    # retries find the items there and fail too)
    faults.fail("TransactWriteItems", "InternalServerError", status=500, after_commit=True)
    body, key = claim_body(), "retry-0005"

    # WHEN the partner posts, is told to retry, and retries once storage answers again
    refused = post_claim(client, body, idempotency_key=key)
    faults.clear()
    retried = post_claim(client, body, idempotency_key=key)

    # THEN the retry answers the claim the first request stored, as a replay; one claim exists
    assert_retry_later(refused)
    assert retried.status_code == 202 and retried.headers["Idempotent-Replayed"] == "true"
    assert stored_items() == {Tables.CLAIMS: 1, Tables.IDEMPOTENCY: 2, Tables.CLAIM_EVENTS: 1}  # key, external_ref
    claim_id = retried.json_body["claim_id"]
    # AND, never queued by either request, it reaches scoring through the reconciler
    assert queues.receive(SCORING_QUEUE.name) == []
    assert later(3600).requeue_stuck() == 1
    pipeline.run("score_claims")
    assert bootstrap.container().claims.get(claim_id).status is ClaimStatus.APPROVED


def test_a_lost_answer_retried_by_botocore_is_a_new_claim_queued_at_once(client, faults, queues, stored_items):
    # GIVEN a transaction applied but whose first answer is lost; botocore's retry finds its own items
    faults.fail("TransactWriteItems", "InternalServerError", status=500, times=1, after_commit=True)

    # WHEN a partner posts a claim
    response = post_claim(client, claim_body(), idempotency_key="retry-0006")

    # THEN it is accepted as new (it is this request's own write), stored once and queued at once
    assert response.status_code == 202 and "Idempotent-Replayed" not in response.headers
    assert faults.attempts["TransactWriteItems"] == 2
    assert stored_items()[Tables.CLAIMS] == 1
    assert [b["claim_id"] for b in queues.bodies(SCORING_QUEUE.name)] == [response.json_body["claim_id"]]


@pytest.mark.parametrize("operation, code", [
    ("GetItem", "ProvisionedThroughputExceededException"),
    ("TransactWriteItems", "ProvisionedThroughputExceededException"),
    ("TransactWriteItems", "TransactionCanceledException"),
], ids=["policy-lookup", "transactions", "transaction-items"])
def test_a_throttled_form_claim_is_a_503_and_the_double_tap_after_stores_it_once(client, faults, operation, code):
    # GIVEN the policy lookup, or the rate limiter's transaction (then the claim's), throttled
    faults.fail(operation, code)

    # WHEN the claimant submits the form
    refused = client.http.post("/v1/public/claims", headers={"content-type": "application/json"},
                               body=json.dumps(FORM, ensure_ascii=False))

    # THEN the page is told to retry later, and nothing is stored
    assert_retry_later(refused)
    assert claim_count() == 0

    # WHEN storage answers again and the page submits the same form twice
    faults.clear()
    first, second = (client.http.post("/v1/public/claims", headers={"content-type": "application/json"},
                                      body=json.dumps(FORM, ensure_ascii=False)) for _ in range(2))

    # THEN one claim: the second submission is a replay of the first
    assert first.status_code == 202 and second.status_code == 202
    assert json.loads(second.body)["claim_id"] == json.loads(first.body)["claim_id"]
    assert second.headers["Idempotent-Replayed"] == "true"
    assert claim_count() == 1


@pytest.mark.parametrize("conflicts, status", [(1, 202), (None, 503)], ids=["once", "every-time"])
def test_a_form_whose_rate_limit_counters_conflict_is_retried_then_503_never_500(client, faults, conflicts, status):
    # GIVEN the rate limiter's transaction conflicting with another request's on the same counters
    faults.fail("TransactWriteItems", "TransactionConflict", times=conflicts)

    # WHEN the claimant submits the form
    answer = client.http.post("/v1/public/claims", headers={"content-type": "application/json"},
                              body=json.dumps(FORM, ensure_ascii=False))

    # THEN a single conflict is retried and the claim stored; a lasting one is a retryable 503, nothing stored
    if status == 202:
        assert answer.status_code == 202, answer.body
        assert claim_count() == 1
    else:
        assert_retry_later(answer)
        assert claim_count() == 0
        assert faults.attempts["TransactWriteItems"] == 4  # the first try and three retries


def test_a_throttled_connect_report_is_an_error_the_flow_retries_and_the_retry_stores_it_once(client, faults):
    # GIVEN the intake transaction throttled
    faults.fail("TransactWriteItems", "ThrottlingException")
    event = flow_event("connect_report_claim_event.json", contact_id="call-throttled")

    # WHEN the contact flow reports a claim
    refused = report(client, event)

    # THEN the function answers an error the flow can branch on (never an exception), and stores nothing
    assert refused == {"result": "error", "error_code": "TEMPORARILY_UNAVAILABLE"}
    assert claim_count() == 0

    # WHEN the flow invokes it again for the same contact, twice, once storage answers
    faults.clear()
    first, second = report(client, event), report(client, event)

    # THEN one claim, answered both times
    assert first["result"] == second["result"] == "created"
    assert first["claim_id"] == second["claim_id"]
    assert claim_count() == 1


def test_a_throttled_vendor_report_is_a_503_and_the_vendors_retry_stores_it_once(client, faults):
    # GIVEN the intake transaction throttled
    faults.fail("TransactWriteItems", "ProvisionedThroughputExceededException")
    body = claim_reported(call_id="vendor-call-throttled")

    # WHEN the IVR vendor posts the report
    refused = post_event(client, body)

    # THEN it is told to retry later
    assert_retry_later(refused)
    assert claim_count() == 0

    # WHEN it retries (twice) once storage answers
    faults.clear()
    first, second = post_event(client, body), post_event(client, body)

    # THEN one claim; the second answer is a replay of the first
    assert first.status_code == second.status_code == 202
    assert json.loads(second.body)["claim_id"] == json.loads(first.body)["claim_id"]
    assert json.loads(second.body)["replayed"] is True
    assert claim_count() == 1


# -- SQS failing after the claim is stored --------------------------------------------------------------------

def test_scoring_send_failing_after_the_write_is_202_stored_once_and_reconciled_to_scoring(
        client, faults, pipeline, queues, stored_items):
    # GIVEN SendMessage failing through botocore's retries (SQS answering 500; unreachable is alike, see
    # test_enqueue_failure_recovery.py)
    faults.fail("SendMessage", "InternalError", status=500)
    body, key = claim_body(), "sqs-down-0001"

    # WHEN a partner posts a claim
    accepted = post_claim(client, body, idempotency_key=key)

    # THEN it is accepted: 202, not 503, because the claim is durably stored as RECEIVED (the reconciler
    # owes it to scoring); a 503 would only make the partner send what is already stored
    assert accepted.status_code == 202, accepted.body
    assert faults.attempts["SendMessage"] == bootstrap.container().settings.aws_max_attempts  # as for DynamoDB
    claim_id = accepted.json_body["claim_id"]
    assert bootstrap.container().claims.get(claim_id).status is ClaimStatus.RECEIVED
    assert stored_items() == {Tables.CLAIMS: 1, Tables.IDEMPOTENCY: 2, Tables.CLAIM_EVENTS: 1}  # key, external_ref

    # WHEN the partner retries anyway with the same key
    again = post_claim(client, body, idempotency_key=key)

    # THEN it hears of the same claim, and no second one is stored
    assert again.status_code == 202 and again.json_body["claim_id"] == claim_id
    assert again.headers["Idempotent-Replayed"] == "true"
    assert stored_items()[Tables.CLAIMS] == 1

    # WHEN SQS is back and the reconciler runs after RECONCILE_AFTER_SECONDS, then scoring
    faults.clear()
    requeued = later(3600).requeue_stuck()
    answer, messages = pipeline.run("score_claims")

    # THEN the claim reached scoring, exactly once, and the reconciler has nothing left to do
    assert requeued == 1 and len(messages) == 1
    assert answer == {"batchItemFailures": []}
    assert bootstrap.container().claims.get(claim_id).status is ClaimStatus.APPROVED
    assert later(3600).requeue_stuck() == 0


def test_the_reconciler_leaves_claims_waiting_in_a_scoring_backlog_where_they_are(client, queues):
    # GIVEN three claims queued for scoring and not yet scored (a backlog), an hour later
    for _ in range(3):
        assert post_claim(client, claim_body()).status_code == 202
    assert queues.attribute(SCORING_QUEUE.name, "ApproximateNumberOfMessages") == 3

    # WHEN the reconciler runs, its claims still RECEIVED all accounted for by the queue's depth
    requeued = later(3600).requeue_stuck()

    # THEN it sends nothing more: the backlog will score them (re-sending would only multiply the work)
    assert requeued == 0
    assert queues.attribute(SCORING_QUEUE.name, "ApproximateNumberOfMessages") == 3


# -- a consumer failing on one record of a batch ------------------------------------------------------------

def _claims(client, n: int, body=claim_body, api_key=None) -> list[str]:
    ids = []
    for _ in range(n):
        response = post_claim(client, body(), **({"api_key": api_key} if api_key else {}))
        assert response.status_code == 202, response.body
        ids.append(response.json_body["claim_id"])
    return ids


def _invoke(client, queues, function: str, messages: list[dict]) -> dict:
    return client.lambda_.invoke(function, queues.event(CONSUMER_QUEUE[function].name, messages)).payload


def _receive(queues, spec, n: int) -> list[dict]:
    messages = queues.receive_all(spec.name)
    assert len(messages) == n
    return messages


def _claim_of(message: dict) -> str:
    return json.loads(message["Body"])["claim_id"]


def _key_names(claim_id: str) -> Callable[[dict], bool]:
    return lambda params: (params.get("Key") or {}).get("claim_id", {}).get("S") == claim_id


def _batch_key_names(claim_id: str) -> Callable[[dict], bool]:
    return lambda params: any(key.get("claim_id", {}).get("S") == claim_id
                              for asked in (params.get("RequestItems") or {}).values() for key in asked["Keys"])


def crash_reading(faults, claim_id: str) -> None:
    """Reading this claim crashes: alone (GetItem) or in a consumer batch's read (BatchGetItem)."""
    faults.crash_on("GetItem", _key_names(claim_id))
    faults.crash_on("BatchGetItem", _batch_key_names(claim_id))


@pytest.mark.parametrize("consumer, five_waiting, unchanged", [
    pytest.param("score_claims", lambda client, pipeline: _claims(client, 5), ClaimStatus.RECEIVED,
                 id="scoring"),
    pytest.param("dispatch_claims", lambda client, pipeline: field_claims(client, pipeline, 5),
                 ClaimStatus.AWAITING_SURVEYOR, id="dispatch"),
])
def test_a_consumer_crashing_on_the_third_of_five_fails_that_record_only(client, faults, queues, pipeline,
                                                                        consumer, five_waiting, unchanged):
    # GIVEN five claims waiting for the consumer (to be scored; motor claims scored for a field survey),
    # and reading the third one failing unexpectedly
    five_waiting(client, pipeline)
    messages = _receive(queues, CONSUMER_QUEUE[consumer], 5)
    broken = _claim_of(messages[2])
    crash_reading(faults, broken)

    # WHEN the consumer gets the batch
    answer = _invoke(client, queues, consumer, messages)

    # THEN exactly the third message is reported failed: the third claim is as it was, the other four
    # moved on
    assert answer == {"batchItemFailures": [{"itemIdentifier": messages[2]["MessageId"]}]}
    faults.clear()
    claims = bootstrap.container().claims
    assert [claims.get(_claim_of(m)).status is unchanged for m in messages] == [False, False, True, False, False]


def test_contacts_crashing_on_the_third_of_five_fail_that_record_only(client, faults, queues):
    # GIVEN five contact entries, and writing the third one failing unexpectedly
    for n in range(5):
        queues.send(CONTACTS_QUEUE.name, contact_message(n))
    messages = sorted(_receive(queues, CONTACTS_QUEUE, 5), key=lambda m: m["Body"])
    broken = json.loads(messages[2]["Body"])["phone"]
    faults.crash_on("BatchWriteItem", lambda params: any(
        put["PutRequest"]["Item"]["phone"]["S"] == broken for puts in params["RequestItems"].values() for put in puts))

    # WHEN the contacts consumer gets the batch
    answer = _invoke(client, queues, "record_contacts", messages)

    # THEN exactly the third message failed; the other four entries are written
    assert answer == {"batchItemFailures": [{"itemIdentifier": messages[2]["MessageId"]}]}
    stored = boto3.client("dynamodb").scan(TableName=Tables.CONTACTS)["Items"]
    assert sorted(item["phone"]["S"] for item in stored) == sorted(
        json.loads(m["Body"])["phone"] for i, m in enumerate(messages) if i != 2)


def test_notify_crashing_on_the_third_of_five_fails_that_record_only(client, faults, queues, pipeline):
    # GIVEN five partner notifications waiting, and the third one's delivery record unreadable
    _claims(client, 5, api_key=MOTOR, body=lambda: claim_body(loss_type="food_safety", amount="150.00"))
    pipeline.score_all()
    messages = _receive(queues, NOTIFY_QUEUE, 5)
    broken = _claim_of(messages[2])
    crash_reading(faults, broken)

    # WHEN the notify consumer gets the batch
    answer = _invoke(client, queues, "notify_partners", messages)

    # THEN exactly the third message failed (the others were handled: no callback configured here)
    assert answer == {"batchItemFailures": [{"itemIdentifier": messages[2]["MessageId"]}]}


# -- a poison message: to the DLQ after five receives, its batch processed --------------------------------------

def _good_messages(client, queues, pipeline, spec) -> list[str]:
    """Two good messages on ``spec``'s queue; returns what identifies them (claim ids, or phones)."""
    if spec is CONTACTS_QUEUE:
        for n in range(2):
            queues.send(spec.name, contact_message(n))
        return [json.loads(contact_message(n))["phone"] for n in range(2)]
    if spec is SCORING_QUEUE:
        return _claims(client, 2)
    ids = field_claims(client, pipeline, 2)  # two messages on the dispatch queue, two on the notify queue
    return ids


def _handled(spec, good: list[str]) -> bool:
    if spec is CONTACTS_QUEUE:
        stored = {i["phone"]["S"] for i in boto3.client("dynamodb").scan(TableName=Tables.CONTACTS)["Items"]}
        return set(good) <= stored
    claims = bootstrap.container().claims
    if spec is SCORING_QUEUE:
        return all(claims.get(c).status is not ClaimStatus.RECEIVED for c in good)
    if spec is DISPATCH_QUEUE:
        return all(claims.get(c).status is not ClaimStatus.AWAITING_SURVEYOR for c in good)
    return True  # notify: handled means not failed (checked on the answers)


def deliver_until_empty(client, queues, function: str, spec) -> tuple[Counter, list[list[str]]]:
    """Plays the SQS event source: receive, invoke, delete what succeeded, and make what failed visible
    again at once (as its visibility timeout would). Returns receives per body and the failures."""
    receives: Counter = Counter()
    failures: list[list[str]] = []
    for _ in range(20):
        messages = queues.receive(spec.name)
        if not messages:
            break
        for m in messages:
            receives[m["Body"]] += 1
        answer = _invoke(client, queues, function, messages)
        failed = {f["itemIdentifier"] for f in answer["batchItemFailures"]}
        failures.append(sorted(m["Body"] for m in messages if m["MessageId"] in failed))
        for m in messages:
            if m["MessageId"] in failed:
                queues.sqs.change_message_visibility(QueueUrl=queues.url(spec.name), ReceiptHandle=m["ReceiptHandle"],
                                                     VisibilityTimeout=0)
            else:
                queues.sqs.delete_message(QueueUrl=queues.url(spec.name), ReceiptHandle=m["ReceiptHandle"])
    return receives, failures


def dead_letters(queues, spec) -> list[dict]:
    return queues.sqs.receive_message(QueueUrl=queues.dlq_url(spec.name), MaxNumberOfMessages=10,
                                      MessageAttributeNames=["All"]).get("Messages", [])


@pytest.mark.parametrize("function", list(CONSUMER_QUEUE))
def test_a_poison_message_reaches_the_dlq_after_five_receives_and_its_batch_is_processed(
        client, queues, pipeline, function):
    # GIVEN two good messages and one that cannot be read, on the same queue (real redrive policy)
    spec = CONSUMER_QUEUE[function]
    good = _good_messages(client, queues, pipeline, spec)
    poison = "{not json"
    queues.send(spec.name, poison, correlation_id="poison-1")

    # WHEN the consumer gets them, batch after batch, until the queue is empty
    receives, failures = deliver_until_empty(client, queues, function, spec)

    # THEN the poison was tried maxReceiveCount (5) times, failing alone each time
    assert receives[poison] == spec.max_receive_count
    assert failures == [[poison]] * spec.max_receive_count
    # AND the good ones were processed on their first receive
    assert all(count == 1 for body, count in receives.items() if body != poison)
    assert _handled(spec, good)
    # AND the poison waits in the DLQ, with its correlation id, and nowhere else
    [dead] = dead_letters(queues, spec)
    assert dead["Body"] == poison
    assert dead["MessageAttributes"]["correlation_id"]["StringValue"] == "poison-1"
    assert queues.receive(spec.name) == []


# -- redrive: dead letters back to their queue once the cause is fixed -----------------------------------------

def _poison_claim(client, queues, faults) -> str:
    """A claim whose scoring fails (a bug: reading it crashes) until ``faults.clear()``; its message is
    in the scoring DLQ after five receives."""
    [claim_id] = _claims(client, 1)
    crash_reading(faults, claim_id)
    deliver_until_empty(client, queues, "score_claims", SCORING_QUEUE)
    assert [_claim_of(m) for m in dead_letters_peek(queues, SCORING_QUEUE)] == [claim_id]
    return claim_id


def dead_letters_peek(queues, spec) -> list[dict]:
    """What waits in the DLQ, left there (visible again at once)."""
    messages = queues.sqs.receive_message(QueueUrl=queues.dlq_url(spec.name), MaxNumberOfMessages=10,
                                          VisibilityTimeout=0).get("Messages", [])
    return messages


def run_redrive(queues, *argv: str) -> tuple[int, dict, str]:
    out, err = io.StringIO(), io.StringIO()
    code = redrive.main(list(argv), sqs=queues.sqs, out=out, err=err, wait_seconds=0)
    return code, json.loads(out.getvalue().strip().splitlines()[-1]), err.getvalue()


def test_redrive_moves_a_dead_letter_back_and_the_fixed_consumer_processes_it(client, queues, faults, pipeline):
    # GIVEN a claim whose scoring message ended in the DLQ, and the bug since fixed
    claim_id = _poison_claim(client, queues, faults)
    faults.clear()

    # WHEN the operator redrives the scoring queue, and the consumer runs
    code, summary, err = run_redrive(queues, "claims-intake-scoring")
    answer, messages = pipeline.run("score_claims")

    # THEN the message went back with its body and correlation id, the claim is scored, the DLQ is empty
    assert (code, summary["moved"], summary["failed"]) == (0, 1, 0)
    assert "moved 1" in err and claim_id not in err
    assert [_claim_of(m) for m in messages] == [claim_id]
    assert messages[0]["MessageAttributes"]["correlation_id"]["StringValue"]
    assert answer == {"batchItemFailures": []}
    assert bootstrap.container().claims.get(claim_id).status is ClaimStatus.APPROVED
    assert queues.attribute(SCORING_QUEUE.name, "ApproximateNumberOfMessages", dlq=True) == 0


def test_redrive_dry_run_and_max_move_only_what_they_say(client, queues):
    # GIVEN three dead letters on the contacts queue
    for n in range(3):
        queues.sqs.send_message(QueueUrl=queues.dlq_url(CONTACTS_QUEUE.name), MessageBody=contact_message(n))

    # WHEN the operator looks first, then moves at most two, then the rest of every queue
    dry = run_redrive(queues, "contacts", "--dry-run")
    two = run_redrive(queues, "contacts", "--max", "2")
    rest = run_redrive(queues, "all")

    # THEN the dry run moved nothing, then two moved, then the last one; no body was printed
    assert (dry[0], dry[1]["moved"], dry[1]["queues"][0]["waiting"]) == (0, 0, 3)
    assert (two[0], two[1]["moved"]) == (0, 2)
    assert (rest[0], rest[1]["moved"], len(rest[1]["queues"])) == (0, 1, 4)
    assert all("+86" not in text for text in (dry[2], two[2], rest[2]))
    assert len(queues.receive_all(CONTACTS_QUEUE.name)) == 3


def test_an_interrupted_redrive_loses_nothing(client, queues, faults):
    # GIVEN a dead letter, and the source queue refusing every send
    queues.sqs.send_message(QueueUrl=queues.dlq_url(CONTACTS_QUEUE.name), MessageBody=contact_message(1))
    sqs = boto3.client("sqs")
    refusing = AwsFaults([sqs])
    refusing.fail("SendMessageBatch", "InternalError", status=500)
    try:
        out, err = io.StringIO(), io.StringIO()
        code = redrive.main(["contacts"], sqs=sqs, out=out, err=err, wait_seconds=0)
    finally:
        refusing.end()

    # THEN it says so (exit 2), deleted nothing, and the message is still in the DLQ
    assert code == 2 and json.loads(out.getvalue())["failed"] == 1
    dlq = queues.sqs.get_queue_attributes(QueueUrl=queues.dlq_url(CONTACTS_QUEUE.name), AttributeNames=[
        "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    assert int(dlq["ApproximateNumberOfMessages"]) + int(dlq["ApproximateNumberOfMessagesNotVisible"]) == 1
    assert queues.receive(CONTACTS_QUEUE.name) == []


def test_redrive_names_the_queues_it_knows(queues):
    code, summary, err = run_redrive(queues, "claims-intake-nope")

    assert code == 1 and summary["moved"] == 0
    assert "claims-intake-scoring" in err
