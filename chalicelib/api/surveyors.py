"""Field surveyors (查勘员): report whether they can take work, and when a survey is done. Each
surveyor's bearer token lets them act only as themselves."""
from __future__ import annotations

import re
from decimal import Decimal

from chalicelib.api.http import ApiBlueprint, json_response, read_json_body
from chalicelib.bootstrap import container
from chalicelib.domain.errors import NotFound
from chalicelib.domain.ids import is_claim_id
from chalicelib.domain.surveyor import SURVEYOR_ID_PATTERN, SurveyorStatus
from chalicelib.observability import bind

bp = ApiBlueprint(__name__)

_SURVEYOR_ID = re.compile(SURVEYOR_ID_PATTERN)
MAX_BODY = 8 * 1024


def _as(surveyor_id: str) -> None:
    """The caller must be this surveyor; anyone else learns nothing about whether the id exists."""
    caller = container().surveyor_auth.authenticate(bp.current_request.headers.get("authorization"))
    if not _SURVEYOR_ID.fullmatch(surveyor_id) or caller != surveyor_id:
        raise NotFound("No such surveyor.")
    bind(surveyor_id=surveyor_id)


@bp.route("/v1/surveyors/{surveyor_id}/status", methods=["POST"])
def surveyor_status(surveyor_id: str):
    _as(surveyor_id)
    # The request schemas load with the first surveyor request, not with app.py (see api/agent.py).
    from chalicelib.schemas.agent import SurveyorStatusIn
    from chalicelib.schemas.claim_form import parse

    body = parse(SurveyorStatusIn, read_json_body(bp.current_request, MAX_BODY), "status")
    container().surveyor_work.set_status(surveyor_id, SurveyorStatus(body.status))
    return json_response({"surveyor_id": surveyor_id, "status": body.status})


@bp.route("/v1/surveyors/{surveyor_id}/assignments/{claim_id}/complete", methods=["POST"])
def survey_completed(surveyor_id: str, claim_id: str):
    _as(surveyor_id)
    if not is_claim_id(claim_id):
        raise NotFound("No such assignment.")
    from chalicelib.schemas.agent import SurveyCompletedIn
    from chalicelib.schemas.claim_form import parse

    body = parse(SurveyCompletedIn, read_json_body(bp.current_request, MAX_BODY), "survey report")
    claim = container().surveyor_work.complete(
        surveyor_id, claim_id, Decimal(body.assessed_amount) if body.assessed_amount else None, body.notes)
    return json_response({"claim_id": claim.claim_id, "status": claim.status.value, "version": claim.version})
