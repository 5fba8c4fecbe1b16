"""Partner API: claims posted by partner apps with their x-api-key."""
from __future__ import annotations

from chalicelib.api.http import (
    ApiBlueprint,
    error_body,
    idempotency_key_of,
    json_response,
    load_json,
    read_json_body,
    status_of,
)
from chalicelib.api.views import claim_view
from chalicelib.bootstrap import container
from chalicelib.domain.claim import Channel
from chalicelib.domain.errors import DomainError, FieldProblem, NotFound, ValidationFailed
from chalicelib.domain.ids import is_claim_id
from chalicelib.observability import current_correlation_id
from chalicelib.schemas.claims import parse_batch, parse_claim
from chalicelib.services.intake import Accepted, IntakeRequest

bp = ApiBlueprint(__name__)


def _partner_id() -> str:
    return container().auth.authenticate(bp.current_request.headers.get("x-api-key")).partner_id


def _accepted_body(result: Accepted) -> dict:
    return {"claim_id": result.claim_id, "status": result.status.value,
            "links": {"self": f"/v1/claims/{result.claim_id}"}}


@bp.route("/v1/claims", methods=["POST"])
def submit_claim():
    request = bp.current_request
    c = container()
    partner_id = _partner_id()
    raw = read_json_body(request, c.settings.max_body_bytes)
    submission = parse_claim(raw, Channel.PARTNER_API)
    result = c.intake.submit(IntakeRequest(partner_id, submission, idempotency_key_of(request),
                                           correlation_id=_correlation_id()))
    headers = {"Location": f"/v1/claims/{result.claim_id}"}
    if result.replayed:
        headers["Idempotent-Replayed"] = "true"
    return json_response(_accepted_body(result), 202, headers)


@bp.route("/v1/claims/batch", methods=["POST"])
def submit_claims_batch():
    request = bp.current_request
    c = container()
    partner_id = _partner_id()
    if request.headers.get("idempotency-key") is not None:
        raise ValidationFailed("A batch is not idempotent as a whole.", [FieldProblem(
            "Idempotency-Key", "not accepted on a batch: give each claim its own external_ref")])
    body = load_json(read_json_body(request, c.settings.max_body_bytes * c.settings.max_batch_claims))
    items = parse_batch(body, Channel.PARTNER_API, c.settings.max_batch_claims, c.settings.max_body_bytes)
    outcomes = c.intake.submit_batch(partner_id, items, correlation_id=_correlation_id())
    return json_response({"results": [_item_result(index, outcome) for index, outcome in enumerate(outcomes)]}, 207)


@bp.route("/v1/claims/{claim_id}", methods=["GET"])
def get_claim(claim_id: str):
    c = container()
    partner_id = _partner_id()
    if not is_claim_id(claim_id):
        raise NotFound("No such claim.")
    claim, events = c.intake.claim_with_events_for_owner(partner_id, claim_id)
    return json_response(claim_view(claim, events))


def _item_result(index: int, outcome: Accepted | DomainError) -> dict:
    if isinstance(outcome, DomainError):
        return {"index": index, "status": status_of(outcome), "error": error_body(outcome)}
    return {"index": index, "status": 202, "claim_id": outcome.claim_id, "claim_status": outcome.status.value,
            "replayed": outcome.replayed}


def _correlation_id() -> str | None:
    return current_correlation_id()
