"""SQS publisher for the claim pipeline. The only module that sends queue messages."""
from __future__ import annotations

import threading

from dataclasses import asdict

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


def _attributes(correlation_id: str | None) -> dict:
    if not correlation_id:
        return {}
    return {CORRELATION_ATTRIBUTE: {"DataType": "String", "StringValue": correlation_id}}


class SqsClaimQueue:
    """Queue URLs come from settings; when absent they are looked up once per container."""

    def __init__(self, client, scoring_url: str | None = None, dispatch_url: str | None = None,
                 notify_url: str | None = None, notify_dlq_url: str | None = None):
        self._client = client
        self._urls = {SCORING_QUEUE.name: scoring_url, DISPATCH_QUEUE.name: dispatch_url,
                      NOTIFY_QUEUE.name: notify_url, NOTIFY_QUEUE.dlq_name: notify_dlq_url}
        self._lock = threading.Lock()

    def _url(self, name: str) -> str:
        url = self._urls.get(name)
        if url is None:
            with self._lock:
                url = self._urls.get(name) or self._client.get_queue_url(QueueName=name)["QueueUrl"]
                self._urls[name] = url
        return url

    def to_scoring(self, claim_id: str, correlation_id: str | None) -> None:
        self._client.send_message(QueueUrl=self._url(SCORING_QUEUE.name),
                                  MessageBody=ClaimReceived(claim_id=claim_id).model_dump_json(),
                                  MessageAttributes=_attributes(correlation_id))

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

    def to_dispatch(self, claim_id: str, correlation_id: str | None, attempt: int = 0,
                    delay_seconds: int = 0) -> None:
        self._client.send_message(QueueUrl=self._url(DISPATCH_QUEUE.name),
                                  MessageBody=SurveyNeeded(claim_id=claim_id, attempt=attempt).model_dump_json(),
                                  MessageAttributes=_attributes(correlation_id),
                                  DelaySeconds=delay_seconds)

    def to_notify(self, claim_id: str, event_seq: int, status: str, correlation_id: str | None, attempt: int = 0,
                  delay_seconds: int = 0) -> None:
        body = PartnerNotice(claim_id=claim_id, event_seq=event_seq, status=status, attempt=attempt)
        self._client.send_message(QueueUrl=self._url(NOTIFY_QUEUE.name), MessageBody=body.model_dump_json(),
                                  MessageAttributes=_attributes(correlation_id), DelaySeconds=delay_seconds)

    def to_notify_dead_letters(self, claim_id: str, event_seq: int, status: str, attempt: int,
                               correlation_id: str | None) -> None:
        """A notification that kept failing, parked in the notify queue's DLQ for a person to redrive."""
        body = PartnerNotice(claim_id=claim_id, event_seq=event_seq, status=status, attempt=attempt)
        self._client.send_message(QueueUrl=self._url(NOTIFY_QUEUE.dlq_name), MessageBody=body.model_dump_json(),
                                  MessageAttributes=_attributes(correlation_id))


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
