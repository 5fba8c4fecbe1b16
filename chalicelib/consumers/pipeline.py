"""Queue consumers of the claim pipeline. A batch is one unit of work (``services/batches.py``): the
service reads what the batch needs up front and sends its messages together at the end, while each
record is still handled, logged and failed on its own. The batch answers only the records that failed
(``batchItemFailures``), so SQS redelivers just those and moves a record that keeps failing to the
queue's DLQ after ``maxReceiveCount`` receives; on that last receive its claim goes to a person."""
from __future__ import annotations

from collections.abc import Callable

from chalice import Blueprint

from chalicelib.adapters.resources import DISPATCH_QUEUE, SCORING_QUEUE
from chalicelib.bootstrap import container
from chalicelib.observability import bind, logger, observed, unbind
from chalicelib.schemas.messages import CORRELATION_ATTRIBUTE, ClaimMessage, ClaimReceived, SurveyNeeded
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


def run_batch(raw_event: dict, message_type: type[ClaimMessage], begin: Callable, handle: Callable,
              give_up: Callable[[str, str], object] | None = None, last_receive: int | None = None) -> dict:
    """Parses every record as ``message_type``; ``begin(messages)`` opens the service's batch, and
    ``handle(batch, message, correlation_id)`` runs one record in it. Answers the failed records: those
    that could not be read or raised, and those whose required message the batch could not send.

    A record that fails its ``last_receive`` (the queue's maxReceiveCount) goes to the DLQ: first
    ``give_up(claim_id, error_class)`` hands its claim to a person. The record fails all the same (the
    DLQ keeps the message for a redrive), and if giving up fails too, nothing else changes."""
    failed: list[str] = []
    readable: list[tuple[str, ClaimMessage, str | None, int]] = []
    for record in raw_event.get("Records") or []:
        message_id = record.get("messageId", "")
        correlation_id = record_context(record)
        try:
            readable.append((message_id, message_type.model_validate_json(record.get("body") or ""), correlation_id,
                             _receive_count(record)))
        except Exception:  # noqa: BLE001 - an unreadable record fails alone and ends in the DLQ
            logger.exception("unreadable message; SQS will redeliver it, then dead-letter it")
            failed.append(message_id)
        finally:
            unbind("correlation_id", "message_id", "receive_count")
    if not readable:
        return _answer(failed)
    handled: list[tuple[str, str]] = []
    errors: dict[str, str] = {}  # message id -> class of what failed it
    try:
        with begin([message for _, message, _, _ in readable]) as batch:
            for message_id, message, correlation_id, _ in readable:
                bind(correlation_id=correlation_id, message_id=message_id, claim_id=message.claim_id)
                try:
                    handle(batch, message, correlation_id)
                    handled.append((message_id, message.claim_id))
                except HandedBack as exc:
                    logger.warning("record handed back; SQS will redeliver it", extra={"reason": str(exc)})
                    errors[message_id] = type(exc).__name__
                except Exception as exc:  # noqa: BLE001 - this record comes back; the others go on
                    logger.exception("record failed; SQS will redeliver it")
                    errors[message_id] = type(exc).__name__
                finally:
                    unbind("correlation_id", "message_id", "claim_id")
    except Exception as exc:  # noqa: BLE001 - the batch's reads or writes failed: every record comes back
        logger.exception("batch failed; SQS will redeliver its records", extra={"records": len(readable)})
        errors = {message_id: errors.get(message_id, type(exc).__name__) for message_id, _, _, _ in readable}
    else:
        errors.update({message_id: "MessageNotQueued" for message_id, claim_id in handled if claim_id in batch.unsent})
    if give_up is not None and last_receive is not None:
        _give_up_last_receives(readable, errors, give_up, last_receive)
    return _answer(failed + list(errors))


def _receive_count(record: dict) -> int:
    try:
        return int((record.get("attributes") or {}).get("ApproximateReceiveCount") or 1)
    except ValueError:
        return 1


def _give_up_last_receives(readable: list, errors: dict[str, str], give_up: Callable[[str, str], object],
                           last_receive: int) -> None:
    for message_id, message, correlation_id, receives in readable:
        if message_id not in errors or receives < last_receive:
            continue
        bind(correlation_id=correlation_id, message_id=message_id, claim_id=message.claim_id)
        try:
            give_up(message.claim_id, errors[message_id])
        except Exception:  # noqa: BLE001 - the record fails as it would have; the DLQ alarm still sees it
            logger.exception("could not hand the claim to a person; its message goes to the DLQ")
        finally:
            unbind("correlation_id", "message_id", "claim_id")


def _answer(failed: list[str]) -> dict:
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in dict.fromkeys(failed)]}


@observed
@bp.on_sqs_message(queue=SCORING_QUEUE.name, batch_size=SCORING_QUEUE.batch_size)
def score_claims(event):
    scoring = container().scoring
    return run_batch(event.to_dict(), ClaimReceived, lambda messages: scoring.batch([m.claim_id for m in messages]),
                     lambda batch, message, correlation_id: batch.score(message.claim_id, correlation_id),
                     give_up=scoring.needs_attention, last_receive=SCORING_QUEUE.max_receive_count)


@observed
@bp.on_sqs_message(queue=DISPATCH_QUEUE.name, batch_size=DISPATCH_QUEUE.batch_size)
def dispatch_claims(event):
    dispatch = container().dispatch
    return run_batch(event.to_dict(), SurveyNeeded, lambda messages: dispatch.batch([m.claim_id for m in messages]),
                     lambda batch, message, correlation_id: batch.dispatch(message.claim_id, correlation_id,
                                                                           message.attempt),
                     give_up=dispatch.needs_attention, last_receive=DISPATCH_QUEUE.max_receive_count)


@observed
@bp.schedule("rate(5 minutes)")
def reconcile_claims(event):
    """Re-queues claims that were stored but never reached the scoring queue."""
    return {"requeued": container().reconciler.requeue_stuck()}
