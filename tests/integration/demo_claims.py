"""A moto account with the demo data and one claim in each state the routes act on, built once for a
whole module (tests/integration/test_schemathesis.py, test_input_limits.py): seeding takes seconds, and
these modules send hundreds of requests that need none of the per-test isolation of ``aws``."""
from __future__ import annotations

import json
import os
from contextlib import contextmanager
from dataclasses import dataclass

import boto3
from chalice.test import Client
from moto import mock_aws

from chalicelib import bootstrap
from infra.provision import create_all
from infra.seed import seed
from tests.fakes import claim_body, motor_claim_body, yesterday_in_shanghai
from tests.integration.conftest import ELEME, MOTOR, Pipeline, Queues

DEMO_POLICY, DEMO_PHONE = "PA2026000123", "+8613800138000"
# The form's rate limits, out of the way: these modules test other things and post many forms.
GENEROUS_FORM_LIMITS = {"FORM_LIMIT_PER_PHONE": "100000", "FORM_LIMIT_PER_ADDRESS": "100000"}


@dataclass(frozen=True)
class DemoClaims:
    review_claim: str  # eleme's, scored into review: the agent decides it
    field_claim: str  # motor-direct's, assigned to a surveyor
    surveyor: str
    form_claim: str  # from the claim form, with its status token
    status_token: str


def form_body(**changes) -> dict:
    return {"submission_key": "demo-claims-0001", "policy_number": DEMO_POLICY, "phone": DEMO_PHONE,
            "loss_type": "food_safety", "occurred_at": yesterday_in_shanghai().isoformat(), "region_code": "310115",
            "description": "午餐外卖后腹泻", "amount": "45.00", **changes}


def accepted(response) -> dict:
    assert response.status_code == 202, response.body
    return json.loads(response.body)


@contextmanager
def demo_stack(env: dict[str, str] | None = None):
    """Yields a Chalice test client of the app and the demo claims, inside one moto account."""
    from app import app

    env = {**GENEROUS_FORM_LIMITS, **(env or {})}
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    try:
        with mock_aws():
            bootstrap.reset()
            sqs = boto3.client("sqs")
            queues = Queues(sqs, create_all(sqs, boto3.client("s3"), "ap-southeast-1"))
            seed()
            with Client(app) as client:
                json_headers = {"content-type": "application/json"}
                review = accepted(client.http.post("/v1/claims", headers={**json_headers, "x-api-key": ELEME},
                                                   body=json.dumps(claim_body(amount="135.50"))))
                field = accepted(client.http.post("/v1/claims", headers={**json_headers, "x-api-key": MOTOR},
                                                  body=json.dumps(motor_claim_body())))
                pipeline = Pipeline(client, queues)
                pipeline.score_all()
                pipeline.dispatch_all()
                form = accepted(client.http.post("/v1/public/claims", headers=json_headers,
                                                 body=json.dumps(form_body(), ensure_ascii=False)))
                yield client, DemoClaims(review["claim_id"], field["claim_id"],
                                         bootstrap.container().claims.get(field["claim_id"]).surveyor_id,
                                         form["claim_id"], form["status_token"])
            bootstrap.reset()
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        bootstrap.reset()
