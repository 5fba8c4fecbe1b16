"""Integration tier: the real app and adapters against in-process moto (``mock_aws``)."""
from __future__ import annotations

import io
import json

import boto3
import pytest
from chalice.test import Client
from moto import mock_aws

from chalicelib import bootstrap
from chalicelib.adapters.resources import CONTACTS_QUEUE, DISPATCH_QUEUE, SCORING_QUEUE, Tables
from chalicelib.observability import logger
from infra.provision import create_all
from infra.seed import DEMO_PARTNERS, seed
from infra.sqs_events import queue_arn, receive, sqs_event
from tests.integration.callbacks import partner_callback

API_KEYS = {p.partner_id: p.api_key for p in DEMO_PARTNERS}
ELEME = API_KEYS["eleme"]
HELLOBIKE = API_KEYS["hellobike"]
MOTOR = API_KEYS["motor-direct"]

FUNCTION_QUEUE = {"score_claims": SCORING_QUEUE.name, "dispatch_claims": DISPATCH_QUEUE.name,
                  "record_contacts": CONTACTS_QUEUE.name}


@pytest.fixture
def aws():
    """Fresh moto account with every table and queue, demo data seeded; yields the queue URLs."""
    with mock_aws():
        bootstrap.reset()
        sqs = boto3.client("sqs")
        queues = create_all(sqs, boto3.client("s3"), "ap-southeast-1")
        seed()
        yield {"sqs": sqs, "queues": queues}
        bootstrap.reset()


@pytest.fixture
def client(aws):
    from app import app

    with Client(app) as test_client:
        yield test_client


# -- HTTP --------------------------------------------------------------------------------------

def headers(api_key: str | None = ELEME, **extra: str) -> dict[str, str]:
    out = {"content-type": "application/json"}
    if api_key is not None:
        out["x-api-key"] = api_key
    out.update({k.replace("_", "-"): v for k, v in extra.items()})
    return out


def post_claim(client, body, api_key: str | None = ELEME, **extra_headers: str):
    raw = body if isinstance(body, (str, bytes)) else json.dumps(body, ensure_ascii=False)
    return client.http.post("/v1/claims", headers=headers(api_key, **extra_headers), body=raw)


def post_batch(client, claims: list, api_key: str | None = ELEME, **extra_headers: str):
    return post_batch_body(client, {"claims": claims}, api_key, **extra_headers)


def post_batch_body(client, body, api_key: str | None = ELEME, **extra_headers: str):
    return client.http.post("/v1/claims/batch", headers=headers(api_key, **extra_headers),
                            body=json.dumps(body, ensure_ascii=False))


def get_claim(client, claim_id: str, api_key: str | None = ELEME):
    return client.http.get(f"/v1/claims/{claim_id}", headers={"x-api-key": api_key} if api_key else {})


# -- storage -------------------------------------------------------------------------------------

@pytest.fixture
def stored_items():
    """A function answering how many items the claim-writing tables hold (a scan count each)."""
    dynamodb = boto3.client("dynamodb")

    def count() -> dict[str, int]:
        return {table: dynamodb.scan(TableName=table, Select="COUNT")["Count"]
                for table in (Tables.CLAIMS, Tables.IDEMPOTENCY, Tables.CLAIM_EVENTS)}
    return count


def surveyor_load(surveyor_id: str) -> int:
    from chalicelib.adapters.models import SurveyorModel

    return int(SurveyorModel.get(surveyor_id, consistent_read=True).active_claims or 0)


# -- queues and consumers ----------------------------------------------------------------------------

class Queues:
    """The moto queues of the app, by queue name."""

    def __init__(self, sqs, urls: dict[str, dict[str, str]]):
        self.sqs = sqs
        self.urls = urls

    def url(self, name: str) -> str:
        return self.urls[name]["url"]

    def dlq_url(self, name: str) -> str:
        return self.urls[name]["dlq_url"]

    def receive(self, name: str, max_messages: int = 10) -> list[dict]:
        return receive(self.sqs, self.url(name), max_messages)

    def receive_all(self, name: str) -> list[dict]:
        out: list[dict] = []
        while batch := self.receive(name):
            out += batch
        return out

    def bodies(self, name: str) -> list[dict]:
        return [json.loads(m["Body"]) for m in self.receive_all(name)]

    def send(self, name: str, body: str, correlation_id: str | None = None) -> None:
        attrs = {"correlation_id": {"DataType": "String", "StringValue": correlation_id}} if correlation_id else {}
        self.sqs.send_message(QueueUrl=self.url(name), MessageBody=body, MessageAttributes=attrs)

    def event(self, name: str, messages: list[dict]) -> dict:
        return sqs_event(messages, queue_arn(self.sqs, self.url(name)))

    def delete(self, name: str, messages: list[dict]) -> None:
        for m in messages:
            self.sqs.delete_message(QueueUrl=self.url(name), ReceiptHandle=m["ReceiptHandle"])

    def attribute(self, name: str, attribute: str, dlq: bool = False) -> int:
        url = self.dlq_url(name) if dlq else self.url(name)
        return int(self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[attribute])["Attributes"][attribute])


@pytest.fixture
def queues(aws) -> Queues:
    return Queues(aws["sqs"], aws["queues"])


class Pipeline:
    """Plays the Lambda SQS event source: receive, invoke the consumer, delete what succeeded."""

    def __init__(self, client, queues: Queues):
        self.client = client
        self.queues = queues

    def invoke(self, function: str, messages: list[dict]) -> dict:
        """One consumer invocation with a real SQS event built from received messages."""
        event = self.queues.event(FUNCTION_QUEUE[function], messages)
        return self.client.lambda_.invoke(function, event).payload

    def run(self, function: str, messages: list[dict] | None = None) -> tuple[dict, list[dict]]:
        """Receive (unless given) and process one batch; returns the answer and the messages."""
        queue = FUNCTION_QUEUE[function]
        messages = self.queues.receive(queue) if messages is None else messages
        if not messages:
            return {"batchItemFailures": []}, []
        answer = self.invoke(function, messages)
        failed = {f["itemIdentifier"] for f in answer["batchItemFailures"]}
        self.queues.delete(queue, [m for m in messages if m["MessageId"] not in failed])
        return answer, messages

    def drain(self, function: str) -> list[dict]:
        """Process batches until the queue has nothing visible; returns every message processed."""
        seen: list[dict] = []
        while True:
            _, messages = self.run(function)
            if not messages:
                return seen
            seen += messages

    def score_all(self) -> list[dict]:
        return self.drain("score_claims")

    def dispatch_all(self) -> list[dict]:
        return self.drain("dispatch_claims")

    def record_contacts(self) -> list[dict]:
        return self.drain("record_contacts")


@pytest.fixture
def pipeline(client, queues) -> Pipeline:
    return Pipeline(client, queues)


# -- logs ------------------------------------------------------------------------------------------

@pytest.fixture
def log_output(capsys, caplog):
    """Everything logged while the test runs: the service Logger's JSON lines, metric lines (stdout),
    stderr, and whatever reached Python logging. Returns a reader; each read returns what came since
    the last. The Logger's handler keeps the stream it was created with, so for the test it writes to
    a buffer of its own."""
    handler = logger.registered_handler
    buffer = io.StringIO()
    original = handler.setStream(buffer)

    def read() -> str:
        captured = capsys.readouterr()
        text = buffer.getvalue() + captured.out + captured.err + caplog.text
        buffer.seek(0)
        buffer.truncate()
        caplog.clear()
        return text

    try:
        yield read
    finally:
        handler.setStream(original)


@pytest.fixture
def receiver(aws):
    """A partner callback receiver that motor-direct's callback URL points at, for the test's length."""
    with partner_callback("motor-direct") as callback:
        yield callback
