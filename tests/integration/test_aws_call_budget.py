"""How many AWS calls intake makes, counted with botocore hooks on every client the app uses
(devkit/aws_calls.py). Counts, never timings."""
from __future__ import annotations

from chalicelib import bootstrap
from devkit.aws_calls import app_clients, count_aws_calls
from tests.fakes import claim_body
from tests.integration.conftest import post_batch, post_claim


def _warm_up(client) -> None:
    """First request of a container: API key and partner lookups and queue URL lookup, then cached."""
    assert post_claim(client, claim_body()).status_code == 202


def test_warm_single_intake_makes_one_write_and_one_send(client):
    # GIVEN a container that has already served a request (partner cached, queue URL known)
    _warm_up(client)

    # WHEN another claim is posted
    with count_aws_calls(*app_clients()) as calls:
        response = post_claim(client, claim_body())

    # THEN the hot path is one TransactWriteItems and one SendMessage, nothing else
    assert response.status_code == 202
    assert calls == {"TransactWriteItems": 1, "SendMessage": 1}


def test_cold_single_intake_adds_only_the_key_and_queue_url_lookups(client):
    # GIVEN a fresh container without SCORING_QUEUE_URL
    # WHEN its first claim is posted
    with count_aws_calls(*app_clients()) as calls:
        response = post_claim(client, claim_body())

    # THEN the only extra calls are the API key and partner lookups and the queue URL lookup
    assert response.status_code == 202
    assert calls == {"GetItem": 2, "GetQueueUrl": 1, "TransactWriteItems": 1, "SendMessage": 1}


def test_configured_queue_url_saves_the_lookup(aws, client, monkeypatch):
    # GIVEN SCORING_QUEUE_URL in the environment
    monkeypatch.setenv("SCORING_QUEUE_URL", aws["queues"]["claims-intake-scoring"]["url"])
    bootstrap.reset()

    # WHEN the container's first claim is posted
    with count_aws_calls(*app_clients()) as calls:
        response = post_claim(client, claim_body())

    # THEN the queue URL is never looked up
    assert response.status_code == 202
    assert "GetQueueUrl" not in calls


def test_replayed_claim_costs_a_write_attempt_and_a_read_but_no_send(client):
    # GIVEN a warm container and a claim already accepted
    body = claim_body()
    _warm_up(client)
    post_claim(client, body)

    # WHEN the same claim is posted again
    with count_aws_calls(*app_clients()) as calls:
        response = post_claim(client, body)

    # THEN nothing is sent to the queue again
    assert response.headers["Idempotent-Replayed"] == "true"
    assert calls == {"TransactWriteItems": 1, "GetItem": 1}


def test_batch_of_25_uses_batched_calls(client):
    # GIVEN a warm container and 25 claims
    _warm_up(client)
    claims = [claim_body() for _ in range(25)]

    # WHEN they are posted as one batch
    with count_aws_calls(*app_clients()) as calls:
        results = post_batch(client, claims).json_body["results"]

    # THEN one transaction stores them all and three SendMessageBatch calls queue them
    assert [r["status"] for r in results] == [202] * 25
    assert calls == {"TransactWriteItems": 1, "SendMessageBatch": 3}


def test_batch_of_25_costs_far_fewer_calls_than_25_single_intakes(client):
    # GIVEN the cost of 25 single intakes on a warm container
    _warm_up(client)
    with count_aws_calls(*app_clients()) as singles:
        for _ in range(25):
            post_claim(client, claim_body())

    # WHEN 25 claims are posted as one batch
    with count_aws_calls(*app_clients()) as batch:
        post_batch(client, [claim_body() for _ in range(25)])

    # THEN the batch needs at most five calls where the singles needed fifty
    assert singles.total() == 50
    assert batch.total() <= 5


def test_cold_batch_adds_only_the_key_and_queue_url_lookups(client):
    # GIVEN a fresh container without SCORING_QUEUE_URL
    # WHEN its first request is a batch of 25
    with count_aws_calls(*app_clients()) as calls:
        post_batch(client, [claim_body() for _ in range(25)])

    # THEN the lookups are made once, next to the batched write and sends
    assert calls == {"GetItem": 2, "GetQueueUrl": 1, "TransactWriteItems": 1, "SendMessageBatch": 3}
