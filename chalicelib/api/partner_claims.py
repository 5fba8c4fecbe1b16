"""Partner API: claims posted by partner apps with their x-api-key."""
from __future__ import annotations

import json

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
from chalicelib.domain.errors import DomainError, FieldProblem, NotFound, PayloadTooLarge, ValidationFailed
from chalicelib.domain.ids import is_claim_id
from chalicelib.observability import current_correlation_id
from chalicelib.schemas.claims import parse_claim
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
    items = body.get("claims") if isinstance(body, dict) and set(body) == {"claims"} else None
    if not isinstance(items, list) or not 1 <= len(items) <= c.settings.max_batch_claims:
        raise ValidationFailed("The batch is not valid.", [FieldProblem(
            "claims", f"give a list of 1 to {c.settings.max_batch_claims} claims and nothing else")])

    results: list[dict | None] = [None] * len(items)
    requests: list[IntakeRequest] = []
    positions: list[int] = []
    for index, item in enumerate(items):
        try:
            raw = json.dumps(item, ensure_ascii=False).encode("utf-8")
            if len(raw) > c.settings.max_body_bytes:  # each claim is held to the single route's limit
                raise PayloadTooLarge(f"The claim is larger than {c.settings.max_body_bytes} bytes.")
            submission = parse_claim(raw, Channel.PARTNER_API, prefix=f"claims.{index}")
        except DomainError as error:
            results[index] = _item_error(index, error)
            continue
        requests.append(IntakeRequest(partner_id, submission, None, correlation_id=_correlation_id()))
        positions.append(index)
    for index, outcome in zip(positions, c.intake.submit_many(requests) if requests else []):
        if isinstance(outcome, DomainError):
            results[index] = _item_error(index, outcome)
        else:
            results[index] = {"index": index, "status": 202, "claim_id": outcome.claim_id,
                              "claim_status": outcome.status.value, "replayed": outcome.replayed}
    return json_response({"results": results}, 207)


@bp.route("/v1/claims/{claim_id}", methods=["GET"])
def get_claim(claim_id: str):
    c = container()
    partner_id = _partner_id()
    if not is_claim_id(claim_id):
        raise NotFound("No such claim.")
    claim = c.intake.get_for_owner(partner_id, claim_id)
    return json_response(claim_view(claim, c.claims.events(claim_id)))


def _item_error(index: int, error: DomainError) -> dict:
    return {"index": index, "status": status_of(error), "error": error_body(error)}


def _correlation_id() -> str | None:
    return current_correlation_id()
