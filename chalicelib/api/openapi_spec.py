"""The OpenAPI 3.1 document of every HTTP route (served by ``openapi.py`` at ``GET /openapi.json``).

Request bodies are the JSON Schemas of the very pydantic models that validate them
(``chalicelib/schemas``), with pydantic's ``$defs`` moved into ``components/schemas``, so the document
cannot drift from the parser; response bodies are described by ``schemas/responses.py`` and checked
against the real answers by the schemathesis run. Each route of the app is looked up in
``_operations`` below; tests/integration/test_openapi.py fails when a route has no description there,
or a description has no route. Imported on the first request for the document only.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from chalicelib.api import agent as agent_api
from chalicelib.api import claim_form as claim_form_api
from chalicelib.api import pages, twilio_voice
from chalicelib.api import surveyors as surveyors_api
from chalicelib.api.http import IDEMPOTENCY_KEY
from chalicelib.domain.ids import CLAIM_ID_PATTERN
from chalicelib.domain.ivr import LANGUAGES
from chalicelib.domain.surveyor import SURVEYOR_ID_PATTERN
from chalicelib.schemas import agent, claim_form, claims, ivr, responses
from chalicelib.services.decisions import MAX_PAGE

if TYPE_CHECKING:
    from chalicelib.settings import Settings

REF = "#/components/schemas/{model}"


def build_document(routes: dict[str, dict[str, Any]], document_path: str) -> dict:
    """One operation per (path, method) of ``routes`` (a Chalice app's ``routes``) that has a
    description; a route without one is left out, which test_openapi.py reports. ``document_path``:
    where the document itself is served (``api/openapi.py``, which imports this module on first use)."""
    from chalicelib.settings import get_settings  # read when the document is served, not on import

    settings = get_settings()
    models: list[tuple[type[BaseModel], JsonSchemaMode]] = []

    def ref(model: type[BaseModel], mode: JsonSchemaMode = "validation") -> dict:
        if (model, mode) not in models:
            models.append((model, mode))
        return {"$ref": REF.format(model=model.__name__)}

    operations = _operations(ref, settings, document_path)
    paths: dict[str, dict] = {}
    for path, methods in routes.items():
        for method in methods:
            operation = operations.get((method.upper(), path))
            if operation is not None:
                paths.setdefault(path, {})[method.lower()] = operation

    keyed, definitions = models_json_schema(models, ref_template=REF)
    schemas = dict(definitions.get("$defs", {}))
    for (model, mode), schema in keyed.items():
        if schema.get("$ref") != REF.format(model=model.__name__):  # pydantic renames a model used both ways
            raise RuntimeError(f"{model.__name__} ({mode}) is not components/schemas/{model.__name__}")
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Claims intake",
            "version": "1.0.0",
            "description": (
                "First notice of loss from partner apps, the customer's claim form and the hotline IVR. "
                "Every error answers the same envelope (components.schemas.ErrorOut); bodies are strictly "
                "validated (unknown fields are rejected) and limited in size (413 beyond the limit given "
                "with each request body as x-max-body-bytes)."),
        },
        "servers": [{"url": settings.public_base_url.rstrip("/") or "/"}],
        "tags": [{"name": name, "description": text} for name, text in _TAGS],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": _SECURITY_SCHEMES,
            "parameters": _PARAMETERS,
            "headers": _HEADERS,
        },
    }


_TAGS = (
    ("partner", "Partner apps, with their x-api-key."),
    ("public", "The customer's claim form, its status page and photo uploads."),
    ("hotline", "IVR webhooks: Twilio Voice (TwiML) and signed vendor events."),
    ("agent", "The agents' desk (bearer token)."),
    ("surveyor", "Field surveyors, each acting only as themselves (bearer token)."),
    ("meta", "This document."),
)

_SECURITY_SCHEMES = {
    "partnerApiKey": {"type": "apiKey", "in": "header", "name": "x-api-key",
                      "description": "The partner's API key (stored hashed; compared in constant time)."},
    "agentBearer": {"type": "http", "scheme": "bearer", "description": "An agent's bearer token."},
    "surveyorBearer": {"type": "http", "scheme": "bearer",
                       "description": "A surveyor's bearer token; it acts only on that surveyor's own routes."},
    "statusTokenHeader": {"type": "apiKey", "in": "header", "name": "x-status-token",
                          "description": "The claimant's signed status token (answered by POST /v1/public/claims)."},
    "statusTokenQuery": {"type": "apiKey", "in": "query", "name": "t",
                         "description": "The claimant's signed status token, in the status link."},
    "ivrSignature": {"type": "apiKey", "in": "header", "name": "x-signature",
                     "description": ("t=<unix seconds>,v1=<hex HMAC-SHA256 of '<t>.<raw body>'> with the vendor's "
                                     "secret; five minutes' tolerance either way.")},
    "twilioSignature": {"type": "apiKey", "in": "header", "name": "x-twilio-signature",
                        "description": ("Twilio's signature: base64 HMAC-SHA1 of the full URL it called followed by "
                                        "the sorted form parameters, with the account's auth token.")},
}

_PARAMETERS = {
    "CorrelationId": {
        "name": "x-correlation-id", "in": "header", "required": False,
        "description": "Echoed back and carried into every log line and queue message; another value is replaced.",
        "schema": {"type": "string", "pattern": "^[A-Za-z0-9._:\\-]{1,128}$"},
    },
}

_HEADERS = {
    "CorrelationId": {"description": "The request's correlation id (given, or the request id).",
                      "schema": {"type": "string"}},
    "RetryAfter": {"description": "Seconds to wait before retrying.", "schema": {"type": "string",
                                                                                  "pattern": "^[0-9]+$"}},
    "Location": {"description": "Where the claim can be read.", "schema": {"type": "string"}},
    "IdempotentReplayed": {"description": "Present (true) when the answer is that of an earlier identical request.",
                           "schema": {"type": "string", "enum": ["true"]}},
    "ETag": {"description": "The claim's version, quoted; send it back as If-Match.",
             "schema": {"type": "string", "pattern": '^"[0-9]+"$'}},
    "Deprecation": {"description": "The route is deprecated (see Link for its successor).",
                    "schema": {"type": "string", "enum": ["true"]}},
    "Link": {"description": 'The route that replaces this one: <path>; rel="successor-version".',
             "schema": {"type": "string"}},
}

_ERROR_TEXT = {
    400: "Bad input: a field, parameter or header is not valid (VALIDATION_FAILED), or the body is not JSON "
         "(MALFORMED_BODY). details names each field to fix.",
    401: "No or unknown credentials (UNAUTHENTICATED).",
    403: "The signature is missing, malformed, stale or does not verify (FORBIDDEN).",
    404: "No such resource, or not yours (NOT_FOUND).",
    409: "Conflict: an idempotency key reused with another body, or a stale version.",
    413: "The body is larger than the limit (PAYLOAD_TOO_LARGE).",
    415: "The body is not of the accepted media type (UNSUPPORTED_MEDIA_TYPE).",
    422: "Well-formed but unacceptable.",
    429: "Rate limited (RATE_LIMITED); Retry-After says when to retry.",
    503: "Storage is busy (TEMPORARILY_UNAVAILABLE); Retry-After says when to retry.",
}
_HTML = "text/html"
_XML = "text/xml"
_FORM = "application/x-www-form-urlencoded"


def _headers(*names: str) -> dict:
    out = {"x-correlation-id": {"$ref": "#/components/headers/CorrelationId"}}
    for name in names:
        out[name] = {"$ref": f"#/components/headers/{name.replace('-', '')}"}
    return out


def _operations(ref: Callable[..., dict], settings: Settings, document_path: str) -> dict:
    """Every route's description, keyed by (METHOD, path) as the app routes them."""
    error = ref(responses.ErrorOut, "serialization")

    def out(model) -> dict:
        return ref(model, "serialization")

    def errors(*codes: int) -> dict:
        answers = {}
        for code in codes:
            headers = _headers("Retry-After") if code in (429, 503) else _headers()
            answers[str(code)] = {"description": _ERROR_TEXT[code], "headers": headers,
                                  "content": {"application/json": {"schema": error}}}
        return answers

    def ok(code: int, model, description: str, *headers: str) -> dict:
        return {str(code): {"description": description, "headers": _headers(*headers),
                            "content": {"application/json": {"schema": out(model)}}}}

    def text(code: int, media_type: str, description: str) -> dict:
        return {str(code): {"description": description, "headers": _headers(),
                            "content": {media_type: {"schema": {"type": "string"}}}}}

    def json_body(schema: dict, limit: int, description: str = "") -> dict:
        note = f"At most {limit} bytes (413 beyond). Unknown fields are rejected."
        return {"required": True, "description": f"{description} {note}".strip(),
                "content": {"application/json": {"schema": schema}}, "x-max-body-bytes": limit}

    def path_param(name: str, schema: dict, description: str) -> dict:
        return {"name": name, "in": "path", "required": True, "description": description, "schema": schema}

    def query(name: str, schema: dict, description: str, required: bool = False) -> dict:
        return {"name": name, "in": "query", "required": required, "description": description, "schema": schema}

    correlation = {"$ref": "#/components/parameters/CorrelationId"}
    claim_id = path_param("claim_id", {"type": "string", "pattern": f"^{CLAIM_ID_PATTERN}$"},
                          "The claim's id, as answered when it was accepted.")
    lang = query("lang", {"type": "string", "enum": list(LANGUAGES)}, "The page's language (default zh-CN).")
    limit = settings.max_body_bytes
    batch_limit = settings.max_body_bytes * settings.max_batch_claims
    partner: list[dict[str, list[str]]] = [{"partnerApiKey": []}]
    agent_auth: list[dict[str, list[str]]] = [{"agentBearer": []}]
    surveyor_auth: list[dict[str, list[str]]] = [{"surveyorBearer": []}]
    surveyor_id = path_param("surveyor_id", {"type": "string", "pattern": f"^{SURVEYOR_ID_PATTERN}$"},
                             "The surveyor's id; it must be the caller's own.")
    twilio_query = [lang, query("menu", {"type": "string", "pattern": "^[1-9]{0,9}$"},
                                "The keypad menu offered (digits), carried in the gather URL Twilio signs.")]
    batch_body = {
        "type": "object", "additionalProperties": False, "required": ["claims"],
        "properties": {"claims": {"type": "array", "minItems": 1, "maxItems": settings.max_batch_claims,
                                  "items": ref(claims.ClaimIn)}},
    }
    ivr_event = {"oneOf": [ref(ivr.CallStarted), ref(ivr.ClaimReported)],
                 "discriminator": {"propertyName": "type", "mapping": {
                     "call.started": REF.format(model="CallStarted"),
                     "claim.reported": REF.format(model="ClaimReported")}}}
    twilio_form = {"required": True, "content": {_FORM: {"schema": ref(ivr.TwilioCallForm)}},
                   "description": f"Twilio's call parameters, form-encoded; at most {twilio_voice.MAX_FORM_BYTES} "
                                  "bytes (413 beyond).",
                   "x-max-body-bytes": twilio_voice.MAX_FORM_BYTES}

    return {
        # -- partner ---------------------------------------------------------------------------------
        ("POST", "/v1/claims"): {
            "operationId": "submitClaim", "tags": ["partner"], "summary": "Submit one claim.",
            "description": "Idempotent on the Idempotency-Key header, else on the body's external_ref.",
            "security": partner,
            "parameters": [correlation, {
                "name": "Idempotency-Key", "in": "header", "required": False,
                "description": "Same key and body: the same claim again; same key, other body: 409.",
                "schema": {"type": "string", "pattern": IDEMPOTENCY_KEY.pattern}}],
            "requestBody": json_body(ref(claims.ClaimIn), limit),
            "responses": {**ok(202, responses.ClaimAcceptedOut, "Stored and queued.", "Location",
                               "Idempotent-Replayed"),
                          **errors(400, 401, 409, 413, 415, 429, 503)},
        },
        ("POST", "/v1/claims/batch"): {
            "operationId": "submitClaimBatch", "tags": ["partner"], "summary": "Submit 1 to 25 claims at once.",
            "description": "Each claim is validated and idempotent (on its external_ref) on its own; one bad "
                           "claim never sinks the others. No Idempotency-Key header on a batch (400).",
            "security": partner, "parameters": [correlation],
            "requestBody": json_body(batch_body, batch_limit),
            "responses": {**ok(207, responses.BatchResultsOut, "One result per claim, in order."),
                          **errors(400, 401, 413, 415, 429, 503)},
        },
        ("GET", "/v1/claims/{claim_id}"): {
            "operationId": "getClaim", "tags": ["partner"], "summary": "A claim of the calling partner, with its "
            "timeline; claimant name and phone masked.",
            "security": partner, "parameters": [claim_id, correlation],
            "responses": {**ok(200, responses.ClaimOut, "The claim."), **errors(401, 404, 429, 503)},
        },
        ("POST", "/v1/claims/{claim_id}/attachments"): {
            "operationId": "requestPhotoUpload", "tags": ["partner", "public"],
            "summary": "A presigned S3 POST for one photo of the claim.",
            "description": "By the claim's partner (x-api-key) or its claimant (x-status-token). The presigned "
                           "policy enforces the type and 1 byte..10 MiB (content-length-range).",
            "security": [{"partnerApiKey": []}, {"statusTokenHeader": []}],
            "parameters": [claim_id, correlation],
            "requestBody": json_body(ref(claim_form.UploadRequestIn), claim_form_api.MAX_FORM_BYTES),
            "responses": {**ok(201, responses.UploadTicketOut, "Upload straight to url with these fields."),
                          **errors(400, 401, 404, 413, 415, 429, 503)},
        },
        # -- customer form ---------------------------------------------------------------------------
        ("GET", "/"): {
            "operationId": "claimForm", "tags": ["public"], "summary": "The mobile claim form (HTML).",
            "security": [], "parameters": [lang, correlation],
            "responses": text(200, _HTML, "The form page."),
        },
        ("GET", "/claims/{claim_id}"): {
            "operationId": "statusPage", "tags": ["public"], "summary": "The claim's status page (HTML).",
            "description": "A forged, foreign or expired token answers the same 404 page.",
            "security": [{"statusTokenQuery": []}], "parameters": [claim_id, lang, correlation],
            "responses": {**text(200, _HTML, "The status page."),
                          **text(404, _HTML, "No such claim (or the token does not hold).")},
        },
        ("GET", "/assets/{name}"): {
            "operationId": "pageAsset", "tags": ["public"], "summary": "A stylesheet or script of the pages.",
            "description": "Named by the hash of its content, as the pages link it; cached for a year "
                           "(Cache-Control: public, max-age=31536000, immutable). Another hash is a 404.",
            "security": [], "parameters": [
                path_param("name", {"type": "string", "pattern": f"^{pages.ASSET_NAME_PATTERN}$"},
                           "The file's name with its content hash, e.g. site.0123456789abcdef.css."),
                correlation],
            "responses": {"200": {"description": "The file, as the pages link it.", "headers": _headers(),
                                  "content": {media: {"schema": {"type": "string"}}
                                              for media in ("text/css", "text/javascript")}},
                          **errors(404)},
        },
        ("POST", "/v1/public/policy-check"): {
            "operationId": "checkPolicy", "tags": ["public"],
            "summary": "Prove a policy with its number and the phone on it.",
            "description": "Rate limited per phone and per client address.",
            "security": [], "parameters": [correlation],
            "requestBody": json_body(ref(claim_form.PolicyCheckIn), claim_form_api.MAX_FORM_BYTES),
            "responses": {**ok(200, responses.PolicyCheckOut, "The policy's product and the perils it covers."),
                          **errors(400, 413, 415, 422, 429, 503)},
        },
        ("POST", "/v1/public/claims"): {
            "operationId": "submitPublicClaim", "tags": ["public"], "summary": "The claim form's submission.",
            "description": "Idempotent on submission_key; rate limited per phone and per client address.",
            "security": [], "parameters": [correlation],
            "requestBody": json_body(ref(claim_form.PublicClaimIn), limit),
            "responses": {**ok(202, responses.PublicClaimAcceptedOut, "Stored and queued.", "Location",
                               "Idempotent-Replayed"),
                          **errors(400, 409, 413, 415, 422, 429, 503)},
        },
        ("GET", "/v1/public/claims/{claim_id}"): {
            "operationId": "publicClaimStatus", "tags": ["public"], "summary": "The status page's data.",
            "security": [{"statusTokenQuery": []}], "parameters": [claim_id, correlation],
            "responses": {**ok(200, responses.PublicClaimStatusOut, "Status, next step and timeline."),
                          **errors(404, 503)},
        },
        # -- hotline ---------------------------------------------------------------------------------
        ("POST", twilio_voice.VOICE_PATH): {
            "operationId": "twilioVoice", "tags": ["hotline"], "summary": "Twilio Voice: an incoming call.",
            "security": [{"twilioSignature": []}], "parameters": [*twilio_query, correlation],
            "requestBody": twilio_form,
            "responses": {**text(200, _XML, "TwiML: greeting and the loss menu."),
                          **errors(400, 403, 413, 415)},
        },
        ("POST", twilio_voice.GATHER_PATH): {
            "operationId": "twilioGather", "tags": ["hotline"], "summary": "Twilio Voice: the caller's answer.",
            "security": [{"twilioSignature": []}], "parameters": [*twilio_query, correlation],
            "requestBody": twilio_form,
            "responses": {**text(200, _XML, "TwiML: the claim's reference, or the menu again."),
                          **errors(400, 403, 413, 415)},
        },
        ("POST", "/v1/ivr/events"): {
            "operationId": "ivrEvent", "tags": ["hotline"], "summary": "A signed event of another IVR vendor.",
            "description": "The signature is checked before the body is read. A claim is idempotent on call_id.",
            "security": [{"ivrSignature": []}], "parameters": [correlation],
            "requestBody": json_body(ivr_event, limit),
            "responses": {**ok(200, responses.CallStartedOut, "call.started: who is calling."),
                          **ok(202, responses.ClaimReportedOut, "claim.reported: the claim taken."),
                          **errors(400, 403, 409, 413, 415, 503)},
        },
        # -- agents ----------------------------------------------------------------------------------
        ("POST", agent_api.LOOKUP_PATH): {
            "operationId": "callerLookup", "tags": ["agent"], "summary": "Who is calling: the caller's screen pop.",
            "description": "The caller's number, in any common form (E.164 preferred), goes in the body: "
                           "never in a URL, where every access log would keep it.",
            "security": agent_auth, "parameters": [correlation],
            "requestBody": json_body(ref(agent.CallerLookupIn), agent_api.MAX_BODY),
            "responses": {**ok(200, responses.ScreenPopOut, "Customer, policies, open claims, recent contacts."),
                          **errors(400, 401, 413, 415, 503)},
        },
        ("GET", "/v1/agent/callers/{phone}"): {
            "operationId": "screenPop", "tags": ["agent"], "deprecated": True,
            "summary": "Deprecated: the screen pop with the number in the URL.",
            "description": f"Use POST {agent_api.LOOKUP_PATH}: this route puts a phone number into every access "
                           "log. It answers the same, with Deprecation: true and a Link to its successor.",
            "security": agent_auth,
            "parameters": [path_param("phone", {"type": "string", "minLength": 1, "maxLength": 64},
                                      "The caller's number, in any common form (E.164 preferred)."), correlation],
            "responses": {**ok(200, responses.ScreenPopOut, "Customer, policies, open claims, recent contacts.",
                               "Deprecation", "Link"),
                          **errors(400, 401, 503)},
        },
        ("GET", "/v1/agent/queue"): {
            "operationId": "agentQueue", "tags": ["agent"],
            "summary": "Claims needing a person, highest priority first, then oldest.",
            "security": agent_auth,
            "parameters": [query("limit", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 20},
                                 "Page size."),
                           query("cursor", {"type": "string", "maxLength": 1024},
                                 "next_cursor of the previous page."), correlation],
            "responses": {**ok(200, responses.AgentQueueOut, "One page."), **errors(400, 401, 503)},
        },
        ("GET", "/v1/agent/claims/{claim_id}"): {
            "operationId": "agentClaim", "tags": ["agent"], "summary": "A claim with its triage, for a decision.",
            "security": agent_auth, "parameters": [claim_id, correlation],
            "responses": {**ok(200, responses.AgentClaimOut, "The claim; its ETag is its version.", "ETag"),
                          **errors(401, 404, 503)},
        },
        ("POST", "/v1/agent/claims/{claim_id}/decision"): {
            "operationId": "agentDecision", "tags": ["agent"], "summary": "Accept, override or reject a claim.",
            "security": agent_auth,
            "parameters": [claim_id, {
                "name": "If-Match", "in": "header", "required": True,
                "description": "The version decided on (the claim's ETag); another version answers 409.",
                "schema": {"type": "string", "pattern": agent_api.IF_MATCH_PATTERN}}, correlation],
            "requestBody": json_body(ref(agent.DecisionIn), agent_api.MAX_BODY),
            "responses": {**ok(200, responses.AgentClaimOut, "The decided claim.", "ETag"),
                          **errors(400, 401, 404, 409, 413, 415, 422, 503)},
        },
        # -- surveyors -------------------------------------------------------------------------------
        ("POST", "/v1/surveyors/{surveyor_id}/status"): {
            "operationId": "surveyorStatus", "tags": ["surveyor"], "summary": "Available for work, or off duty.",
            "security": surveyor_auth, "parameters": [surveyor_id, correlation],
            "requestBody": json_body(ref(agent.SurveyorStatusIn), surveyors_api.MAX_BODY),
            "responses": {**ok(200, responses.SurveyorStatusOut, "The status set."),
                          **errors(400, 401, 404, 413, 415, 503)},
        },
        ("POST", "/v1/surveyors/{surveyor_id}/assignments/{claim_id}/complete"): {
            "operationId": "surveyCompleted", "tags": ["surveyor"],
            "summary": "The survey is done: capacity back, claim to review (once; a retry changes nothing).",
            "security": surveyor_auth, "parameters": [surveyor_id, claim_id, correlation],
            "requestBody": json_body(ref(agent.SurveyCompletedIn), surveyors_api.MAX_BODY),
            "responses": {**ok(200, responses.SurveyCompletedOut, "The claim as it now is."),
                          **errors(400, 401, 404, 409, 413, 415, 503)},
        },
        # -- this document ---------------------------------------------------------------------------
        ("GET", document_path): {
            "operationId": "openapi", "tags": ["meta"], "summary": "This OpenAPI document.",
            "security": [], "parameters": [correlation],
            "responses": {"200": {"description": "OpenAPI 3.1.", "headers": _headers(),
                                  "content": {"application/json": {"schema": {"type": "object"}}}}},
        },
    }
