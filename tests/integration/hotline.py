"""The hotline's three channels as a caller's IVR drives them, for the tests: Twilio's form posts
(signed with Twilio's own ``RequestValidator``), any other vendor's signed JSON events (signed here with
hmac, as a vendor would, not with the app's code), and Amazon Connect's contact-flow events, all with
the real shapes kept in tests/events."""
from __future__ import annotations

import hashlib
import hmac
import json
import time
from pathlib import Path
from urllib.parse import urlencode

from twilio.request_validator import RequestValidator

from infra.seed import DEMO_IVR_SECRET, DEMO_TWILIO_AUTH_TOKEN

EVENTS = Path(__file__).resolve().parent.parent / "events"
KNOWN = "+8613800138000"  # the demo caller: one food-safety policy, PA2026000123

# Twilio Voice
BASE_URL = "http://127.0.0.1:8000"  # Settings.public_base_url in tests: the URL Twilio signs
VOICE = "/v1/ivr/twilio/voice"
GATHER = "/v1/ivr/twilio/gather"
GATHER_ZH = f"{GATHER}?lang=zh-CN"  # where the first <Gather> of a Mandarin call posts
FORM = "application/x-www-form-urlencoded"

# any other vendor's events
PATH = "/v1/ivr/events"

# -- Twilio ------------------------------------------------------------------------------------------

def twilio_params(name: str, **overrides: str) -> dict[str, str]:
    params = json.loads((EVENTS / name).read_text(encoding="utf-8"))
    params.update(overrides)
    return params


def incoming_call(**overrides: str) -> dict[str, str]:
    return twilio_params("twilio_voice_incoming_call.json", **overrides)


def digits(**overrides: str) -> dict[str, str]:
    return twilio_params("twilio_gather_digits.json", **overrides)


def speech(**overrides: str) -> dict[str, str]:
    return twilio_params("twilio_gather_speech.json", **overrides)


def signature(path: str, params: dict[str, str], token: str = DEMO_TWILIO_AUTH_TOKEN) -> str:
    """What Twilio puts in X-Twilio-Signature when it posts ``params`` to ``path`` (with its query)."""
    return RequestValidator(token).compute_signature(BASE_URL + path, params)


def post_form(client, path: str, params: dict[str, str], *, signed: str | None = "auto",
              content_type: str = FORM, body: str | None = None):
    """Posts the form as Twilio does; ``signed="auto"`` signs exactly what is posted."""
    headers = {"content-type": content_type}
    if signed == "auto":
        signed = signature(path, params)
    if signed is not None:
        headers["x-twilio-signature"] = signed
    return client.http.post(path, headers=headers, body=urlencode(params) if body is None else body)


# -- any other vendor ------------------------------------------------------------------------------

def event(name: str, **overrides) -> dict:
    body = json.loads((EVENTS / name).read_text(encoding="utf-8"))
    body.update(overrides)
    return body


def call_started(**overrides) -> dict:
    return event("ivr_call_started.json", **overrides)


def claim_reported(**overrides) -> dict:
    return event("ivr_claim_reported.json", **overrides)


def raw(body: dict | bytes) -> bytes:
    return body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode("utf-8")


def sign(body: bytes, *, secret: str = DEMO_IVR_SECRET, at: int | None = None) -> str:
    """``t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">``, as the public contract describes it."""
    t = int(time.time()) if at is None else at
    digest = hmac.new(secret.encode("utf-8"), f"{t}.".encode("ascii") + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"


def post_event(client, body: dict | bytes, *, signature: str | None = "auto", content_type: str = "application/json"):
    data = raw(body)
    headers = {"content-type": content_type}
    if signature == "auto":
        signature = sign(data)
    if signature is not None:
        headers["x-signature"] = signature
    return client.http.post(PATH, headers=headers, body=data)


# -- Amazon Connect --------------------------------------------------------------------------------

def flow_event(name: str = "connect_contact_flow_event.json", *, caller: str | None = KNOWN,
               contact_id: str | None = None, parameters: dict | None = None) -> dict:
    event = json.loads((EVENTS / name).read_text(encoding="utf-8"))
    data = event["Details"]["ContactData"]
    data["CustomerEndpoint"]["Address"] = caller
    if contact_id:
        data["ContactId"] = contact_id
    if parameters is not None:
        event["Details"]["Parameters"] = parameters
    return event


def identify(client, event: dict) -> dict:
    return client.lambda_.invoke("connect_identify_caller", event).payload


def report(client, event: dict) -> dict:
    return client.lambda_.invoke("connect_report_claim", event).payload

