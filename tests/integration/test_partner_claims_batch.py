"""`POST /v1/claims/batch` against moto: one result per item, in order; bad items never sink good
ones; idempotency inside one batch and across batches."""
from __future__ import annotations

import pytest

from chalicelib.adapters.resources import SCORING_QUEUE
from tests.fakes import claim_body
from tests.integration.conftest import post_batch, post_batch_body, post_claim


def test_batch_answers_207_with_one_result_per_item_in_order(client):
    # GIVEN three valid claims
    claims = [claim_body() for _ in range(3)]

    # WHEN they are posted as one batch
    response = post_batch(client, claims)

    # THEN each item has its own accepted result, in order
    assert response.status_code == 207
    results = response.json_body["results"]
    assert [r["index"] for r in results] == [0, 1, 2]
    assert [r["status"] for r in results] == [202, 202, 202]
    assert len({r["claim_id"] for r in results}) == 3
    assert all(r["claim_id"].startswith("CLM-") for r in results)


def test_bad_item_is_reported_without_sinking_the_others(client, queues, stored_items):
    # GIVEN a batch whose middle item has an unknown field
    bad = claim_body()
    bad["loss"]["weather"] = "rain"
    claims = [claim_body(), bad, claim_body()]
    before = stored_items()

    # WHEN it is posted
    results = post_batch(client, claims).json_body["results"]

    # THEN the bad item alone is refused, pointing at its own field, and the others are stored and queued
    assert [r["status"] for r in results] == [202, 400, 202]
    error = results[1]["error"]
    assert error["code"] == "VALIDATION_FAILED"
    assert [d["field"] for d in error["details"]] == ["claims.1.loss.weather"]
    assert "claim_id" not in results[1]
    assert stored_items()["claims-intake-claims"] == before["claims-intake-claims"] + 2
    queued = {b["claim_id"] for b in queues.bodies(SCORING_QUEUE.name)}
    assert queued == {results[0]["claim_id"], results[2]["claim_id"]}


def test_item_with_a_future_loss_date_is_located_inside_the_batch(client):
    # GIVEN a batch whose second item happened in the future
    future = claim_body(occurred_at="2099-01-01T00:00:00+08:00")

    # WHEN it is posted
    results = post_batch(client, [claim_body(), future]).json_body["results"]

    # THEN the problem is reported against that item's field
    assert results[1]["status"] == 400
    assert [d["field"] for d in results[1]["error"]["details"]] == ["claims.1.loss.occurred_at"]


@pytest.mark.parametrize("occurred_at", ["0001-01-01T00:00:00+08:00", "0001-01-01T00:00:00+00:00", "0"])
def test_item_with_a_loss_date_out_of_range_fails_alone(client, queues, stored_items, occurred_at):
    # GIVEN a batch whose first item is dated year 1 (or as a Unix time), between two good items
    claims = [claim_body(occurred_at=occurred_at), claim_body(), claim_body()]
    before = stored_items()

    # WHEN it is posted
    response = post_batch(client, claims)

    # THEN that item alone is a 400 on its own field; the good items are stored and queued
    assert response.status_code == 207, response.body
    results = response.json_body["results"]
    assert [r["status"] for r in results] == [400, 202, 202]
    assert [d["field"] for d in results[0]["error"]["details"]] == ["claims.0.loss.occurred_at"]
    assert stored_items()["claims-intake-claims"] == before["claims-intake-claims"] + 2
    assert {b["claim_id"] for b in queues.bodies(SCORING_QUEUE.name)} == {results[1]["claim_id"],
                                                                          results[2]["claim_id"]}


def test_item_that_is_not_an_object_is_refused_on_its_own(client):
    # GIVEN a batch with a number where a claim should be
    # WHEN it is posted
    results = post_batch(client, [claim_body(), 42]).json_body["results"]

    # THEN only that item fails
    assert [r["status"] for r in results] == [202, 400]
    assert results[1]["error"]["code"] == "VALIDATION_FAILED"


@pytest.mark.parametrize("body", [
    {"claims": [claim_body() for _ in range(26)]},
    {"claims": []},
    {"claims": "not a list"},
    {"claims": [claim_body()], "extra": 1},
    {"items": [claim_body()]},
    [claim_body()],
], ids=["26-items", "empty", "not-a-list", "extra-key", "wrong-key", "top-level-list"])
def test_batch_of_wrong_shape_or_size_is_refused_whole(client, stored_items, body):
    # GIVEN the store as it is
    before = stored_items()

    # WHEN a batch of the wrong shape or over 25 claims is posted
    response = post_batch_body(client, body)

    # THEN the whole request is refused and nothing is stored
    assert response.status_code == 400
    assert response.json_body["error"]["code"] == "VALIDATION_FAILED"
    assert [d["field"] for d in response.json_body["error"]["details"]] == ["claims"]
    assert stored_items() == before


def test_batch_of_exactly_25_claims_is_accepted(client, stored_items):
    # GIVEN 25 valid claims
    claims = [claim_body() for _ in range(25)]
    before = stored_items()

    # WHEN they are posted as one batch
    results = post_batch(client, claims).json_body["results"]

    # THEN all 25 are stored
    assert [r["status"] for r in results] == [202] * 25
    assert stored_items()["claims-intake-claims"] == before["claims-intake-claims"] + 25


def test_batch_needs_a_valid_api_key(client):
    # GIVEN no key
    # WHEN a batch is posted
    response = post_batch(client, [claim_body()], api_key="wrong")

    # THEN it is unauthenticated
    assert response.status_code == 401
    assert response.json_body["error"]["code"] == "UNAUTHENTICATED"


def test_malformed_batch_body_is_refused(client):
    # GIVEN a body that is not JSON
    # WHEN it is posted to the batch route
    response = client.http.post("/v1/claims/batch", headers={"x-api-key": "demo-key-eleme-7f3a9c",
                                                             "content-type": "application/json"}, body="{[")

    # THEN it is a malformed body
    assert response.status_code == 400
    assert response.json_body["error"]["code"] == "MALFORMED_BODY"


# -- idempotency -------------------------------------------------------------------------------------


def test_same_external_ref_and_body_twice_in_one_batch_is_one_claim(client, queues, stored_items):
    # GIVEN a batch repeating the same claim (same external_ref, same body)
    claim = claim_body(external_ref="ELEME-DUP-1")
    before = stored_items()

    # WHEN it is posted
    results = post_batch(client, [claim, claim_body(), claim]).json_body["results"]

    # THEN the repeat answers the first one's claim as a replay, and it is stored and queued once
    assert [r["status"] for r in results] == [202, 202, 202]
    assert results[2]["claim_id"] == results[0]["claim_id"]
    assert results[2]["replayed"] is True
    assert results[0]["replayed"] is False
    assert stored_items()["claims-intake-claims"] == before["claims-intake-claims"] + 2
    assert len(queues.bodies(SCORING_QUEUE.name)) == 2


def test_same_external_ref_with_another_body_in_one_batch_conflicts(client, stored_items):
    # GIVEN a batch reusing an external_ref for a different claim
    first = claim_body(external_ref="ELEME-DUP-2", amount="10.00")
    other = claim_body(external_ref="ELEME-DUP-2", amount="20.00")
    before = stored_items()

    # WHEN it is posted
    results = post_batch(client, [first, other]).json_body["results"]

    # THEN the first is stored and the second is a conflict
    assert [r["status"] for r in results] == [202, 409]
    assert results[1]["error"]["code"] == "IDEMPOTENCY_CONFLICT"
    assert stored_items()["claims-intake-claims"] == before["claims-intake-claims"] + 1


def test_reposting_a_batch_replays_every_item_and_stores_nothing(client, queues, stored_items):
    # GIVEN a batch that was accepted
    claims = [claim_body() for _ in range(3)]
    first = post_batch(client, claims).json_body["results"]
    queues.receive_all(SCORING_QUEUE.name)
    after_first = stored_items()

    # WHEN the same batch is posted again (a partner retry)
    again = post_batch(client, claims).json_body["results"]

    # THEN every item answers its original claim, and nothing is stored or queued
    assert [r["claim_id"] for r in again] == [r["claim_id"] for r in first]
    assert all(r["replayed"] for r in again)
    assert stored_items() == after_first
    assert queues.receive(SCORING_QUEUE.name) == []


def test_item_conflicting_with_an_earlier_request_fails_alone(client, stored_items):
    # GIVEN a claim accepted earlier through the single route
    earlier = claim_body(external_ref="ELEME-OLD-1", amount="10.00")
    post_claim(client, earlier)
    before = stored_items()

    # WHEN a batch reuses its external_ref with another body, next to a new claim
    changed = claim_body(external_ref="ELEME-OLD-1", amount="11.00")
    results = post_batch(client, [changed, claim_body()]).json_body["results"]

    # THEN that item is a conflict and the new claim is stored
    assert [r["status"] for r in results] == [409, 202]
    assert results[0]["error"]["code"] == "IDEMPOTENCY_CONFLICT"
    assert stored_items()["claims-intake-claims"] == before["claims-intake-claims"] + 1


def test_item_matching_an_earlier_single_claim_is_replayed(client):
    # GIVEN a claim accepted earlier through the single route
    earlier = claim_body(external_ref="ELEME-OLD-2")
    claim_id = post_claim(client, earlier).json_body["claim_id"]

    # WHEN a batch carries the same claim again
    results = post_batch(client, [claim_body(), earlier]).json_body["results"]

    # THEN that item answers the earlier claim as a replay
    assert results[1] == {"index": 1, "status": 202, "claim_id": claim_id, "claim_status": "RECEIVED",
                          "replayed": True}


def test_item_matching_an_earlier_claim_sent_under_a_key_is_replayed(client):
    # GIVEN a claim accepted earlier through the single route, under an Idempotency-Key
    earlier = claim_body(external_ref="ELEME-OLD-3")
    claim_id = post_claim(client, earlier, idempotency_key="k2").json_body["claim_id"]

    # WHEN a batch carries the same claim again (its external_ref, no key)
    results = post_batch(client, [earlier]).json_body["results"]

    # THEN the item answers the earlier claim as a replay
    assert results == [{"index": 0, "status": 202, "claim_id": claim_id, "claim_status": "RECEIVED",
                        "replayed": True}]


def test_batch_refuses_an_idempotency_key_header_instead_of_ignoring_it(client, stored_items):
    # GIVEN a partner that sends an Idempotency-Key on a batch out of habit
    before = stored_items()

    # WHEN the batch is posted
    response = post_batch(client, [claim_body()], idempotency_key="batch-1")

    # THEN it is told to use each claim's external_ref, and nothing is stored
    assert response.status_code == 400
    assert response.json_body["error"]["details"][0]["field"] == "Idempotency-Key"
    assert stored_items() == before
