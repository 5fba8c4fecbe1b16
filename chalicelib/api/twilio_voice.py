"""Twilio Voice: an incoming call is greeted, identified by its number, asked what happened (keypad or
speech), and the claim is taken and its reference read back. Form-encoded webhooks in, TwiML out.

Every request must carry a valid ``X-Twilio-Signature``: Twilio signs the full URL it called (our
PUBLIC_BASE_URL + path + query) and the sorted form parameters with the account's auth token.
"""
from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from chalice import Response

from chalicelib.api import twiml
from chalicelib.api.http import ApiBlueprint, query_params
from chalicelib.bootstrap import container
from chalicelib.domain.caller import CallerSummary
from chalicelib.domain.claim import Channel
from chalicelib.domain.errors import (
    DomainError,
    PayloadTooLarge,
    UnsupportedMediaType,
)
from chalicelib.domain.ivr import (
    language_or_default,
    menu_keys,
    menu_of_keys,
    menu_perils,
    peril_chosen,
    prompt,
    spell,
    voice_reference,
)
from chalicelib.domain.products import catalogue
from chalicelib.domain.signatures import SignatureRejected, twilio_signature_valid
from chalicelib.observability import bind, logger
from chalicelib.services.callers import IncomingCall, PhoneReport

bp = ApiBlueprint(__name__)

OWNER = "ivr:twilio"
FORM = "application/x-www-form-urlencoded"
VOICE_PATH = "/v1/ivr/twilio/voice"
GATHER_PATH = "/v1/ivr/twilio/gather"
MAX_FORM_BYTES = 16 * 1024  # Twilio's parameters are a few hundred bytes


def _signed_form(path: str) -> dict[str, str]:
    """The form's parameters, once the signature over them and the called URL holds."""
    request = bp.current_request
    settings = container().settings
    content_type = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if content_type != FORM:
        raise UnsupportedMediaType("Twilio webhooks are form-encoded.")
    body = request.raw_body or b""
    raw = body if isinstance(body, bytes) else body.encode("utf-8")
    if len(raw) > MAX_FORM_BYTES:
        raise PayloadTooLarge("The form is too large.")
    pairs = parse_qsl(raw.decode("utf-8", errors="replace"), keep_blank_values=True)
    query = query_params(request)
    url = settings.public_base_url.rstrip("/") + path + (f"?{urlencode(query)}" if query else "")
    token = settings.twilio_auth_token
    signature = request.headers.get("x-twilio-signature")
    if token is None or not twilio_signature_valid(token.get_secret_value(), url, pairs, signature):
        reason = "missing" if not signature else "mismatch" if token else "not_configured"
        logger.warning("Twilio signature rejected", extra={"reason": reason})
        raise SignatureRejected(reason)
    from chalicelib.schemas.ivr import twilio_form  # on the first webhook: see api/connect.py

    form = twilio_form(pairs)
    bind(correlation_id=form["CallSid"])
    return form


def _xml(body: str) -> Response:
    return Response(body=body, status_code=200, headers={"Content-Type": twiml.CONTENT_TYPE})


def _url(path: str, language: str, menu: str | None = None) -> str:
    query = {"lang": language, **({"menu": menu} if menu else {})}
    return f"{container().settings.public_base_url.rstrip('/')}{path}?{urlencode(query)}"


def _ask(language: str, perils: list[str], opening: str) -> Response:
    """Asks what happened; the menu's keys ride along in the gather URL (signed by Twilio with it), so
    a re-prompt offers the same short menu without looking the caller up again."""
    gather_url = _url(GATHER_PATH, language, menu_keys(perils))
    return _xml(twiml.gather(
        f"{opening} {prompt('menu', language, perils=perils)}", language, gather_url,
        fallback_text=prompt("not_understood", language), redirect_url=_url(VOICE_PATH, language)))


@bp.route(VOICE_PATH, methods=["POST"], content_types=[FORM])
def twilio_voice():
    form = _signed_form(VOICE_PATH)
    callers = container().callers
    query = query_params(bp.current_request)
    # a re-prompt comes back with its language: its call's step is already recorded
    call = IncomingCall(Channel.IVR_TWILIO, form["CallSid"], form.get("From"), record_contact="lang" not in query)
    try:
        caller = callers.identify_call(call)
    except Exception:  # noqa: BLE001 - an unidentified caller can still report
        logger.exception("caller identification failed")
        caller = CallerSummary(found=False)
    language = language_or_default(query.get("lang") or caller.language)
    opening = prompt("greeting_known" if caller.found else "greeting_unknown", language)
    if caller.open_claim_id:
        opening += " " + prompt("open_claim", language, reference=spell(voice_reference(caller.open_claim_id)))
    return _ask(language, menu_perils(caller.products, catalogue()), opening)


@bp.route(GATHER_PATH, methods=["POST"], content_types=[FORM])
def twilio_gather():
    form = _signed_form(GATHER_PATH)
    query = query_params(bp.current_request)
    language = language_or_default(query.get("lang"))
    offered = menu_of_keys(query.get("menu", ""))
    peril = peril_chosen(offered, form.get("Digits"), form.get("SpeechResult"))
    if peril is None:
        return _ask(language, offered, prompt("not_understood", language))
    try:
        accepted = container().phone_intake.report(PhoneReport(
            channel=Channel.IVR_TWILIO, owner=OWNER, call_id=form["CallSid"], caller=form.get("From"),
            loss_type=peril, correlation_id=form.get("CallSid")))
    except DomainError as error:
        logger.warning("phone report refused", extra={"code": error.code})
        return _xml(twiml.say_and_hangup(prompt("technical_problem", language), language))
    except Exception:  # noqa: BLE001 - the caller hears an apology, never silence
        logger.exception("phone report failed")
        return _xml(twiml.say_and_hangup(prompt("technical_problem", language), language))
    said = "already_reported" if accepted.already_reported else "claim_created"
    reference = spell(voice_reference(accepted.claim_id))
    return _xml(twiml.say_and_hangup(
        f"{prompt(said, language, reference=reference)} {prompt('goodbye', language)}", language))
