"""A burst of claims on the local stack across every channel, then the drain, then the count.

Shared by the burst test (``tests/e2e/test_burst.py``) and the burst benchmark (``bench/burst.py``);
it drives a running ``python -m infra.local_stack`` from outside, as clients and the IVR vendors would:

1. ``seed_population`` imports one fresh policy per claim (the product's own policy import, straight
   into the stack's moto server) and adds surveyors. A festival-day burst comes from many customers:
   claims piled on the eight demo policies would all flag each other as duplicates and velocity, and
   every history query would return all of them.
2. ``plan`` spreads the claims over the channels, interleaved so that every channel is busy at once:
   partner API (single, with an ``Idempotency-Key``, and batches), the customer form, Twilio Voice (the
   call's two signed webhooks), a vendor IVR's signed events and Amazon Connect's ``connect_report_claim``
   (through the stack's Lambda Invoke API, ``LAMBDA_PORT``). Every claim has its own idempotency key or
   call id.
3. ``submit`` posts them from a thread pool as fast as the stack answers, one keep-alive
   ``requests.Session`` per thread, and records each request: channel, status, latency, the claim ids.
4. ``DepthSampler`` samples every queue's depth (visible, in flight, delayed) through boto3 while the
   burst runs and until the consumers have drained the queues (``wait_for_drain``).
5. ``count`` scans DynamoDB: claims by id and idempotency key, their timelines, surveyors, the DLQs;
   ``problems`` lists every way the outcome breaks the product's promises (stored once, scored once,
   dispatched at most once and within capacity, nothing in a DLQ, refusals only as 429/503 with
   Retry-After), and ``summary`` says it in one line.
"""
from __future__ import annotations

import csv
import hashlib
import hmac
import json
import statistics
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import requests

SHANGHAI = timezone(timedelta(hours=8))
REGION = "ap-southeast-1"
FAKE_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}

CHANNELS = ("partner", "partner_batch", "form", "twilio", "ivr_events", "connect")
# Claims per channel out of every 20, in the order they are interleaved.
DEFAULT_MIX = {"partner": 6, "partner_batch": 4, "form": 4, "twilio": 2, "ivr_events": 2, "connect": 2}
BATCH_SIZE = 10
TIMEOUT_SECONDS = 60  # per request: a slow answer is measured, not dropped
SURVEY_REGION = "310115"  # Pudong: every motor claim of the burst, and the burst's surveyors
PARTNER_PRODUCTS = {"eleme": "food_safety", "hellobike": "shared_bike_accident", "motor-direct": "motor"}
PHONE_PRODUCTS = ("food_safety", "shared_bike_accident", "motor", "online_shopping_fraud")
TWILIO_PRODUCTS = ("food_safety", "shared_bike_accident", "online_shopping_fraud")  # a call gives no region
PERIL = {"food_safety": "food_safety", "shared_bike_accident": "shared_bike_accident", "motor": "motor_collision",
         "online_shopping_fraud": "online_shopping_fraud"}
# Below food safety's auto-approval (100), above it, and one amount per other product.
AMOUNTS = {"food_safety": ("60.00", "135.50"), "shared_bike_accident": ("300.00",), "motor": ("3500.00",),
           "online_shopping_fraud": ("150.00",)}
# Environment for the stack under a burst: the form's per-address limit would refuse a burst from one
# machine's address, and the partner limiter would refuse a burst from three partners.
STACK_ENVIRONMENT = {
    "FORM_LIMIT_PER_PHONE": "1000000", "FORM_LIMIT_PER_ADDRESS": "1000000000",
    "PARTNER_RATE_LIMIT_PER_SECOND": "100000", "PARTNER_RATE_BURST": "100000",
}


def aws_client(service: str, moto_url: str, max_pool: int = 10):
    import boto3
    from botocore.config import Config

    return boto3.client(service, endpoint_url=moto_url, region_name=REGION, **FAKE_CREDENTIALS,
                        config=Config(retries={"mode": "standard", "max_attempts": 5},
                                      max_pool_connections=max_pool))


@dataclass(frozen=True)
class Stack:
    """Where the running local stack answers."""

    api_url: str
    moto_url: str
    lambda_url: str  # the stack's Lambda Invoke API (LAMBDA_PORT)


# -- population ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class BurstPolicy:
    number: str
    product: str
    phone: str
    plate: str | None
    order_id: str | None
    partner_id: str | None

    @property
    def peril(self) -> str:
        return PERIL[self.product]


@dataclass(frozen=True)
class Claim:
    """One claim of the burst: its place in it, its channel and its own fresh policy."""

    index: int
    channel: str
    policy: BurstPolicy
    partner_id: str | None = None  # partner channels

    @property
    def partner(self) -> str:
        """The partner that sends a partner channel's claim."""
        if self.partner_id is None:
            raise ValueError(f"claim {self.index} ({self.channel}) has no partner")
        return self.partner_id

    @property
    def amount(self) -> str:
        options = AMOUNTS[self.policy.product]
        return options[self.index % len(options)]

    @property
    def region(self) -> str:
        return SURVEY_REGION if self.policy.product == "motor" else ("310104", "310101", SURVEY_REGION)[self.index % 3]


def _channels(n: int, mix: dict[str, int]) -> list[str]:
    """n channel names, interleaved: every channel in each pass over the mix, as often as its weight."""
    rounds: list[str] = []
    for i in range(max(mix.values())):
        rounds.extend(ch for ch, weight in mix.items() if i < weight)
    return [rounds[i % len(rounds)] for i in range(n)]


def population(n: int, run: int, mix: dict[str, int] = DEFAULT_MIX) -> list[Claim]:
    """n claims, one fresh policy each (numbers, phones and plates unique to ``run``, 0-99)."""
    claims: list[Claim] = []
    counters: Counter = Counter()
    for index, channel in enumerate(_channels(n, mix)):
        k = counters[channel]
        counters[channel] += 1
        partner = None
        if channel in ("partner", "partner_batch"):
            partners = list(PARTNER_PRODUCTS)
            partner = partners[(k // (BATCH_SIZE if channel == "partner_batch" else 1)) % len(partners)]
            product = PARTNER_PRODUCTS[partner]
        elif channel == "twilio":
            product = TWILIO_PRODUCTS[k % len(TWILIO_PRODUCTS)]
        else:
            product = PHONE_PRODUCTS[k % len(PHONE_PRODUCTS)]
        sold_by = partner or {"food_safety": "eleme", "shared_bike_accident": "hellobike",
                              "motor": "motor-direct"}.get(product)
        policy = BurstPolicy(
            number=f"PZ{run:02d}{index:07d}", product=product, phone=f"+86147{run:02d}{index:06d}",
            plate=f"沪{'CDEFGHJKLMNPQRSTUVWXYZ'[run % 22]}{index:05d}" if product == "motor" else None,
            order_id=f"OB{run:02d}{index:07d}" if product == "food_safety" else None, partner_id=sold_by)
        claims.append(Claim(index, channel, policy, partner))
    return claims


def seed_population(stack: Stack, claims: list[Claim], surveyors: int = 0, capacity: int = 5) -> dict:
    """Imports the claims' policies with the product's policy import and adds ``surveyors`` surveyors
    of ``capacity`` in SURVEY_REGION, straight into the stack's moto server."""
    from infra.import_policies import Report, import_files

    fields = ["policy_number", "product", "starts_on", "ends_on", "holder_name", "holder_phone", "plate",
              "order_id", "partner_id", "status", "language", "customer_id"]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "burst_policies.csv"
        with open(path, "w", newline="", encoding="utf-8") as out:
            writer = csv.DictWriter(out, fieldnames=fields)
            writer.writeheader()
            for c in claims:
                p = c.policy
                writer.writerow({"policy_number": p.number, "product": p.product, "starts_on": "2026-01-01",
                                 "ends_on": "2030-12-31", "holder_name": f"客户{c.index}", "holder_phone": p.phone,
                                 "plate": p.plate or "", "order_id": p.order_id or "",
                                 "partner_id": p.partner_id or "", "status": "ACTIVE", "language": "zh-CN",
                                 "customer_id": f"CUS-BURST-{p.number}"})
        with open(Path(folder) / "report.txt", "w+", encoding="utf-8") as said:
            outcome = import_files([path], client=aws_client("dynamodb", stack.moto_url), report=Report(said))
            said.seek(0)
            if outcome.exit_code != 0 or outcome.counts.imported != len(claims):
                raise RuntimeError(f"burst policies did not import: {outcome.summary()}\n{said.read()[:2000]}")
    ddb = aws_client("dynamodb", stack.moto_url)
    for s in range(surveyors):
        ddb.put_item(TableName=_tables().SURVEYORS, Item={
            "surveyor_id": {"S": f"SV-BURST-{s:03d}"}, "name": {"S": f"查勘员{s}"},
            "region_code": {"S": SURVEY_REGION}, "status": {"S": "AVAILABLE"}, "capacity": {"N": str(capacity)},
            "active_claims": {"N": "0"}, "lat": {"N": "31.22"}, "lon": {"N": str(121.50 + s / 1000)}})
    return {"policies": outcome.counts.imported, "surveyors": surveyors, "capacity": surveyors * capacity}


def _tables():
    from chalicelib.adapters.resources import Tables

    return Tables


# -- requests ------------------------------------------------------------------------------------------

@dataclass
class Item:
    """One claim of a request: the key it was sent with and what the stack made of it."""

    key: str  # the idempotency key the stack scopes it under (owner#key), as stored on the claim
    claim_id: str | None = None
    status: int = 0  # HTTP status of the claim (a batch item's own); 0: no answer
    code: str | None = None  # error code, or Connect's/Twilio's outcome
    retry_after: str | None = None
    twiml: str | None = None  # Twilio: what the caller heard (the reference is in it)

    @property
    def accepted(self) -> bool:
        return self.claim_id is not None


@dataclass
class Record:
    """One request."""

    channel: str
    status: int
    latency: float
    started: float  # seconds since the burst began
    items: list[Item] = field(default_factory=list)
    step: str = "claim"  # Twilio's first webhook is the "voice" step, no claim in it


@dataclass
class Job:
    channel: str
    claims: list[Claim]
    run: Callable[[Sender, list[Claim]], list[Record]]


def plan(claims: list[Claim], run: int) -> list[Job]:
    """One job per request (a batch takes BATCH_SIZE claims of one partner), in the claims' order."""
    jobs: list[Job] = []
    pending: dict[str, list[Claim]] = defaultdict(list)
    senders = {"partner": Sender.partner, "form": Sender.form, "twilio": Sender.twilio,
               "ivr_events": Sender.ivr_event, "connect": Sender.connect}
    for claim in claims:
        if claim.channel == "partner_batch":
            group = pending[claim.partner]
            group.append(claim)
            if len(group) == BATCH_SIZE:
                jobs.append(Job("partner_batch", list(group), Sender.partner_batch))
                group.clear()
        else:
            jobs.append(Job(claim.channel, [claim], senders[claim.channel]))
    jobs.extend(Job("partner_batch", group, Sender.partner_batch) for group in pending.values() if group)
    return jobs


def _occurred() -> str:
    return (datetime.now(SHANGHAI) - timedelta(days=1)).replace(hour=12, minute=30, second=0,
                                                                 microsecond=0).isoformat()


def partner_body(claim: Claim, run: int) -> dict:
    p = claim.policy
    body = {"external_ref": f"BURST-{run:02d}-{claim.index:07d}",
            "policy": {"number": p.number, **({"order_id": p.order_id} if p.order_id else {})},
            "claimant": {"name": f"客户{claim.index}", "phone": p.phone},
            "loss": {"type": p.peril, "occurred_at": _occurred(), "description": "burst: reported through the app",
                     "location": {"region_code": claim.region}},
            "amount": {"value": claim.amount, "currency": "CNY"}}
    if p.plate:
        body["vehicle"] = {"plate": p.plate}
    return body


class Sender:
    """Sends one job's request(s) on this thread's keep-alive session and records the answers."""

    def __init__(self, stack: Stack, run: int, began: float):
        from infra.seed import DEMO_IVR_SECRET, DEMO_IVR_VENDOR, DEMO_PARTNERS, DEMO_TWILIO_AUTH_TOKEN

        self.stack = stack
        self.run = run
        self.began = began
        self.keys = {p.partner_id: p.api_key for p in DEMO_PARTNERS}
        self.ivr_vendor, self.ivr_secret = DEMO_IVR_VENDOR, DEMO_IVR_SECRET
        self.twilio_token = DEMO_TWILIO_AUTH_TOKEN
        self._local = threading.local()

    @property
    def http(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
            session.trust_env = False  # 127.0.0.1 only, never through a proxy from the environment
        return session

    def _post(self, channel: str, url: str, items: list[Item], step: str = "claim", **kwargs) -> tuple[Record, Any]:
        started = time.perf_counter()
        try:
            response = self.http.post(url, timeout=TIMEOUT_SECONDS, **kwargs)
        except requests.RequestException as error:
            for item in items:
                item.code = f"no answer: {type(error).__name__}"
            return Record(channel, 0, time.perf_counter() - started, started - self.began, items, step), None
        record = Record(channel, response.status_code, time.perf_counter() - started, started - self.began,
                        items, step)
        if response.status_code >= 300:
            body = _json_or_none(response)
            code = ((body or {}).get("error") or {}).get("code") if isinstance(body, dict) else None
            for item in items:
                item.status, item.code = response.status_code, code or f"HTTP {response.status_code}"
                item.retry_after = response.headers.get("Retry-After")
        return record, response

    def partner(self, claims: list[Claim]) -> list[Record]:
        (claim,) = claims
        key = f"burst-{self.run:02d}-{claim.index:07d}"
        item = Item(f"{claim.partner_id}#{key}")
        record, response = self._post("partner", f"{self.stack.api_url}/v1/claims", [item],
                                       json=partner_body(claim, self.run),
                                       headers={"x-api-key": self.keys[claim.partner], "Idempotency-Key": key})
        if response is not None and response.status_code < 300:
            item.status, item.claim_id = response.status_code, (_json_or_none(response) or {}).get("claim_id")
        return [record]

    def partner_batch(self, claims: list[Claim]) -> list[Record]:
        partner = claims[0].partner
        bodies = [partner_body(c, self.run) for c in claims]
        items = [Item(f"{partner}#ext:{b['external_ref']}") for b in bodies]
        record, response = self._post("partner_batch", f"{self.stack.api_url}/v1/claims/batch", items,
                                       json={"claims": bodies}, headers={"x-api-key": self.keys[partner]})
        if response is not None and response.status_code == 207:
            for result in response.json()["results"]:
                item = items[result["index"]]
                item.status = result["status"]
                if result["status"] < 300:
                    item.claim_id = result["claim_id"]
                else:
                    item.code = result["error"]["code"]
        return [record]

    def form(self, claims: list[Claim]) -> list[Record]:
        (claim,) = claims
        p = claim.policy
        submission_key = f"burst{self.run:02d}x{claim.index:07d}"
        item = Item(f"public#form:{submission_key}")
        body = {"submission_key": submission_key, "policy_number": p.number, "phone": p.phone,
                "loss_type": p.peril, "occurred_at": _occurred(), "region_code": claim.region,
                "description": "burst: reported on the claim form", "amount": claim.amount, "language": "zh-CN"}
        record, response = self._post("form", f"{self.stack.api_url}/v1/public/claims", [item], json=body)
        if response is not None and response.status_code < 300:
            item.status, item.claim_id = response.status_code, response.json().get("claim_id")
        return [record]

    def twilio(self, claims: list[Claim]) -> list[Record]:
        """The call's two webhooks, signed as Twilio signs them (the URL it called + sorted form
        parameters, HMAC-SHA1 with the auth token): the greeting, then the key the caller pressed."""
        from twilio.request_validator import RequestValidator

        from chalicelib.domain.ivr import digit_for_peril

        (claim,) = claims
        call_sid = f"CAburst{self.run:02d}{claim.index:08d}"
        item = Item(f"ivr:twilio#call:{call_sid}")
        params = {"AccountSid": "AC0123456789abcdef0123456789abcdef", "CallSid": call_sid, "From": claim.policy.phone,
                  "To": "+862161234567", "Called": "+862161234567", "Caller": claim.policy.phone,
                  "CallStatus": "in-progress", "Direction": "inbound", "ApiVersion": "2010-04-01"}
        signer = RequestValidator(self.twilio_token)
        records = []
        for step, path, extra in (("voice", "/v1/ivr/twilio/voice", {}),
                                  ("claim", "/v1/ivr/twilio/gather?lang=zh-CN",
                                   {"Digits": digit_for_peril(claim.policy.peril)})):
            form = {**params, **extra}
            # the voice step carries the claim only when the call breaks off there
            record, response = self._post(
                "twilio", f"{self.stack.api_url}{path}", [item], step=step, data=urlencode(form),
                headers={"content-type": "application/x-www-form-urlencoded",
                         "x-twilio-signature": signer.compute_signature(self.stack.api_url + path, form)})
            records.append(record)
            if response is None or response.status_code != 200:
                break
            if step == "voice":
                record.items = []
            else:
                item.status, item.twiml = 200, response.text  # the claim id is found by its call (see count)
        return records

    def ivr_event(self, claims: list[Claim]) -> list[Record]:
        (claim,) = claims
        p = claim.policy
        call_id = f"burst-{self.run:02d}-{claim.index:07d}"
        item = Item(f"ivr:{self.ivr_vendor}#call:{call_id}")
        body = json.dumps({"type": "claim.reported", "call_id": call_id, "caller": p.phone,
                           "policy": {"number": p.number},
                           "loss": {"type": p.peril, "occurred_at": _occurred(),
                                    "description": "burst: reported to the vendor's IVR",
                                    "location": {"region_code": claim.region}},
                           "amount": {"value": claim.amount, "currency": "CNY"}}, ensure_ascii=False).encode()
        stamp = str(int(time.time()))
        signature = hmac.new(self.ivr_secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
        record, response = self._post("ivr_events", f"{self.stack.api_url}/v1/ivr/events", [item], data=body,
                                       headers={"content-type": "application/json",
                                                "x-signature": f"t={stamp},v1={signature}"})
        if response is not None and response.status_code < 300:
            item.status, item.claim_id = response.status_code, response.json().get("claim_id")
        return [record]

    def connect(self, claims: list[Claim]) -> list[Record]:
        """Amazon Connect's contact flow invoking ``connect_report_claim`` (Lambda's Invoke API)."""
        (claim,) = claims
        p = claim.policy
        contact_id = f"burst-{self.run:02d}-{claim.index:07d}"
        item = Item(f"ivr:connect#call:{contact_id}")
        event = {"Name": "ContactFlowEvent", "Details": {
            "ContactData": {"ContactId": contact_id, "InitialContactId": contact_id, "Channel": "VOICE",
                            "InitiationMethod": "INBOUND", "Attributes": {"language": "zh-CN"},
                            "CustomerEndpoint": {"Address": p.phone, "Type": "TELEPHONE_NUMBER"},
                            "SystemEndpoint": {"Address": "+862161234567", "Type": "TELEPHONE_NUMBER"}},
            "Parameters": {"loss_type": p.peril, "amount": f"{int(Decimal(claim.amount))}#",
                           "policy_number": p.number, "region_code": claim.region}}}
        record, response = self._post("connect", f"{self.stack.lambda_url}/2015-03-31/functions/"
                                                 f"connect_report_claim/invocations", [item], json=event)
        if response is not None and response.status_code == 200:
            answer = _json_or_none(response) or {}
            item.status = 200
            if response.headers.get("X-Amz-Function-Error"):
                item.code = f"function error: {answer.get('errorType')}"
            elif answer.get("result") in ("created", "already_reported"):
                item.claim_id = answer.get("claim_id")
                item.code = answer["result"]
            else:
                item.code = f"{answer.get('result')}: {answer.get('error_code')}"
        return [record]


def _json_or_none(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


@dataclass
class Burst:
    records: list[Record]
    began: float  # time.monotonic() when the first request went
    seconds: float  # until the last answer

    @property
    def items(self) -> list[Item]:
        return [item for r in self.records for item in r.items]


def submit(stack: Stack, jobs: list[Job], run: int, threads: int = 12) -> Burst:
    """Every job from ``threads`` threads, each with its own keep-alive session, as fast as answered."""
    began = time.monotonic()
    sender = Sender(stack, run, time.perf_counter())
    with ThreadPoolExecutor(threads, thread_name_prefix="burst") as pool:
        results = list(pool.map(lambda job: job.run(sender, job.claims), jobs))
    records = [r for rs in results for r in rs]
    return Burst(records, began, time.monotonic() - began)


# -- queues --------------------------------------------------------------------------------------------

def queue_urls(moto_url: str) -> dict[str, str]:
    """Every queue of the product and its DLQ: name → URL."""
    from chalicelib.adapters.resources import QUEUES

    sqs = aws_client("sqs", moto_url)
    names = [q.name for q in QUEUES] + [q.dlq_name for q in QUEUES]
    return {name: sqs.get_queue_url(QueueName=name)["QueueUrl"] for name in names}


@dataclass(frozen=True)
class Depth:
    visible: int
    in_flight: int
    delayed: int

    @property
    def busy(self) -> int:
        """Messages a consumer has or can take now (delayed ones wait for their time)."""
        return self.visible + self.in_flight


class DepthSampler(threading.Thread):
    """Every queue's depth every ``every`` seconds, from ``start()`` until ``stop()``."""

    ATTRIBUTES = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
                  "ApproximateNumberOfMessagesDelayed"]
    # "All": moto works out every attribute once per name asked for (and again to read it), each a pass
    # over the queue's messages; asking for all of them costs one such computation per sample
    ASK = ["All"]

    def __init__(self, moto_url: str, every: float = 1.0, urls: dict[str, str] | None = None):
        super().__init__(name="queue-depth", daemon=True)
        self._sqs = aws_client("sqs", moto_url)
        self.urls = urls or queue_urls(moto_url)
        self.every = every
        self.samples: list[tuple[float, dict[str, Depth]]] = []  # (time.monotonic(), depths)
        self._stopping = threading.Event()

    def depths(self) -> dict[str, Depth]:
        depths = {}
        for name, url in self.urls.items():
            a = self._sqs.get_queue_attributes(QueueUrl=url, AttributeNames=self.ASK)["Attributes"]
            depths[name] = Depth(*(int(a[k]) for k in self.ATTRIBUTES))
        return depths

    def run(self) -> None:
        while not self._stopping.is_set():
            taken = time.monotonic()
            try:
                self.samples.append((taken, self.depths()))
            except Exception:  # noqa: BLE001 - a missed sample is a gap in the table, nothing more
                pass
            self._stopping.wait(max(0.0, self.every - (time.monotonic() - taken)))

    def stop(self) -> None:
        self._stopping.set()
        self.join(10)

    def drained_at(self, queue: str, after: float) -> float | None:
        """When ``queue`` had nothing visible or in flight from then on, at or after ``after``."""
        when = None
        for taken, depths in self.samples:
            if taken < after or queue not in depths:
                continue
            if depths[queue].busy:
                when = None
            elif when is None:
                when = taken
        return when


def wait_for_drain(sampler: DepthSampler, queues: Iterable[str], timeout: float, settle: int = 3) -> bool:
    """True once ``queues`` have had nothing visible or in flight for ``settle`` samples in a row."""
    queues = list(queues)
    deadline = time.monotonic() + timeout
    seen = len(sampler.samples)
    quiet = 0
    while time.monotonic() < deadline:
        if len(sampler.samples) > seen:
            seen = len(sampler.samples)
            _, depths = sampler.samples[-1]
            quiet = quiet + 1 if all(not depths[q].busy for q in queues if q in depths) else 0
            if quiet >= settle:
                return True
        time.sleep(sampler.every / 4)
    return False


# -- the count ---------------------------------------------------------------------------------------

@dataclass
class Count:
    claims: dict[str, dict]  # claim id → status, idempotency_key, surveyor_id, region_code
    timelines: dict[str, list[tuple[str, str]]]  # claim id → [(kind, status)] in order
    surveyors: dict[str, dict]  # surveyor id → active_claims, capacity, region_code, status
    dlq: dict[str, int]  # DLQ name → messages
    delayed: dict[str, int]  # queue name → messages delayed (dispatch retries of waiting claims)


def _scan(ddb, table: str, attributes: list[str]) -> list[dict]:
    from boto3.dynamodb.types import TypeDeserializer

    des = TypeDeserializer()
    names = {f"#a{n}": name for n, name in enumerate(attributes)}  # many of them are reserved words
    items: list[dict] = []
    start = None
    while True:
        kwargs = {"TableName": table, "ProjectionExpression": ", ".join(names), "ExpressionAttributeNames": names,
                  "ConsistentRead": True}
        if start:
            kwargs["ExclusiveStartKey"] = start
        page = ddb.scan(**kwargs)
        items.extend({k: des.deserialize(v) for k, v in item.items()} for item in page["Items"])
        start = page.get("LastEvaluatedKey")
        if not start:
            return items


def count(stack: Stack, sampler: DepthSampler | None = None) -> Count:
    """Claims, timelines and surveyors as DynamoDB holds them (scans), and the queues' leftovers."""
    tables = _tables()
    ddb = aws_client("dynamodb", stack.moto_url)
    claims = {i["claim_id"]: i for i in _scan(ddb, tables.CLAIMS, ["claim_id", "status", "idempotency_key",
                                                                    "surveyor_id", "region_code", "segment"])}
    timelines: dict[str, list[tuple[int, str, str]]] = defaultdict(list)
    for e in _scan(ddb, tables.CLAIM_EVENTS, ["claim_id", "seq", "kind", "status"]):
        timelines[e["claim_id"]].append((int(e["seq"]), e["kind"], e["status"]))
    surveyors = {s["surveyor_id"]: s for s in _scan(ddb, tables.SURVEYORS, ["surveyor_id", "active_claims", "capacity",
                                                                            "region_code", "status"])}
    depths = (sampler or DepthSampler(stack.moto_url)).depths()
    return Count(claims, {cid: [(k, s) for _, k, s in sorted(events)] for cid, events in timelines.items()},
                 surveyors, {q: d.visible + d.in_flight + d.delayed for q, d in depths.items() if q.endswith("-dlq")},
                 {q: d.delayed for q, d in depths.items() if not q.endswith("-dlq")})


def resolve_twilio(burst: Burst, counted: Count) -> None:
    """Twilio's answer is speech: the claim a call made is the one stored under the call's key, and
    it is accepted only if the caller heard that claim's reference."""
    from chalicelib.domain.ivr import spell, voice_reference

    by_key = defaultdict(list)
    for claim_id, claim in counted.claims.items():
        by_key[claim.get("idempotency_key") or ""].append(claim_id)
    for item in burst.items:
        if item.twiml is None or item.claim_id is not None:
            continue
        stored = by_key.get(item.key, [])
        heard = [cid for cid in stored if spell(voice_reference(cid)) in item.twiml]
        if heard:
            item.claim_id, item.code = heard[0], "claim_created"
        else:
            item.code = "apology (technical_problem)" if stored == [] else "reference not heard"


# -- the verdict ---------------------------------------------------------------------------------------

SURVEY_ROUTE = ("claim.routed", "AWAITING_SURVEYOR")
SCORED = "claim.scored"
ASSIGNED = "claim.surveyor_assigned"
WAITING_STATUSES = ("AWAITING_SURVEYOR", "WAITING_FOR_SURVEYOR")
REFUSALS = (429, 503)


@dataclass
class Outcome:
    accepted: int
    rejected: Counter  # code → count (HTTP status, or the IVR's own outcome)
    stored: int
    scored: int
    survey_needed: int
    dispatched: int
    waiting: int
    in_dlq: int

    def line(self) -> str:
        rejected = ", ".join(f"{code}: {n}" for code, n in sorted(self.rejected.items(), key=str)) or "none"
        return (f"accepted {self.accepted}, rejected {sum(self.rejected.values())} ({rejected}), stored "
                f"{self.stored}, scored {self.scored}, survey needed {self.survey_needed}, dispatched "
                f"{self.dispatched}, waiting {self.waiting}, in DLQ {self.in_dlq}")


def _rejection(item: Item) -> str:
    if item.status in REFUSALS:
        return str(item.status)
    return item.code or f"HTTP {item.status}"


def outcome(burst: Burst, counted: Count) -> Outcome:
    accepted = {i.claim_id for i in burst.items if i.accepted}
    timelines = counted.timelines
    needing = [cid for cid in counted.claims if SURVEY_ROUTE in timelines.get(cid, [])]
    return Outcome(
        accepted=len(accepted),
        rejected=Counter(_rejection(i) for i in burst.items if not i.accepted),
        stored=len(counted.claims),
        scored=sum(1 for cid in counted.claims if any(k == SCORED for k, _ in timelines.get(cid, []))),
        survey_needed=len(needing),
        dispatched=sum(1 for cid in counted.claims if counted.claims[cid]["status"] == "SURVEYOR_ASSIGNED"),
        waiting=sum(1 for cid in needing if counted.claims[cid]["status"] in WAITING_STATUSES),
        in_dlq=sum(counted.dlq.values()))


def problems(burst: Burst, counted: Count, limit: int = 20) -> list[str]:
    """Every broken promise, each with the claim, key or surveyor it concerns (at most ``limit`` of each kind)."""
    found: dict[str, list[str]] = defaultdict(list)
    claims, timelines = counted.claims, counted.timelines
    by_key: dict[str, list[str]] = defaultdict(list)
    for claim_id, claim in claims.items():
        by_key[claim.get("idempotency_key") or ""].append(claim_id)

    # stored exactly once
    for key, ids in by_key.items():
        if len(ids) > 1:
            found["one key, several claims"].append(f"{key}: {sorted(ids)}")
    accepted: dict[str, Item] = {}
    for item in burst.items:
        if item.claim_id is None:  # not accepted
            continue
        if item.claim_id in accepted:
            found["one claim id answered to two submissions"].append(f"{item.claim_id}: {item.key}, "
                                                                     f"{accepted[item.claim_id].key}")
        accepted[item.claim_id] = item
        stored = claims.get(item.claim_id)
        if stored is None:
            found["accepted, not stored"].append(f"{item.claim_id} ({item.key})")
        elif stored.get("idempotency_key") != item.key:
            found["stored under another key"].append(f"{item.claim_id}: sent {item.key}, stored "
                                                     f"{stored.get('idempotency_key')}")
    for claim_id in claims.keys() - accepted.keys():
        found["stored, never accepted"].append(f"{claim_id} ({claims[claim_id].get('idempotency_key')})")

    # refused only as 429/503 with Retry-After (the IVRs' own refusals: a deferral, never a crash)
    for item in burst.items:
        if item.accepted:
            continue
        if item.status in REFUSALS:
            if not item.retry_after:
                found["refused without Retry-After"].append(f"{item.key}: {item.status}")
        elif item.key.startswith("ivr:connect#") and item.code == "error: TEMPORARILY_UNAVAILABLE":
            pass
        elif item.key.startswith("ivr:twilio#") and item.code == "apology (technical_problem)":
            pass
        else:
            found["refused otherwise than 429/503"].append(f"{item.key}: {item.status} {item.code}")

    # scored exactly once; dispatched at most once, once where a survey is needed, within capacity
    assigned_to: Counter = Counter()
    for claim_id, claim in claims.items():
        kinds = [k for k, _ in timelines.get(claim_id, [])]
        if kinds.count(SCORED) != 1:
            found["not scored exactly once"].append(f"{claim_id}: {kinds.count(SCORED)} scorings, {claim['status']}")
        if claim["status"] == "RECEIVED":
            found["still RECEIVED"].append(claim_id)
        assignments = kinds.count(ASSIGNED)
        needs_survey = SURVEY_ROUTE in timelines.get(claim_id, [])
        if assignments > 1:
            found["assigned more than once"].append(f"{claim_id}: {assignments}")
        if assignments and not needs_survey:
            found["assigned without needing a survey"].append(claim_id)
        if needs_survey and claim["status"] not in ("SURVEYOR_ASSIGNED", *WAITING_STATUSES):
            found["survey needed, neither assigned nor waiting"].append(f"{claim_id}: {claim['status']}")
        if claim["status"] == "SURVEYOR_ASSIGNED":
            if assignments != 1 or not claim.get("surveyor_id"):
                found["SURVEYOR_ASSIGNED without one assignment"].append(claim_id)
            assigned_to[claim.get("surveyor_id")] += 1
    for surveyor_id, s in counted.surveyors.items():
        active, capacity = int(s.get("active_claims") or 0), int(s["capacity"])
        if active > capacity:
            found["surveyor over capacity"].append(f"{surveyor_id}: {active} of {capacity}")
        if active != assigned_to[surveyor_id]:
            found["surveyor's count differs from its claims"].append(
                f"{surveyor_id}: active_claims {active}, claims assigned to it {assigned_to[surveyor_id]}")
    for claim_id, claim in claims.items():
        if claim["status"] in WAITING_STATUSES and SURVEY_ROUTE in timelines.get(claim_id, []):
            free = [sid for sid, s in counted.surveyors.items() if s.get("region_code") == claim.get("region_code")
                    and s.get("status") == "AVAILABLE" and int(s.get("active_claims") or 0) < int(s["capacity"])]
            if free:
                found["waiting while its district has room"].append(f"{claim_id}: {free[:3]}")

    # nothing parked in a DLQ
    for queue, n in counted.dlq.items():
        if n:
            found["in a DLQ"].append(f"{queue}: {n}")
    lines = []
    for kind, cases in found.items():
        more = f" (and {len(cases) - limit} more)" if len(cases) > limit else ""
        lines.append(f"{kind}: {len(cases)}{more}: " + "; ".join(cases[:limit]))
    return lines


# -- figures -------------------------------------------------------------------------------------------

def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def latencies(records: list[Record]) -> dict[str, list[float]]:
    """Seconds per request by channel (Twilio's two webhooks each count), and "all"."""
    by: dict[str, list[float]] = defaultdict(list)
    for r in records:
        if r.status:
            by[r.channel].append(r.latency)
            by["all"].append(r.latency)
    return by


def mean(values: list[float]) -> float:
    return statistics.fmean(values) if values else float("nan")
