"""What each Lambda function of the app may touch: the hand-written least-privilege policy.

Worked out from the code paths (handler -> service -> adapter) of each function; the stack turns
these declarations into one IAM role per function, with every resource an exact ARN. When a code
path starts using another table, index, queue or action, it must be added here (a deployed function
without it fails with AccessDenied, its messages are retried and end in the DLQ, and the DLQ alarm
fires). ``tests/infra/test_iam_conformance.py`` replays the main flows under moto and checks every
AWS call against these policies.

DynamoDB transactions (TransactWriteItems) need no action of their own: IAM checks each item's
PutItem / UpdateItem / DeleteItem / ConditionCheckItem on its table. BatchWriteItem is its own action.
"""
from __future__ import annotations

from dataclasses import dataclass

from chalicelib.adapters.resources import (
    CONTACTS_QUEUE,
    DISPATCH_QUEUE,
    NOTIFY_QUEUE,
    SCORING_QUEUE,
    Tables,
)


@dataclass(frozen=True)
class TableGrant:
    table: str
    actions: tuple[str, ...] = ()  # on the table itself
    query_indexes: tuple[str, ...] = ()  # dynamodb:Query on these global secondary indexes


@dataclass(frozen=True)
class FunctionAccess:
    tables: tuple[TableGrant, ...] = ()
    send_to: tuple[str, ...] = ()  # queue names: sqs:SendMessage (SendMessageBatch is the same action)
    consume: str | None = None  # the queue of its SQS event source (ReceiveMessage/DeleteMessage/...)
    queue_url_lookups: tuple[str, ...] = ()  # queue names still found with GetQueueUrl by the code
    queue_depth_of: tuple[str, ...] = ()  # queue names whose depth it reads (sqs:GetQueueAttributes)
    s3_read: bool = False  # GetObject on the attachment prefix (+ ListBucket there: a 404 stays a 404)
    s3_presign_upload: bool = False  # PutObject on the attachment prefix: the browser's presigned POST
    queue_url_env: tuple[str, ...] = ()  # queue names whose URL the function gets in its environment
    secrets: tuple[str, ...] = ()  # keys of the stage's secret put into the function's environment
    needs_public_base_url: bool = False
    invoked_by_connect: bool = False
    consumer: bool = True  # errors/throttles alarmed per function (the API is watched through 5XXError)


# The environment variable that carries each queue's URL (read by chalicelib/settings.py).
QUEUE_URL_ENV = {
    SCORING_QUEUE.name: "SCORING_QUEUE_URL",
    DISPATCH_QUEUE.name: "DISPATCH_QUEUE_URL",
    CONTACTS_QUEUE.name: "CONTACTS_QUEUE_URL",
    NOTIFY_QUEUE.name: "NOTIFY_QUEUE_URL",
    NOTIFY_QUEUE.dlq_name: "NOTIFY_DLQ_URL",
}

# The stage's secret (Secrets Manager, JSON): the keys and the variables they become. CUSTOMER_ID_KEY
# is kept there too for the operator's policy import (infra.import_policies) but given to no function.
SECRET_KEYS = ("TWILIO_AUTH_TOKEN", "IVR_WEBHOOK_SECRETS", "AGENT_TOKENS", "SURVEYOR_TOKENS",
               "STATUS_TOKEN_SECRET", "PARTNER_CALLBACK_SECRETS", "CUSTOMER_ID_KEY")

_R, _W, _U = "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"
_Q, _BW, _BR = "dynamodb:Query", "dynamodb:BatchWriteItem", "dynamodb:BatchGetItem"

# intake.submit: one transaction of claim + first event + idempotency key (+ duplicate guard), a
# consistent read of the stored claim when the key was taken, then the scoring message.
_INTAKE = (
    TableGrant(Tables.CLAIMS, (_R, _W)),
    TableGrant(Tables.CLAIM_EVENTS, (_W,)),
    TableGrant(Tables.IDEMPOTENCY, (_W,)),
)


def _merge(*groups: tuple[TableGrant, ...]) -> tuple[TableGrant, ...]:
    merged: dict[str, tuple[list[str], list[str]]] = {}
    for group in groups:
        for grant in group:
            actions, indexes = merged.setdefault(grant.table, ([], []))
            actions += [a for a in grant.actions if a not in actions]
            indexes += [i for i in grant.query_indexes if i not in indexes]
    return tuple(TableGrant(table, tuple(sorted(a)), tuple(sorted(i))) for table, (a, i) in merged.items())


FUNCTIONS: dict[str, FunctionAccess] = {
    # Every HTTP route (Chalice: one Lambda function behind API Gateway).
    "api_handler": FunctionAccess(
        tables=_merge(_INTAKE, (
            TableGrant(Tables.API_KEYS, (_R,)),  # partner API key lookup
            TableGrant(Tables.PARTNERS, (_R,)),  # the key's partner: suspended or not, its rate limit
            # claim reads; agent screen pop (caller-phone-index) and agent queue (review-index);
            # decisions and survey completion save the claim (Put in a transaction)
            TableGrant(Tables.CLAIMS, (_R, _W), ("caller-phone-index", "review-index")),
            TableGrant(Tables.CLAIM_EVENTS, (_W, _Q)),  # timelines: status page, partner and agent views
            # public policy check (GetItem), screen pop (holder-phone-index), a closed claim is
            # unmarked as its policy's open claim (UpdateItem)
            TableGrant(Tables.POLICIES, (_R, _U), ("holder-phone-index",)),
            TableGrant(Tables.CUSTOMERS, (), ("phone-index",)),  # screen pop
            # screen pop: the latest contacts of a number; a phone claim's contact entry (Twilio, vendor
            # IVR) is written in its intake transaction
            TableGrant(Tables.CONTACTS, (_W, _Q)),
            TableGrant(Tables.RATE_LIMITS, (_U,)),  # claim form limits (transaction of updates)
            TableGrant(Tables.SURVEYORS, (_U,)),  # surveyor status, survey completion frees capacity
        )),
        send_to=(SCORING_QUEUE.name, NOTIFY_QUEUE.name, CONTACTS_QUEUE.name),
        queue_url_env=(SCORING_QUEUE.name, NOTIFY_QUEUE.name, CONTACTS_QUEUE.name),
        s3_presign_upload=True,
        secrets=("TWILIO_AUTH_TOKEN", "IVR_WEBHOOK_SECRETS", "AGENT_TOKENS", "SURVEYOR_TOKENS",
                 "STATUS_TOKEN_SECRET"),
        needs_public_base_url=True,
        consumer=False,
    ),
    # Amazon Connect: who is calling (one query on the caller's number) and a contact entry.
    "connect_identify_caller": FunctionAccess(
        tables=(TableGrant(Tables.POLICIES, (), ("holder-phone-index",)),),
        send_to=(CONTACTS_QUEUE.name,),
        queue_url_env=(CONTACTS_QUEUE.name,),
        invoked_by_connect=True,
    ),
    # Amazon Connect: a claim from the call with its contact entry (one transaction); a call back about
    # a loss already reported queues its contact entry instead.
    "connect_report_claim": FunctionAccess(
        tables=_merge(_INTAKE, (TableGrant(Tables.CONTACTS, (_W,)),)),
        send_to=(SCORING_QUEUE.name, CONTACTS_QUEUE.name),
        queue_url_env=(SCORING_QUEUE.name, CONTACTS_QUEUE.name),
        invoked_by_connect=True,
    ),
    # Scoring: the batch's claims and the policies they name (BatchGetItem), policy resolution by
    # order id, phone, plate, duplicate and velocity history, the scored claim + timeline (+ the
    # policy's open-claim marker) in one transaction; a claim awaiting its photos comes back to itself
    # with a delay (the photo window).
    "score_claims": FunctionAccess(
        tables=(
            TableGrant(Tables.CLAIMS, (_R, _BR, _W), ("caller-phone-index", "plate-loss-index", "policy-loss-index")),
            TableGrant(Tables.CLAIM_EVENTS, (_W,)),
            TableGrant(Tables.POLICIES, (_R, _BR, _U), ("holder-phone-index", "order-id-index", "plate-index")),
        ),
        consume=SCORING_QUEUE.name,
        send_to=(SCORING_QUEUE.name, DISPATCH_QUEUE.name, NOTIFY_QUEUE.name),
        queue_url_env=(SCORING_QUEUE.name, DISPATCH_QUEUE.name, NOTIFY_QUEUE.name),
    ),
    # Dispatch: the batch's claims (BatchGetItem), surveyors of each region and its neighbours (once
    # per batch), the reservation (surveyor + claim +
    # timeline in one transaction), a retry message with a delay, the partner notice.
    "dispatch_claims": FunctionAccess(
        tables=(
            TableGrant(Tables.CLAIMS, (_R, _BR, _W)),
            TableGrant(Tables.CLAIM_EVENTS, (_W,)),
            TableGrant(Tables.SURVEYORS, (_U,), ("region-index",)),
        ),
        consume=DISPATCH_QUEUE.name,
        send_to=(DISPATCH_QUEUE.name, NOTIFY_QUEUE.name),
        queue_url_env=(DISPATCH_QUEUE.name, NOTIFY_QUEUE.name),
    ),
    # Every 5 minutes: claims still RECEIVED (sparse unscored-index) back to the scoring queue.
    "reconcile_claims": FunctionAccess(
        tables=(TableGrant(Tables.CLAIMS, (), ("unscored-index",)),),
        send_to=(SCORING_QUEUE.name,),
        queue_depth_of=(SCORING_QUEUE.name,),  # a backlog holds the claims that look stuck
        queue_url_env=(SCORING_QUEUE.name,),
    ),
    # Contact entries of IVR calls, written in batches.
    "record_contacts": FunctionAccess(
        tables=(TableGrant(Tables.CONTACTS, (_BW,)),),
        consume=CONTACTS_QUEUE.name,
    ),
    # Partner notifications: delivery log and claims of the batch (BatchGetItem), the partner's
    # callback URL, the deliveries recorded together (BatchWriteItem); a failed delivery
    # is re-queued with a delay, or parked in the notify DLQ after the last attempt.
    "notify_partners": FunctionAccess(
        tables=(
            TableGrant(Tables.NOTIFICATIONS, (_R, _BR, _W, _BW)),
            TableGrant(Tables.CLAIMS, (_R, _BR)),
            TableGrant(Tables.PARTNERS, (_R,)),
        ),
        consume=NOTIFY_QUEUE.name,
        send_to=(NOTIFY_QUEUE.name, NOTIFY_QUEUE.dlq_name),
        queue_url_env=(NOTIFY_QUEUE.name, NOTIFY_QUEUE.dlq_name),
        secrets=("PARTNER_CALLBACK_SECRETS",),
    ),
    # S3 trigger: the photo, photos seen before (hash indexes), attachment + claim + timeline; the
    # last expected photo asks scoring to decide (scoring queue), an automatic approval held for a
    # reused photo tells the partner (notify queue).
    "record_attachment": FunctionAccess(
        tables=(
            TableGrant(Tables.ATTACHMENTS, (_W,), ("phash-index", "sha256-index")),
            TableGrant(Tables.CLAIMS, (_R, _W)),
            TableGrant(Tables.CLAIM_EVENTS, (_W,)),
        ),
        send_to=(SCORING_QUEUE.name, NOTIFY_QUEUE.name),
        queue_url_env=(SCORING_QUEUE.name, NOTIFY_QUEUE.name),
        s3_read=True,
    ),
}

# What Lambda's SQS event source needs of the function's role (AWSLambdaSQSQueueExecutionRole's
# actions, scoped to the one queue).
CONSUME_ACTIONS = ("sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage")
LOG_ACTIONS = ("logs:CreateLogStream", "logs:PutLogEvents")
# X-Ray has no resource-level permissions: AWS requires Resource "*" for these two (the only
# statement with a "*" resource; its actions are named, never wildcards).
XRAY_ACTIONS = ("xray:PutTelemetryRecords", "xray:PutTraceSegments")
