"""Observability across the flow: the caller's correlation id reaches the queue message and every
consumer log line; the claimant's personal data never reaches any log output."""
from __future__ import annotations

import json

from chalicelib import bootstrap
from chalicelib.adapters.resources import DISPATCH_QUEUE, SCORING_QUEUE
from chalicelib.domain.claim import ClaimStatus
from tests.fakes import claim_body, motor_claim_body
from tests.integration.conftest import MOTOR, post_claim


def test_correlation_id_travels_on_the_scoring_message(client, queues):
    # GIVEN a request carrying a correlation id
    # WHEN the claim is posted
    post_claim(client, claim_body(), x_correlation_id="abc-123")

    # THEN the scoring message carries it as a message attribute
    [message] = queues.receive(SCORING_QUEUE.name)
    assert message["MessageAttributes"]["correlation_id"] == {"StringValue": "abc-123", "DataType": "String"}


def test_consumer_log_lines_carry_the_requests_correlation_id(client, pipeline, log_output):
    # GIVEN a motor claim posted with a correlation id, waiting on the scoring queue
    post_claim(client, motor_claim_body(region="310104"), api_key=MOTOR, x_correlation_id="abc-123")
    log_output()  # only the consumers' lines from here on

    # WHEN the scoring and dispatch consumers process it
    pipeline.score_all()
    pipeline.dispatch_all()

    # THEN every line the consumers logged carries the correlation id
    lines = [line for line in log_output().splitlines() if line.startswith('{"level"')]
    assert any('"message":"claim scored"' in line for line in lines)
    assert any('"message":"surveyor assigned"' in line for line in lines)
    assert all('"correlation_id":"abc-123"' in line for line in lines)


def test_correlation_id_is_carried_on_to_the_dispatch_message(client, pipeline, queues):
    # GIVEN a motor claim posted with a correlation id
    post_claim(client, motor_claim_body(), api_key=MOTOR, x_correlation_id="abc-123")

    # WHEN it is scored
    pipeline.run("score_claims")

    # THEN the dispatch message carries the same correlation id
    [message] = queues.receive(DISPATCH_QUEUE.name)
    assert message["MessageAttributes"]["correlation_id"]["StringValue"] == "abc-123"


def test_invalid_correlation_id_is_replaced(client, queues):
    # GIVEN a correlation id header with characters that do not belong in logs
    # WHEN the claim is posted
    response = post_claim(client, claim_body(), x_correlation_id="abc 123\"}")

    # THEN a generated id is used instead, on the answer and on the message alike
    generated = response.headers["x-correlation-id"]
    assert generated != 'abc 123"}'
    [message] = queues.receive(SCORING_QUEUE.name)
    assert message["MessageAttributes"]["correlation_id"]["StringValue"] == generated


NAME, PHONE, PLATE = "王五", "+8613700137000", "沪A12345"
PHONE_FORMS = (PHONE, "8613700137000", "13700137000", "137 0013 7000", "137-0013-7000")


def test_full_flow_logs_no_personal_data(client, pipeline, log_output):
    # GIVEN a motor claim with the claimant's name, phone and plate (and the phone in the description)
    body = motor_claim_body(name=NAME, phone=PHONE, plate=PLATE, region="310104",
                            description=f"客户电话 {PHONE_FORMS[3]}，车牌 {PLATE}，追尾")

    # WHEN it goes through intake, scoring and dispatch
    claim_id = post_claim(client, body, api_key=MOTOR).json_body["claim_id"]
    pipeline.score_all()
    pipeline.dispatch_all()

    # THEN the flow completed and was logged, yet no log output holds the name, the phone or the plate
    assert bootstrap.container().claims.get(claim_id).status is ClaimStatus.SURVEYOR_ASSIGNED
    output = log_output()
    assert claim_id in output
    for secret in (NAME, PLATE, *PHONE_FORMS):
        assert secret not in output
        assert json.dumps(secret)[1:-1] not in output  # nor its \\u-escaped JSON form
