"""Contacts consumer: writes the queued contact entries of IVR calls, a batch per BatchWriteItem.

A message that cannot be read fails alone (and reaches the DLQ after ``maxReceiveCount``). A batch write
that fails is tried again entry by entry, so only the entries that really cannot be written are
reported back for SQS to redeliver. Entries are keyed by time, call id and kind, so a redelivered
entry overwrites itself: idempotent.
"""
from __future__ import annotations

from chalice import Blueprint
from pydantic import ValidationError

from chalicelib.adapters.resources import CONTACTS_QUEUE
from chalicelib.bootstrap import container
from chalicelib.domain.caller import Contact
from chalicelib.observability import logger, observed
from chalicelib.schemas.messages import ContactRecorded

bp = Blueprint(__name__)
# Entry-by-entry writes stop after this many failures in a row: each costs botocore's retries, and a
# whole batch failing one entry after another means storage is down, not that the entries are bad.
_GIVE_UP_AFTER = 2


def _read(record: dict) -> Contact:
    message = ContactRecorded.model_validate_json(record.get("body") or "")
    return Contact(**message.model_dump(exclude={"v", "type"}))


def record_batch(records: list[dict]) -> dict:
    failures: list[str] = []
    readable: list[tuple[str, Contact]] = []
    for record in records:
        message_id = record.get("messageId", "")
        try:
            readable.append((message_id, _read(record)))
        except ValidationError:
            logger.error("unreadable contact message; SQS will redeliver it, then dead-letter it",
                         extra={"message_id": message_id})
            failures.append(message_id)
        except Exception:  # noqa: BLE001 - one record's surprise never fails the others
            logger.exception("contact message failed; SQS will redeliver it", extra={"message_id": message_id})
            failures.append(message_id)
    if readable:
        failures += _write(readable)
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failures]}


def _write(readable: list[tuple[str, Contact]]) -> list[str]:
    """Message ids of the entries not written: one BatchWriteItem for all, and only if that fails, one
    write per entry (rewriting an entry already written changes nothing)."""
    callers = container().callers
    try:
        callers.store_contacts([contact for _, contact in readable])
        return []
    except Exception:  # noqa: BLE001 - narrowed down entry by entry below
        if len(readable) == 1:
            logger.exception("contact entry not written; SQS will redeliver it")
            return [readable[0][0]]
        logger.exception("contact batch not written; writing its entries one by one",
                         extra={"records": len(readable)})
    failed: list[str] = []
    in_a_row = 0
    for message_id, contact in readable:
        if in_a_row >= _GIVE_UP_AFTER:  # storage looks down: the rest come back without more calls
            failed.append(message_id)
            continue
        try:
            callers.store_contacts([contact])
            in_a_row = 0
        except Exception:  # noqa: BLE001 - this entry comes back from SQS
            logger.exception("contact entry not written; SQS will redeliver it", extra={"message_id": message_id})
            failed.append(message_id)
            in_a_row += 1
    return failed


@observed
@bp.on_sqs_message(queue=CONTACTS_QUEUE.name, batch_size=CONTACTS_QUEUE.batch_size)
def record_contacts(event):
    return record_batch(event.to_dict().get("Records", []))
