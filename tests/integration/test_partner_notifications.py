"""Partner notifications against in-process moto: status changes queued on the notify queue, and the
``notify_partners`` consumer posting them, signed, to a partner's callback (``callbacks.py``: a small
HTTP server on 127.0.0.1 that records what it receives).
Signatures are checked here with hmac/hashlib, as a partner would, not with the app's own code."""
from __future__ import annotations

import hashlib
import hmac
import json
import socket
import time
from datetime import datetime

import pytest

from chalicelib import bootstrap
from chalicelib.adapters.resources import NOTIFY_QUEUE
from chalicelib.domain.claim import Channel, ClaimStatus, iso
from chalicelib.services.intake import IntakeRequest
from chalicelib.services.partner_notices import MAX_ATTEMPTS, PARTNER_STATUSES, Notice, retry_delay
from infra.seed import DEMO_CALLBACK_SECRET
from tests.fakes import claim_body, motor_claim_body, submission
from tests.integration.callbacks import delivered_count, notify, set_callback
from tests.integration.conftest import ELEME, MOTOR, post_claim

NOTIFY = NOTIFY_QUEUE.name
# What the claimant told us; none of it may leave in a notification.
CLAIMANT = {"name": "王五", "phone": "+8613700137000", "plate": "沪A12345", "address": "上海市浦东新区张杨路500号",
            "description": "路口追尾，后保险杠受损"}


@pytest.fixture
def sqs_clock(monkeypatch):
    """Moves moto's SQS clock on, so a message sent with DelaySeconds can be received without waiting."""
    import moto.sqs.models

    real = moto.sqs.models.unix_time_millis

    def advance(seconds: float) -> None:
        monkeypatch.setattr(moto.sqs.models, "unix_time_millis", lambda *args: real(*args) + seconds * 1000)
    return advance


# -- the consumer, as the Lambda SQS event source plays it ------------------------------------------------


def notify_waiting(client, queues) -> tuple[dict, list[dict]]:
    """Receive what is visible on the notify queue, deliver it, delete what succeeded."""
    messages = queues.receive(NOTIFY)
    answer = notify(client, queues, messages)
    failed = {f["itemIdentifier"] for f in answer["batchItemFailures"]}
    queues.delete(NOTIFY, [m for m in messages if m["MessageId"] not in failed])
    return answer, messages


def on_notify_queue(queues) -> tuple[int, int]:
    """(visible, delayed) messages on the notify queue."""
    return (queues.attribute(NOTIFY, "ApproximateNumberOfMessages"),
            queues.attribute(NOTIFY, "ApproximateNumberOfMessagesDelayed"))


def dead_letters(queues) -> list[dict]:
    return queues.sqs.receive_message(QueueUrl=queues.dlq_url(NOTIFY), MaxNumberOfMessages=10,
                                      MessageAttributeNames=["All"]).get("Messages", [])


def signature_valid(header: str, body: bytes, secret: str) -> bool:
    """``t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">``, checked as the partner would."""
    parts = dict(part.split("=", 1) for part in header.split(","))
    expected = hmac.new(secret.encode("utf-8"), parts["t"].encode("ascii") + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts["v1"]) and abs(time.time() - int(parts["t"])) <= 300


def _claim(claim_id: str):
    return bootstrap.container().claims.get(claim_id)


def _status_events(claim_id: str) -> list[tuple[int, str]]:
    """(seq, status) of each timeline entry that moved the claim to a status partners hear of."""
    events = bootstrap.container().claims.events(claim_id)
    return [(e.seq, e.status.value) for e in events
            if e.kind in ("claim.routed", "claim.surveyor_assigned", "claim.auto_approved")]


def _entry_time(claim_id: str, seq: int) -> datetime:
    [event] = [e for e in bootstrap.container().claims.events(claim_id) if e.seq == seq]
    return event.at


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _submit(client, body, api_key: str = MOTOR, **headers: str) -> str:
    response = post_claim(client, body, api_key=api_key, **headers)
    assert response.status_code == 202, response.body
    return response.json_body["claim_id"]


@pytest.fixture
def surveyed_and_reviewed(client, pipeline):
    """Two motor-direct claims: one scored and dispatched (a surveyor assigned), and a report of the same
    loss that scoring sends to a person as a possible duplicate. Returns (surveyed id, reviewed id)."""
    surveyed = _submit(client, motor_claim_body(), x_correlation_id="corr-surveyed")
    pipeline.score_all()
    reviewed = _submit(client, motor_claim_body(), x_correlation_id="corr-reviewed")
    pipeline.score_all()
    pipeline.dispatch_all()
    assert _claim(surveyed).status is ClaimStatus.SURVEYOR_ASSIGNED
    assert _claim(reviewed).status is ClaimStatus.IN_REVIEW
    return surveyed, reviewed


# -- queued --------------------------------------------------------------------------------------------


def test_each_status_a_partner_hears_of_queues_one_notice(surveyed_and_reviewed, queues):
    # GIVEN a motor-direct claim scored and dispatched, and another sent to review
    surveyed, reviewed = surveyed_and_reviewed

    # WHEN the notify queue is read
    messages = queues.receive_all(NOTIFY)

    # THEN there is one notice per status change, naming the timeline entry, first attempt, each carrying
    # its request's correlation id
    notices = sorted(((json.loads(m["Body"]), m["MessageAttributes"]["correlation_id"]["StringValue"])
                      for m in messages), key=lambda n: (n[0]["claim_id"], n[0]["event_seq"]))
    # (each says when its status changed: the time of its timeline entry)
    assert [iso(_parse(n.pop("at"))) for n, _ in notices] == [iso(_entry_time(n["claim_id"], n["event_seq"]))
                                                              for n, _ in notices]
    expected = [({"v": 1, "type": "claim.status_changed", "claim_id": claim_id, "event_seq": seq, "status": status,
                  "attempt": 0}, correlation_id)
                for claim_id, correlation_id in ((surveyed, "corr-surveyed"), (reviewed, "corr-reviewed"))
                for seq, status in _status_events(claim_id)]
    assert notices == sorted(expected, key=lambda n: (n[0]["claim_id"], n[0]["event_seq"]))
    assert sorted(n["status"] for n, _ in notices) == ["AWAITING_SURVEYOR", "IN_REVIEW", "SURVEYOR_ASSIGNED"]


@pytest.mark.parametrize("owner, channel", [
    ("public", Channel.WEB_FORM),
    ("ivr:connect", Channel.IVR_CONNECT),
    ("ivr:twilio", Channel.IVR_TWILIO),
    ("ivr:demo-ivr", Channel.IVR_WEBHOOK),
])
def test_public_and_hotline_claims_never_queue_a_notice(aws, pipeline, queues, owner, channel):
    # GIVEN claims of a channel, not a partner: one approved at once, one for review, one for a surveyor
    intake = bootstrap.container().intake
    ids = [intake.submit(IntakeRequest(owner, submission(channel=channel, amount=amount, **kind))).claim_id
           for amount, kind in (("35.50", {}), ("135.50", {}),
                                ("3200.00", {"loss_type": "motor_collision", "plate": "沪A12345"}))]

    # WHEN they are scored and dispatched
    pipeline.score_all()
    pipeline.dispatch_all()

    # THEN they reached statuses a partner would hear of, yet nothing waits on the notify queue
    statuses = {_claim(i).status for i in ids}
    assert statuses <= PARTNER_STATUSES
    assert ClaimStatus.SURVEYOR_ASSIGNED in statuses
    assert on_notify_queue(queues) == (0, 0)


# -- delivered -----------------------------------------------------------------------------------------


def test_consumer_posts_each_notice_signed_and_without_personal_data(surveyed_and_reviewed, client, queues,
                                                                     receiver):
    # GIVEN the notices of a surveyed and a reviewed motor-direct claim, and motor-direct's callback up
    surveyed, reviewed = surveyed_and_reviewed

    # WHEN the notify consumer processes the queue
    answer, messages = notify_waiting(client, queues)

    # THEN every notice succeeded and was posted once to the callback, and nothing is left to send
    assert answer == {"batchItemFailures": []}
    assert len(messages) == len(receiver.received) == 3
    assert on_notify_queue(queues) == (0, 0)
    assert delivered_count() == 3
    # AND each post is JSON signed with motor-direct's secret, identified by claim and timeline entry
    for post in receiver.received:
        assert post.path == "/hooks/claims"
        assert post.headers["Content-Type"] == "application/json"
        assert signature_valid(post.headers["X-Signature"], post.body, DEMO_CALLBACK_SECRET)
        assert not signature_valid(post.headers["X-Signature"], post.body, "someone-elses-secret-0000")
        body = json.loads(post.body)
        assert post.headers["X-Notification-Id"] == f"{body['claim_id']}.{body['event_seq']}"
    # AND the bodies say which claim, which entry and which status, matching the timeline
    bodies = {(b["claim_id"], b["event_seq"]): b for b in (json.loads(p.body) for p in receiver.received)}
    assert {key: b["status"] for key, b in bodies.items()} == {
        (claim_id, seq): status for claim_id in (surveyed, reviewed) for seq, status in _status_events(claim_id)}
    claim = _claim(surveyed)
    [assigned] = [b for b in bodies.values() if b["status"] == "SURVEYOR_ASSIGNED"]
    assert assigned["type"] == "claim.status_changed"
    assert assigned["surveyor_id"] == claim.surveyor_id
    assert assigned["external_ref"] == claim.submission.external_ref
    assert assigned["segment"] == "FIELD_SURVEY"
    assert all("surveyor_id" not in b for b in bodies.values() if b["status"] != "SURVEYOR_ASSIGNED")
    # AND each says when its own status changed, though all were posted after the last change
    assert {key: _parse(b["at"]) for key, b in bodies.items()} == {key: _entry_time(*key) for key in bodies}
    assert len({b["at"] for b in bodies.values()}) == 3
    # AND no personal data: none of what the claimant told us, in any form
    allowed = {"type", "claim_id", "event_seq", "status", "at", "external_ref", "segment", "surveyor_id"}
    for post in receiver.received:
        assert set(json.loads(post.body)) <= allowed
        text = post.body.decode("utf-8") + json.dumps(json.loads(post.body), ensure_ascii=False)
        for value in (*CLAIMANT.values(), CLAIMANT["phone"].removeprefix("+86")):
            assert value not in text


def test_redelivered_notices_send_nothing_again(surveyed_and_reviewed, client, queues, receiver):
    # GIVEN notices already delivered
    answer, messages = notify_waiting(client, queues)
    assert answer == {"batchItemFailures": []} and len(receiver.received) == 3

    # WHEN SQS delivers the very same messages again
    again = notify(client, queues, messages)

    # THEN every record succeeds, the partner hears nothing more, and nothing is queued
    assert again == {"batchItemFailures": []}
    assert len(receiver.received) == 3
    assert on_notify_queue(queues) == (0, 0)
    assert delivered_count() == 3


def test_partner_callback_failing_requeues_the_notice_with_a_delay_until_it_is_delivered(
        client, pipeline, queues, receiver, sqs_clock):
    # GIVEN a scored motor-direct claim's notice, and a callback answering 500
    claim_id = _submit(client, motor_claim_body(), x_correlation_id="corr-retry")
    pipeline.score_all()
    [(seq, status)] = _status_events(claim_id)
    receiver.status = 500

    # WHEN the notify consumer processes it
    answer, _ = notify_waiting(client, queues)

    # THEN the record itself succeeds (the service retries, not SQS), the post was tried once, and the notice
    # is back on the queue, delayed
    assert answer == {"batchItemFailures": []}
    assert len(receiver.received) == 1
    assert on_notify_queue(queues) == (0, 1)
    assert queues.receive(NOTIFY) == []
    # AND it becomes visible only after the first retry delay, as the next attempt, with its correlation id
    first_delay = retry_delay(0)
    sqs_clock(first_delay - 10)
    assert queues.receive(NOTIFY) == []
    sqs_clock(first_delay + 1)
    [retry] = queues.receive(NOTIFY)
    body = json.loads(retry["Body"])
    assert iso(_parse(body.pop("at"))) == iso(_entry_time(claim_id, seq))  # still when the status changed
    assert body == {"v": 1, "type": "claim.status_changed", "claim_id": claim_id, "event_seq": seq,
                    "status": status, "attempt": 1}
    assert retry["MessageAttributes"]["correlation_id"]["StringValue"] == "corr-retry"
    assert delivered_count() == 0

    # WHEN the callback is back and the retry is processed
    receiver.status = 204
    again = notify(client, queues, [retry])

    # THEN it is delivered: the same notification, posted a second time, recorded once
    assert again == {"batchItemFailures": []}
    assert [json.loads(p.body)["event_seq"] for p in receiver.received] == [seq, seq]
    assert receiver.received[0].headers["X-Notification-Id"] == receiver.received[1].headers["X-Notification-Id"]
    assert delivered_count() == 1
    assert dead_letters(queues) == []


def _closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}/hooks/claims"


def test_unreachable_callback_is_retried_like_an_error_answer(client, pipeline, queues, receiver):
    # GIVEN a scored motor-direct claim's notice, and motor-direct's callback on a port nobody listens on
    _submit(client, motor_claim_body())
    pipeline.score_all()
    set_callback("motor-direct", _closed_port_url())

    # WHEN the notify consumer processes it
    answer, _ = notify_waiting(client, queues)

    # THEN the record succeeds and the notice waits, delayed, for its next attempt
    assert answer == {"batchItemFailures": []}
    assert on_notify_queue(queues) == (0, 1)
    assert receiver.received == []


def test_notice_failing_its_last_attempt_is_parked_in_the_dlq(client, pipeline, queues, receiver):
    # GIVEN a scored motor-direct claim whose notice has failed all attempts but the last, and a callback
    # still answering 500
    claim_id = _submit(client, motor_claim_body())
    pipeline.score_all()
    [(seq, status)] = _status_events(claim_id)
    queues.receive_all(NOTIFY)  # the first attempt's message; this test drives the service directly
    receiver.status = 500

    # WHEN the last attempt is made
    outcome = bootstrap.container().notifications.deliver(
        Notice(claim_id, seq, status, attempt=MAX_ATTEMPTS - 1, correlation_id="corr-last"))

    # THEN it was tried, and now waits in the notify DLQ, not on the queue
    assert outcome == "dead_lettered"
    assert len(receiver.received) == 1
    [parked] = dead_letters(queues)
    assert json.loads(parked["Body"]) == {"v": 1, "type": "claim.status_changed", "claim_id": claim_id,
                                          "event_seq": seq, "status": status, "attempt": MAX_ATTEMPTS}
    assert parked["MessageAttributes"]["correlation_id"]["StringValue"] == "corr-last"
    assert on_notify_queue(queues) == (0, 0)
    assert delivered_count() == 0


def test_notice_failing_the_attempt_before_last_is_still_retried(client, pipeline, queues, receiver):
    # GIVEN a scored motor-direct claim's notice at its second-to-last attempt, and a callback answering 500
    claim_id = _submit(client, motor_claim_body())
    pipeline.score_all()
    [(seq, status)] = _status_events(claim_id)
    queues.receive_all(NOTIFY)
    receiver.status = 500

    # WHEN that attempt is made
    outcome = bootstrap.container().notifications.deliver(Notice(claim_id, seq, status, attempt=MAX_ATTEMPTS - 2))

    # THEN it is queued again, delayed, and nothing is parked yet
    assert outcome == "retry_scheduled"
    assert on_notify_queue(queues) == (0, 1)
    assert dead_letters(queues) == []


# -- nothing to send -----------------------------------------------------------------------------------


def _eleme_without_a_callback(client, receiver) -> None:
    _submit(client, claim_body(amount="135.50"), api_key=ELEME)


def _hellobike_with_a_callback_but_no_signing_secret(client, receiver) -> None:
    set_callback("hellobike", receiver.url)
    bootstrap.container().intake.submit(IntakeRequest("hellobike", submission(amount="135.50")))


@pytest.mark.parametrize("claim_sent_to_review",
                         [_eleme_without_a_callback, _hellobike_with_a_callback_but_no_signing_secret],
                         ids=["partner without a callback", "callback but no secret to sign with"])
def test_a_notice_nobody_can_be_sent_signed_sends_nothing(aws, client, pipeline, queues, receiver,
                                                         claim_sent_to_review):
    # GIVEN a claim sent to review, its notice queued: an eleme claim (eleme has no callback), or a
    # hellobike claim (hellobike's callback set, but no secret configured to sign with)
    claim_sent_to_review(client, receiver)
    pipeline.score_all()
    assert on_notify_queue(queues) == (1, 0)

    # WHEN the notify consumer processes its notice
    answer, _ = notify_waiting(client, queues)

    # THEN the record succeeds, nothing is posted (never an unsigned notice), and nothing is retried or parked
    assert answer == {"batchItemFailures": []}
    assert receiver.received == []
    assert on_notify_queue(queues) == (0, 0)
    assert dead_letters(queues) == []


# -- unreadable messages -------------------------------------------------------------------------------


@pytest.mark.parametrize("bad_body", [
    "this is not json",
    json.dumps({"v": 2, "type": "claim.status_changed", "claim_id": "CLM-00000000000000000000000000",
                "event_seq": 4, "status": "IN_REVIEW", "attempt": 0}),
    json.dumps({"v": 1, "type": "claim.status_changed", "claim_id": "CLM-00000000000000000000000000",
                "status": "IN_REVIEW"}),
    json.dumps({"v": 1, "type": "claim.survey_needed", "claim_id": "CLM-00000000000000000000000000", "attempt": 0}),
], ids=["not-json", "unknown-version", "no-event-seq", "another-message-type"])
def test_unreadable_notice_fails_alone_while_the_good_one_is_delivered(client, pipeline, queues, receiver,
                                                                       bad_body):
    # GIVEN a motor-direct claim's notice and an unreadable message, side by side on the notify queue
    claim_id = _submit(client, motor_claim_body())
    pipeline.score_all()
    queues.send(NOTIFY, bad_body)
    messages = queues.receive_all(NOTIFY)
    [bad] = [m for m in messages if m["Body"] == bad_body]

    # WHEN the notify consumer gets both in one batch
    answer = notify(client, queues, messages)

    # THEN only the unreadable one is reported failed, for SQS to redeliver and in the end dead-letter,
    # and the good one is delivered
    assert answer == {"batchItemFailures": [{"itemIdentifier": bad["MessageId"]}]}
    assert [json.loads(p.body)["claim_id"] for p in receiver.received] == [claim_id]
    assert delivered_count() == 1
