"""Consumer batches as units of work, with fakes: what fails a record and what does not, messages held
and sent together, a claim read up front used once, and the notify batch's time budget."""
from __future__ import annotations

import io
import json
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from chalicelib.adapters.resources import SCORING_QUEUE
from chalicelib.adapters.sqs import SqsClaimQueue
from chalicelib.consumers.pipeline import run_batch
from chalicelib.domain.claim import ClaimStatus
from chalicelib.schemas.messages import ClaimReceived
from chalicelib.services.partner_notices import BatchOutOfTime, Notice, NotificationService
from chalicelib.services.reconcile import Reconciler
from tests.fakes import (
    Clock,
    FakeClaimQueue,
    FakeClaimRepository,
    FakeTelemetry,
    new_claim,
    scoring_service,
    submission,
)

NOW = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


# -- the SQS adapter: held messages, sent ten at a time ------------------------------------------------------

class RecordingSqs:
    """Answers SendMessageBatch, failing the entries whose claim id is in ``refuse`` (or the whole call)."""

    def __init__(self, refuse: tuple[str, ...] = (), down: bool = False):
        self.batches: list[tuple[str, list[dict]]] = []
        self.singles: list[str] = []
        self.refuse = refuse
        self.down = down

    def send_message_batch(self, QueueUrl, Entries):  # noqa: N803 - boto3's names
        if self.down:
            raise ConnectionError("sqs down")
        self.batches.append((QueueUrl, Entries))
        failed = [{"Id": e["Id"], "SenderFault": False, "Code": "InternalError"} for e in Entries
                  if json.loads(e["MessageBody"])["claim_id"] in self.refuse]
        return {"Successful": [], "Failed": failed}

    def send_message(self, QueueUrl, **_entry):  # noqa: N803 - boto3's names
        self.singles.append(QueueUrl)


def _queue(sqs) -> SqsClaimQueue:
    return SqsClaimQueue(sqs, "scoring-url", "dispatch-url", "notify-url", "notify-dlq-url")


def test_messages_inside_a_batch_are_held_and_sent_ten_to_a_call_per_queue():
    sqs = RecordingSqs()
    queue = _queue(sqs)
    # WHEN a batch queues 12 dispatch messages (some delayed) and 3 partner notices
    with queue.deferred() as outbox:
        for n in range(12):
            queue.to_dispatch(f"CLM-{n}", "corr", attempt=1, delay_seconds=30 if n % 2 else 0)
        for n in range(3):
            queue.to_notify(f"CLM-{n}", 4, "AWAITING_SURVEYOR", "corr")
        assert sqs.batches == []  # nothing leaves before the batch ends
    # THEN three SendMessageBatch calls: 10 + 2 dispatch, 3 notices; delays kept per message
    assert [(url, len(entries)) for url, entries in sqs.batches] == [("dispatch-url", 10), ("dispatch-url", 2),
                                                                     ("notify-url", 3)]
    assert [e.get("DelaySeconds", 0) for e in sqs.batches[0][1][:4]] == [0, 30, 0, 30]
    assert outbox.unsent == [] and sqs.singles == []


def test_entries_sqs_refuses_and_calls_that_fail_are_reported_unsent_by_kind_and_claim():
    sqs = RecordingSqs(refuse=("CLM-1",))
    queue = _queue(sqs)
    with queue.deferred() as outbox:
        for n in range(3):
            queue.to_dispatch(f"CLM-{n}", None)
    assert outbox.unsent == [("dispatch", "CLM-1")]

    sqs.down = True
    with queue.deferred() as outbox:
        queue.to_dispatch("CLM-7", None)
        queue.to_notify("CLM-8", 2, "IN_REVIEW", None)
    assert sorted(outbox.unsent) == [("dispatch", "CLM-7"), ("notify", "CLM-8")]


def test_outside_a_batch_each_message_is_sent_at_once():
    sqs = RecordingSqs()
    _queue(sqs).to_dispatch("CLM-1", None)
    assert sqs.singles == ["dispatch-url"] and sqs.batches == []


# -- the consumer's batch runner ----------------------------------------------------------------------------

def _record(message_id: str, body: str, receives: int = 1) -> dict:
    return {"messageId": message_id, "body": body, "attributes": {"ApproximateReceiveCount": str(receives)},
            "messageAttributes": {"correlation_id": {"stringValue": f"corr-{message_id}", "dataType": "String"}}}


def _received(claim_id: str) -> str:
    return ClaimReceived(claim_id=claim_id).model_dump_json()


class Unit:
    def __init__(self):
        self.unsent: set[str] = set()
        self.handled: list[tuple[str, str | None]] = []


def test_the_runner_fails_unreadable_raising_and_unsent_records_and_nothing_else():
    unit = Unit()

    @contextmanager
    def begin(messages):
        assert [m.claim_id for m in messages] == ["CLM-A", "CLM-B", "CLM-C"]  # the readable ones
        yield unit
        unit.unsent.add("CLM-C")  # its required message did not leave when the batch ended

    def handle(batch, message, correlation_id):
        if message.claim_id == "CLM-B":
            raise RuntimeError("a bug")
        batch.handled.append((message.claim_id, correlation_id))

    event = {"Records": [_record("m1", _received("CLM-A")), _record("m2", "{not json"),
                         _record("m3", _received("CLM-B")), _record("m4", _received("CLM-C"))]}
    answer = run_batch(event, ClaimReceived, begin, handle)
    assert answer == {"batchItemFailures": [{"itemIdentifier": "m2"}, {"itemIdentifier": "m3"},
                                            {"itemIdentifier": "m4"}]}
    assert unit.handled == [("CLM-A", "corr-m1"), ("CLM-C", "corr-m4")]


def test_a_record_handed_back_fails_alone_with_a_warning_and_no_traceback():
    from chalicelib.observability import logger

    @contextmanager
    def begin(messages):
        yield Unit()

    def handle(batch, message, correlation_id):
        if message.claim_id == "CLM-B":
            raise BatchOutOfTime("the batch ran out of time; SQS brings this notice back")
        batch.handled.append((message.claim_id, correlation_id))

    buffer = io.StringIO()
    original = logger.registered_handler.setStream(buffer)
    try:
        answer = run_batch({"Records": [_record("m1", _received("CLM-A")), _record("m2", _received("CLM-B"))]},
                           ClaimReceived, begin, handle)
    finally:
        logger.registered_handler.setStream(original)
    assert answer == {"batchItemFailures": [{"itemIdentifier": "m2"}]}
    lines = [json.loads(line) for line in buffer.getvalue().splitlines()]
    handed_back = [line for line in lines if line["message"] == "record handed back; SQS will redeliver it"]
    assert [(line["level"], line["claim_id"], line["message_id"]) for line in handed_back] == [
        ("WARNING", "CLM-B", "m2")]
    assert "ran out of time" in handed_back[0]["reason"]
    assert not any(line["level"] == "ERROR" or "exception" in line for line in lines)


def test_a_batch_that_cannot_start_hands_every_record_back():
    @contextmanager
    def begin(messages):
        raise ConnectionError("storage down")
        yield  # pragma: no cover

    event = {"Records": [_record("m1", _received("CLM-A")), _record("m2", _received("CLM-B"))]}
    answer = run_batch(event, ClaimReceived, begin, lambda *args: None)
    assert answer == {"batchItemFailures": [{"itemIdentifier": "m1"}, {"itemIdentifier": "m2"}]}


# -- the last receive: a record SQS is about to dead-letter hands its claim to a person -----------------------

def _runner_marking(gave_up: list, give_up=None):
    @contextmanager
    def begin(messages):
        unit = Unit()
        yield unit
        unit.unsent.add("CLM-C")

    def handle(batch, message, correlation_id):
        if message.claim_id == "CLM-B":
            raise KeyError("a bug")

    def run(event):
        return run_batch(event, ClaimReceived, begin, handle,
                         give_up=give_up or (lambda claim_id, error_class: gave_up.append((claim_id, error_class))),
                         last_receive=5)
    return run


def test_only_records_failing_their_last_receive_give_up_their_claim_and_still_fail():
    gave_up: list = []
    run = _runner_marking(gave_up)
    # GIVEN a failing record and an unsent one on their 4th receive, and the same on their 5th, plus an
    # unreadable one on its 5th (no claim to mark) and a good one on its 5th
    event = {"Records": [_record("m1", _received("CLM-B"), 4), _record("m2", _received("CLM-C"), 4),
                         _record("m3", _received("CLM-B"), 5), _record("m4", _received("CLM-C"), 5),
                         _record("m5", "{not json", 5), _record("m6", _received("CLM-A"), 5)]}

    # WHEN the batch runs
    answer = run(event)

    # THEN every failed record fails as before (SQS dead-letters the last receives), and only the claims
    # of the last receives were given up, with the class of what failed them
    assert answer == {"batchItemFailures": [{"itemIdentifier": m} for m in ("m5", "m1", "m3", "m2", "m4")]}
    assert gave_up == [("CLM-B", "KeyError"), ("CLM-C", "MessageNotQueued")]


def test_a_claim_that_cannot_be_given_up_leaves_its_record_failing_as_before():
    # GIVEN a record failing its last receive, and storage refusing to mark its claim
    def give_up(claim_id, error_class):
        raise ConnectionError("storage down")

    # WHEN the batch runs
    answer = _runner_marking([], give_up)({"Records": [_record("m1", _received("CLM-B"), 5)]})

    # THEN the record fails, as it would have: SQS dead-letters it
    assert answer == {"batchItemFailures": [{"itemIdentifier": "m1"}]}


class HistoryDown(Exception):
    """A collaborator of scoring that fails every time: the claim can never be scored."""


class BrokenHistory:
    def on_policy(self, *args):
        raise HistoryDown("claims of +8613800138000 unavailable")

    on_plate = from_phone_since = on_policy


def test_a_claim_whose_scoring_always_fails_goes_to_a_person_on_its_last_receive_and_is_never_requeued():
    # GIVEN a received claim whose scoring always raises
    claims, queue, telemetry, clock = FakeClaimRepository(), FakeClaimQueue(), FakeTelemetry(), Clock(NOW)
    scoring = scoring_service(claims, queue, telemetry, clock, history=BrokenHistory())
    new = new_claim(sub=submission(occurred_at=NOW - timedelta(days=1)), at=NOW)
    claims.add(new)
    claim_id = new.claim.claim_id

    def consume(receives: int) -> dict:  # the scoring consumer's wiring (chalicelib/consumers/pipeline.py)
        return run_batch({"Records": [_record("m1", _received(claim_id), receives)]}, ClaimReceived,
                         lambda messages: scoring.batch([m.claim_id for m in messages]),
                         lambda batch, message, correlation_id: batch.score(message.claim_id, correlation_id),
                         give_up=scoring.needs_attention, last_receive=SCORING_QUEUE.max_receive_count)

    # WHEN its message is consumed with rising receive counts, up to the queue's maxReceiveCount
    answers = {n: consume(n) for n in range(1, SCORING_QUEUE.max_receive_count)}
    assert claims.get(claim_id).status is ClaimStatus.RECEIVED  # still owed to scoring before the last
    answers[SCORING_QUEUE.max_receive_count] = consume(SCORING_QUEUE.max_receive_count)

    # THEN every receive failed (SQS dead-letters the message after the last), and on the last the claim
    # went to a person: NEEDS_ATTENTION, on the agent queue, the error's class on its timeline, counted
    assert all(a == {"batchItemFailures": [{"itemIdentifier": "m1"}]} for a in answers.values())
    claim = claims.get(claim_id)
    assert claim.status is ClaimStatus.NEEDS_ATTENTION and claim.needs_a_person
    last = claims.events(claim_id)[-1]
    assert (last.kind, last.status, last.actor, last.detail) == (
        "claim.needs_attention", ClaimStatus.NEEDS_ATTENTION, "system:scoring",
        {"stage": "scoring", "error_class": "HistoryDown"})
    assert telemetry.counts["ClaimsNeedingAttention"] == 1

    # WHEN the reconciler runs after RECONCILE_AFTER_SECONDS
    clock.advance(seconds=301)
    requeued = Reconciler(claims, queue, telemetry, after_seconds=300, clock=clock).requeue_stuck()

    # THEN it re-queues nothing: the claim is no longer owed to scoring
    assert requeued == 0 and queue.on("scoring") == []

    # WHEN the dead letter is redriven once the cause is fixed
    answer = consume(1)

    # THEN it succeeds and changes nothing
    assert answer == {"batchItemFailures": []}
    assert claims.get(claim_id) == claim and telemetry.counts["ClaimsNeedingAttention"] == 1


# -- scoring in a batch ---------------------------------------------------------------------------------------

def _motor(claims, days_ago: int) -> str:
    new = new_claim(owner="motor-direct", sub=submission(loss_type="motor_collision", amount="3200.00",
                                                        plate="沪A12345", phone="+8613700137000",
                                                        occurred_at=NOW - timedelta(days=days_ago)), at=NOW)
    claims.add(new)
    return new.claim.claim_id


def test_a_scoring_batch_whose_dispatch_messages_fail_hands_those_records_back_and_only_counts_notices():
    claims, telemetry = FakeClaimRepository(), FakeTelemetry()
    queue = FakeClaimQueue(fail=True)  # inside a batch: every message comes back unsent
    scoring = scoring_service(claims, queue, telemetry, Clock(NOW), notify_partners=True)
    first, second = _motor(claims, 1), _motor(claims, 5)

    with scoring.batch([first, second]) as batch:
        assert batch.score(first) is ClaimStatus.AWAITING_SURVEYOR
        assert batch.score(second) is ClaimStatus.AWAITING_SURVEYOR
    # THEN both are scored (stored), both records come back for their dispatch message, and the partner
    # notices that did not leave are counted, not failed
    assert batch.unsent == {first, second}
    assert telemetry.counts["NotificationsNotQueued"] == 2
    # AND scoring them again (the redelivery) changes nothing and queues the dispatch message again
    queue.fail = False
    with scoring.batch([first, second]) as again:
        assert again.score(first) is ClaimStatus.AWAITING_SURVEYOR
    assert again.unsent == set() and [s.claim_id for s in queue.on("dispatch")] == [first]
    assert claims.get(first).version == 4


def test_a_claim_read_up_front_is_used_once_then_read_again():
    claims = FakeClaimRepository()
    scoring = scoring_service(claims, FakeClaimQueue(), FakeTelemetry(), Clock(NOW))
    claim_id = _motor(claims, 1)
    reads: list[str] = []
    real_get = claims.get
    claims.get = lambda cid: reads.append(cid) or real_get(cid)

    # WHEN the same claim comes twice in one batch (a duplicate delivery)
    with scoring.batch([claim_id, claim_id]) as batch:
        batch.score(claim_id)
        batch.score(claim_id)
    # THEN the second record reads the claim as the first left it: scored once
    assert reads == [claim_id]
    assert claims.get(claim_id).version == 4


# -- notify: the batch's time budget ----------------------------------------------------------------------------

class Log:
    def __init__(self):
        self.recorded: list = []

    def delivered(self, claim_id, event_seq):
        return False

    def delivered_many(self, keys):
        return set()

    def record_many(self, deliveries):
        self.recorded += deliveries


class Callbacks:
    def callback_url(self, partner_id):
        return "https://partner.example/hooks"


class SlowSender:
    """Each post takes ``seconds`` of the batch's clock."""

    def __init__(self, clock: list[float], seconds: float):
        self.clock, self.seconds, self.posts = clock, seconds, 0

    def post(self, url, body, headers):
        self.clock[0] += self.seconds
        self.posts += 1
        return 204


def test_a_notify_batch_stops_posting_when_its_time_is_up_and_records_what_it_delivered():
    claims = FakeClaimRepository()
    ids = []
    for _ in range(5):
        new = new_claim(owner="motor-direct", sub=submission(), at=NOW)
        claims.add(new)
        ids.append(new.claim.claim_id)
    now = [0.0]
    sender, log = SlowSender(now, 6.0), Log()
    service = NotificationService(claims, Callbacks(), log, sender, FakeClaimQueue(), {"motor-direct": "s3cret"},
                                  FakeTelemetry(), clock=lambda: now[0])
    outcomes = []
    with service.batch([Notice(i, 1, "IN_REVIEW") for i in ids]) as batch:
        for claim_id in ids:
            try:
                outcomes.append(batch.deliver(Notice(claim_id, 1, "IN_REVIEW")))
            except BatchOutOfTime:
                outcomes.append("out_of_time")
    # THEN posting stops once the 20 s budget is spent (6 s a post): the rest go back to SQS untouched,
    # and the deliveries made are recorded together when the batch ends
    assert outcomes == ["delivered"] * 4 + ["out_of_time"]
    assert sender.posts == 4
    assert [d.claim_id for d in log.recorded] == ids[:4]
    assert batch.unsent == set()


def test_a_notify_batch_knows_what_it_delivered_itself():
    claims = FakeClaimRepository()
    new = new_claim(owner="motor-direct", sub=submission(), at=NOW)
    claims.add(new)
    now = [0.0]
    sender = SlowSender(now, 1.0)
    service = NotificationService(claims, Callbacks(), Log(), sender, FakeClaimQueue(), {"motor-direct": "s3cret"},
                                  FakeTelemetry(), clock=lambda: now[0])
    notice = Notice(new.claim.claim_id, 1, "IN_REVIEW")
    with service.batch([notice, notice]) as batch:
        assert [batch.deliver(notice), batch.deliver(notice)] == ["delivered", "already_delivered"]
    assert sender.posts == 1
