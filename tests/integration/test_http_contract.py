"""HTTP plumbing every route shares (chalicelib/api/http.py): errors in the contract's shape, whoever
raised them, and never a stack trace."""
from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from app import app
from chalicelib import bootstrap
from chalicelib.domain.ids import new_claim_id
from infra.seed import DEMO_AGENT_TOKEN, DEMO_SURVEYOR_TOKENS
from tests.fakes import claim_body
from tests.integration.conftest import ELEME, post_claim
from tests.integration.hotline import sign


def test_wrong_method_answers_in_the_contracts_shape(client):
    # GIVEN a route that only takes POST
    # WHEN it is called with PUT
    response = client.http.put("/v1/claims", headers={"x-api-key": ELEME, "content-type": "application/json"},
                               body="{}")

    # THEN the answer is the contract's 405 body
    assert response.status_code == 405
    assert response.json_body["error"]["code"] == "METHOD_NOT_ALLOWED"


@pytest.mark.parametrize("method, path, allowed", [
    ("TRACE", "/v1/claims", "POST"),
    ("PUT", "/v1/claims", "POST"),
    ("QUERY", "/v1/claims/batch", "POST"),
    ("DELETE", "/v1/agent/queue", "GET"),
])
def test_a_method_a_route_does_not_take_is_a_405_naming_the_ones_it_does(client, method, path, allowed):
    # GIVEN a route of the API and a method it does not route
    # WHEN the route is called with that method
    response = client.http.request(method, path, headers={"x-api-key": ELEME}, body=b"")

    # THEN it is refused as API Gateway refuses it: 405, the methods it takes in Allow, the contract's body
    assert response.status_code == 405
    assert response.headers["Allow"] == allowed
    assert response.headers["Content-Type"] == "application/json"
    assert json.loads(response.body) == {"error": {"code": "METHOD_NOT_ALLOWED",
                                                   "message": "This method is not allowed here."}}


@pytest.fixture
def throttled_storage(client):
    """The claim repository's transactions are throttled by DynamoDB."""
    events = bootstrap.container().claims._conn().client.meta.events

    def throttle(model, **_kwargs):
        raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"},
                           "ResponseMetadata": {"HTTPStatusCode": 400}}, model.name)

    events.register("before-call.dynamodb.TransactWriteItems", throttle, unique_id="throttled-storage")
    yield
    events.unregister("before-call.dynamodb.TransactWriteItems", unique_id="throttled-storage")


def test_throttled_storage_answers_retry_later_without_a_trace(client, stored_items, throttled_storage):
    # GIVEN DynamoDB throttling the claim writes
    before = stored_items()

    # WHEN a partner posts a claim
    response = post_claim(client, claim_body())

    # THEN it is told to retry shortly, in the contract's shape, and nothing is stored
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "2"
    assert response.json_body == {"error": {"code": "TEMPORARILY_UNAVAILABLE",
                                            "message": "Storage is busy; please retry shortly."}}
    assert "Traceback" not in response.body.decode("utf-8")
    assert stored_items() == before


# -- media types: JSON in UTF-8, on every route that reads a JSON body ----------------------------------

JSON_ROUTES = sorted((method, path) for path, methods in app.routes.items() for method, entry in methods.items()
                     if method in ("POST", "PUT", "PATCH") and entry.content_types == ["application/json"])
SURVEYOR = "SV-SH-001"


def _request_to(client, method: str, path: str) -> tuple[str, dict[str, str]]:
    """The route's path filled in and the credentials it asks for, so only the media type can be wrong."""
    if path == "/v1/claims/{claim_id}/attachments":
        return path.replace("{claim_id}", post_claim(client, claim_body()).json_body["claim_id"]), {"x-api-key": ELEME}
    credentials = {
        "/v1/claims": {"x-api-key": ELEME},
        "/v1/claims/batch": {"x-api-key": ELEME},
        "/v1/public/policy-check": {},
        "/v1/public/claims": {},
        "/v1/ivr/events": {"x-signature": sign(b"{}")},
        "/v1/agent/callers/lookup": {"authorization": f"Bearer {DEMO_AGENT_TOKEN}"},
        "/v1/agent/claims/{claim_id}/decision": {"authorization": f"Bearer {DEMO_AGENT_TOKEN}", "if-match": '"1"'},
        "/v1/surveyors/{surveyor_id}/status": {"authorization": f"Bearer {DEMO_SURVEYOR_TOKENS[SURVEYOR]}"},
        "/v1/surveyors/{surveyor_id}/assignments/{claim_id}/complete": {
            "authorization": f"Bearer {DEMO_SURVEYOR_TOKENS[SURVEYOR]}"},
    }
    assert path in credentials, f"{method} {path} reads JSON: say here how it is called"
    return path.replace("{claim_id}", new_claim_id()).replace("{surveyor_id}", SURVEYOR), credentials[path]


NOT_JSON_IN_UTF8 = {
    "no Content-Type": None,
    "charset latin-1": "application/json; charset=latin-1",
    "charset UTF-16, quoted": 'application/json; charset="UTF-16"',
    "form-encoded": "application/x-www-form-urlencoded",
}


@pytest.mark.parametrize("content_type", NOT_JSON_IN_UTF8.values(), ids=NOT_JSON_IN_UTF8.keys())
@pytest.mark.parametrize("route", JSON_ROUTES, ids=" ".join)
def test_every_json_route_answers_415_unless_the_body_is_json_in_utf8(client, stored_items, route, content_type):
    # GIVEN a JSON route called with its credentials, and a body sent without a JSON UTF-8 media type
    method, template = route
    path, headers = _request_to(client, method, template)
    if content_type is not None:
        headers["content-type"] = content_type
    before = stored_items()

    # WHEN it is posted
    response = client.http.request(method, path, headers=headers, body=b"{}")

    # THEN it is a 415 in the contract's shape, and nothing is written
    assert response.status_code == 415, response.body
    assert json.loads(response.body)["error"]["code"] == "UNSUPPORTED_MEDIA_TYPE"
    assert stored_items() == before


@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8", 'application/json;charset="UTF-8"',
                                          "Application/JSON"])
def test_json_declared_as_utf8_or_without_a_charset_is_accepted(client, content_type):
    # GIVEN a claim whose media type names UTF-8 (any case, quoted or not), or no charset at all
    # WHEN it is posted
    response = client.http.post("/v1/claims", headers={"x-api-key": ELEME, "content-type": content_type},
                                body=json.dumps(claim_body(), ensure_ascii=False).encode("utf-8"))

    # THEN it is accepted
    assert response.status_code == 202, response.body
