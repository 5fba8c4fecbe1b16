"""A message that keeps failing ends in the queue's DLQ after maxReceiveCount (5) receives."""
from __future__ import annotations

import json

import pytest

from chalicelib.adapters.resources import DISPATCH_QUEUE, SCORING_QUEUE

UNKNOWN = "CLM-00000000000000000000000000"


@pytest.mark.parametrize("function, spec, body", [
    ("score_claims", SCORING_QUEUE, {"v": 1, "type": "claim.received", "claim_id": UNKNOWN}),
    ("dispatch_claims", DISPATCH_QUEUE, {"v": 1, "type": "claim.survey_needed", "claim_id": UNKNOWN, "attempt": 0}),
], ids=["scoring", "dispatch"])
def test_message_failing_every_receive_moves_to_the_dlq_after_five(pipeline, queues, function, spec, body):
    # GIVEN a message for a claim that does not exist, redelivered at once after each failure
    queues.sqs.set_queue_attributes(QueueUrl=queues.url(spec.name), Attributes={"VisibilityTimeout": "0"})
    raw = json.dumps(body)
    queues.send(spec.name, raw)

    # WHEN the consumer keeps failing it, receive after receive
    receive_counts = []
    for _ in range(spec.max_receive_count + 1):
        answer, messages = pipeline.run(function)
        if not messages:
            break
        assert [f["itemIdentifier"] for f in answer["batchItemFailures"]] == [messages[0]["MessageId"]]
        receive_counts.append(messages[0]["Attributes"]["ApproximateReceiveCount"])

    # THEN it was tried exactly five times and now waits in the DLQ, not on the queue
    assert receive_counts == ["1", "2", "3", "4", "5"]
    assert queues.receive(spec.name) == []
    dead = queues.sqs.receive_message(QueueUrl=queues.dlq_url(spec.name)).get("Messages", [])
    assert [m["Body"] for m in dead] == [raw]
