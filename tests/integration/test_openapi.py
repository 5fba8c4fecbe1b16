"""GET /openapi.json: every HTTP route described, request bodies from the models that parse them."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from chalice.test import Client
from openapi_spec_validator import validate

from app import app
from chalicelib.api import openapi
from chalicelib.api.openapi_spec import REF
from chalicelib.schemas import agent, claim_form, claims, ivr

ROOT = Path(__file__).resolve().parents[2]
AUTHENTICATED = {"partnerApiKey", "agentBearer", "surveyorBearer", "statusTokenHeader", "statusTokenQuery",
                 "ivrSignature", "twilioSignature"}
# Routes anyone may call: the form page, its API (proved by policy number and phone, rate limited), this document.
OPEN_ROUTES = {("GET", "/"), ("POST", "/v1/public/policy-check"), ("POST", "/v1/public/claims"),
               ("GET", "/openapi.json"), ("GET", "/assets/{name}")}


@pytest.fixture(scope="module")
def api():
    """The app's HTTP routes; the document needs no AWS at all, so no moto account either."""
    with Client(app) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def document(api) -> dict:
    openapi.reset_cache()
    response = api.http.get("/openapi.json")
    assert response.status_code == 200
    return json.loads(response.body)


def _operations(document: dict):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            yield method.upper(), path, operation


def test_every_route_of_the_app_is_in_the_document_and_nothing_else(document):
    # GIVEN the app's routes, as Chalice registered them
    routes = {(method, path) for path, methods in app.routes.items() for method in methods}

    # WHEN the document is read
    described = {(method, path) for method, path, _ in _operations(document)}

    # THEN each route is described, and every description is of a route
    assert routes - described == set(), "routes missing from the OpenAPI document (api/openapi_spec.py)"
    assert described - routes == set(), "the document describes routes the app does not have"
    assert len(routes) >= 19


def test_the_screen_pop_is_looked_up_by_a_body_and_the_route_with_the_number_is_deprecated(document):
    # GIVEN the document's agent operations
    paths = document["paths"]

    # THEN the lookup takes the number in a JSON body and is not deprecated
    lookup = paths["/v1/agent/callers/lookup"]["post"]
    schema = lookup["requestBody"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": REF.format(model="CallerLookupIn")}
    assert not lookup.get("deprecated")
    # AND the route with the number in its URL is deprecated, its answer naming its successor
    old = paths["/v1/agent/callers/{phone}"]["get"]
    assert old["deprecated"] is True
    assert {"Deprecation", "Link"} <= set(old["responses"]["200"]["headers"])


def test_document_is_valid_openapi_3_1(document):
    # GIVEN the served document
    # WHEN it is validated against the OpenAPI 3.1 specification
    validate(document)

    # THEN it is 3.1, every operation is named uniquely
    assert document["openapi"] == "3.1.0"
    ids = [operation["operationId"] for _, _, operation in _operations(document)]
    assert len(ids) == len(set(ids))


def test_document_is_served_without_credentials_as_json_and_cached(api):
    # GIVEN no credentials at all
    openapi.reset_cache()

    # WHEN the document is asked for twice
    first = api.http.get("/openapi.json")
    second = api.http.get("/openapi.json")

    # THEN both answers are the same JSON document
    assert first.status_code == second.status_code == 200
    assert first.headers["Content-Type"] == "application/json"
    assert first.body == second.body
    assert json.loads(first.body)["info"]["title"] == "Claims intake"


@pytest.mark.parametrize("model", [
    claims.ClaimIn, claim_form.PublicClaimIn, claim_form.PolicyCheckIn, claim_form.UploadRequestIn, agent.DecisionIn,
    agent.SurveyorStatusIn, agent.SurveyCompletedIn, ivr.CallStarted, ivr.ClaimReported, ivr.TwilioCallForm,
])
def test_request_schemas_are_the_json_schemas_of_the_models_that_validate_the_requests(document, model):
    # GIVEN the pydantic model that parses a request body
    expected = model.model_json_schema(ref_template=REF)
    nested = expected.pop("$defs", {})

    # WHEN the document's components are read
    components = document["components"]["schemas"]

    # THEN the model and each model it nests are there, exactly as pydantic describes them
    assert components[model.__name__] == expected
    for name, schema in nested.items():
        assert components[name] == schema


def _request_schemas(document: dict) -> dict[tuple[str, str], tuple[str, dict]]:
    out = {}
    for method, path, operation in _operations(document):
        for media_type, content in operation.get("requestBody", {}).get("content", {}).items():
            out[(method, path)] = (media_type, content["schema"])
    return out


def test_request_bodies_name_their_models_and_media_types(document):
    # GIVEN the request bodies of the document
    bodies = _request_schemas(document)

    # THEN each JSON route names the model that parses it; Twilio's webhooks are form-encoded
    ref = {"$ref": REF.format(model="ClaimIn")}
    assert bodies[("POST", "/v1/claims")] == ("application/json", ref)
    assert bodies[("POST", "/v1/claims/batch")][1]["properties"]["claims"]["items"] == ref
    assert bodies[("POST", "/v1/public/claims")] == ("application/json", {"$ref": REF.format(model="PublicClaimIn")})
    assert bodies[("POST", "/v1/agent/claims/{claim_id}/decision")][1] == {"$ref": REF.format(model="DecisionIn")}
    events = bodies[("POST", "/v1/ivr/events")][1]
    assert {s["$ref"] for s in events["oneOf"]} == {REF.format(model="CallStarted"), REF.format(model="ClaimReported")}
    for path in ("/v1/ivr/twilio/voice", "/v1/ivr/twilio/gather"):
        assert bodies[("POST", path)] == ("application/x-www-form-urlencoded",
                                          {"$ref": REF.format(model="TwilioCallForm")})
    # every body that is taken states its byte limit
    for method, path, operation in _operations(document):
        if "requestBody" in operation:
            assert operation["requestBody"]["x-max-body-bytes"] >= 1024, (method, path)


REQUEST_DATES = [("LossIn", "occurred_at"), ("PublicClaimIn", "occurred_at"), ("CallStarted", "occurred_at"),
                 ("ClaimReported", "occurred_at"), ("PhoneLossIn", "occurred_at")]


@pytest.mark.parametrize("model, field", REQUEST_DATES)
def test_every_request_date_is_an_rfc_3339_date_time_string_with_its_offset(document, model, field):
    # GIVEN a date field of a request body (the partner claim's, the form's, the IVR events')
    schema = document["components"]["schemas"][model]["properties"][field]

    # THEN it is a string of format date-time (RFC 3339), whose description says its offset is required
    [date] = [s for s in schema.get("anyOf", [schema]) if s.get("type") != "null"]
    assert date["type"] == "string" and date["format"] == "date-time"
    assert "UTC offset" in date["description"] and "1900" in date["description"]


def test_every_route_states_its_security_and_the_schemes_exist(document):
    # GIVEN the document's security schemes
    schemes = document["components"]["securitySchemes"]
    assert set(schemes) == AUTHENTICATED
    assert schemes["partnerApiKey"] == {**schemes["partnerApiKey"], "type": "apiKey", "in": "header",
                                        "name": "x-api-key"}
    assert schemes["statusTokenHeader"]["name"] == "x-status-token"
    assert schemes["agentBearer"]["scheme"] == schemes["surveyorBearer"]["scheme"] == "bearer"

    for method, path, operation in _operations(document):
        # THEN each operation says how it is authorised (an empty list for the open ones), with known schemes
        named = {name for requirement in operation["security"] for name in requirement}
        assert named <= AUTHENTICATED, (method, path)
        if (method, path) in OPEN_ROUTES:
            assert operation["security"] == [], (method, path)
        else:
            assert named, (method, path)
            # and an authenticated JSON route documents how it refuses: 401 (key, token) or 403 (signature)
            refusals = {"401", "403", "404"} & set(operation["responses"])
            assert refusals, (method, path)


def test_errors_use_the_envelope_and_pages_are_html_or_twiml(document):
    # GIVEN the responses of every operation
    envelope = {"$ref": REF.format(model="ErrorOut")}
    for method, path, operation in _operations(document):
        for status, response in operation["responses"].items():
            content = response["content"]
            # THEN every 4xx/5xx of a JSON route is the error envelope; the correlation id is always answered
            if int(status) >= 400 and "application/json" in content:
                assert content["application/json"]["schema"] == envelope, (method, path, status)
            assert "x-correlation-id" in response["headers"]
    page = document["paths"]["/claims/{claim_id}"]["get"]["responses"]
    assert set(page["200"]["content"]) == set(page["404"]["content"]) == {"text/html"}
    assert set(document["paths"]["/"]["get"]["responses"]["200"]["content"]) == {"text/html"}
    for path in ("/v1/ivr/twilio/voice", "/v1/ivr/twilio/gather"):
        assert set(document["paths"][path]["post"]["responses"]["200"]["content"]) == {"text/xml"}
    # and the envelope is the one api/http.py builds
    error = document["components"]["schemas"]["ErrorBodyOut"]
    assert error["required"] == ["code", "message"] and set(error["properties"]) == {"code", "message", "details"}


def test_importing_the_app_does_not_build_or_import_the_document():
    # GIVEN a fresh interpreter (a cold start)
    code = ("import sys, app; print(sorted(m for m in ('chalicelib.api.openapi_spec', 'chalicelib.schemas.responses',"
            " 'pydantic.json_schema') if m in sys.modules))")

    # WHEN the app is imported
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
                         env={"PATH": "/usr/bin:/bin", "AWS_DEFAULT_REGION": "ap-southeast-1"})

    # THEN neither the document's builder nor the response models were loaded
    loaded = json.loads(out.stdout.strip().replace("'", '"'))
    assert "chalicelib.api.openapi_spec" not in loaded
    assert "chalicelib.schemas.responses" not in loaded
