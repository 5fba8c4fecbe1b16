"""Every route of the OpenAPI document fuzzed by schemathesis, in-process, against moto and the demo data.

The app is served to schemathesis as a WSGI app: a thin adapter hands each request to Chalice's own
local gateway (the one ``chalice.test.Client`` uses), so nothing listens on a port. Each generated
request goes out as generated (random or no credentials), or with the demo credentials of its security
scheme, or with those and the id of a claim that exists and is the caller's (so the deep, 2xx paths are
exercised too); hypothesis picks, per example. Webhook signatures are computed over the very bytes
sent, as the vendor would. Checks: no 5xx, every status code documented, every response body conforms
to its documented schema. Bounded (a fixed number of examples per operation, derandomised) to stay
within seconds.
"""
from __future__ import annotations

import time
from urllib.parse import parse_qsl, urlencode

import hypothesis
import pytest
import schemathesis
from chalice.test import Client
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)

from app import app
from chalicelib import bootstrap
from chalicelib.domain.signatures import sign_webhook, twilio_signature
from infra.seed import DEMO_AGENT_TOKEN, DEMO_IVR_SECRET, DEMO_SURVEYOR_TOKENS, DEMO_TWILIO_AUTH_TOKEN
from tests.integration.conftest import ELEME
from tests.integration.demo_claims import DEMO_PHONE, DEMO_POLICY, DemoClaims, demo_stack

MAX_EXAMPLES = 25  # per operation: 19 operations, about 450 requests in all
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance, content_type_conformance,
          response_headers_conformance]
# The coverage phase also sends each path the methods it does not route (TRACE, PUT, QUERY, ...): a 405 with
# Allow, as API Gateway refuses them.
COVERAGE_CHECKS = [*CHECKS, unsupported_method]
SIGN = "sign-me"  # a signature header with this value is signed by the adapter, over the bytes sent


class ChaliceWSGI:
    """A WSGI app around Chalice's local gateway, which plays API Gateway for the app in-process; it also
    signs webhooks marked ``SIGN``, as Twilio or the IVR vendor would sign what they send."""

    def __init__(self, chalice_app):
        self._client = Client(chalice_app)

    def __call__(self, environ, start_response):
        # the path as sent (still percent-encoded, as API Gateway matches it), then the query
        raw_path = (environ.get("REQUEST_URI") or environ.get("RAW_URI") or environ.get("PATH_INFO") or "/")
        query = environ.get("QUERY_STRING", "")
        path = raw_path.split("?")[0] + (f"?{query}" if query else "")
        headers = {key[5:].replace("_", "-").lower(): value for key, value in environ.items()
                   if key.startswith("HTTP_")}
        for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            if environ.get(key):
                headers[key.replace("_", "-").lower()] = environ[key]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        self._sign(path, headers, body)
        response = self._client.http.request(environ["REQUEST_METHOD"], path, headers=headers, body=body)
        start_response(f"{response.status_code} STATUS", [(k, str(v)) for k, v in response.headers.items()])
        return [response.body if isinstance(response.body, bytes) else str(response.body or "").encode()]

    @staticmethod
    def _sign(path: str, headers: dict[str, str], body: bytes) -> None:
        if headers.get("x-signature") == SIGN:
            headers["x-signature"] = sign_webhook(DEMO_IVR_SECRET, int(time.time()), body)
        if headers.get("x-twilio-signature") == SIGN:
            route, _, query = path.partition("?")
            params = dict(parse_qsl(query, keep_blank_values=True))
            url = bootstrap.container().settings.public_base_url.rstrip("/") + route + (
                f"?{urlencode(params)}" if params else "")
            pairs = parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True)
            headers["x-twilio-signature"] = twilio_signature(DEMO_TWILIO_AUTH_TOKEN, url, pairs)


def _config(*, coverage_only: bool = False) -> schemathesis.Config:
    config = schemathesis.Config()
    config.projects.default.generation.update(
        modes=[schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE],
        max_examples=MAX_EXAMPLES, deterministic=True, database="none")
    if coverage_only:
        phases = config.projects.default.phases
        phases.examples.enabled = phases.fuzzing.enabled = False
        phases.coverage.enabled = True
        # Every method but OPTIONS, which Chalice's local gateway answers itself as a CORS preflight (the
        # check leaves OPTIONS out too).
        phases.coverage.unexpected_methods = {"get", "put", "post", "delete", "patch", "trace", "query"}
    return config


# Every route, the document's own too (schemathesis leaves out the operation that served the schema
# unless a filter selects it).
schema = schemathesis.openapi.from_wsgi("/openapi.json", ChaliceWSGI(app), config=_config()).include(path_regex="^/")
# The same routes for schemathesis' coverage phase (its boundary values, and every method a path does not
# route), which it runs only for a test without strategies of its own (@schema.given).
coverage = schemathesis.openapi.from_wsgi("/openapi.json", ChaliceWSGI(app),
                                          config=_config(coverage_only=True)).include(path_regex="^/")


# -- the stack ------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def known():
    """Moto with the demo data and the claims that let a request reach its 2xx path (demo_claims.py)."""
    with demo_stack() as (_, claims):
        yield claims


# -- credentials and ids, as hypothesis picks them ---------------------------------------------------------

def _schemes(case) -> set[str]:
    return {name for requirement in case.operation.definition.raw.get("security", []) for name in requirement}


def _with_credentials(case, known: DemoClaims, mode: str) -> None:
    """``generated``: as schemathesis made them; ``valid``: the demo credentials of the operation's
    scheme; ``owned``: those, and the ids of a claim (and surveyor) they may act on."""
    if mode == "generated":
        return
    headers = case.headers if case.headers is not None else {}
    query = case.query if case.query is not None else {}
    path = case.path_parameters if case.path_parameters is not None else {}
    schemes = _schemes(case)
    route = case.operation.path
    if "statusTokenHeader" in schemes and mode == "owned":  # a photo, by the claimant
        headers["x-status-token"] = known.status_token
        path["claim_id"] = known.form_claim
    elif "partnerApiKey" in schemes:
        headers["x-api-key"] = ELEME
        if mode == "owned" and "claim_id" in path:
            path["claim_id"] = known.review_claim
    elif "agentBearer" in schemes:
        headers["authorization"] = f"Bearer {DEMO_AGENT_TOKEN}"
        if mode == "owned" and "claim_id" in path:
            path["claim_id"] = known.review_claim
            if route.endswith("/decision"):
                headers["if-match"] = f'"{bootstrap.container().claims.get(known.review_claim).version}"'
        if mode == "owned" and "phone" in path:
            path["phone"] = DEMO_PHONE
    elif "surveyorBearer" in schemes:
        surveyor = known.surveyor if mode == "owned" else path.get("surveyor_id", "SV-SH-001")
        surveyor = surveyor if surveyor in DEMO_SURVEYOR_TOKENS else "SV-SH-001"
        headers["authorization"] = f"Bearer {DEMO_SURVEYOR_TOKENS[surveyor]}"
        if mode == "owned":
            path["surveyor_id"] = surveyor
            if "claim_id" in path:
                path["claim_id"] = known.field_claim
    elif "statusTokenQuery" in schemes:
        query["t"] = known.status_token
        if mode == "owned":
            path["claim_id"] = known.form_claim
    elif schemes & {"ivrSignature", "twilioSignature"}:
        headers["x-signature" if "ivrSignature" in schemes else "x-twilio-signature"] = SIGN
    elif route in ("/v1/public/policy-check", "/v1/public/claims") and mode == "owned" \
            and isinstance(case.body, dict):
        case.body.update(policy_number=DEMO_POLICY, phone=DEMO_PHONE)
    case.headers, case.query, case.path_parameters = headers, query, path


@schema.parametrize()
@schema.given(mode=st.sampled_from(["generated", "valid", "owned"]))
@hypothesis.settings(max_examples=MAX_EXAMPLES, derandomize=True, deadline=None, database=None,
                     suppress_health_check=list(hypothesis.HealthCheck))
def test_every_route_answers_as_documented_and_never_5xx(case, mode, known):
    # GIVEN a generated request (valid or not), with generated, valid or owning credentials
    _with_credentials(case, known, mode)

    # WHEN it is sent to the app
    # THEN no 5xx, the status code is documented, and the body conforms to the documented schema
    case.call_and_validate(checks=CHECKS)


@coverage.parametrize()
@hypothesis.settings(deadline=None, database=None, suppress_health_check=list(hypothesis.HealthCheck))
def test_every_route_answers_its_boundary_cases_and_unrouted_methods_as_documented(case, known):
    # GIVEN each case of the coverage phase (boundary and missing values, and each method the path does not
    # route), with the demo credentials of the operation's scheme
    _with_credentials(case, known, "valid")

    # WHEN it is sent to the app
    # THEN no 5xx, the answer is documented and conforms, and an unrouted method is a 405 with Allow
    case.call_and_validate(checks=COVERAGE_CHECKS)
