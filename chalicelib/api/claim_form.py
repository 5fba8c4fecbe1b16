"""The customer's own channel: the claim form page, its API, the status page and photo uploads."""
from __future__ import annotations

from chalicelib.api import pages
from chalicelib.api.http import ApiBlueprint, json_response, query_params, read_json_body
from chalicelib.api.views import customer_view
from chalicelib.bootstrap import container
from chalicelib.domain.claim import Claim, iso
from chalicelib.domain.errors import NotFound, Unauthenticated
from chalicelib.domain.ids import is_claim_id
from chalicelib.domain.ivr import LANGUAGES, MENU, language_or_default, peril_name, voice_reference
from chalicelib.observability import bind, current_correlation_id
from chalicelib.services.claim_form import FormSubmission, next_step

bp = ApiBlueprint(__name__)

STATUS_TOKEN_HEADER = "x-status-token"
MAX_FORM_BYTES = 16 * 1024


def _upload_origin() -> str:
    """Where the page's photo uploads go: the bucket's endpoint (S3, or the local moto server)."""
    endpoint = container().settings.aws_endpoint_url
    return endpoint.rstrip("/") if endpoint else "https://*.amazonaws.com"


def _client_address() -> str | None:
    context = bp.current_request.context or {}
    identity = context.get("identity") or {}
    return identity.get("sourceIp")


def _language() -> str:
    return language_or_default(query_params(bp.current_request).get("lang"))


# -- pages -------------------------------------------------------------------------------------------

@bp.route("/", methods=["GET"])
def claim_form():
    return _page("form.html", _language(), pages.form_data())


@bp.route("/claims/{claim_id}", methods=["GET"])
def status_page(claim_id: str):
    token = query_params(bp.current_request).get("t")
    try:
        if not is_claim_id(claim_id):
            raise NotFound("No such claim.")
        grant = container().claim_form.grant(claim_id, token)
    except NotFound:
        return _page("status.html", _language(), pages.status_data("", ""), 404)
    return _page("status.html", grant.language, pages.status_data(claim_id, token or ""))


def _page(template: str, language: str, data: dict, status: int = 200):
    context = bp.current_request.context or {}
    root = pages.root_of(context.get("path") or "/", context.get("resourcePath") or "/")
    return pages.page_response(pages.render(template, language, root, data), _upload_origin(), status)


# -- form API ----------------------------------------------------------------------------------------

@bp.route("/v1/public/policy-check", methods=["POST"])
def policy_check():
    # The form's schemas load with the first form request, not with app.py (see api/agent.py).
    from chalicelib.schemas.claim_form import PolicyCheckIn, parse

    body = parse(PolicyCheckIn, read_json_body(bp.current_request, MAX_FORM_BYTES), "form")
    policy, product = container().claim_form.check_policy(body.policy_number, body.phone, _client_address())
    return json_response({"product": product.code, "product_name": product.names(),
                          "perils": [{"code": peril, "name": {lang: peril_name(peril, lang) for lang in LANGUAGES}}
                                     for peril in MENU if peril in product.perils]})


@bp.route("/v1/public/claims", methods=["POST"])
def submit_public_claim():
    from chalicelib.schemas.claim_form import PublicClaimIn, parse

    c = container()
    body = parse(PublicClaimIn, read_json_body(bp.current_request, c.settings.max_body_bytes), "claim")
    form = FormSubmission(body.submission_key, body.policy_number, body.phone, body.to_submission(),
                            body.language)
    result = c.claim_form.submit(form, _client_address(), current_correlation_id())
    claim_id = result.accepted.claim_id
    bind(claim_id=claim_id)
    status_url = f"/claims/{claim_id}?t={result.token}"
    headers = {"Location": status_url}
    if result.accepted.replayed:
        headers["Idempotent-Replayed"] = "true"
    return json_response({"claim_id": claim_id, "status": result.accepted.status.value, "status_url": status_url,
                          "status_token": result.token, "reference": voice_reference(claim_id)}, 202, headers)


@bp.route("/v1/public/claims/{claim_id}", methods=["GET"])
def public_claim_status(claim_id: str):
    if not is_claim_id(claim_id):
        raise NotFound("No such claim.")
    claim, events, language = container().claim_form.status(claim_id, query_params(bp.current_request).get("t"))
    return json_response({
        "claim_id": claim.claim_id, "reference": voice_reference(claim.claim_id), "status": claim.status.value,
        "next_step": next_step(claim.status), "language": language,
        "received_at": iso(claim.received_at),
        "timeline": [{"at": iso(e.at), "kind": e.kind, "status": e.status.value}
                     for e in events],
        "attachments": claim.attachment_count,
        **customer_view(claim, events),
    }, headers={"Cache-Control": "no-store"})


# -- photos ------------------------------------------------------------------------------------------

def _claim_for_upload(claim_id: str) -> Claim:
    """The claim, if the caller may add photos to it: its partner (x-api-key) or its claimant (the
    status token). Anything else reads as no such claim."""
    request = bp.current_request
    c = container()
    if not is_claim_id(claim_id):
        raise NotFound("No such claim.")
    api_key = request.headers.get("x-api-key")
    if api_key is not None:
        return c.intake.get_for_owner(c.auth.authenticate(api_key).partner_id, claim_id)
    token = request.headers.get(STATUS_TOKEN_HEADER)
    if token is None:
        raise Unauthenticated("An x-api-key or X-Status-Token header is required.")
    c.claim_form.grant(claim_id, token)
    claim = c.claims.get(claim_id)
    if claim is None:
        raise NotFound("No such claim.")
    return claim


@bp.route("/v1/claims/{claim_id}/attachments", methods=["POST"])
def request_attachment_upload(claim_id: str):
    from chalicelib.schemas.claim_form import UploadRequestIn, parse

    claim = _claim_for_upload(claim_id)
    body = parse(UploadRequestIn, read_json_body(bp.current_request, MAX_FORM_BYTES), "upload request")
    ticket = container().attachments.request_upload(claim, body.content_type, body.size)
    return json_response({"attachment_id": ticket.attachment_id, "upload": {"url": ticket.url, "fields": ticket.fields},
                          "max_bytes": ticket.max_bytes, "expires_in": ticket.expires_in}, 201)

