"""Creates every table and queue of the app from the same definitions the code uses
(PynamoDB models and ``chalicelib.adapters.resources``). Used by the local stack and the tests."""
from __future__ import annotations

import json

from chalicelib.adapters.models import ALL_MODELS
from chalicelib.adapters.resources import DLQ_RETENTION_SECONDS, QUEUES, QueueSpec


def create_tables() -> list[str]:
    created = []
    for model in ALL_MODELS:
        if not model.exists():
            model.create_table(billing_mode="PAY_PER_REQUEST", wait=True)
            created.append(model.Meta.table_name)
    return created


def create_queue(sqs, spec: QueueSpec) -> dict[str, str]:
    """The queue and its DLQ, redrive after ``max_receive_count`` receives. Returns both URLs."""
    dlq_url = sqs.create_queue(QueueName=spec.dlq_name,
                               Attributes={"MessageRetentionPeriod": str(DLQ_RETENTION_SECONDS)})["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    url = sqs.create_queue(QueueName=spec.name, Attributes={
        "VisibilityTimeout": str(spec.visibility_timeout_seconds),
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(spec.max_receive_count)}),
    })["QueueUrl"]
    return {"url": url, "dlq_url": dlq_url}


def create_queues(sqs) -> dict[str, dict[str, str]]:
    return {spec.name: create_queue(sqs, spec) for spec in QUEUES}


def create_all(sqs) -> dict[str, dict[str, str]]:
    create_tables()
    return create_queues(sqs)
