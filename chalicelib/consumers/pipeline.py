"""Queue consumers of the claim pipeline. Per record: parse, call one service; the batch reports
only the records that failed (``batchItemFailures``), so SQS redelivers just those and moves a
record that keeps failing to the queue's DLQ after ``maxReceiveCount`` receives."""
from __future__ import annotations

from typing import TYPE_CHECKING

from chalice import Blueprint

from chalicelib.adapters.resources import DISPATCH_QUEUE, SCORING_QUEUE
from chalicelib.bootstrap import container
from chalicelib.observability import bind, logger, unbind
from chalicelib.schemas.messages import CORRELATION_ATTRIBUTE, ClaimReceived, SurveyNeeded

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

bp = Blueprint(__name__)


def _correlation_id(record: "SQSRecord") -> str | None:
    attribute = record.message_attributes[CORRELATION_ATTRIBUTE]
    return attribute.string_value if attribute else None


def record_context(record: "SQSRecord") -> str | None:
    correlation_id = _correlation_id(record)
    bind(correlation_id=correlation_id, message_id=record.message_id,
         receive_count=record.attributes.approximate_receive_count)
    return correlation_id


def score_record(record: "SQSRecord") -> None:
    correlation_id = record_context(record)
    message = ClaimReceived.model_validate_json(record.body)
    bind(claim_id=message.claim_id)
    container().scoring.score(message.claim_id, correlation_id)


def dispatch_record(record: "SQSRecord") -> None:
    correlation_id = record_context(record)
    message = SurveyNeeded.model_validate_json(record.body)
    bind(claim_id=message.claim_id)
    container().dispatch.dispatch(message.claim_id, correlation_id, message.attempt)


def _logged(handler):
    def run(record: "SQSRecord") -> None:
        try:
            handler(record)
        except Exception:
            logger.exception("record failed; SQS will redeliver it")
            raise
        finally:
            unbind("correlation_id", "message_id", "receive_count", "claim_id")
    return run


def process_batch(raw_event: dict, handler) -> dict:
    """Runs ``handler`` on every record; answers ``{"batchItemFailures": [...]}``. Powertools' batch
    utility is imported here: the API and Connect functions share this module and never need it."""
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    return process_partial_response(event=raw_event, record_handler=_logged(handler), processor=processor)


@bp.on_sqs_message(queue=SCORING_QUEUE.name, batch_size=SCORING_QUEUE.batch_size)
def score_claims(event):
    return process_batch(event.to_dict(), score_record)


@bp.on_sqs_message(queue=DISPATCH_QUEUE.name, batch_size=DISPATCH_QUEUE.batch_size)
def dispatch_claims(event):
    return process_batch(event.to_dict(), dispatch_record)


@bp.schedule("rate(5 minutes)")
def reconcile_claims(event):
    """Re-queues claims that were stored but never reached the scoring queue."""
    return {"requeued": container().reconciler.requeue_stuck()}
