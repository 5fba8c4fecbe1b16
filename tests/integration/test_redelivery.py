"""At-least-once delivery: every consumer, given the same messages (or S3 event, or schedule) twice,
ends where one delivery would have left it — against in-process moto.

"The same messages twice" is what SQS does when a visibility timeout ends before the delete (a slow or
crashed invocation), and what a redrive does to a message that was sent but not deleted. The second run
must change no table (claims, timeline, idempotency, surveyors' loads, contacts, delivered
notifications, attachments) and send no second dispatch, notification or contact entry.
"""
from __future__ import annotations

import io
import json
from collections import Counter

import boto3
import pytest
from PIL import Image

from chalicelib import bootstrap
from chalicelib.adapters.resources import (
    ATTACHMENTS_BUCKET,
    CONTACTS_QUEUE,
    DISPATCH_QUEUE,
    NOTIFY_QUEUE,
    SCORING_QUEUE,
    Tables,
)
from chalicelib.domain.claim import ClaimStatus
from tests.fakes import claim_body, motor_claim_body
from tests.integration.callbacks import partner_callback
from tests.integration.conftest import ELEME, MOTOR, post_claim
from tests.integration.workloads import MOTOR_POLICIES, contact_message, field_claims, later

TABLES = (Tables.CLAIMS, Tables.CLAIM_EVENTS, Tables.IDEMPOTENCY, Tables.SURVEYORS, Tables.CONTACTS,
          Tables.NOTIFICATIONS, Tables.ATTACHMENTS)
QUEUES = (SCORING_QUEUE, DISPATCH_QUEUE, CONTACTS_QUEUE, NOTIFY_QUEUE)


def tables() -> dict[str, list[str]]:
    """Every item of every table a consumer writes, in a comparable form."""
    dynamodb = boto3.client("dynamodb")
    out = {}
    for table in TABLES:
        items, start = [], {}
        while True:
            page = dynamodb.scan(TableName=table, ConsistentRead=True, **start)
            items += [json.dumps(item, sort_keys=True, ensure_ascii=False) for item in page["Items"]]
            if "LastEvaluatedKey" not in page:
                break
            start = {"ExclusiveStartKey": page["LastEvaluatedKey"]}
        out[table] = sorted(items)
    return out


def waiting(queues) -> dict[str, int]:
    """Messages on each queue, visible or delayed."""
    return {spec.name: queues.attribute(spec.name, "ApproximateNumberOfMessages")
            + queues.attribute(spec.name, "ApproximateNumberOfMessagesDelayed") for spec in QUEUES}


def twice(client, queues, function: str, spec) -> tuple[list[dict], list[dict]]:
    """The same received messages delivered to ``function`` twice; returns both answers."""
    messages = queues.receive_all(spec.name)
    assert messages
    event = queues.event(spec.name, messages)
    first = client.lambda_.invoke(function, event).payload
    state = tables(), waiting(queues)
    second = client.lambda_.invoke(function, event).payload
    return [first, second], [state, (tables(), waiting(queues))]


def timeline(claim_id: str) -> Counter:
    return Counter(e.kind for e in bootstrap.container().claims.events(claim_id))


def loads() -> int:
    return sum(int(i["active_claims"]["N"]) for i in boto3.client("dynamodb").scan(
        TableName=Tables.SURVEYORS)["Items"])


def test_scoring_twice_changes_nothing_and_the_extra_dispatch_message_assigns_no_one_twice(client, queues, pipeline):
    # GIVEN three claims waiting to be scored: auto-approved, to review, and a field survey
    small = post_claim(client, claim_body(amount="35.50")).json_body["claim_id"]
    review = post_claim(client, claim_body(amount="150.00", phone="+8613900139000",
                                           policy_number="PA2026000124")).json_body["claim_id"]
    policy_number, plate, phone = MOTOR_POLICIES[0]
    field = post_claim(client, motor_claim_body(policy_number=policy_number, plate=plate, phone=phone),
                       api_key=MOTOR).json_body["claim_id"]

    # WHEN the scoring consumer gets the same messages twice
    answers, (after_first, after_second) = twice(client, queues, "score_claims", SCORING_QUEUE)

    # THEN both runs succeed, and the second changed no table and queued no notification
    assert answers == [{"batchItemFailures": []}] * 2
    assert after_second[0] == after_first[0]
    assert after_second[1][NOTIFY_QUEUE.name] == after_first[1][NOTIFY_QUEUE.name]
    statuses = {c: bootstrap.container().claims.get(c).status for c in (small, review, field)}
    assert statuses == {small: ClaimStatus.APPROVED, review: ClaimStatus.IN_REVIEW,
                        field: ClaimStatus.AWAITING_SURVEYOR}
    assert all(timeline(c)["claim.scored"] == 1 for c in statuses)
    # AND the field claim's dispatch message was sent again, on purpose (had the first send been lost,
    # nothing else would dispatch it) ...
    assert after_second[1][DISPATCH_QUEUE.name] == after_first[1][DISPATCH_QUEUE.name] + 1
    # ... which assigns one surveyor, once
    before = loads()
    pipeline.dispatch_all()
    assert loads() == before + 1
    assert timeline(field)["claim.surveyor_assigned"] == 1
    assert bootstrap.container().claims.get(field).status is ClaimStatus.SURVEYOR_ASSIGNED


def test_dispatch_twice_assigns_each_claim_once(client, queues, pipeline):
    # GIVEN two claims scored for a field survey, their partner's notifications set aside
    ids = field_claims(client, pipeline, 2)
    queues.receive_all(NOTIFY_QUEUE.name)
    before = loads()

    # WHEN the dispatch consumer gets the same messages twice
    answers, (after_first, after_second) = twice(client, queues, "dispatch_claims", DISPATCH_QUEUE)

    # THEN each claim has one surveyor: loads, claims and timelines are as the first run left them,
    # and no second notification or retry was queued
    assert answers == [{"batchItemFailures": []}] * 2
    assert loads() == before + 2
    assert after_second == after_first
    assert all(timeline(c)["claim.surveyor_assigned"] == 1 for c in ids)


def test_contacts_twice_write_each_entry_once(client, queues):
    # GIVEN three contact entries on the contacts queue
    for n in range(3):
        queues.send(CONTACTS_QUEUE.name, contact_message(n))

    # WHEN the contacts consumer gets them twice
    answers, (after_first, after_second) = twice(client, queues, "record_contacts", CONTACTS_QUEUE)

    # THEN three entries, as the first run wrote them
    assert answers == [{"batchItemFailures": []}] * 2
    assert len(after_first[0][Tables.CONTACTS]) == 3
    assert after_second == after_first


@pytest.fixture
def receiver(aws):
    with partner_callback("motor-direct") as callback:
        yield callback


def test_notify_twice_posts_each_notification_once(client, queues, pipeline, receiver):
    # GIVEN two of motor-direct's claims sent to review, their notifications waiting
    ids = [post_claim(client, claim_body(amount="150.00", phone=f"+861390013900{n}", policy_number="PA2026000124"),
                      api_key=MOTOR).json_body["claim_id"] for n in range(2)]
    pipeline.score_all()

    # WHEN the notify consumer gets the same messages twice
    answers, (after_first, after_second) = twice(client, queues, "notify_partners", NOTIFY_QUEUE)

    # THEN the partner received each notification once; the delivery log is as the first run left it
    assert answers == [{"batchItemFailures": []}] * 2
    assert sorted(json.loads(r.body)["claim_id"] for r in receiver.received) == sorted(ids)
    assert len(after_first[0][Tables.NOTIFICATIONS]) == 2
    assert after_second == after_first


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 30, 40)).save(out, "PNG")
    return out.getvalue()


def test_the_same_s3_event_twice_records_the_photo_once(client):
    # GIVEN a photo stored under a key the service issued for a claim
    claim_id = post_claim(client, claim_body(), api_key=ELEME).json_body["claim_id"]
    ticket = client.http.post(f"/v1/claims/{claim_id}/attachments", headers={
        "content-type": "application/json", "x-api-key": ELEME}, body=json.dumps({"content_type": "image/png"}))
    key = json.loads(ticket.body)["upload"]["fields"]["key"]
    boto3.client("s3").put_object(Bucket=ATTACHMENTS_BUCKET, Key=key, Body=_png(), ContentType="image/png")
    event = client.events.generate_s3_event(bucket=ATTACHMENTS_BUCKET, key=key)

    # WHEN S3 delivers its event twice
    first = client.lambda_.invoke("record_attachment", event).payload
    state = tables()
    second = client.lambda_.invoke("record_attachment", event).payload

    # THEN the photo is recorded once: the second delivery changed no table
    assert (first["outcome"], second["outcome"]) == ("recorded", "duplicate_delivery")
    assert tables() == state
    assert len(state[Tables.ATTACHMENTS]) == 1
    assert timeline(claim_id)["claim.attachment_added"] == 1


class _SqsDown:
    """SendMessage of the app's SQS client failing (as after botocore's retries) until ``end()``."""

    def __init__(self, sqs):
        self._events = sqs.meta.events
        self._events.register("before-call.sqs.SendMessage", self._refuse, unique_id="redelivery-sqs-down")

    @staticmethod
    def _refuse(**_kwargs):
        from botocore.exceptions import EndpointConnectionError
        raise EndpointConnectionError(endpoint_url="https://sqs.ap-southeast-1.amazonaws.com/")

    def end(self):
        self._events.unregister("before-call.sqs.SendMessage", unique_id="redelivery-sqs-down")


def test_the_reconciler_twice_scores_each_claim_once(client, queues, pipeline):
    # GIVEN two claims stored while the scoring queue could not be reached, and the queue back up
    down = _SqsDown(bootstrap.container().queue._client)
    ids = [post_claim(client, claim_body()).json_body["claim_id"] for _ in range(2)]
    down.end()
    bootstrap.container().reconciler = later(3600)
    scheduled = client.events.generate_cw_event("aws.events", "Scheduled Event", {}, [])

    # WHEN the schedule fires twice before scoring catches up (the first run re-queues both claims; the
    # second finds them still RECEIVED, but waiting in the queue, and leaves them to it)
    runs = [client.lambda_.invoke("reconcile_claims", scheduled).payload for _ in range(2)]
    pipeline.score_all()
    state = tables(), waiting(queues)

    # THEN each claim was scored once, and told to its partner once
    assert runs == [{"requeued": 2}, {"requeued": 0}]
    assert all(bootstrap.container().claims.get(c).status is not ClaimStatus.RECEIVED for c in ids)
    assert all(timeline(c)["claim.scored"] == 1 for c in ids)
    assert state[1][NOTIFY_QUEUE.name] == 2

    # AND a later run finds nothing to re-queue and changes nothing
    assert client.lambda_.invoke("reconcile_claims", scheduled).payload == {"requeued": 0}
    assert (tables(), waiting(queues)) == state
