"""Pipeline benchmark: what one claim costs at every stage, from submit to dispatched.

Run ``python -m bench.pipeline [--quick] [--claims M] [--per-channel K]``. It starts its own moto server
(bench.intake's helpers), creates the tables and queues, seeds the demo data plus one policy per
benchmark claim (claims sharing a policy, plate or phone would be flagged as duplicates and routed to an
agent), and runs the real app in process through ``chalice.test.Client`` (stage prod):

- intake on every channel: partner API (single and batch of 25), claim form, Twilio, vendor IVR,
  Amazon Connect (each call's first step, the identification, counted apart);
- the consumers as Lambda's SQS event source would invoke them, with batches of 1 and of 10 messages:
  scoring, dispatch, partner notifications (to a local stand-in receiver), contact entries;
- the reconciler, with nothing stuck and with claims stuck in RECEIVED.

For each stage it prints AWS calls per claim by operation (botocore ``before-call`` hooks on every
client of the app), and the inputs of an AWS bill: Lambda invocations and their time, DynamoDB read
and write request units (estimated from the requests and the items, see bench/README.md), SQS requests
(64 KB chunks) and bytes of log lines. It never asserts on time; it fails only when the product answers
wrongly (a claim not accepted, not dispatched or not approved, a notification not delivered).
"""
from __future__ import annotations

import argparse
import contextlib
import hashlib
import hmac
import json
import math
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from bench.harness import REGION, REPO, begin
from bench.intake import CN_TZ, MOTOR_REGION, motor_claim, seed_motor_policies
from devkit.moto import MotoServer
from devkit.ports import free_port

STAGE = "prod"  # each invocation gets the function's own variables from .chalice/config.json
EVENTS = REPO / "tests" / "events"
KB, READ_UNIT, SQS_CHUNK = 1024, 4096, 64 * 1024
SQS_OPS = {"SendMessage", "SendMessageBatch", "ReceiveMessage", "DeleteMessage", "DeleteMessageBatch",
           "GetQueueUrl", "GetQueueAttributes", "ChangeMessageVisibility", "ChangeMessageVisibilityBatch"}


def progress(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------------------
# DynamoDB request units, estimated from the requests and the items (AWS's sizing rules)
# ------------------------------------------------------------------------------------------------

def _number_size(text: str) -> int:
    digits = text.lstrip("-").lower().split("e")[0].replace(".", "").strip("0") or "0"
    return (len(digits) + 1) // 2 + 1  # one byte per two significant digits, plus one


def value_size(value: dict) -> int:
    (kind, v), = value.items()
    if kind == "S":
        return len(v.encode("utf-8"))
    if kind == "N":
        return _number_size(v)
    if kind == "B":
        return len(v)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(s.encode("utf-8")) for s in v)
    if kind == "NS":
        return sum(_number_size(n) for n in v)
    if kind == "BS":
        return sum(len(b) for b in v)
    if kind == "L":
        return 3 + sum(value_size(e) + 1 for e in v)
    if kind == "M":
        return 3 + sum(len(k.encode("utf-8")) + value_size(e) + 1 for k, e in v.items())
    return 0


def item_size(item: dict) -> int:
    """Bytes as DynamoDB counts them: attribute names plus values."""
    return sum(len(name.encode("utf-8")) + value_size(v) for name, v in item.items())


def _units(size: int, unit: int) -> int:
    return max(1, math.ceil(size / unit))


@dataclass(frozen=True)
class Gsi:
    name: str
    keys: tuple[str, ...]
    projection: str  # ALL, KEYS_ONLY, INCLUDE
    include: tuple[str, ...]


@dataclass(frozen=True)
class TableShape:
    keys: tuple[str, ...]
    gsis: tuple[Gsi, ...]


def table_shapes() -> dict[str, TableShape]:
    """Keys and GSIs of every table, from the PynamoDB models (the same source as the tables)."""
    from chalicelib.adapters.models import ALL_MODELS

    shapes = {}
    for model in ALL_MODELS:
        schema = model._get_schema()
        keys = tuple(k["AttributeName"] for k in schema["key_schema"])
        gsis = tuple(Gsi(g["index_name"], tuple(k["AttributeName"] for k in g["key_schema"]),
                         g["projection"]["ProjectionType"], tuple(g["projection"].get("NonKeyAttributes", ())))
                     for g in schema.get("global_secondary_indexes", []))
        shapes[model.Meta.table_name] = TableShape(keys, gsis)
    return shapes


class CapacityModel:
    """Read and write request units of each DynamoDB call, from the request and its answer.

    - reads: 4 KB units, half a unit when eventually consistent (every GSI query), at least one unit
      per request (per item for GetItem/BatchGetItem); a Query is charged on the items it returns;
    - writes: 1 KB units of the larger of the old and new item; twice that inside a transaction;
    - GSIs: each index whose entry is added, removed or changed costs its projected entry's 1 KB
      units (a changed index key: remove plus add); GSI writes are not doubled by transactions.
    The old item is known when the benchmark saw it (written or read before); an update of an item it
    never saw is charged as an item under 1 KB that sits in every index of its table (the items
    updated that way are rate-limit counters and surveyors: see the item-size table)."""

    def __init__(self, shapes: dict[str, TableShape]):
        self.shapes = shapes
        self.items: dict[tuple[str, str], dict] = {}

    def _key(self, table: str, item: dict) -> str:
        return json.dumps([item.get(k) for k in self.shapes[table].keys], sort_keys=True, default=str)

    def remember(self, table: str, item: dict | None) -> None:
        if item and table in self.shapes:
            self.items[(table, self._key(table, item))] = item

    @staticmethod
    def _projected(item: dict | None, table: TableShape, gsi: Gsi) -> dict | None:
        if item is None or any(k not in item for k in gsi.keys):
            return None
        if gsi.projection == "ALL":
            return dict(item)
        names = set(table.keys) | set(gsi.keys) | (set(gsi.include) if gsi.projection == "INCLUDE" else set())
        return {n: v for n, v in item.items() if n in names}

    def _gsi_units(self, table: str, old: dict | None, new: dict | None) -> int:
        shape, total = self.shapes.get(table), 0
        if shape is None:
            return 0
        for gsi in shape.gsis:
            before, after = self._projected(old, shape, gsi), self._projected(new, shape, gsi)
            if before is None and after is None or before == after:
                continue
            if before is not None and after is not None and all(before[k] == after[k] for k in gsi.keys):
                total += _units(item_size(after), KB)
                continue
            total += sum(_units(item_size(p), KB) for p in (before, after) if p is not None)
        return total

    def put(self, table: str, item: dict, factor: int, failed: bool = False) -> tuple[int, int]:
        old = self.items.get((table, self._key(table, item)))
        size = max(item_size(item), item_size(old) if old else 0)
        if failed:  # a refused conditional write still costs its units, but changes no index
            return factor * _units(size, KB), 0
        gsi = self._gsi_units(table, old, item)
        self.remember(table, item)
        return factor * _units(size, KB), gsi

    def update(self, table: str, params: dict, factor: int, failed: bool = False) -> tuple[int, int]:
        shape = self.shapes.get(table)
        key = params["Key"]
        old = self.items.get((table, self._key(table, key))) if shape else None
        touched = set((params.get("ExpressionAttributeNames") or {}).values())
        if failed:
            return factor * _units(item_size(old) if old else 0, KB), 0
        if old is None:  # never seen: an item under 1 KB present in every index whose projection it touches
            gsis = [g for g in (shape.gsis if shape else ())
                    if g.projection == "ALL" or touched & (set(g.include) | set(g.keys))]
            return factor, len(gsis)
        gsi = 0
        for g in shape.gsis:
            projected = self._projected(old, shape, g)
            if projected is not None and (g.projection == "ALL" or touched & (set(g.include) | set(g.keys))):
                gsi += _units(item_size(projected), KB)
        return factor * _units(item_size(old), KB), gsi

    def delete(self, table: str, key: dict, factor: int) -> tuple[int, int]:
        old = self.items.pop((table, self._key(table, key)), None)
        return factor * _units(item_size(old) if old else 0, KB), self._gsi_units(table, old, None)

    def charge(self, op: str, params: dict, parsed: dict) -> tuple[float, int, int]:
        """(read units, write units of the tables, write units of their GSIs) of one call. A refused
        conditional write (or cancelled transaction) is charged its items' units, no index writes."""
        rru, wru, gsi = 0.0, 0, 0
        failed = "Error" in parsed
        if op == "GetItem":
            item = parsed.get("Item")
            self.remember(params["TableName"], item)
            rru = _units(item_size(item) if item else 0, READ_UNIT) * (1 if params.get("ConsistentRead") else 0.5)
        elif op == "BatchGetItem":
            for table, items in (parsed.get("Responses") or {}).items():
                consistent = (params["RequestItems"].get(table) or {}).get("ConsistentRead")
                for item in items:
                    self.remember(table, item)
                    rru += _units(item_size(item), READ_UNIT) * (1 if consistent else 0.5)
        elif op in ("Query", "Scan"):
            items = parsed.get("Items") or []
            table, index = params["TableName"], params.get("IndexName")
            shape = self.shapes.get(table)
            if index is None or (shape and any(g.name == index and g.projection == "ALL" for g in shape.gsis)):
                for item in items:
                    self.remember(table, item)
            rru = _units(sum(item_size(i) for i in items), READ_UNIT) * (1 if params.get("ConsistentRead") else 0.5)
        elif op == "TransactGetItems":
            # one response per item; none at all when the transaction was refused
            for entry, answer in zip(params["TransactItems"], parsed.get("Responses") or [], strict=False):
                item = (answer or {}).get("Item")
                self.remember(entry["Get"]["TableName"], item)
                rru += 2 * _units(item_size(item) if item else 0, READ_UNIT)
        elif op == "PutItem":
            wru, gsi = self.put(params["TableName"], params["Item"], 1, failed)
        elif op == "UpdateItem":
            wru, gsi = self.update(params["TableName"], params, 1, failed)
        elif op == "DeleteItem":
            wru, gsi = self.delete(params["TableName"], params["Key"], 1)
        elif op == "BatchWriteItem":
            for table, requests in params["RequestItems"].items():
                for request in requests:
                    w, g = (self.put(table, request["PutRequest"]["Item"], 1) if "PutRequest" in request
                            else self.delete(table, request["DeleteRequest"]["Key"], 1))
                    wru, gsi = wru + w, gsi + g
        elif op == "TransactWriteItems":
            for entry in params["TransactItems"]:
                (kind, body), = entry.items()
                if kind == "Put":
                    w, g = self.put(body["TableName"], body["Item"], 2, failed)
                elif kind == "Update":
                    w, g = self.update(body["TableName"], body, 2, failed)
                elif kind == "Delete":
                    w, g = self.delete(body["TableName"], body["Key"], 2)
                else:  # ConditionCheck
                    old = self.items.get((body["TableName"], self._key(body["TableName"], body["Key"])))
                    w, g = 2 * _units(item_size(old) if old else 0, KB), 0
                wru, gsi = wru + w, gsi + g
        return rru, wru, gsi


def sqs_requests(op: str, params: dict) -> int:
    """SQS bills a request per 64 KB chunk of its payload."""
    def size(body: str, attributes: dict | None) -> int:
        extra = sum(len(n) + len(a.get("DataType", "")) + len(a.get("StringValue", "") or "")
                    for n, a in (attributes or {}).items())
        return len(body.encode("utf-8")) + extra

    if op == "SendMessage":
        return _units(size(params["MessageBody"], params.get("MessageAttributes")), SQS_CHUNK)
    if op == "SendMessageBatch":
        return _units(sum(size(e["MessageBody"], e.get("MessageAttributes")) for e in params["Entries"]), SQS_CHUNK)
    return 1


# ------------------------------------------------------------------------------------------------
# the meter: calls, capacity, SQS requests, log bytes and invocation time of one stage
# ------------------------------------------------------------------------------------------------

@dataclass
class Tally:
    calls: Counter = field(default_factory=Counter)
    unhooked: Counter = field(default_factory=Counter)
    rru: float = 0.0
    wru: int = 0
    gsi_wru: int = 0
    sqs_requests: int = 0
    log_bytes: int = 0
    invocations: int = 0
    seconds: float = 0.0  # wall time inside the invocations (moto's latency included)
    cpu: float = 0.0  # this process's CPU time inside them (moto's excluded): our own code

    def __iadd__(self, other: Tally) -> Tally:
        self.calls += other.calls
        self.unhooked += other.unhooked
        for name in ("rru", "wru", "gsi_wru", "sqs_requests", "log_bytes", "invocations", "seconds", "cpu"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        return self

    @property
    def total(self) -> int:
        return sum(self.calls.values())

    def service_calls(self, sqs: bool) -> int:
        return sum(n for op, n in self.calls.items() if (op in SQS_OPS) == sqs)


class Meter:
    """botocore hooks on the app's clients: ``before-call`` counts the call, ``before-parameter-build``
    keeps its parameters and ``after-call`` charges it with the answer. Calls of any client that is
    neither hooked nor the benchmark's own are counted apart (a completeness check)."""

    def __init__(self, shapes: dict[str, TableShape], log_fd: int):
        self.capacity = CapacityModel(shapes)
        self.tally: Tally | None = None
        self._hooked: set[int] = set()
        self._ignored: set[int] = set()
        self._params = threading.local()
        self._log_fd = log_fd

    def ignore(self, client):
        self._ignored.add(id(client))
        return client

    def hook(self, client) -> None:
        if id(client) in self._hooked:
            return
        self._hooked.add(id(client))
        events = client.meta.events
        events.register("before-parameter-build", self._on_params)
        events.register("before-call", self._on_call)
        events.register("after-call", self._on_result)

    def install_guard(self) -> None:
        from botocore.client import BaseClient

        original, meter = BaseClient._make_api_call, self

        def _make_api_call(client, operation_name, api_params):
            if meter.tally is not None and id(client) not in meter._hooked and id(client) not in meter._ignored:
                meter.tally.unhooked[operation_name] += 1
            return original(client, operation_name, api_params)

        BaseClient._make_api_call = _make_api_call

    def _on_params(self, params, model, **_):
        self._params.value = params

    def _on_call(self, model, **_):
        if self.tally is not None:
            self.tally.calls[model.name] += 1

    def _on_result(self, parsed, model, **_):
        params = getattr(self._params, "value", None) or {}
        service = model.service_model.service_name
        if service == "dynamodb":
            rru, wru, gsi = self.capacity.charge(model.name, params, parsed or {})  # the cache follows every write
            if self.tally is not None:
                self.tally.rru += rru
                self.tally.wru += wru
                self.tally.gsi_wru += gsi
        elif service == "sqs" and self.tally is not None:
            self.tally.sqs_requests += sqs_requests(model.name, params)

    def log_size(self) -> int:
        sys.stdout.flush()
        return os.fstat(self._log_fd).st_size

    @contextlib.contextmanager
    def measure(self, tally: Tally | None = None):
        tally = tally if tally is not None else Tally()
        before = self.log_size()
        self.tally = tally
        try:
            yield tally
        finally:
            self.tally = None
            tally.log_bytes += self.log_size() - before

    @contextlib.contextmanager
    def invocation(self):
        """Times one Lambda invocation (an API request or a consumer batch) inside ``measure``."""
        t0, c0 = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            if self.tally is not None:
                self.tally.invocations += 1
                self.tally.seconds += time.perf_counter() - t0
                self.tally.cpu += time.process_time() - c0


# ------------------------------------------------------------------------------------------------
# inputs
# ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class FoodPolicy:
    number: str
    phone: str
    order_id: str


def seed_food_policies(count: int, start: int = 0) -> list[FoodPolicy]:
    """One food-safety policy of ``eleme`` per claim, each with its own holder phone and order id."""
    from chalicelib.adapters.models import PolicyModel

    policies = [FoodPolicy(f"PAB{n:08d}", f"+86158{n:08d}", f"EB{n:08d}") for n in range(start, start + count)]
    with PolicyModel.batch_write() as batch:
        for n, p in enumerate(policies, start):
            batch.save(PolicyModel(p.number, product="food_safety", customer_id=f"CUS-BENCHF-{n:08d}",
                                   holder_name="基准用户", holder_phone=p.phone, order_id=p.order_id,
                                   partner_id="eleme", starts_on="2026-01-01", ends_on="2030-12-31",
                                   status="ACTIVE", holder_language="zh-CN"))
    return policies


def food_claim(ref: str, now: datetime, policy: FoodPolicy) -> dict:
    return {
        "external_ref": ref,
        "policy": {"number": policy.number, "order_id": policy.order_id},
        "claimant": {"name": "张三", "phone": policy.phone},
        "loss": {"type": "food_safety", "occurred_at": (now.astimezone(CN_TZ) - timedelta(hours=3)).isoformat(),
                 "description": "Food poisoning after a delivered meal; stomach pain within two hours.",
                 "location": {"region_code": "310115", "address": "上海市浦东新区张江路88号"}},
        "amount": {"value": "35.50", "currency": "CNY"},
    }


def _event(name: str) -> dict:
    return json.loads((EVENTS / name).read_text(encoding="utf-8"))


def _vendor_signature(body: bytes, secret: str) -> str:
    t = int(time.time())
    return f"t={t},v1={hmac.new(secret.encode(), f'{t}.'.encode() + body, hashlib.sha256).hexdigest()}"


# ------------------------------------------------------------------------------------------------
# the benchmark
# ------------------------------------------------------------------------------------------------

@dataclass
class Row:
    label: str
    per: int  # claims (or what the label says) the tally is divided by
    tally: Tally
    unit: str = "claim"


class Pipeline:
    def __init__(self, args, out, log_fd: int) -> None:
        self.args = args
        self.out = out
        self.log_fd = log_fd
        self.rows: dict[str, Row] = {}
        self.notes: list[str] = []
        self.run_id = datetime.now(UTC).strftime("%H%M%S")
        self._seq = 0
        self._food_next = 0

    def ref(self, prefix: str) -> str:
        self._seq += 1
        return f"{prefix}-{self.run_id}-{self._seq:06d}"

    def add(self, key: str, label: str, per: int, tally: Tally, unit: str = "claim") -> None:
        if tally.unhooked:
            self.notes.append(f"WARNING: {label}: calls from clients the benchmark did not hook: "
                              f"{dict(tally.unhooked)}")
        self.rows[key] = Row(label, per, tally, unit)

    def check(self, ok: bool, message: str) -> None:
        if not ok:
            raise RuntimeError(message)

    # -- set-up ----------------------------------------------------------------------------------

    def setup(self) -> None:
        import boto3
        from botocore.config import Config

        from chalicelib.adapters.models import PartnerModel, SurveyorModel
        from chalicelib.adapters.resources import CONTACTS_QUEUE, DISPATCH_QUEUE, NOTIFY_QUEUE, SCORING_QUEUE
        from infra.partner_receiver import PartnerReceiver
        from infra.provision import create_all
        from infra.seed import (
            DEMO_CALLBACK_SECRET,
            DEMO_IVR_SECRET,
            DEMO_IVR_VENDOR,
            DEMO_PARTNERS,
            DEMO_STATUS_TOKEN_SECRET,
            DEMO_TWILIO_AUTH_TOKEN,
            seed,
        )

        self.meter = Meter(table_shapes(), self.log_fd)
        self.meter.install_guard()
        plain = Config(retries={"mode": "standard", "max_attempts": 3}, max_pool_connections=10)
        self.sqs = self.meter.ignore(boto3.client("sqs", region_name=REGION, config=plain))
        self.ddb = self.meter.ignore(boto3.client("dynamodb", region_name=REGION, config=plain))
        queues = create_all(self.sqs)
        seed()
        self.urls = {name: queues[spec.name]["url"] for name, spec in
                     (("scoring", SCORING_QUEUE), ("dispatch", DISPATCH_QUEUE), ("contacts", CONTACTS_QUEUE),
                      ("notify", NOTIFY_QUEUE))}
        self.arns = {name: self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
                     ["Attributes"]["QueueArn"] for name, url in self.urls.items()}
        self.receiver = PartnerReceiver("127.0.0.1", free_port(), DEMO_CALLBACK_SECRET)
        self.receiver.start()
        for partner in ("eleme", "motor-direct"):
            PartnerModel(partner).update(actions=[PartnerModel.callback_url.set(self.receiver.url)])
        # What the deployed functions have: queue URLs in the environment (no GetQueueUrl), the secrets.
        os.environ.update(
            SCORING_QUEUE_URL=self.urls["scoring"], DISPATCH_QUEUE_URL=self.urls["dispatch"],
            CONTACTS_QUEUE_URL=self.urls["contacts"], NOTIFY_QUEUE_URL=self.urls["notify"],
            NOTIFY_DLQ_URL=queues[NOTIFY_QUEUE.name]["dlq_url"],
            TWILIO_AUTH_TOKEN=DEMO_TWILIO_AUTH_TOKEN, IVR_WEBHOOK_SECRETS=f"{DEMO_IVR_VENDOR}:{DEMO_IVR_SECRET}",
            STATUS_TOKEN_SECRET=DEMO_STATUS_TOKEN_SECRET,
            PARTNER_CALLBACK_SECRETS=f"eleme:{DEMO_CALLBACK_SECRET},motor-direct:{DEMO_CALLBACK_SECRET}",
            # steady state: the form's limits out of the way (their counters are still written) and
            # the key cache outliving the run (a container looks a key up once a minute otherwise)
            FORM_LIMIT_PER_PHONE="1000000", FORM_LIMIT_PER_ADDRESS="1000000", API_KEY_CACHE_SECONDS="3600",
        )
        os.environ.pop("PUBLIC_BASE_URL", None)  # Twilio signs the default http://127.0.0.1:8000
        self.ivr_secret, self.twilio_token = DEMO_IVR_SECRET, DEMO_TWILIO_AUTH_TOKEN
        keys = {p.partner_id: p.api_key for p in DEMO_PARTNERS}
        self.food_headers = {"x-api-key": keys["eleme"], "content-type": "application/json"}
        self.motor_headers = {"x-api-key": keys["motor-direct"], "content-type": "application/json"}

        m, k = self.args.claims, self.args.per_channel
        self.motor_policies = seed_motor_policies(2 * m)
        self.food_policies = seed_food_policies(2 * m + 5 * k + 25 + self.args.stuck)
        for i in range(max(4, math.ceil(2 * m / 10))):  # dispatch never waits for capacity
            SurveyorModel(f"SV-BENCH-{i:03d}", name=f"基准查勘员{i}", region_code=MOTOR_REGION, status="AVAILABLE",
                          capacity=10 + 2 * m, active_claims=0, lat=31.22, lon=121.54).save()
        self.start_app()

    def next_food(self) -> FoodPolicy:
        policy = self.food_policies[self._food_next]
        self._food_next += 1
        return policy

    def start_app(self) -> None:
        from chalice.test import Client

        from app import app
        from chalicelib import bootstrap
        from devkit.aws_calls import app_clients

        bootstrap.reset()
        self.container = bootstrap.container()
        for client in app_clients():
            self.meter.hook(client)
        self.meter.hook(self.container.contact_log._client)
        self.client = Client(app, stage_name=STAGE, project_dir=str(REPO))
        # First requests of the container (API key lookups, partner callback URLs): not steady state.
        for headers in (self.food_headers, self.motor_headers):
            self.client.http.get("/v1/claims/CLM-0000000000000000000000000A", headers=headers)

    # -- calling the app -------------------------------------------------------------------------

    def http(self, method: str, path: str, expect: int, **kwargs):
        with self.meter.invocation():
            response = getattr(self.client.http, method)(path, **kwargs)
        self.check(response.status_code == expect,
                   f"{method.upper()} {path} answered {response.status_code}: {response.body[:400]!r}")
        return response

    def invoke(self, function: str, event: dict):
        with self.meter.invocation():
            return self.client.lambda_.invoke(function, event).payload

    def post_claim(self, body: dict, headers: dict) -> str:
        raw = json.dumps(body, ensure_ascii=False).encode("utf-8")
        return self.http("post", "/v1/claims", 202, headers=headers, body=raw).json_body["claim_id"]

    def drain(self, queue: str, function: str, batch: int, expected: int, tally: Tally) -> int:
        """Receive up to ``batch`` messages, invoke the consumer with them as Lambda's SQS event source
        would, delete what succeeded (the event source's DeleteMessageBatch is not the function's call
        and is not counted). Returns the number of invocations."""
        from infra.sqs_events import receive, sqs_event

        processed, invocations, empty = 0, 0, 0
        while processed < expected and empty < 40:
            messages = receive(self.sqs, self.urls[queue], max_messages=batch)
            if not messages:
                empty += 1
                time.sleep(0.05)
                continue
            with self.meter.measure(tally):
                result = self.invoke(function, sqs_event(messages, self.arns[queue]))
            failed = {f["itemIdentifier"] for f in (result or {}).get("batchItemFailures", [])}
            self.check(not failed, f"{function}: {len(failed)} of {len(messages)} records failed")
            self.sqs.delete_message_batch(QueueUrl=self.urls[queue], Entries=[
                {"Id": str(n), "ReceiptHandle": msg["ReceiptHandle"]} for n, msg in enumerate(messages)])
            processed += len(messages)
            invocations += 1
        self.check(processed == expected, f"{function}: {processed} messages processed, {expected} expected")
        return invocations

    def purge(self, *queues: str) -> None:
        for name in queues:
            self.sqs.purge_queue(QueueUrl=self.urls[name])

    # -- 1. reconciler ---------------------------------------------------------------------------

    def reconcile(self) -> None:
        from chalicelib.domain.claim import utc_now

        stuck = self.args.stuck
        progress(f"reconcile: one run with nothing stuck, one with {stuck} claims left in RECEIVED")
        event = self.client.events.generate_cw_event("aws.events", "Scheduled Event", {}, [], REGION)
        with self.meter.measure() as idle:
            answer = self.invoke("reconcile_claims", event)
        self.check(answer == {"requeued": 0}, f"reconcile_claims with nothing stuck answered {answer}")
        self.add("reconcile_idle", "reconcile run, nothing stuck (per run)", 1, idle, "run")
        now = datetime.now(UTC)
        for _ in range(stuck):  # stored, never scored (their scoring messages are purged)
            self.post_claim(food_claim(self.ref("STUCK"), now, self.next_food()), self.food_headers)
        self.purge("scoring")
        reconciler = self.container.reconciler
        clock = reconciler._clock
        reconciler._clock = lambda: utc_now() + timedelta(hours=1)  # they look an hour old
        try:
            with self.meter.measure() as busy:
                answer = self.invoke("reconcile_claims", event)
        finally:
            reconciler._clock = clock
        self.check(answer == {"requeued": stuck}, f"reconcile_claims answered {answer}, {stuck} expected")
        self.add("reconcile_busy", f"reconcile run, {stuck} stuck (per stuck claim)", stuck, busy)
        self.reconcile_per_run = busy
        self.purge("scoring")

    # -- 2. intake on every channel --------------------------------------------------------------

    def channels(self) -> None:
        k = self.args.per_channel
        progress(f"channels: {k} claims on each intake channel")
        now = datetime.now(UTC)

        # partner API, single and batch
        with self.meter.measure() as t:
            for _ in range(k):
                self.post_claim(food_claim(self.ref("API"), now, self.next_food()), self.food_headers)
        self.add("api", "intake: partner API, POST /v1/claims", k, t)
        claims = [food_claim(self.ref("BATCH"), now, self.next_food()) for _ in range(25)]
        with self.meter.measure() as t:
            response = self.http("post", "/v1/claims/batch", 207, headers=self.food_headers,
                                 body=json.dumps({"claims": claims}, ensure_ascii=False))
        self.check([r["status"] for r in response.json_body["results"]] == [202] * 25, "batch items not accepted")
        self.add("api_batch", "intake: partner API, batch of 25", 25, t)

        # claim form
        with self.meter.measure() as t:
            for n in range(k):
                policy = self.next_food()
                form = {"submission_key": f"bench-{self.run_id}-{n}", "policy_number": policy.number,
                        "phone": policy.phone, "loss_type": "food_safety",
                        "occurred_at": (now.astimezone(CN_TZ) - timedelta(hours=5)).isoformat(),
                        "region_code": "310115", "description": "午餐外卖后腹泻", "amount": "45.00",
                        "language": "zh-CN"}
                self.http("post", "/v1/public/claims", 202, headers={"content-type": "application/json"},
                          body=json.dumps(form, ensure_ascii=False))
        self.add("form", "intake: claim form, POST /v1/public/claims", k, t)

        # Twilio: the greeting identifies the caller, the gather takes the claim
        from twilio.request_validator import RequestValidator

        validator = RequestValidator(self.twilio_token)
        base = "http://127.0.0.1:8000"
        calls = [(f"CA{self.run_id}{n:024d}", self.next_food().phone) for n in range(k)]

        def twilio(path: str, params: dict) -> None:
            headers = {"content-type": "application/x-www-form-urlencoded",
                       "x-twilio-signature": validator.compute_signature(base + path, params)}
            response = self.http("post", path, 200, headers=headers, body=urlencode(params))
            body = response.body if isinstance(response.body, bytes) else response.body.encode()
            self.check(b"<Response>" in body, f"{path} did not answer TwiML")

        with self.meter.measure() as greet:
            for sid, phone in calls:
                twilio("/v1/ivr/twilio/voice", {**_event("twilio_voice_incoming_call.json"), "CallSid": sid,
                                                "From": phone, "Caller": phone})
        with self.meter.measure() as gather:
            for sid, phone in calls:
                twilio("/v1/ivr/twilio/gather", {**_event("twilio_gather_digits.json"), "CallSid": sid,
                                                 "From": phone, "Caller": phone, "Digits": "1"})
        self.check(gather.calls["TransactWriteItems"] == k, f"Twilio gathers stored {gather.calls} for {k} calls")
        self.add("twilio_call", "  Twilio greeting, identifies the caller (per call)", k, greet, "call")
        self.add("twilio", "intake: Twilio, gather takes the claim", k, gather)

        # vendor IVR: call.started, then claim.reported
        def vendor(body: dict, expect: int) -> None:
            raw = json.dumps(body, ensure_ascii=False).encode("utf-8")
            self.http("post", "/v1/ivr/events", expect, body=raw, headers={
                "content-type": "application/json", "x-signature": _vendor_signature(raw, self.ivr_secret)})

        vendor_calls = [(f"vendor-{self.run_id}-{n}", self.next_food()) for n in range(k)]
        with self.meter.measure() as started:
            for call_id, policy in vendor_calls:
                vendor({**_event("ivr_call_started.json"), "call_id": call_id, "caller": policy.phone,
                        "occurred_at": now.astimezone(CN_TZ).isoformat()}, 200)
        reported_event = _event("ivr_claim_reported.json")
        with self.meter.measure() as reported:
            for call_id, policy in vendor_calls:
                vendor({**reported_event, "call_id": call_id, "caller": policy.phone,
                        "policy": {"number": policy.number},
                        "loss": {**reported_event["loss"],
                                 "occurred_at": (now.astimezone(CN_TZ) - timedelta(hours=2)).isoformat()}}, 202)
        self.add("vendor_call", "  vendor IVR call.started (per call)", k, started, "call")
        self.add("vendor", "intake: vendor IVR, claim.reported", k, reported)

        # Amazon Connect: identify, then report
        from bench.hotline import flow_event

        connect_calls = [(f"bench-{self.run_id}-{n}", self.next_food().phone) for n in range(k)]
        with self.meter.measure() as identified:
            for contact_id, phone in connect_calls:
                answer = self.invoke("connect_identify_caller",
                                     flow_event("connect_contact_flow_event.json", phone, contact_id))
                self.check(answer.get("customer_found") == "true", f"connect_identify_caller answered {answer}")
        with self.meter.measure() as connected:
            for contact_id, phone in connect_calls:
                answer = self.invoke("connect_report_claim",
                                     flow_event("connect_report_claim_event.json", phone, contact_id))
                self.check(answer.get("result") == "created", f"connect_report_claim answered {answer}")
        self.add("connect_call", "  Connect identify (per call)", k, identified, "call")
        self.add("connect", "intake: Connect, connect_report_claim", k, connected)

        # the contact entries of the three IVR channels, written behind their queue
        entries = int(self.sqs.get_queue_attributes(QueueUrl=self.urls["contacts"], AttributeNames=[
            "ApproximateNumberOfMessages"])["Attributes"]["ApproximateNumberOfMessages"])
        contacts = Tally()
        invocations = self.drain("contacts", "record_contacts", 10, entries, contacts)
        self.add("contacts", f"contact entries, record_contacts ({invocations} batches; per IVR claim)",
                 3 * k, contacts)
        self.contact_entries = entries
        self.purge("scoring")

    # -- 3. scoring, dispatch, notifications -----------------------------------------------------

    def passes(self) -> None:
        m = self.args.claims
        for kind in ("motor", "food"):
            for batch in (1, 10):
                self.one_pass(kind, batch, m)

    def one_pass(self, kind: str, batch: int, m: int) -> None:
        from chalicelib.domain.claim import ClaimStatus

        progress(f"pipeline: {m} {kind} claims, consumers with batches of {batch}")
        now = datetime.now(UTC)
        if kind == "motor":
            start = 0 if batch == 1 else m
            bodies = [motor_claim(self.ref("MOTOR"), now, p) for p in self.motor_policies[start:start + m]]
            headers, final, notices = self.motor_headers, ClaimStatus.SURVEYOR_ASSIGNED, 2
        else:
            bodies = [food_claim(self.ref("FOOD"), now, self.next_food()) for _ in range(m)]
            headers, final, notices = self.food_headers, ClaimStatus.APPROVED, 1
        key = f"{kind}{batch}"
        with self.meter.measure() as intake:
            ids = [self.post_claim(body, headers) for body in bodies]
        self.add(f"{key}_intake", f"{kind}: intake (partner API)", m, intake)
        scoring = Tally()
        n_score = self.drain("scoring", "score_claims", batch, m, scoring)
        self.add(f"{key}_scoring", f"{kind}: scoring, batches of {batch} ({n_score} invocations)", m, scoring)
        if kind == "motor":
            dispatch = Tally()
            n_dispatch = self.drain("dispatch", "dispatch_claims", batch, m, dispatch)
            self.add(f"{key}_dispatch", f"{kind}: dispatch, batches of {batch} ({n_dispatch} invocations)", m, dispatch)
        before = len(self.receiver.received)
        for partner in ("eleme", "motor-direct"):  # the callback URL cache (60 s) is warm, as in steady state
            self.container.partner_callbacks.callback_url(partner)
        notify = Tally()
        n_notify = self.drain("notify", "notify_partners", batch, notices * m, notify)
        self.add(f"{key}_notify", f"{kind}: notify, batches of {batch} ({notices} per claim, {n_notify} inv.)", m,
                 notify)
        statuses = Counter(self.container.claims.get(cid).status for cid in ids)
        self.check(statuses[final] == m, f"{kind} claims did not all reach {final.value}: {dict(statuses)}")
        delivered = len(self.receiver.received) - before
        self.check(delivered == notices * m, f"{delivered} notifications delivered, {notices * m} expected")

    # -- 4. item sizes -----------------------------------------------------------------------------

    def item_sizes(self) -> None:
        from chalicelib.adapters.resources import Tables

        def sizes(table: str, where=lambda item: True) -> list[int]:
            out, kwargs = [], {}
            while True:
                page = self.ddb.scan(TableName=table, **kwargs)
                out += [item_size(i) for i in page["Items"] if where(i)]
                if "LastEvaluatedKey" not in page:
                    return out
                kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

        def status(*values):
            return lambda item: item.get("status", {}).get("S") in values

        self.sizes = [
            ("claim, motor, SURVEYOR_ASSIGNED", sizes(Tables.CLAIMS, status("SURVEYOR_ASSIGNED"))),
            ("claim, food, APPROVED", sizes(Tables.CLAIMS, status("APPROVED"))),
            ("claim, RECEIVED (as intake writes it)", sizes(Tables.CLAIMS, status("RECEIVED"))),
            ("timeline event", sizes(Tables.CLAIM_EVENTS)),
            ("idempotency record", sizes(Tables.IDEMPOTENCY)),
            ("notification delivered", sizes(Tables.NOTIFICATIONS)),
            ("contact entry", sizes(Tables.CONTACTS)),
            ("rate-limit counter", sizes(Tables.RATE_LIMITS)),
            ("policy", sizes(Tables.POLICIES)),
            ("surveyor", sizes(Tables.SURVEYORS)),
        ]

    # -- report ----------------------------------------------------------------------------------

    def report(self, moto: MotoServer, started: float) -> None:
        import boto3
        import chalice
        import moto as moto_pkg
        import pynamodb

        p = self.out.write
        when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        p(f"pipeline benchmark  {when}  Python {platform.python_version()}  {self.args.claims} claims per pipeline "
          f"pass, {self.args.per_channel} per channel\n")
        p(f"  moto {moto_pkg.__version__} server on 127.0.0.1, boto3 {boto3.__version__}, pynamodb "
          f"{pynamodb.__version__}, chalice {chalice.__version__} (functions in process, stage {STAGE}), "
          f"{os.cpu_count()} CPUs\n\n")

        p("AWS calls per claim, by stage (botocore before-call hooks on every client of the app; warm containers,\n"
          "queue URLs from the environment as deployed; the event source's ReceiveMessage/DeleteMessageBatch are\n"
          "not the functions' calls and are left out)\n")
        p(f"  {'stage':<58}{'calls/claim':>12}  by operation\n")
        for row in self.rows.values():
            p(f"  {row.label:<58}{row.tally.total / row.per:>12.2f}  {_ops(row.tally, row.per)}"
              f"{'' if row.unit == 'claim' else f'  (per {row.unit})'}\n")
        p("\n")

        p("Submit -> done, per claim (partner API intake + consumers + notifications)\n")
        p(f"  {'path':<58}{'calls':>7}{'DDB':>6}{'SQS':>6}  by operation\n")
        self.totals = {}
        for kind, label, stages in (("motor", "motor claim -> SURVEYOR_ASSIGNED", ("intake", "scoring", "dispatch",
                                                                                  "notify")),
                                    ("food", "food claim -> APPROVED (auto)", ("intake", "scoring", "notify"))):
            for batch in (1, 10):
                total = Tally()
                for stage in stages:
                    total += self.rows[f"{kind}{batch}_{stage}"].tally
                m = self.rows[f"{kind}{batch}_intake"].per
                self.totals[(kind, batch)] = (total, m)
                p(f"  {label + f', consumer batches of {batch}':<58}{total.total / m:>7.2f}"
                  f"{total.service_calls(False) / m:>6.2f}{total.service_calls(True) / m:>6.2f}  {_ops(total, m)}\n")
        p("\n")

        p("Inputs of the bill, per claim (per call or run where marked). RRU/WRU: DynamoDB read/write request\n"
          "units estimated from the requests and items (4 KB reads, half when eventually consistent; 1 KB writes,\n"
          "doubled in transactions; GSI entries written, in brackets, included in WRU); SQS: requests in 64 KB\n"
          "chunks; log: bytes of the app's log and metric lines; ms: mean wall time per invocation, in process,\n"
          "against moto (not Lambda or DynamoDB latency); cpu: this process's CPU time per invocation (our code,\n"
          "botocore and PynamoDB; moto's excluded)\n")
        p(f"  {'stage':<58}{'inv.':>6}{'ms/inv':>8}{'cpu ms':>8}{'RRU':>7}{'WRU':>7}{'(GSI)':>7}{'SQS':>6}"
          f"{'log B':>7}\n")

        def line(label: str, t: Tally, n: int) -> None:
            ms = t.seconds / t.invocations * 1e3 if t.invocations else 0.0
            cpu = t.cpu / t.invocations * 1e3 if t.invocations else 0.0
            p(f"  {label:<58}{t.invocations / n:>6.2f}{ms:>8.1f}{cpu:>8.1f}{t.rru / n:>7.2f}"
              f"{(t.wru + t.gsi_wru) / n:>7.2f}{f'({t.gsi_wru / n:.2f})':>7}{t.sqs_requests / n:>6.2f}"
              f"{t.log_bytes / n:>7.0f}\n")

        for row in self.rows.values():
            line(row.label, row.tally, row.per)
        for (kind, batch), (t, m) in self.totals.items():
            line(f"TOTAL {kind}, consumer batches of {batch}", t, m)
        p("  Not in the figures: the event source's own SQS requests (ReceiveMessage and DeleteMessageBatch per\n"
          "  batch, plus its empty polls), Lambda's START/END/REPORT log lines, X-Ray traces.\n\n")

        p("Item sizes (bytes as DynamoDB counts them: names + values)\n")
        p(f"  {'item':<40}{'n':>6}{'median':>8}{'max':>8}\n")
        for label, values in self.sizes:
            if values:
                p(f"  {label:<40}{len(values):>6}{statistics.median(values):>8.0f}{max(values):>8}\n")
        p(f"\nWall time of the whole run: {time.monotonic() - started:.1f} s\n")
        for note in self.notes:
            p(note + "\n")
        self.out.flush()


def _ops(t: Tally, per: int) -> str:
    return ", ".join(f"{op} {n / per:.2f}".rstrip("0").rstrip(".")
                     for op, n in sorted(t.calls.items(), key=lambda kv: (-kv[1], kv[0]))) or "none"


# ------------------------------------------------------------------------------------------------
# entry point
# ------------------------------------------------------------------------------------------------

@contextlib.contextmanager
def _logs_to_file():
    """The report goes to the real stdout; the app's log and metric lines (stdout, as in Lambda) go to a
    temporary file, whose growth is the log volume of each stage."""
    sys.stdout.flush()
    report = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    logs = tempfile.TemporaryFile()
    os.dup2(logs.fileno(), 1)
    try:
        yield report, 1
    finally:
        sys.stdout.flush()
        os.dup2(report.fileno(), 1)
        report.close()
        logs.close()


def _args(argv: list[str] | None):
    parser = argparse.ArgumentParser(prog="python -m bench.pipeline", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: 10 claims per pass, 3 per channel")
    parser.add_argument("--claims", type=int, help="claims per pipeline pass (default 20; 10 quick); at least 10")
    parser.add_argument("--per-channel", type=int, help="claims per intake channel (default 10; 3 quick)")
    parser.add_argument("--stuck", type=int, default=10, help="claims left in RECEIVED for the reconciler")
    args = parser.parse_args(argv)
    args.claims = args.claims or (10 if args.quick else 20)
    args.per_channel = args.per_channel or (3 if args.quick else 10)
    if args.claims < 10:
        parser.error("--claims must be at least 10 (one full batch)")
    return args


def main(argv: list[str] | None = None) -> int:
    args = _args(argv)
    started, moto = begin()
    with _logs_to_file() as (out, log_fd):
        bench = Pipeline(args, out, log_fd)
        try:
            moto.start()
            bench.setup()
            bench.reconcile()
            bench.channels()
            bench.passes()
            bench.item_sizes()
        finally:
            if getattr(bench, "receiver", None):
                bench.receiver.stop()
            moto.stop()
        bench.report(moto, started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
