"""A message that keeps failing ends in the queue's DLQ after maxReceiveCount (5) receives, and its claim
with a person."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest

from chalicelib import bootstrap
from chalicelib.adapters.resources import DISPATCH_QUEUE, SCORING_QUEUE
from chalicelib.domain.claim import ClaimStatus, utc_now
from chalicelib.services.reconcile import Reconciler
from infra.seed import DEMO_AGENT_TOKEN
from tests.fakes import FakeTelemetry, claim_body, motor_claim_body
from tests.integration.conftest import MOTOR, post_claim

AGENT = {"authorization": f"Bearer {DEMO_AGENT_TOKEN}", "content-type": "application/json"}

UNKNOWN = "CLM-00000000000000000000000000"


def _consume_until_dead_lettered(pipeline, queues, function, spec) -> list[str]:
    """Receives and fails the queue's one message at once after each failure, until SQS dead-letters it."""
    queues.sqs.set_queue_attributes(QueueUrl=queues.url(spec.name), Attributes={"VisibilityTimeout": "0"})
    receive_counts = []
    for _ in range(spec.max_receive_count + 1):
        answer, messages = pipeline.run(function)
        if not messages:
            break
        assert [f["itemIdentifier"] for f in answer["batchItemFailures"]] == [messages[0]["MessageId"]]
        receive_counts.append(messages[0]["Attributes"]["ApproximateReceiveCount"])
    return receive_counts


@pytest.mark.parametrize("function, spec, body", [
    ("score_claims", SCORING_QUEUE, {"v": 1, "type": "claim.received", "claim_id": UNKNOWN}),
    ("dispatch_claims", DISPATCH_QUEUE, {"v": 1, "type": "claim.survey_needed", "claim_id": UNKNOWN, "attempt": 0}),
], ids=["scoring", "dispatch"])
def test_message_failing_every_receive_moves_to_the_dlq_after_five(pipeline, queues, function, spec, body):
    # GIVEN a message for a claim that does not exist, redelivered at once after each failure
    raw = json.dumps(body)
    queues.send(spec.name, raw)

    # WHEN the consumer keeps failing it, receive after receive
    receive_counts = _consume_until_dead_lettered(pipeline, queues, function, spec)

    # THEN it was tried exactly five times and now waits in the DLQ, not on the queue
    assert receive_counts == ["1", "2", "3", "4", "5"]
    assert queues.receive(spec.name) == []
    dead = queues.sqs.receive_message(QueueUrl=queues.dlq_url(spec.name)).get("Messages", [])
    assert [m["Body"] for m in dead] == [raw]


# -- a claim whose consumer always fails: to a person on the last receive, never re-queued -------------------

class HistoryDown(Exception):
    """What the failing collaborator raises, every time (its message quotes personal data)."""


class BrokenHistory:
    def on_policy(self, *args):
        raise HistoryDown("claims of +8613800138000 unavailable")

    on_plate = from_phone_since = on_policy


class SurveyorsDown(Exception):
    pass


def _metric_lines(text: str, name: str) -> list[dict]:
    lines = []
    for line in text.splitlines():
        try:
            data = json.loads(line)
        except ValueError:
            continue
        if isinstance(data, dict) and name in data and "_aws" in data:
            lines.append(data)
    return lines


def test_a_claim_whose_scoring_always_fails_goes_to_the_agent_queue_and_is_never_requeued(
        client, pipeline, queues, log_output):
    # GIVEN a partner's claim, and scoring whose claim history fails every time
    bootstrap.container().history = BrokenHistory()
    claim_id = post_claim(client, claim_body(amount="135.50")).json_body["claim_id"]

    # WHEN the scoring consumer fails its message, receive after receive
    receive_counts = _consume_until_dead_lettered(pipeline, queues, "score_claims", SCORING_QUEUE)

    # THEN it was tried five times and waits in the DLQ (for a redrive), not on the queue
    assert receive_counts == ["1", "2", "3", "4", "5"]
    assert queues.receive(SCORING_QUEUE.name) == []
    dead = queues.sqs.receive_message(QueueUrl=queues.dlq_url(SCORING_QUEUE.name)).get("Messages", [])
    assert [json.loads(m["Body"])["claim_id"] for m in dead] == [claim_id]
    # AND on the last receive the claim went to a person, with the error's class (not its text) on its timeline
    c = bootstrap.container()
    claim = c.claims.get(claim_id)
    assert claim.status is ClaimStatus.NEEDS_ATTENTION
    last = c.claims.events(claim_id)[-1]
    assert (last.kind, last.actor, last.detail) == ("claim.needs_attention", "system:scoring",
                                                    {"stage": "scoring", "error_class": "HistoryDown"})
    logged = log_output()
    assert [m["ClaimsNeedingAttention"] for m in _metric_lines(logged, "ClaimsNeedingAttention")] == [[1.0]]
    queue = json.loads(client.http.get("/v1/agent/queue", headers=AGENT).body)["claims"]
    assert [q["claim_id"] for q in queue] == [claim_id]

    # WHEN the reconciler runs after RECONCILE_AFTER_SECONDS
    later = utc_now() + timedelta(seconds=c.settings.reconcile_after_seconds + 1)
    reconciler = Reconciler(c.claims, c.queue, FakeTelemetry(), c.settings.reconcile_after_seconds,
                            clock=lambda: later)
    requeued = reconciler.requeue_stuck()

    # THEN it re-queues nothing: the claim left the unscored-index, the reconciler's work list
    assert requeued == 0
    assert c.claims.received_before(later, 100) == []
    assert queues.receive(SCORING_QUEUE.name) == []

    # WHEN the message is redriven to the queue (the cause not fixed) and consumed
    queues.sqs.send_message(QueueUrl=queues.url(SCORING_QUEUE.name), MessageBody=dead[0]["Body"])
    answer, _ = pipeline.run("score_claims")

    # THEN it succeeds and changes nothing
    assert answer == {"batchItemFailures": []}
    assert c.claims.get(claim_id) == claim

    # WHEN an agent decides it: accepting has no suggestion to accept; an override approves it
    version = claim.version
    accept = client.http.post(f"/v1/agent/claims/{claim_id}/decision", headers={**AGENT, "if-match": f'"{version}"'},
                              body=json.dumps({"decision": "accept"}))
    override = client.http.post(f"/v1/agent/claims/{claim_id}/decision",
                                headers={**AGENT, "if-match": f'"{version}"'},
                                body=json.dumps({"decision": "override", "amount": "120.00",
                                                 "reason": "checked by hand"}))

    # THEN 422, then approved; the claim leaves the agent queue
    assert accept.status_code == 422
    assert override.status_code == 200, override.body
    assert c.claims.get(claim_id).status is ClaimStatus.APPROVED
    assert json.loads(client.http.get("/v1/agent/queue", headers=AGENT).body)["claims"] == []


def test_a_claim_whose_dispatch_always_fails_goes_to_the_agent_queue(client, pipeline, queues):
    # GIVEN a motor claim scored into the field-survey lane, and surveyors that cannot be read
    claim_id = post_claim(client, motor_claim_body(), api_key=MOTOR).json_body["claim_id"]
    pipeline.score_all()
    c = bootstrap.container()
    assert c.claims.get(claim_id).status is ClaimStatus.AWAITING_SURVEYOR

    def down(region_code):
        raise SurveyorsDown(region_code)
    c.surveyors.in_region = down

    # WHEN the dispatch consumer fails its message, receive after receive
    receive_counts = _consume_until_dead_lettered(pipeline, queues, "dispatch_claims", DISPATCH_QUEUE)

    # THEN the message is dead-lettered after five receives and the claim needs a person
    assert receive_counts == ["1", "2", "3", "4", "5"]
    assert len(queues.sqs.receive_message(QueueUrl=queues.dlq_url(DISPATCH_QUEUE.name)).get("Messages", [])) == 1
    claim = c.claims.get(claim_id)
    assert claim.status is ClaimStatus.NEEDS_ATTENTION
    assert c.claims.events(claim_id)[-1].detail == {"stage": "dispatch", "error_class": "SurveyorsDown"}
    queue = json.loads(client.http.get("/v1/agent/queue", headers=AGENT).body)["claims"]
    assert [q["claim_id"] for q in queue] == [claim_id]
