"""Agent desk: the screen pop as a call connects, the queue of claims needing a person, and the
agent's decision. Agent bearer token required on every route."""
from __future__ import annotations

import re
from decimal import Decimal
from urllib.parse import unquote

from chalicelib.api.http import ApiBlueprint, json_response, problem, query_params, read_json_body
from chalicelib.api.views import agent_claim_view, screen_pop_view, triage_view
from chalicelib.bootstrap import container
from chalicelib.domain.errors import DomainError, FieldProblem, NotFound, ValidationFailed
from chalicelib.domain.ids import is_claim_id
from chalicelib.observability import bind
from chalicelib.services.decisions import Action, Decision

IF_MATCH_PATTERN = r'^"?([0-9]{1,9})"?$'  # the claim version an agent saw, quoted or not
_VERSION = re.compile(IF_MATCH_PATTERN)
_WEAK_TAG = re.compile(r"^[Ww]/")
_PAGE_SIZE = re.compile(r"[0-9]{1,4}")  # ASCII digits only: str.isdigit() also takes '²', which int() refuses
MAX_BODY = 8 * 1024

bp = ApiBlueprint(__name__)


def agent_id() -> str:
    agent = container().agents.authenticate(bp.current_request.headers.get("authorization"))
    bind(agent_id=agent)
    return agent


LOOKUP_PATH = "/v1/agent/callers/lookup"
# The old screen pop put the caller's number in the URL, so in every access log on the way (API
# Gateway's, the local server's). It still answers, saying so (RFC 8594 / draft-ietf-httpapi-deprecation-header).
_DEPRECATED = {"Deprecation": "true", "Link": f'<{LOOKUP_PATH}>; rel="successor-version"'}


@bp.route(LOOKUP_PATH, methods=["POST"])
def caller_lookup():
    agent_id()
    from chalicelib.schemas.agent import CallerLookupIn  # with the first lookup: see agent_decision
    from chalicelib.schemas.claim_form import parse

    body = parse(CallerLookupIn, read_json_body(bp.current_request, MAX_BODY), "lookup")
    pop = container().callers.screen_pop(body.phone)
    return json_response(screen_pop_view(pop), headers={"Cache-Control": "no-store"})


@bp.route("/v1/agent/callers/{phone}", methods=["GET"])
def caller_screen_pop(phone: str):
    """Deprecated: POST /v1/agent/callers/lookup answers the same without the number in the URL."""
    try:
        agent_id()
        pop = container().callers.screen_pop(unquote(phone))
    except DomainError as error:
        refused = problem(error)
        refused.headers.update(_DEPRECATED)
        return refused
    return json_response(screen_pop_view(pop), headers={"Cache-Control": "no-store", **_DEPRECATED})


@bp.route("/v1/agent/queue", methods=["GET"])
def agent_queue():
    agent_id()
    query = query_params(bp.current_request)
    raw_limit = query.get("limit", "20")
    if not _PAGE_SIZE.fullmatch(raw_limit):
        raise ValidationFailed("The page size is not valid.", [FieldProblem("limit", "must be a whole number")])
    claims, cursor = container().decisions.queue(int(raw_limit), query.get("cursor"))
    body = {"claims": [triage_view(c) for c in claims], "next_cursor": cursor}
    return json_response(body, headers={"Cache-Control": "no-store"})


@bp.route("/v1/agent/claims/{claim_id}", methods=["GET"])
def agent_claim(claim_id: str):
    agent_id()
    if not is_claim_id(claim_id):
        raise NotFound("No such claim.")
    c = container()
    claim = c.decisions.get(claim_id)
    return json_response(agent_claim_view(claim, c.claims.events(claim_id)),
                         headers={"ETag": f'"{claim.version}"', "Cache-Control": "no-store"})


@bp.route("/v1/agent/claims/{claim_id}/decision", methods=["POST"])
def agent_decision(claim_id: str):
    agent = container().agents.identify(bp.current_request.headers.get("authorization"))
    bind(agent_id=agent.agent_id)
    if not is_claim_id(claim_id):
        raise NotFound("No such claim.")
    request = bp.current_request
    if_match = (request.headers.get("if-match") or "").strip()
    if _WEAK_TAG.match(if_match):  # RFC 9110: If-Match compares strong tags; a weak one never matches
        raise ValidationFailed("Say which version you decided on.", [FieldProblem(
            "If-Match", "a strong entity tag is required; weak tags never match")])
    match = _VERSION.match(if_match)
    if match is None:
        raise ValidationFailed("Say which version you decided on.", [FieldProblem(
            "If-Match", "the claim's version (its ETag) is required")])
    # The request schemas load with the first decision, not with app.py: most containers never see one.
    from chalicelib.schemas.agent import DecisionIn
    from chalicelib.schemas.claim_form import parse

    body = parse(DecisionIn, read_json_body(request, MAX_BODY), "decision")
    decision = Decision(Action(body.decision), int(match.group(1)),
                        Decimal(body.amount) if body.amount is not None else None, body.reason,
                        reason_code=body.reason_code, exceeds_limit=body.exceeds_limit)
    c = container()
    claim = c.decisions.decide(claim_id, agent.agent_id, decision, role=agent.role)
    return json_response(agent_claim_view(claim, c.claims.events(claim_id)), headers={"ETag": f'"{claim.version}"'})
