"""Creates every table, queue and bucket of the app from the same definitions the code uses
(PynamoDB models and ``chalicelib.adapters.resources``). Used by the local stack and the tests."""
from __future__ import annotations

import json

from chalicelib.adapters.models import ALL_MODELS
from chalicelib.adapters.resources import (
    ATTACHMENTS_BUCKET,
    DLQ_RETENTION_SECONDS,
    LOCAL_ATTACHMENT_EVENTS_QUEUE,
    QUEUES,
    QueueSpec,
)
from chalicelib.domain.attachment import ATTACHMENTS_PREFIX


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


def create_bucket(s3, region: str, allowed_origins: list[str]) -> None:
    """The photo bucket: private, and open to browser uploads (presigned POST) from the form's origin."""
    options = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    s3.create_bucket(Bucket=ATTACHMENTS_BUCKET, **options)
    s3.put_public_access_block(Bucket=ATTACHMENTS_BUCKET, PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True})
    s3.put_bucket_cors(Bucket=ATTACHMENTS_BUCKET, CORSConfiguration={"CORSRules": [{
        "AllowedOrigins": allowed_origins, "AllowedMethods": ["POST"], "AllowedHeaders": ["*"], "MaxAgeSeconds": 600}]})


def notify_queue_of_uploads(s3, sqs) -> str:
    """Local stack only (moto cannot invoke a Lambda): S3 events for new photos go to a queue the
    local stack polls, and it hands each to ``record_attachment`` as Lambda would. Returns its URL."""
    url = sqs.create_queue(QueueName=LOCAL_ATTACHMENT_EVENTS_QUEUE.name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    s3.put_bucket_notification_configuration(Bucket=ATTACHMENTS_BUCKET, NotificationConfiguration={
        "QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectCreated:*"], "Filter": {
            "Key": {"FilterRules": [{"Name": "prefix", "Value": ATTACHMENTS_PREFIX}]}}}]})
    return url


def create_all(sqs, s3=None, region: str | None = None, allowed_origins: list[str] | None = None
               ) -> dict[str, dict[str, str]]:
    create_tables()
    queues = create_queues(sqs)
    if s3 is not None:
        create_bucket(s3, region or s3.meta.region_name, allowed_origins or ["*"])
    return queues
