"""Who may call what, over every HTTP route of the app (enumerated from ``app.routes``, so a new route
fails here until it is given a family and, if it names an id, a cross-tenant case).

- Partner routes (``/v1/claims...``): an active key of an active partner; a claim of another partner
  answers exactly as a claim that does not exist (status, body, headers), so ids cannot be probed.
- Agent routes (``/v1/agent/...``): a configured agent's bearer token, nothing else.
- Surveyor routes (``/v1/surveyors/{id}/...``): that surveyor's own token; another surveyor's reads as
  no such surveyor, another surveyor's assignment as no such assignment.
- IVR routes (``/v1/ivr/...``): a valid signature (Twilio's or the vendor's), else 403.
- Open routes: the claim form and its API (policy number + phone, rate limited), and the status page
  and its data, which need the claim's signed status token.

One moto stack serves the whole module (the checks only read, or are refused); it costs one setup.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlencode

import boto3
import pytest
from chalice.test import Client
from moto import mock_aws

from app import app
from chalicelib import bootstrap
from chalicelib.adapters.models import ApiKeyModel, PartnerModel, SurveyorModel
from chalicelib.adapters.resources import Tables
from chalicelib.api.pages import asset_path
from chalicelib.domain.claim import ClaimStatus
from chalicelib.domain.ids import new_claim_id
from chalicelib.services.auth import hash_api_key
from infra.provision import create_all
from infra.seed import DEMO_AGENT_TOKEN, DEMO_SURVEYOR_TOKENS, seed
from tests.fakes import claim_body, motor_claim_body
from tests.integration.claim_form import FORM
from tests.integration.conftest import ELEME, HELLOBIKE, MOTOR, Pipeline, Queues, post_claim
from tests.integration.hotline import sign as vendor_signature
from tests.integration.hotline import signature as twilio_signature

REVOKED_KEY = "revoked-key-of-eleme-000001"
SUSPENDED_KEY = "key-of-a-suspended-partner-01"
AGENT = f"Bearer {DEMO_AGENT_TOKEN}"
JSON = "application/json"
TWILIO_FORM = "application/x-www-form-urlencoded"


# -- the routes, by who may call them ----------------------------------------------------------------

ROUTES = sorted((method, path) for path, methods in app.routes.items() for method in methods)

# Routes anyone may call, and what guards each instead of a credential.
OPEN = {
    "/": "the claim form page: no data",
    "/openapi.json": "the API's description: no data",
    "/v1/public/policy-check": "policy number and phone must match; rate limited per phone and address",
    "/v1/public/claims": "policy number and phone must match; rate limited per phone and address",
    "/v1/public/claims/{claim_id}": "the claim's signed status token",
    "/claims/{claim_id}": "the claim's signed status token",
    "/assets/{name}": "the pages' stylesheet and scripts, named by their content hash: no data",
}


def family(path: str) -> str:
    if path == "/v1/claims" or path.startswith("/v1/claims/"):
        return "partner"
    if path.startswith("/v1/agent/"):
        return "agent"
    if path.startswith("/v1/surveyors/"):
        return "surveyor"
    if path.startswith("/v1/ivr/"):
        return "ivr"
    return "open" if path in OPEN else "unclassified"


def of_family(name: str) -> list[tuple[str, str]]:
    return [route for route in ROUTES if family(route[1]) == name]


# -- one stack for the module ----------------------------------------------------------------------

@dataclass
class Stack:
    client: Client
    eleme_claim: str  # partner A's
    hellobike_claim: str  # partner B's
    missing_claim: str  # well-formed, never issued
    form_claim: str  # the claimant's own (web form), with its status token
    form_token: str
    other_form_claim: str
    other_form_token: str
    surveyed_claim: str  # motor-direct's, assigned to ``surveyor``
    surveyor: str
    other_surveyor: str

    def call(self, method: str, path: str, headers: dict | None = None, body: str | bytes = b"{}"):
        headers = {"content-type": JSON, **(headers or {})}
        return self.client.http.request(method, path, headers=headers, body=body)


@pytest.fixture(scope="module")
def stack():
    with mock_aws():
        bootstrap.reset()
        sqs = boto3.client("sqs")
        urls = create_all(sqs, boto3.client("s3"), "ap-southeast-1")
        seed()
        now = datetime.now(UTC)
        ApiKeyModel(hash_api_key(REVOKED_KEY), partner_id="eleme", active=0, created_at=now).save()
        PartnerModel("suspended-co", name="Suspended partner", active=0, created_at=now).save()
        ApiKeyModel(hash_api_key(SUSPENDED_KEY), partner_id="suspended-co", active=1, created_at=now).save()
        with Client(app) as client:
            pipeline = Pipeline(client, Queues(sqs, urls))
            eleme = post_claim(client, claim_body(), api_key=ELEME).json_body["claim_id"]
            hellobike = post_claim(client, claim_body(), api_key=HELLOBIKE).json_body["claim_id"]
            forms = [json.loads(client.http.post(
                "/v1/public/claims", headers={"content-type": JSON},
                body=json.dumps({**FORM, "submission_key": f"access-test-form-{n}"}, ensure_ascii=False)).body)
                for n in (1, 2)]
            surveyed = post_claim(client, motor_claim_body(region="310115"), api_key=MOTOR).json_body["claim_id"]
            pipeline.score_all()
            pipeline.dispatch_all()
            assigned = bootstrap.container().claims.get(surveyed)
            assert assigned.status is ClaimStatus.SURVEYOR_ASSIGNED and assigned.surveyor_id in DEMO_SURVEYOR_TOKENS
            yield Stack(client, eleme, hellobike, new_claim_id(), forms[0]["claim_id"], forms[0]["status_token"],
                        forms[1]["claim_id"], forms[1]["status_token"], surveyed, assigned.surveyor_id,
                        next(s for s in DEMO_SURVEYOR_TOKENS if s != assigned.surveyor_id))
        bootstrap.reset()


def fill(path: str, stack: Stack, claim_id: str | None = None) -> str:
    return (path.replace("{claim_id}", claim_id or stack.eleme_claim)
            .replace("{surveyor_id}", stack.surveyor).replace("{phone}", "%2B8613800138000"))


def surveyor_token(surveyor_id: str) -> str:
    return f"Bearer {DEMO_SURVEYOR_TOKENS[surveyor_id]}"


def answer(response) -> tuple[int, bytes, dict]:
    """Everything a caller sees, but the correlation id echoed back."""
    body = response.body if isinstance(response.body, bytes) else str(response.body).encode()
    return response.status_code, body, {k.lower(): v for k, v in response.headers.items()
                                        if k.lower() != "x-correlation-id"}


def claims_stored() -> int:
    return boto3.client("dynamodb").scan(TableName=Tables.CLAIMS, Select="COUNT")["Count"]


# -- every route is accounted for ----------------------------------------------------------------

def test_every_route_belongs_to_a_family_with_its_guard():
    # GIVEN every HTTP route of the app
    # WHEN each is sorted into the family that says who may call it
    unclassified = [route for route in ROUTES if family(route[1]) == "unclassified"]

    # THEN none is left over (a new route must be given a family, and its guard tested below)
    assert len(ROUTES) >= 18
    assert unclassified == []
    assert {family(path) for _, path in ROUTES} >= {"partner", "agent", "surveyor", "ivr", "open"}


def test_every_route_naming_an_id_has_a_cross_tenant_case():
    # GIVEN the routes whose path names a claim, a surveyor, a phone or any other id
    with_ids = {route for route in ROUTES if "{" in route[1]}

    # THEN each has a case below proving that another tenant's id answers as a missing one
    assert with_ids, "no route names an id?"
    assert with_ids - set(ID_CASES) == set()


# -- ids of others look exactly like ids that do not exist ----------------------------------------------

def _partner_reads_a_claim(s: Stack):
    # GIVEN partner B's claim, read with partner A's key
    foreign = s.call("GET", f"/v1/claims/{s.hellobike_claim}", {"x-api-key": ELEME})
    missing = s.call("GET", f"/v1/claims/{s.missing_claim}", {"x-api-key": ELEME})
    malformed = s.call("GET", "/v1/claims/CLM-not-a-claim", {"x-api-key": ELEME})
    # THEN it is answered exactly as a claim that does not exist; its owner reads it
    assert foreign.status_code == 404 and json.loads(foreign.body)["error"]["code"] == "NOT_FOUND"
    assert answer(foreign) == answer(missing) == answer(malformed)
    assert s.call("GET", f"/v1/claims/{s.hellobike_claim}", {"x-api-key": HELLOBIKE}).status_code == 200


def _partner_or_claimant_attaches_a_photo(s: Stack):
    body = json.dumps({"content_type": "image/png", "size": 100})
    path = "/v1/claims/{}/attachments"
    # GIVEN partner B's claim, and partner A's key
    foreign = s.call("POST", path.format(s.hellobike_claim), {"x-api-key": ELEME}, body)
    missing = s.call("POST", path.format(s.missing_claim), {"x-api-key": ELEME}, body)
    assert foreign.status_code == 404
    assert answer(foreign) == answer(missing)
    # AND a claimant's status token, used on another claimant's claim
    foreign = s.call("POST", path.format(s.form_claim), {"x-status-token": s.other_form_token}, body)
    missing = s.call("POST", path.format(s.missing_claim), {"x-status-token": s.other_form_token}, body)
    assert foreign.status_code == 404
    assert answer(foreign) == answer(missing)
    # AND a partner cannot attach to a claimant's own (web form) claim either
    assert answer(s.call("POST", path.format(s.form_claim), {"x-api-key": ELEME}, body)) == \
        answer(s.call("POST", path.format(s.missing_claim), {"x-api-key": ELEME}, body))
    # THEN only the owners get an upload (checked last: it issues one)
    assert s.call("POST", path.format(s.hellobike_claim), {"x-api-key": HELLOBIKE}, body).status_code == 201


def _claimant_follows_a_status_link(claims: str):
    """The status data (``/v1/public/claims``) and the status page (``/claims``): another claim's signed link
    answers as a missing claim does; the claim's own opens it."""
    def case(s: Stack):
        foreign = s.call("GET", f"{claims}/{s.form_claim}?t={s.other_form_token}")
        missing = s.call("GET", f"{claims}/{s.missing_claim}?t={s.other_form_token}")
        assert foreign.status_code == 404
        assert answer(foreign) == answer(missing)
        assert s.call("GET", f"{claims}/{s.form_claim}?t={s.form_token}").status_code == 200
    return case


def _agents_only(method: str, template: str, ok: int):
    """Agents work for the insurer on every claim: no tenant among them. Anyone else is stopped at the
    token, the claim's own partner and surveyor included, before the id is even looked at."""
    def case(s: Stack):
        path = fill(template, s, s.surveyed_claim)
        for headers in ({"x-api-key": MOTOR}, {"authorization": surveyor_token(s.surveyor)}):
            refused = s.call(method, path, headers)
            assert refused.status_code == 401, headers
            assert answer(refused) == answer(s.call(method, fill(template, s, s.missing_claim), headers))
        assert s.call(method, path, {"authorization": AGENT}).status_code == ok
        if "{claim_id}" in template:
            assert s.call("GET", f"/v1/agent/claims/{s.missing_claim}", {"authorization": AGENT}).status_code == 404
    return case


def _surveyor_sets_a_status(s: Stack):
    # GIVEN another surveyor's token, used on this surveyor's status
    before = SurveyorModel.get(s.surveyor).status
    body = json.dumps({"status": "OFF_DUTY"})
    other = {"authorization": surveyor_token(s.other_surveyor)}
    foreign = s.call("POST", f"/v1/surveyors/{s.surveyor}/status", other, body)
    missing = s.call("POST", "/v1/surveyors/SV-NO-SUCH-1/status", other, body)
    # THEN it reads as no such surveyor, and nothing changed
    assert foreign.status_code == 404
    assert answer(foreign) == answer(missing)
    assert SurveyorModel.get(s.surveyor).status == before


def _surveyor_completes_a_survey(s: Stack):
    body = json.dumps({"notes": "done"})
    other = {"authorization": surveyor_token(s.other_surveyor)}
    # GIVEN another surveyor acting as the assigned one
    foreign = s.call("POST", f"/v1/surveyors/{s.surveyor}/assignments/{s.surveyed_claim}/complete", other, body)
    missing = s.call("POST", f"/v1/surveyors/SV-NO-SUCH-1/assignments/{s.surveyed_claim}/complete", other, body)
    assert foreign.status_code == 404
    assert answer(foreign) == answer(missing)
    # AND another surveyor completing, as themselves, an assignment that is not theirs
    foreign = s.call("POST", f"/v1/surveyors/{s.other_surveyor}/assignments/{s.surveyed_claim}/complete", other, body)
    missing = s.call("POST", f"/v1/surveyors/{s.other_surveyor}/assignments/{s.missing_claim}/complete", other, body)
    assert foreign.status_code == 404
    assert answer(foreign) == answer(missing)
    # THEN the claim is still waiting for its own surveyor
    assert bootstrap.container().claims.get(s.surveyed_claim).status is ClaimStatus.SURVEYOR_ASSIGNED


def _an_asset_under_another_name(s: Stack):
    # GIVEN a page's script under its own content-hashed name, and under a name it does not have
    served = s.call("GET", asset_path("site.js"))
    other_hash = s.call("GET", "/assets/site.0000000000000000.js")
    no_such = s.call("GET", "/assets/nothing.0000000000000000.js")
    # THEN only its own name serves it; another hash reads exactly like no such asset
    assert served.status_code == 200
    assert other_hash.status_code == 404
    assert answer(other_hash) == answer(no_such)


ID_CASES = {
    ("GET", "/assets/{name}"): _an_asset_under_another_name,
    ("GET", "/v1/claims/{claim_id}"): _partner_reads_a_claim,
    ("POST", "/v1/claims/{claim_id}/attachments"): _partner_or_claimant_attaches_a_photo,
    ("GET", "/v1/public/claims/{claim_id}"): _claimant_follows_a_status_link("/v1/public/claims"),
    ("GET", "/claims/{claim_id}"): _claimant_follows_a_status_link("/claims"),
    ("GET", "/v1/agent/claims/{claim_id}"): _agents_only("GET", "/v1/agent/claims/{claim_id}", 200),
    ("POST", "/v1/agent/claims/{claim_id}/decision"): _agents_only(
        "POST", "/v1/agent/claims/{claim_id}/decision", 400),  # past the token: If-Match is missing
    ("GET", "/v1/agent/callers/{phone}"): _agents_only("GET", "/v1/agent/callers/{phone}", 200),
    ("POST", "/v1/surveyors/{surveyor_id}/status"): _surveyor_sets_a_status,
    ("POST", "/v1/surveyors/{surveyor_id}/assignments/{claim_id}/complete"): _surveyor_completes_a_survey,
}


@pytest.mark.parametrize("route", sorted(ID_CASES), ids=" ".join)
def test_an_id_of_another_tenant_answers_as_a_missing_one(stack, route):
    ID_CASES[route](stack)


# -- partners ------------------------------------------------------------------------------------------

PARTNER_REFUSED = {
    "no key": {},
    "empty key": {"x-api-key": ""},
    "unknown key": {"x-api-key": "not-a-key-anyone-was-given"},
    "revoked key": {"x-api-key": REVOKED_KEY},
    "suspended partner's key": {"x-api-key": SUSPENDED_KEY},
    "over-long key": {"x-api-key": "k" * 300},
    "agent's bearer token": {"authorization": AGENT},
}


@pytest.mark.parametrize("route", of_family("partner"), ids=" ".join)
def test_partner_routes_refuse_a_missing_unknown_or_revoked_key(stack, route):
    # GIVEN a partner route, and a valid claim body where one is posted
    method, template = route
    path = fill(template, stack)
    body = json.dumps(claim_body(), ensure_ascii=False) if template == "/v1/claims" else b"{}"
    before = claims_stored()

    # WHEN it is called without a usable key, every way
    answers = {name: stack.call(method, path, headers, body) for name, headers in PARTNER_REFUSED.items()}

    # THEN each is a 401 in the error envelope, nothing is stored, and a revoked or suspended key is
    # answered exactly as one never issued (nobody learns a key once existed)
    for name, response in answers.items():
        assert response.status_code == 401, name
        assert json.loads(response.body)["error"]["code"] == "UNAUTHENTICATED", name
    assert (answer(answers["revoked key"]) == answer(answers["unknown key"])
            == answer(answers["suspended partner's key"]))
    assert claims_stored() == before
    # AND the partner's own key passes the guard
    assert stack.call(method, path, {"x-api-key": ELEME}, body).status_code not in (401, 403)


# -- agents ---------------------------------------------------------------------------------------------

AGENT_REFUSED = {
    "no token": {},
    "wrong token": {"authorization": "Bearer not-the-agents-token"},
    "token without its scheme": {"authorization": DEMO_AGENT_TOKEN},
    "another scheme": {"authorization": f"Basic {DEMO_AGENT_TOKEN}"},
    "token with something after it": {"authorization": f"{AGENT}x"},
    "a surveyor's token": {"authorization": f"Bearer {next(iter(DEMO_SURVEYOR_TOKENS.values()))}"},
    "a partner's key": {"x-api-key": ELEME},
}


@pytest.mark.parametrize("route", of_family("agent"), ids=" ".join)
def test_agent_routes_need_an_agents_bearer_token(stack, route):
    method, template = route
    path = fill(template, stack, stack.missing_claim)
    for name, headers in AGENT_REFUSED.items():
        response = stack.call(method, path, headers)
        assert response.status_code == 401, name
        assert json.loads(response.body)["error"]["code"] == "UNAUTHENTICATED", name
    assert stack.call(method, path, {"authorization": AGENT}).status_code != 401


# -- surveyors -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("route", of_family("surveyor"), ids=" ".join)
def test_surveyor_routes_need_that_surveyors_own_token(stack, route):
    method, template = route
    path = fill(template, stack, stack.missing_claim)  # a missing claim: nothing can change
    refused = {"no token": {}, "wrong token": {"authorization": "Bearer not-a-surveyor-token"},
               "an agent's token": {"authorization": AGENT}, "a partner's key": {"x-api-key": ELEME}}
    for name, headers in refused.items():
        assert stack.call(method, path, headers).status_code == 401, name
    # another surveyor's valid token reads as no such surveyor
    other = stack.call(method, path, {"authorization": surveyor_token(stack.other_surveyor)})
    assert other.status_code == 404
    assert json.loads(other.body)["error"]["message"] == "No such surveyor."
    assert stack.call(method, path, {"authorization": surveyor_token(stack.surveyor)}).status_code not in (401, 403)


# -- IVR webhooks ----------------------------------------------------------------------------------------

def _ivr_request(template: str, signature: str | None, good: bool) -> tuple[dict, str]:
    """Headers and body for an IVR route. Signed or not, the body is refused past the signature (no
    call id, no event type), so nothing is ever created here."""
    if template.startswith("/v1/ivr/twilio/"):
        params = {"From": "+8613800138000"}
        headers = {"content-type": TWILIO_FORM}
        value = twilio_signature(template, params) if good else signature
        if value is not None:
            headers["x-twilio-signature"] = value
        return headers, urlencode(params)
    body = json.dumps({"type": "nothing.happened"})
    headers = {"content-type": JSON}
    value = vendor_signature(body.encode()) if good else signature
    if value is not None:
        headers["x-signature"] = value
    return headers, body


IVR_REFUSED = {
    "no signature": None,
    "empty signature": "",
    "wrong signature": "t=1790000000,v1=" + "0" * 64,
    "garbage": "not a signature at all",
}


@pytest.mark.parametrize("route", of_family("ivr"), ids=" ".join)
def test_ivr_routes_need_a_valid_signature(stack, route):
    method, template = route
    before = claims_stored()
    for name, signature in IVR_REFUSED.items():
        headers, body = _ivr_request(template, signature, good=False)
        response = stack.client.http.request(method, template, headers=headers, body=body)
        assert response.status_code == 403, name
        assert json.loads(response.body)["error"]["code"] == "SIGNATURE_INVALID", name
    assert claims_stored() == before
    headers, body = _ivr_request(template, None, good=True)
    assert stack.client.http.request(method, template, headers=headers, body=body).status_code == 400
