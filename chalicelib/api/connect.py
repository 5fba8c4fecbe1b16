"""Amazon Connect: Lambda functions invoked from contact flows.

Connect passes a ``ContactFlowEvent`` and wants a flat map of strings back (letters, digits, '-' and
'_' only), within 8 seconds. So these functions never raise: any failure is an answer with
``result=error`` that the flow can branch on, and their AWS clients get short timeouts and a small
retry budget (set per function in .chalice/config.json). No personal data goes into an answer.
"""
from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING

from chalice import Blueprint
from pydantic import ValidationError

from chalicelib.bootstrap import container
from chalicelib.domain.claim import Channel
from chalicelib.domain.errors import DomainError
from chalicelib.domain.ivr import language_or_default, voice_reference
from chalicelib.observability import bind, logger, observed
from chalicelib.services.callers import IncomingCall, PhoneReport

if TYPE_CHECKING:
    from chalicelib.schemas.ivr import ContactFlowEvent

    SecondsLeft = Callable[[], float]

bp = Blueprint(__name__)

OWNER = "ivr:connect"


def _seconds_left(context) -> Callable[[], float]:
    """Remaining time of this invocation (Connect itself gives up at 8 s)."""
    def left() -> float:
        remaining = getattr(context, "get_remaining_time_in_millis", None)
        return remaining() / 1000 if callable(remaining) else float("inf")
    return left


def _flat(answer: dict[str, object]) -> dict[str, str]:
    from chalicelib.schemas.ivr import connect_value

    return {key: connect_value(value) for key, value in answer.items()}


def _parse(event: dict) -> ContactFlowEvent | None:
    # The IVR schemas are imported on the first call, not with the module: app.py imports this module
    # for the API handler too, whose requests never need them.
    from chalicelib.schemas.ivr import ContactFlowEvent

    try:
        return ContactFlowEvent.model_validate(event)
    except ValidationError:
        return None


def _contact_flow(answer: Callable[[ContactFlowEvent, SecondsLeft], dict[str, object]]):
    """What every Connect function does around its answer: read the contact-flow event (anything else
    is answered ``result=error, BAD_EVENT``), tag the log lines with the ContactId, and flatten the
    answer to what Connect accepts."""
    @functools.wraps(answer)
    def handler(event, context):
        flow = _parse(event)
        if flow is None:
            logger.warning("not a contact-flow event")
            return _flat({"result": "error", "error_code": "BAD_EVENT"})
        bind(correlation_id=flow.details.contact_data.contact_id)
        return _flat(answer(flow, _seconds_left(context)))
    return handler


@observed
@bp.lambda_function(name="connect_identify_caller")
@_contact_flow
def connect_identify_caller(flow: ContactFlowEvent, seconds_left: SecondsLeft) -> dict[str, object]:
    """Who is calling: one DynamoDB query on the caller's number."""
    callers = container().callers
    try:
        caller = callers.identify_call(
            IncomingCall(Channel.IVR_CONNECT, flow.details.contact_data.contact_id, flow.caller), seconds_left)
    except Exception:  # noqa: BLE001 - the flow goes on without a screen pop
        logger.exception("caller identification failed")
        return {"result": "error", "error_code": "UNAVAILABLE", "customer_found": False, "language": "zh-CN"}
    return {
        "result": "ok",
        "customer_found": caller.found,
        "customer_ref": caller.customer_id,
        "active_policies": caller.active_policies,
        "several_policies": caller.ambiguous,
        "primary_policy": caller.primary_policy,
        "primary_product": caller.primary_product,
        "open_claim": caller.open_claim_id is not None,
        "open_claim_id": caller.open_claim_id,
        "open_claim_reference": voice_reference(caller.open_claim_id) if caller.open_claim_id else "",
        "language": caller.language,
    }


@observed
@bp.lambda_function(name="connect_report_claim")
@_contact_flow
def connect_report_claim(flow: ContactFlowEvent, seconds_left: SecondsLeft) -> dict[str, object]:
    """A claim from the call: idempotent on the ContactId; the reference is answered for the prompt."""
    contact_id = flow.details.contact_data.contact_id
    loss_type = flow.loss_type
    if loss_type is None:
        return {"result": "invalid", "error_code": "LOSS_TYPE_UNKNOWN"}
    report = PhoneReport(
        channel=Channel.IVR_CONNECT, owner=OWNER, call_id=contact_id, caller=flow.caller, loss_type=loss_type,
        amount=flow.amount, policy_number=flow.value("policy_number"), region_code=flow.region_code,
        correlation_id=contact_id)
    try:
        accepted = container().phone_intake.report(report, seconds_left)
    except DomainError as error:
        logger.warning("phone report refused", extra={"code": error.code})
        return {"result": "error", "error_code": error.code}
    except Exception:  # noqa: BLE001 - the flow offers an agent instead
        logger.exception("phone report failed")
        return {"result": "error", "error_code": "UNAVAILABLE"}
    reference = voice_reference(accepted.claim_id)
    return {
        "result": "already_reported" if accepted.already_reported else "created",
        "claim_id": accepted.claim_id,
        "claim_reference": reference,
        # one character at a time, for a prompt that reads it as text; or read claim_reference with
        # SSML <say-as interpret-as="characters">
        "claim_reference_spoken": "-".join(reference),
        "claim_status": accepted.status.value,
        "language": language_or_default(flow.value("language")),
    }
