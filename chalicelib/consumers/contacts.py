"""Contacts consumer: writes the queued contact entries of IVR calls, a batch per BatchWriteItem.

A message that cannot be read fails alone (and reaches the DLQ after ``maxReceiveCount``); a write
that fails fails the readable ones of the batch, which SQS redelivers. Entries are keyed by time,
call id and kind, so a redelivered entry overwrites itself: idempotent.
"""
from __future__ import annotations

from chalice import Blueprint
from pydantic import ValidationError

from chalicelib.adapters.resources import CONTACTS_QUEUE
from chalicelib.bootstrap import container
from chalicelib.domain.caller import Contact
from chalicelib.observability import logger
from chalicelib.schemas.messages import ContactRecorded

bp = Blueprint(__name__)


def record_batch(records: list[dict]) -> dict:
    failures: list[str] = []
    readable: list[tuple[str, Contact]] = []
    for record in records:
        message_id = record.get("messageId", "")
        try:
            message = ContactRecorded.model_validate_json(record.get("body") or "")
        except ValidationError:
            logger.error("unreadable contact message; SQS will redeliver it, then dead-letter it",
                         extra={"message_id": message_id})
            failures.append(message_id)
            continue
        readable.append((message_id, Contact(**message.model_dump(exclude={"v", "type"}))))
    if readable:
        try:
            container().callers.store_contacts([contact for _, contact in readable])
        except Exception:  # noqa: BLE001 - every readable record of the batch comes back
            logger.exception("contact batch not written; SQS will redeliver it", extra={"records": len(readable)})
            failures += [message_id for message_id, _ in readable]
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failures]}


@bp.on_sqs_message(queue=CONTACTS_QUEUE.name, batch_size=CONTACTS_QUEUE.batch_size)
def record_contacts(event):
    return record_batch(event.to_dict().get("Records", []))
