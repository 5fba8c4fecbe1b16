"""SQS publisher for the claim pipeline. The only module that sends queue messages."""
from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime

from chalicelib.adapters.resources import CONTACTS_QUEUE, DISPATCH_QUEUE, NOTIFY_QUEUE, SCORING_QUEUE
from chalicelib.domain.caller import Contact
from chalicelib.observability import current_correlation_id
from chalicelib.schemas.messages import (
    CORRELATION_ATTRIBUTE,
    ClaimReceived,
    ContactRecorded,
    PartnerNotice,
    SurveyNeeded,
)

_SEND_BATCH = 10  # SendMessageBatch's limit
_KINDS = {"scoring": SCORING_QUEUE.name, "dispatch": DISPATCH_QUEUE.name, "notify": NOTIFY_QUEUE.name,
          "notify-dlq": NOTIFY_QUEUE.dlq_name}


def _attributes(correlation_id: str | None) -> dict:
    if not correlation_id:
        return {}
    return {CORRELATION_ATTRIBUTE: {"DataType": "String", "StringValue": correlation_id}}


@dataclass
class Outbox:
    """Messages held back while a consumer works through its batch, then sent ten to a
    SendMessageBatch. ``unsent`` lists (kind, claim id) of the messages SQS did not take; the kinds are
    ``scoring``, ``dispatch``, ``notify`` and ``notify-dlq``."""
    messages: list[tuple[str, str, dict]] = field(default_factory=list)  # (queue kind, claim id, entry)
    unsent: list[tuple[str, str]] = field(default_factory=list)  # (queue kind, claim id)


class SqsClaimQueue:
    """Queue URLs come from settings; when absent they are looked up once per container.

    Inside ``deferred()`` (one consumer batch, this thread only) messages are collected and sent on
    exit with SendMessageBatch; elsewhere each is one SendMessage."""

    @property
    def client(self):
        """The SQS client it sends with (the benchmarks and tests count its calls)."""
        return self._client

    def __init__(self, client, scoring_url: str | None = None, dispatch_url: str | None = None,
                 notify_url: str | None = None, notify_dlq_url: str | None = None):
        self._client = client
        self._urls = {SCORING_QUEUE.name: scoring_url, DISPATCH_QUEUE.name: dispatch_url,
                      NOTIFY_QUEUE.name: notify_url, NOTIFY_QUEUE.dlq_name: notify_dlq_url}
        self._lock = threading.Lock()
        self._local = threading.local()

    def _url(self, name: str) -> str:
        url = self._urls.get(name)
        if url is None:
            with self._lock:
                url = self._urls.get(name) or self._client.get_queue_url(QueueName=name)["QueueUrl"]
                self._urls[name] = url
        return url

    def to_scoring(self, claim_id: str, correlation_id: str | None, delay_seconds: int = 0) -> None:
        """One SendMessage (or, inside ``deferred()``, one entry of the batch's SendMessageBatch). A
        delay brings a claim awaiting its photos back when its photo window closes."""
        self._send("scoring", claim_id, ClaimReceived(claim_id=claim_id).model_dump_json(), correlation_id,
                   delay_seconds)

    def many_to_scoring(self, claims: list[tuple[str, str | None]]) -> list[str]:
        failed: list[str] = []
        url = self._url(SCORING_QUEUE.name)
        for start in range(0, len(claims), _SEND_BATCH):
            chunk = claims[start:start + _SEND_BATCH]
            entries = [{"Id": str(n), "MessageBody": ClaimReceived(claim_id=cid).model_dump_json(),
                        "MessageAttributes": _attributes(corr)} for n, (cid, corr) in enumerate(chunk)]
            try:
                response = self._client.send_message_batch(QueueUrl=url, Entries=entries)
            except Exception:  # noqa: BLE001 - reported to the caller as unsent
                failed += [cid for cid, _ in chunk]
                continue
            failed += [chunk[int(f["Id"])][0] for f in response.get("Failed", [])]
        return failed

    @contextmanager
    def deferred(self) -> Iterator[Outbox]:
        outbox = Outbox()
        self._local.outbox = outbox
        try:
            yield outbox
        finally:
            self._local.outbox = None
            self._flush(outbox)

    def _send(self, kind: str, claim_id: str, body: str, correlation_id: str | None,
              delay_seconds: int = 0) -> None:
        entry: dict[str, object] = {"MessageBody": body, "MessageAttributes": _attributes(correlation_id)}
        if delay_seconds:
            entry["DelaySeconds"] = delay_seconds
        outbox = getattr(self._local, "outbox", None)
        if outbox is not None:
            outbox.messages.append((kind, claim_id, entry))
            return
        self._client.send_message(QueueUrl=self._url(_KINDS[kind]), **entry)

    def _flush(self, outbox: Outbox) -> None:
        by_queue: dict[str, list[tuple[str, dict]]] = {}
        for kind, claim_id, entry in outbox.messages:
            by_queue.setdefault(kind, []).append((claim_id, entry))
        for kind, messages in by_queue.items():
            for start in range(0, len(messages), _SEND_BATCH):
                chunk = messages[start:start + _SEND_BATCH]
                try:
                    response = self._client.send_message_batch(
                        QueueUrl=self._url(_KINDS[kind]),
                        Entries=[{"Id": str(n), **entry} for n, (_, entry) in enumerate(chunk)])
                except Exception:  # noqa: BLE001 - reported back as unsent; the caller decides
                    outbox.unsent += [(kind, claim_id) for claim_id, _ in chunk]
                    continue
                outbox.unsent += [(kind, chunk[int(f["Id"])][0]) for f in response.get("Failed", [])]

    def scoring_backlog(self) -> int | None:
        """One GetQueueAttributes; None when it fails (the caller then acts as if it did not know)."""
        try:
            attributes = self._client.get_queue_attributes(
                QueueUrl=self._url(SCORING_QUEUE.name),
                AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
            )["Attributes"]
            return sum(int(attributes.get(name, 0)) for name in ("ApproximateNumberOfMessages",
                                                                 "ApproximateNumberOfMessagesNotVisible"))
        except Exception:  # noqa: BLE001 - the reconciler then re-queues as it would without the check
            return None

    def to_dispatch(self, claim_id: str, correlation_id: str | None, attempt: int = 0,
                    delay_seconds: int = 0) -> None:
        self._send("dispatch", claim_id, SurveyNeeded(claim_id=claim_id, attempt=attempt).model_dump_json(),
                   correlation_id, delay_seconds)

    def to_notify(self, claim_id: str, event_seq: int, status: str, correlation_id: str | None, attempt: int = 0,
                  delay_seconds: int = 0, at: datetime | None = None) -> None:
        body = PartnerNotice(claim_id=claim_id, event_seq=event_seq, status=status, attempt=attempt, at=at)
        self._send("notify", claim_id, body.model_dump_json(exclude_none=True), correlation_id, delay_seconds)

    def to_notify_dead_letters(self, claim_id: str, event_seq: int, status: str, attempt: int,
                               correlation_id: str | None, at: datetime | None = None) -> None:
        """A notification that kept failing, parked in the notify queue's DLQ for a person to redrive."""
        body = PartnerNotice(claim_id=claim_id, event_seq=event_seq, status=status, attempt=attempt, at=at)
        self._send("notify-dlq", claim_id, body.model_dump_json(exclude_none=True), correlation_id)


class SqsContactLog:
    """One SendMessage per contact entry; the ``record_contacts`` consumer writes them in batches."""

    def __init__(self, client, url: str | None = None):
        self._client = client
        self._url = url
        self._lock = threading.Lock()

    def record(self, contact: Contact) -> None:
        if self._url is None:
            with self._lock:
                self._url = self._url or self._client.get_queue_url(QueueName=CONTACTS_QUEUE.name)["QueueUrl"]
        self._client.send_message(QueueUrl=self._url,
                                  MessageBody=ContactRecorded(**asdict(contact)).model_dump_json(),
                                  MessageAttributes=_attributes(current_correlation_id()))
