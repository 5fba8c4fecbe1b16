"""Any other IVR vendor: signed JSON events (``call.started``, ``claim.reported``)."""
from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from pydantic import ValidationError

from chalicelib.api.http import ApiBlueprint, json_response, load_json, read_json_body
from chalicelib.bootstrap import container
from chalicelib.domain.claim import Channel
from chalicelib.domain.errors import FieldProblem, ValidationFailed
from chalicelib.domain.ivr import voice_reference
from chalicelib.domain.signatures import SignatureRejected, signed_at, verify_webhook
from chalicelib.observability import bind, logger
from chalicelib.schemas.claims import problems_of
from chalicelib.services.callers import IncomingCall, PhoneReport

if TYPE_CHECKING:
    from chalicelib.schemas.ivr import CallStarted, ClaimReported

bp = ApiBlueprint(__name__)

SIGNATURE_HEADER = "x-signature"


def _vendor(raw: bytes) -> tuple[str, datetime]:
    """The vendor whose secret signed the event, and the time it was signed at."""
    settings = container().settings
    secrets = [(vendor, secret.get_secret_value()) for vendor, secret in settings.ivr_webhook_secrets]
    header = bp.current_request.headers.get(SIGNATURE_HEADER)
    try:
        vendor = verify_webhook(header, raw, secrets,
                                now=int(time.time()), tolerance_seconds=settings.ivr_signature_tolerance_seconds)
    except SignatureRejected as rejected:
        logger.warning("IVR event signature rejected", extra={"reason": rejected.reason})
        raise
    bind(vendor=vendor)
    return vendor, datetime.fromtimestamp(signed_at(header), UTC)


def _contact_time(occurred_at: datetime | None, signed: datetime) -> datetime:
    """When the call's step happened, for its contact entry, taken from the event so that a replay
    (or a retry the vendor signs again) keys the same entry: the event's own time when it is within the
    signature tolerance of the signing time, else the signing time. Never the time of receipt."""
    tolerance = timedelta(seconds=container().settings.ivr_signature_tolerance_seconds)
    if occurred_at is not None and abs(occurred_at - signed) <= tolerance:
        return occurred_at.astimezone(UTC)
    return signed


def _event(raw: bytes, model):
    try:
        return model.model_validate_json(raw)
    except ValidationError as error:
        raise ValidationFailed("The event is not valid.", problems_of(error)) from None


@bp.route("/v1/ivr/events", methods=["POST"])
def ivr_event():
    from chalicelib.schemas.ivr import CallStarted, ClaimReported  # on the first event: see api/connect.py

    request = bp.current_request
    c = container()
    raw = read_json_body(request, c.settings.max_body_bytes)
    vendor, signed = _vendor(raw)  # before parsing: nothing unsigned is even read
    body = load_json(raw)
    kind = body.get("type") if isinstance(body, dict) else None
    if kind == "call.started":
        return _call_started(_event(raw, CallStarted), vendor, signed)
    if kind == "claim.reported":
        return _claim_reported(_event(raw, ClaimReported), vendor, signed)
    raise ValidationFailed("The event is not valid.", [FieldProblem("type", "must be call.started or claim.reported")])


def _call_started(event: CallStarted, vendor: str, signed: datetime):
    bind(correlation_id=event.call_id)
    caller = container().callers.identify_call(IncomingCall(
        Channel.IVR_WEBHOOK, event.call_id, event.caller, kind="call_started",
        at=_contact_time(event.occurred_at, signed)))
    logger.info("call started", extra={"found": caller.found})
    return json_response({
        "call_id": event.call_id,
        "customer": {"found": caller.found, "customer_ref": caller.customer_id, "language": caller.language},
        "policies": {"active": caller.active_policies, "primary_policy": caller.primary_policy,
                     "primary_product": caller.primary_product, "products": list(caller.products)},
        "open_claim": None if caller.open_claim_id is None else {
            "claim_id": caller.open_claim_id, "reference": voice_reference(caller.open_claim_id)},
    })


def _claim_reported(event: ClaimReported, vendor: str, signed: datetime):
    bind(correlation_id=event.call_id)
    loss, location = event.loss, event.loss.location
    accepted = container().phone_intake.report(PhoneReport(
        channel=Channel.IVR_WEBHOOK, owner=f"ivr:{vendor}", call_id=event.call_id, caller=event.caller,
        loss_type=loss.type, occurred_at=loss.occurred_at,
        amount=None if event.amount is None else Decimal(event.amount.value),
        currency=event.amount.currency if event.amount else "CNY",
        policy_number=event.policy.number, order_id=event.policy.order_id,
        plate=event.vehicle.plate if event.vehicle else None,
        region_code=location.region_code if location else None, address=location.address if location else None,
        description=loss.description, correlation_id=event.call_id,
        contact_at=_contact_time(event.occurred_at, signed)))
    reference = voice_reference(accepted.claim_id)
    return json_response({"claim_id": accepted.claim_id, "status": accepted.status.value, "reference": reference,
                          "reference_spoken": " ".join(reference), "already_reported": accepted.already_reported,
                          "replayed": accepted.replayed}, 202)
