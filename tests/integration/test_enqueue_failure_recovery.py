"""A send to the scoring queue that fails after the claim was written: the partner still gets its
202, the claim waits as RECEIVED, and the reconciler re-queues it (against moto)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from botocore.exceptions import EndpointConnectionError

from chalicelib import bootstrap
from chalicelib.adapters.resources import SCORING_QUEUE
from chalicelib.domain.claim import ClaimStatus, utc_now
from chalicelib.services.reconcile import Reconciler
from tests.fakes import FakeTelemetry, claim_body
from tests.integration.conftest import post_batch, post_claim


class SqsOutage:
    """Makes every SendMessage / SendMessageBatch of the app's SQS client fail as if the network
    were down, until ``end()``."""

    _OPERATIONS = ("SendMessage", "SendMessageBatch")

    def __init__(self, client):
        self._events = client.meta.events
        for operation in self._OPERATIONS:
            self._events.register(f"before-call.sqs.{operation}", self._refuse, unique_id=f"outage-{operation}")

    @staticmethod
    def _refuse(**_kwargs):
        raise EndpointConnectionError(endpoint_url="https://sqs.ap-southeast-1.amazonaws.com/")

    def end(self) -> None:
        for operation in self._OPERATIONS:
            self._events.unregister(f"before-call.sqs.{operation}", unique_id=f"outage-{operation}")


@pytest.fixture
def sqs_down(client):
    outage = SqsOutage(bootstrap.container().queue._client)
    yield outage
    outage.end()


def _reconciler_later(seconds: int) -> Reconciler:
    c = bootstrap.container()
    now = utc_now()
    return Reconciler(c.claims, c.queue, FakeTelemetry(), c.settings.reconcile_after_seconds,
                      clock=lambda: now + timedelta(seconds=seconds))


def test_claim_is_accepted_and_stored_received_when_the_send_fails(client, queues, sqs_down):
    # GIVEN the scoring queue cannot be reached
    # WHEN a partner posts a claim
    response = post_claim(client, claim_body())

    # THEN the claim is still accepted and stored as RECEIVED, though nothing was queued
    assert response.status_code == 202
    claim = bootstrap.container().claims.get(response.json_body["claim_id"])
    assert claim.status is ClaimStatus.RECEIVED
    assert queues.receive(SCORING_QUEUE.name) == []


def test_batch_is_accepted_when_the_batched_send_fails(client, queues, sqs_down):
    # GIVEN the scoring queue cannot be reached
    # WHEN a partner posts a batch
    results = post_batch(client, [claim_body(), claim_body()]).json_body["results"]

    # THEN every item is accepted and stored
    assert [r["status"] for r in results] == [202, 202]
    assert all(bootstrap.container().claims.get(r["claim_id"]).status is ClaimStatus.RECEIVED for r in results)
    assert queues.receive(SCORING_QUEUE.name) == []


def test_reconciler_requeues_a_claim_whose_send_failed(client, queues, sqs_down):
    # GIVEN a claim stored while the queue was down, and the queue back up
    claim_id = post_claim(client, claim_body()).json_body["claim_id"]
    sqs_down.end()
    reconciler = _reconciler_later(bootstrap.container().settings.reconcile_after_seconds + 1)

    # WHEN the reconciler runs after RECONCILE_AFTER_SECONDS
    requeued = reconciler.requeue_stuck()

    # THEN the claim is on the scoring queue again
    assert requeued == 1
    assert [b["claim_id"] for b in queues.bodies(SCORING_QUEUE.name)] == [claim_id]


def test_requeued_claim_keeps_the_requests_correlation_id(client, queues, sqs_down):
    # GIVEN a claim posted with a correlation id while the queue was down, and the queue back up
    post_claim(client, claim_body(), x_correlation_id="req-7788")
    sqs_down.end()

    # WHEN the reconciler re-queues it
    _reconciler_later(bootstrap.container().settings.reconcile_after_seconds + 1).requeue_stuck()

    # THEN the message carries the original correlation id, so the consumer's logs join the request's
    [message] = queues.receive(SCORING_QUEUE.name)
    assert message["MessageAttributes"]["correlation_id"]["StringValue"] == "req-7788"


def test_reconciler_leaves_a_recent_claim_alone(client, queues, sqs_down):
    # GIVEN a claim stored a moment ago while the queue was down
    post_claim(client, claim_body())

    # WHEN the reconciler runs before RECONCILE_AFTER_SECONDS have passed
    requeued = _reconciler_later(10).requeue_stuck()

    # THEN nothing is re-queued yet (the send may only be slow)
    assert requeued == 0


def test_requeued_claim_is_scored_by_the_consumer(client, pipeline, queues, sqs_down):
    # GIVEN a claim whose send failed, re-queued by the scheduled reconcile function once the queue is back
    claim_id = post_claim(client, claim_body()).json_body["claim_id"]
    sqs_down.end()
    bootstrap.container().reconciler = _reconciler_later(3600)
    reconciled = client.lambda_.invoke("reconcile_claims",
                                       client.events.generate_cw_event("aws.events", "Scheduled Event", {}, []))

    # WHEN the scoring consumer processes the queue
    answer, _ = pipeline.run("score_claims")

    # THEN the claim is scored like any other
    assert reconciled.payload == {"requeued": 1}
    assert answer == {"batchItemFailures": []}
    # 35.50 on food safety: auto-approved
    assert bootstrap.container().claims.get(claim_id).status is ClaimStatus.APPROVED
