"""Partner notifications: one message per status change; the service posts it, signed, to the
partner's callback. A failed delivery is re-queued by the service with a growing delay (and parked in
the DLQ after repeated failure), so the record itself succeeds; only an unreadable message or a
failure of our own (storage, queue) fails the record, for SQS to redeliver or dead-letter."""
from __future__ import annotations

from chalice import Blueprint

from chalicelib.adapters.resources import NOTIFY_QUEUE
from chalicelib.bootstrap import container
from chalicelib.consumers.pipeline import record_context, process_batch
from chalicelib.observability import bind
from chalicelib.schemas.messages import PartnerNotice
from chalicelib.services.notify import Notice

bp = Blueprint(__name__)


def notify_record(record) -> None:
    correlation_id = record_context(record)
    message = PartnerNotice.model_validate_json(record.body)
    bind(claim_id=message.claim_id)
    container().notifications.deliver(Notice(message.claim_id, message.event_seq, message.status, message.attempt,
                                              correlation_id))


@bp.on_sqs_message(queue=NOTIFY_QUEUE.name, batch_size=NOTIFY_QUEUE.batch_size)
def notify_partners(event):
    return process_batch(event.to_dict(), notify_record)
