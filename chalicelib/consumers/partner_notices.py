"""Partner notifications: one message per status change; the service posts it, signed, to the
partner's callback. A failed delivery is re-queued by the service with a growing delay (and parked in
the DLQ after repeated failure), so the record itself succeeds; only an unreadable message, a failure
of our own (storage, queue) or a batch out of time fails the record, for SQS to redeliver or
dead-letter."""
from __future__ import annotations

from chalice import Blueprint

from chalicelib.adapters.resources import NOTIFY_QUEUE
from chalicelib.bootstrap import container
from chalicelib.consumers.pipeline import run_batch
from chalicelib.observability import observed
from chalicelib.schemas.messages import PartnerNotice
from chalicelib.services.partner_notices import Notice


def _notice(message: PartnerNotice, correlation_id: str | None = None) -> Notice:
    return Notice(message.claim_id, message.event_seq, message.status, message.attempt, correlation_id, message.at)


bp = Blueprint(__name__)


@observed
@bp.on_sqs_message(queue=NOTIFY_QUEUE.name, batch_size=NOTIFY_QUEUE.batch_size)
def notify_partners(event):
    notifications = container().notifications
    return run_batch(event.to_dict(), PartnerNotice,
                     lambda messages: notifications.batch([_notice(m) for m in messages]),
                     lambda batch, message, correlation_id: batch.deliver(_notice(message, correlation_id)))
