"""Names of every table and queue, defined once.

The PynamoDB models, the consumers' ``@on_sqs_message`` decorators, the local moto stack and the
deployment stack all take their names from here. One stage per AWS account, so names carry no stage.
"""
from __future__ import annotations

from dataclasses import dataclass

APP_NAME = "claims-intake"


class Tables:
    CLAIMS = f"{APP_NAME}-claims"
    CLAIM_EVENTS = f"{APP_NAME}-claim-events"
    IDEMPOTENCY = f"{APP_NAME}-idempotency"
    PARTNERS = f"{APP_NAME}-partners"
    API_KEYS = f"{APP_NAME}-api-keys"
    POLICIES = f"{APP_NAME}-policies"
    CUSTOMERS = f"{APP_NAME}-customers"
    SURVEYORS = f"{APP_NAME}-surveyors"
    CONTACTS = f"{APP_NAME}-contacts"
    ATTACHMENTS = f"{APP_NAME}-attachments"
    RATE_LIMITS = f"{APP_NAME}-rate-limits"
    NOTIFICATIONS = f"{APP_NAME}-notifications"


# Claim photos, uploaded by the claimant's browser straight to S3 with a presigned POST. The
# ``record_attachment`` function is triggered by S3 for every object created under the prefix
# (``domain.attachment.ATTACHMENTS_PREFIX``, with the photos' size and type limits).
# (Bucket names are global: a stage in another account may need a suffix; see docs/deploying.md.)
ATTACHMENTS_BUCKET = f"{APP_NAME}-attachments"


@dataclass(frozen=True)
class QueueSpec:
    name: str
    consumer_timeout_seconds: int
    batch_size: int = 10
    max_receive_count: int = 5

    @property
    def dlq_name(self) -> str:
        return f"{self.name}-dlq"

    @property
    def visibility_timeout_seconds(self) -> int:
        # AWS's guidance for Lambda event sources: at least six times the function's timeout.
        return 6 * self.consumer_timeout_seconds


SCORING_QUEUE = QueueSpec(name=f"{APP_NAME}-scoring", consumer_timeout_seconds=30)
DISPATCH_QUEUE = QueueSpec(name=f"{APP_NAME}-dispatch", consumer_timeout_seconds=30)
# Every IVR call's contact entry, written behind the queue so that identifying a caller costs one
# DynamoDB call.
CONTACTS_QUEUE = QueueSpec(name=f"{APP_NAME}-contacts", consumer_timeout_seconds=30)
# Status changes a partner is told about, one message per change; the consumer posts to the partner's
# callback URL and re-queues a failed delivery itself with a growing delay.
NOTIFY_QUEUE = QueueSpec(name=f"{APP_NAME}-notify", consumer_timeout_seconds=30)
QUEUES = (SCORING_QUEUE, DISPATCH_QUEUE, CONTACTS_QUEUE, NOTIFY_QUEUE)
# Local stack only: moto cannot invoke a Lambda on an S3 event, so the bucket notifies this queue and
# the local stack hands each S3 event to ``record_attachment``, as Lambda would.
LOCAL_ATTACHMENT_EVENTS_QUEUE = QueueSpec(name=f"{APP_NAME}-attachment-events-local", consumer_timeout_seconds=30)

DLQ_RETENTION_SECONDS = 14 * 24 * 3600
IDEMPOTENCY_TTL_DAYS = 90
CONTACT_TTL_DAYS = 400  # the screen pop shows recent contacts; older ones expire
