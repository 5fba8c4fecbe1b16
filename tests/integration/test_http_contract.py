"""HTTP plumbing every route shares (chalicelib/api/http.py): errors in the contract's shape, whoever
raised them, and never a stack trace."""
from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from chalicelib import bootstrap
from tests.fakes import claim_body
from tests.integration.conftest import ELEME, post_claim


def test_wrong_method_answers_in_the_contracts_shape(client):
    # GIVEN a route that only takes POST
    # WHEN it is called with PUT
    response = client.http.put("/v1/claims", headers={"x-api-key": ELEME, "content-type": "application/json"},
                               body="{}")

    # THEN the answer is the contract's 405 body
    assert response.status_code == 405
    assert response.json_body["error"]["code"] == "METHOD_NOT_ALLOWED"


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
