"""Queue consumers of the claim pipeline. A batch is one unit of work (``services/batches.py``): the
service reads what the batch needs up front and sends its messages together at the end, while each
record is still handled, logged and failed on its own. The batch answers only the records that failed
(``batchItemFailures``), so SQS redelivers just those and moves a record that keeps failing to the
queue's DLQ after ``maxReceiveCount`` receives."""
from __future__ import annotations

from typing import Callable

from chalice import Blueprint

from chalicelib.adapters.resources import DISPATCH_QUEUE, SCORING_QUEUE
from chalicelib.bootstrap import container
from chalicelib.observability import bind, logger, observed, unbind
from chalicelib.schemas.messages import CORRELATION_ATTRIBUTE, ClaimReceived, SurveyNeeded
from chalicelib.services.batches import HandedBack

bp = Blueprint(__name__)


def record_context(record: dict) -> str | None:
    """Binds the record's correlation id, message id and receive count to every log line; returns
    the correlation id."""
    attribute = (record.get("messageAttributes") or {}).get(CORRELATION_ATTRIBUTE) or {}
    correlation_id = attribute.get("stringValue")
    bind(correlation_id=correlation_id, message_id=record.get("messageId"),
         receive_count=(record.get("attributes") or {}).get("ApproximateReceiveCount"))
    return correlation_id


def run_batch(raw_event: dict, message_type, begin: Callable, handle: Callable) -> dict:
    """Parses every record as ``message_type``; ``begin(messages)`` opens the service's batch, and
    ``handle(batch, message, correlation_id)`` runs one record in it. Answers the failed records: those
    that could not be read or raised, and those whose required message the batch could not send."""
    failed: list[str] = []
    readable: list[tuple[str, object, str | None]] = []
    for record in raw_event.get("Records") or []:
        message_id = record.get("messageId", "")
        correlation_id = record_context(record)
        try:
            readable.append((message_id, message_type.model_validate_json(record.get("body") or ""), correlation_id))
        except Exception:  # noqa: BLE001 - an unreadable record fails alone and ends in the DLQ
            logger.exception("unreadable message; SQS will redeliver it, then dead-letter it")
            failed.append(message_id)
        finally:
            unbind("correlation_id", "message_id", "receive_count")
    if not readable:
        return _answer(failed)
    handled: list[tuple[str, str]] = []
    try:
        with begin([message for _, message, _ in readable]) as batch:
            for message_id, message, correlation_id in readable:
                bind(correlation_id=correlation_id, message_id=message_id, claim_id=message.claim_id)
                try:
                    handle(batch, message, correlation_id)
                    handled.append((message_id, message.claim_id))
                except HandedBack as exc:
                    logger.warning("record handed back; SQS will redeliver it", extra={"reason": str(exc)})
                    failed.append(message_id)
                except Exception:  # noqa: BLE001 - this record comes back; the others go on
                    logger.exception("record failed; SQS will redeliver it")
                    failed.append(message_id)
                finally:
                    unbind("correlation_id", "message_id", "claim_id")
    except Exception:  # noqa: BLE001 - the batch's reads or writes failed: every record comes back
        logger.exception("batch failed; SQS will redeliver its records", extra={"records": len(readable)})
        return _answer(failed + [message_id for message_id, _, _ in readable if message_id not in failed])
    failed += [message_id for message_id, claim_id in handled if claim_id in batch.unsent]
    return _answer(failed)


def _answer(failed: list[str]) -> dict:
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in dict.fromkeys(failed)]}


@observed
@bp.on_sqs_message(queue=SCORING_QUEUE.name, batch_size=SCORING_QUEUE.batch_size)
def score_claims(event):
    scoring = container().scoring
    return run_batch(event.to_dict(), ClaimReceived, lambda messages: scoring.batch([m.claim_id for m in messages]),
                     lambda batch, message, correlation_id: batch.score(message.claim_id, correlation_id))


@observed
@bp.on_sqs_message(queue=DISPATCH_QUEUE.name, batch_size=DISPATCH_QUEUE.batch_size)
def dispatch_claims(event):
    dispatch = container().dispatch
    return run_batch(event.to_dict(), SurveyNeeded, lambda messages: dispatch.batch([m.claim_id for m in messages]),
                     lambda batch, message, correlation_id: batch.dispatch(message.claim_id, correlation_id,
                                                                           message.attempt))


@observed
@bp.schedule("rate(5 minutes)")
def reconcile_claims(event):
    """Re-queues claims that were stored but never reached the scoring queue."""
    return {"requeued": container().reconciler.requeue_stuck()}
