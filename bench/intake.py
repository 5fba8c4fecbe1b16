"""Intake benchmark: AWS calls per claim at every stage, and intake time per claim against its floor.

Run ``make bench`` (or ``python -m bench.intake [--quick] [--n N] [--profile K]``). It starts its
own moto server, builds the tables and queues from the product's definitions, seeds demo data and
prints figures. It never asserts on time; it fails only when the product answers wrongly (a claim
not accepted, a record not processed), because then the figures would mean nothing.
See bench/README.md for what each figure means.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import resource
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from bench.harness import REGION, REPO, begin, report_stream
from devkit.moto import MotoServer

MOTOR_REGION = "310115"  # where infra.seed puts surveyors
CN_TZ = timezone(timedelta(hours=8))


# ------------------------------------------------------------------------------------------------
# counting AWS calls
# ------------------------------------------------------------------------------------------------

@dataclass
class Window:
    calls: Counter = field(default_factory=Counter)
    http: int = 0
    unhooked: Counter = field(default_factory=Counter)

    @property
    def total(self) -> int:
        return sum(self.calls.values())


class CallCounter:
    """Counts API calls with botocore's ``before-call`` event on the app's own clients.

    ``before-send`` counts HTTP requests (retries included). As a completeness check, calls made by
    any other botocore client that is neither hooked nor the benchmark's own are counted apart."""

    def __init__(self) -> None:
        self.calls: Counter = Counter()
        self.http = 0
        self.unhooked: Counter = Counter()
        self._hooked: set[int] = set()
        self._ignored: set[int] = set()
        self._paused = False

    def hook(self, client) -> None:
        if id(client) in self._hooked:
            return
        self._hooked.add(id(client))
        client.meta.events.register("before-call", self._on_call)
        client.meta.events.register("before-send", self._on_send)

    def ignore(self, client):
        """The benchmark's own clients (floor, set-up, clean-up): never counted."""
        self._ignored.add(id(client))
        return client

    def install_guard(self) -> None:
        from botocore.client import BaseClient

        original = BaseClient._make_api_call
        counter = self

        def _make_api_call(client, operation_name, api_params):
            if id(client) not in counter._hooked and id(client) not in counter._ignored and not counter._paused:
                counter.unhooked[operation_name] += 1
            return original(client, operation_name, api_params)

        BaseClient._make_api_call = _make_api_call

    def _on_call(self, model, **_):
        if not self._paused:
            self.calls[model.name] += 1

    def _on_send(self, **_):
        if not self._paused:
            self.http += 1

    @contextlib.contextmanager
    def window(self):
        calls, http, unhooked = Counter(self.calls), self.http, Counter(self.unhooked)
        w = Window()
        try:
            yield w
        finally:
            w.calls = self.calls - calls
            w.http = self.http - http
            w.unhooked = self.unhooked - unhooked

    @contextlib.contextmanager
    def paused(self):
        self._paused = True
        try:
            yield
        finally:
            self._paused = False


# ------------------------------------------------------------------------------------------------
# claims
# ------------------------------------------------------------------------------------------------

def food_claim(ref: str, now: datetime) -> dict:
    return {
        "external_ref": ref,
        "policy": {"number": "PA2026000123", "order_id": "E123456"},
        "claimant": {"name": "张三", "phone": "+8613800138000"},
        "loss": {"type": "food_safety", "occurred_at": (now.astimezone(CN_TZ) - timedelta(hours=3)).isoformat(),
                 "description": "Food poisoning after a delivered meal; stomach pain and vomiting within two hours.",
                 "location": {"region_code": "310115", "address": "上海市浦东新区张江路88号",
                              "lat": 31.2, "lon": 121.59}},
        "amount": {"value": "35.50", "currency": "CNY"},
    }


@dataclass(frozen=True)
class MotorPolicy:
    number: str
    plate: str
    phone: str


DEMO_MOTOR = MotorPolicy("PM2026000789", "沪A12345", "+8613700137000")  # infra/data/demo_policies.csv


def motor_claim(ref: str, now: datetime, policy: MotorPolicy = DEMO_MOTOR) -> dict:
    return {
        "external_ref": ref,
        "policy": {"number": policy.number},
        "claimant": {"name": "王五", "phone": policy.phone},
        "loss": {"type": "motor_collision", "occurred_at": (now.astimezone(CN_TZ) - timedelta(hours=2)).isoformat(),
                 "description": "Rear-ended at a traffic light; rear bumper and tail light damaged.",
                 "location": {"region_code": MOTOR_REGION, "address": "上海市浦东新区世纪大道100号",
                              "lat": 31.23, "lon": 121.54}},
        "amount": {"value": "3200.00", "currency": "CNY"},
        "vehicle": {"plate": policy.plate},
    }


def seed_motor_policies(count: int, start: int = 0) -> list[MotorPolicy]:
    """One motor policy of ``motor-direct`` (its own number, plate and holder phone) per benchmark claim.

    Claims that share a policy, a plate or a phone are flagged by the duplicate and velocity rules
    (chalicelib/data/scoring_rules.json) and go to an agent instead of to dispatch, so a benchmark that
    wants every motor claim dispatched gives each its own policy. Written with BatchWriteItem."""
    from chalicelib.adapters.models import PolicyModel

    policies = [MotorPolicy(f"PMB{n:08d}", f"沪B{n % 100000:05d}", f"+86159{n:08d}")
                for n in range(start, start + count)]
    with PolicyModel.batch_write() as batch:
        for n, p in enumerate(policies, start):
            batch.save(PolicyModel(p.number, product="motor", customer_id=f"CUS-BENCH-{n:08d}", holder_name="基准车主",
                                   holder_phone=p.phone, plate=p.plate, partner_id="motor-direct",
                                   starts_on="2026-01-01", ends_on="2030-12-31", status="ACTIVE",
                                   holder_language="zh-CN"))
    return policies


def _encode(body: dict) -> bytes:
    return json.dumps(body, ensure_ascii=False).encode("utf-8")


# ------------------------------------------------------------------------------------------------
# figures
# ------------------------------------------------------------------------------------------------

def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    k = max(0, math.ceil(p / 100 * len(sorted_values)) - 1)
    return sorted_values[k]


@dataclass
class Timings:
    wall: list[float] = field(default_factory=list)  # seconds
    cpu: list[float] = field(default_factory=list)   # this process's CPU seconds (moto excluded)

    def stats(self) -> dict[str, float]:
        v = sorted(self.wall)
        half = len(self.wall) // 2
        return {"p50": percentile(v, 50) * 1e3, "p90": percentile(v, 90) * 1e3, "p99": percentile(v, 99) * 1e3,
                "mean": sum(v) / len(v) * 1e3, "cpu": sum(self.cpu) / len(self.cpu) * 1e3,
                "p50_first": percentile(sorted(self.wall[:half]), 50) * 1e3,
                "p50_second": percentile(sorted(self.wall[half:]), 50) * 1e3}


def _ops(w: Window, claims: int) -> str:
    return ", ".join(f"{op} {n / claims:.2f}" for op, n in sorted(w.calls.items(), key=lambda kv: (-kv[1], kv[0])))


@dataclass
class CallRow:
    label: str
    claims: int
    window: Window

    def line(self) -> str:
        per = self.window.total / self.claims
        http = self.window.http / self.claims
        return f"  {self.label:<44}{self.claims:>6}{per:>8.2f}{http:>7.2f}  {_ops(self.window, self.claims)}"


# ------------------------------------------------------------------------------------------------
# the benchmark
# ------------------------------------------------------------------------------------------------

class StepTimer:
    """Wall and CPU time of each step of the intake path, measured by wrapping the product's own
    functions (about a microsecond per wrapped call, unlike cProfile's per-function overhead)."""

    def __init__(self) -> None:
        self.wall: Counter = Counter()
        self.cpu: Counter = Counter()
        self.calls: Counter = Counter()
        self.order: list[str] = []
        self._undo: list[Callable[[], None]] = []

    def targets(self) -> list[tuple[object, str, str]]:
        import chalice.app

        from chalicelib.adapters.claims import DynamoClaimRepository
        from chalicelib.adapters.sqs import SqsClaimQueue
        from chalicelib.api import partner_claims
        from chalicelib.observability import Telemetry, logger
        from chalicelib.services.auth import PartnerAuthenticator
        from chalicelib.services.intake import IntakeService

        return [
            (chalice.app.Chalice, "__call__", APP),
            (PartnerAuthenticator, "authenticate", "auth: x-api-key -> partner (cached)"),
            (partner_claims, "read_json_body", "read body: size and media type"),
            (partner_claims, "parse_claim", "parse_claim: pydantic validation"),
            (IntakeService, "_new_claim", "build claim, event, fingerprint"),
            (DynamoClaimRepository, "add", "repository.add: TransactWriteItems"),
            (SqsClaimQueue, "to_scoring", "queue.to_scoring: SendMessage"),
            (Telemetry, "count", "metric ClaimsReceived (EMF line)"),
            (logger, "info", "log line 'claim received'"),
        ]

    def install(self) -> None:
        for owner, attr, label in self.targets():
            self.order.append(label)
            original = getattr(owner, attr)
            self._undo.append(self._restorer(owner, attr, owner.__dict__.get(attr, _MISSING)))
            setattr(owner, attr, self._wrap(original, label))

    @staticmethod
    def _restorer(owner, attr, own) -> Callable[[], None]:
        def undo() -> None:
            if own is _MISSING:
                delattr(owner, attr)  # it was inherited (or a method looked up on an instance)
            else:
                setattr(owner, attr, own)
        return undo

    def _wrap(self, original, label: str):
        def timed(*args, **kwargs):
            c0, t0 = time.process_time(), time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.wall[label] += time.perf_counter() - t0
                self.cpu[label] += time.process_time() - c0
                self.calls[label] += 1
        return timed

    def uninstall(self) -> None:
        for undo in reversed(self._undo):
            undo()
        self._undo.clear()


APP = "app (Chalice.__call__)"
_MISSING = object()


class Bench:
    def __init__(self, args, out) -> None:
        self.args = args
        self.out = out
        self.counter = CallCounter()
        self.rows: list[CallRow] = []
        self.notes: list[str] = []
        self.run_id = datetime.now(UTC).strftime("%H%M%S")
        self._seq = 0

    def progress(self, message: str) -> None:
        print(f"[bench] {message}", file=sys.stderr, flush=True)

    def ref(self, prefix: str) -> str:
        self._seq += 1
        return f"{prefix}-{self.run_id}-{self._seq:06d}"

    # -- set-up ----------------------------------------------------------------------------------

    def setup(self) -> None:
        import boto3
        from botocore.config import Config

        from infra.provision import create_all
        from infra.seed import DEMO_PARTNERS, seed

        self.counter.install_guard()
        self.counter._paused = True  # set-up calls are not the product's
        plain = Config(retries={"mode": "standard", "max_attempts": 3}, max_pool_connections=10)
        self.sqs = self.counter.ignore(boto3.client("sqs", region_name=REGION, config=plain))
        self.ddb = self.counter.ignore(boto3.client("dynamodb", region_name=REGION, config=plain))
        queues = create_all(self.sqs)
        seed()
        from chalicelib.adapters.resources import DISPATCH_QUEUE, SCORING_QUEUE

        self.scoring_url = queues[SCORING_QUEUE.name]["url"]
        self.dispatch_url = queues[DISPATCH_QUEUE.name]["url"]
        os.environ["SCORING_QUEUE_URL"] = self.scoring_url
        os.environ["DISPATCH_QUEUE_URL"] = self.dispatch_url
        keys = {p.partner_id: p.api_key for p in DEMO_PARTNERS}
        self.food_partner, self.motor_partner = "eleme", "motor-direct"
        self.food_headers = {"x-api-key": keys[self.food_partner], "content-type": "application/json"}
        self.motor_headers = {"x-api-key": keys[self.motor_partner], "content-type": "application/json"}
        self.counter._paused = False

    def start_app(self):
        """A fresh container (as in a new Lambda container), its clients hooked before any call."""
        from chalice.test import Client

        from app import app
        from chalicelib import bootstrap
        from chalicelib.adapters.models import ALL_MODELS

        bootstrap.reset()
        c = bootstrap.container()
        self.counter.hook(c.queue._client)
        self.counter.hook(c.claims._conn().client)
        for model in ALL_MODELS:
            self.counter.hook(model._get_connection().connection.client)
        self.client = Client(app, project_dir=str(REPO))
        self.container = c

    # -- helpers ---------------------------------------------------------------------------------

    def post_claim(self, body: bytes, headers: dict) -> str:
        response = self.client.http.post("/v1/claims", headers=headers, body=body)
        if response.status_code != 202:
            raise RuntimeError(f"POST /v1/claims answered {response.status_code}: {response.body[:500]!r}")
        return response.json_body["claim_id"]

    def intake_tables(self) -> list[str]:
        from chalicelib.adapters.resources import Tables

        return [Tables.CLAIMS, Tables.CLAIM_EVENTS, Tables.IDEMPOTENCY]

    def table_size(self, table: str) -> int:
        total, kwargs = 0, {}
        while True:
            page = self.ddb.scan(TableName=table, Select="COUNT", **kwargs)
            total += page["Count"]
            if "LastEvaluatedKey" not in page:
                return total
            kwargs = {"ExclusiveStartKey": page["LastEvaluatedKey"]}

    def delete_keys(self, keys: dict[str, list[dict]]) -> None:
        requests = [(t, {"DeleteRequest": {"Key": k}}) for t, ks in keys.items() for k in ks]
        for start in range(0, len(requests), 25):
            chunk: dict[str, list] = {}
            for table, req in requests[start:start + 25]:
                chunk.setdefault(table, []).append(req)
            while chunk:
                chunk = self.ddb.batch_write_item(RequestItems=chunk).get("UnprocessedItems") or {}

    def clear_intake_state(self) -> None:
        """Empty the claim, event and idempotency tables and the two queues.

        moto copies every table a TransactWriteItems touches, so its cost grows with the table: the
        benchmark keeps those tables near-empty to measure the same thing throughout."""
        keys: dict[str, list[dict]] = {}
        for table in self.intake_tables():
            key_names = [k["AttributeName"] for k in
                         self.ddb.describe_table(TableName=table)["Table"]["KeySchema"]]
            kwargs: dict = {"ProjectionExpression": ", ".join(f"#k{i}" for i in range(len(key_names))),
                            "ExpressionAttributeNames": {f"#k{i}": n for i, n in enumerate(key_names)}}
            while True:
                page = self.ddb.scan(TableName=table, **kwargs)
                keys.setdefault(table, []).extend(page["Items"])
                if "LastEvaluatedKey" not in page:
                    break
                kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        self.delete_keys(keys)
        for url in (self.scoring_url, self.dispatch_url):
            self.sqs.purge_queue(QueueUrl=url)

    # -- 1. cold intake ---------------------------------------------------------------------------

    def cold(self) -> None:
        self.progress("cold intake")
        self.start_app()
        body = _encode(food_claim(self.ref("COLD"), datetime.now(UTC)))
        with self.counter.window() as w:
            t0 = time.perf_counter()
            self.post_claim(body, self.food_headers)
            elapsed = time.perf_counter() - t0
        self.rows.append(CallRow("intake, first request of a container (cold)", 1, w))
        self.cold_ms = elapsed * 1e3
        self._check_unhooked(w, "cold intake")

    # -- 2. timing: product vs floors ------------------------------------------------------------

    def _floor_items(self, claim_id: str, ref: str, now: datetime):
        """The exact items our intake writes for this claim, serialised by the product's own models."""
        from chalicelib.adapters import claims as claim_items
        from chalicelib.domain import claim as claim_domain
        from chalicelib.domain.claim import Channel
        from chalicelib.schemas.claims import parse_claim
        from chalicelib.services.intake import IntakeRequest
        from chalicelib.services.ports import IdempotencyRecord

        submission = parse_claim(_encode(food_claim(ref, now)), Channel.PARTNER_API)
        key = IntakeRequest(self.food_partner, submission).scoped_key
        claim, event = claim_domain.received(claim_id, self.food_partner, submission, idempotency_key=key,
                                             correlation_id=f"corr-{ref}",
                                             actor=f"partner_api:{self.food_partner}", at=now)
        record = IdempotencyRecord(key, claim_id, submission.fingerprint())
        return (claim_items.claim_to_model(claim).serialize(), claim_items.event_to_model(event).serialize(),
                claim_items.idempotency_to_model(record, now).serialize(), key)

    def timing(self) -> None:
        import boto3
        from botocore.config import Config

        from chalicelib.adapters.resources import Tables
        from chalicelib.domain.ids import new_claim_id
        from chalicelib.schemas.messages import CORRELATION_ATTRIBUTE, ClaimReceived

        n, warmup = self.args.n, self.args.warmup
        rounds = n + warmup
        self.progress(f"timing: {warmup} warm-up + {n} measured rounds of floor, floor-tx, product")
        self.clear_intake_state()
        # The floor's clients: plain boto3, configured like the product's SQS client.
        config = Config(connect_timeout=2.0, read_timeout=5.0, retries={"mode": "standard", "max_attempts": 3},
                        max_pool_connections=50)
        ddb = self.counter.ignore(boto3.client("dynamodb", region_name=REGION, config=config))
        sqs = self.counter.ignore(boto3.client("sqs", region_name=REGION, config=config))

        now = datetime.now(UTC)
        floor_in, tx_in, product_in = [], [], []
        for _ in range(rounds):
            ref = self.ref("FLOOR")
            cid = new_claim_id()
            claim_item, _, _, _ = self._floor_items(cid, ref, now)
            floor_in.append((cid, claim_item, ClaimReceived(claim_id=cid).model_dump_json(), f"corr-{ref}"))
            ref = self.ref("FLOORTX")
            cid = new_claim_id()
            claim_item, event_item, idem_item, key = self._floor_items(cid, ref, now)
            tx_in.append((cid, claim_item, event_item, idem_item, key,
                          ClaimReceived(claim_id=cid).model_dump_json(), f"corr-{ref}"))
            product_in.append(self._product_input(self.ref("PRODUCT"), now))

        url = self.scoring_url

        def floor(i: int) -> dict:
            cid, item, message, corr = floor_in[i]
            ddb.put_item(TableName=Tables.CLAIMS, Item=item, ConditionExpression="attribute_not_exists(claim_id)")
            sqs.send_message(QueueUrl=url, MessageBody=message, MessageAttributes={
                CORRELATION_ATTRIBUTE: {"DataType": "String", "StringValue": corr}})
            return {Tables.CLAIMS: [{"claim_id": {"S": cid}}]}

        def floor_tx(i: int) -> dict:
            cid, claim_item, event_item, idem_item, key, message, corr = tx_in[i]
            ddb.transact_write_items(TransactItems=[
                {"Put": {"TableName": Tables.CLAIMS, "Item": claim_item,
                         "ConditionExpression": "attribute_not_exists(claim_id)"}},
                {"Put": {"TableName": Tables.CLAIM_EVENTS, "Item": event_item,
                         "ConditionExpression": "attribute_not_exists(claim_id)"}},
                {"Put": {"TableName": Tables.IDEMPOTENCY, "Item": idem_item,
                         "ConditionExpression": "attribute_not_exists(#k)", "ExpressionAttributeNames": {"#k": "key"},
                         "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}},
            ])
            sqs.send_message(QueueUrl=url, MessageBody=message, MessageAttributes={
                CORRELATION_ATTRIBUTE: {"DataType": "String", "StringValue": corr}})
            return self._written(cid, key)

        def product(i: int) -> dict:
            body, key = product_in[i]
            response = self.client.http.post("/v1/claims", headers=self.food_headers, body=body)
            if response.status_code != 202:
                raise RuntimeError(f"POST /v1/claims answered {response.status_code}: {response.body[:500]!r}")
            return {"response": response, "key": key}  # what it wrote is read after the clock stops

        variants: list[tuple[str, Callable[[int], dict]]] = [("floor", floor), ("floor_tx", floor_tx),
                                                             ("product", product)]
        self.timings = {name: Timings() for name, _ in variants}
        sizes: list[int] = []
        with self.counter.window() as warm:
            for i in range(rounds):
                if i == warmup:
                    warm_start = (Counter(self.counter.calls), self.counter.http)
                k = i % len(variants)  # rotate the order so no variant always runs first
                written: dict[str, list] = {}
                for name, run in variants[k:] + variants[:k]:
                    c0, t0 = time.process_time(), time.perf_counter()
                    result = run(i)
                    t1, c1 = time.perf_counter(), time.process_time()
                    if i >= warmup:
                        self.timings[name].wall.append(t1 - t0)
                        self.timings[name].cpu.append(c1 - c0)
                    if name == "product":
                        result = self._written(result["response"].json_body["claim_id"], result["key"])
                    for table, keys in result.items():
                        written.setdefault(table, []).extend(keys)
                # untimed: remove this round's items so every round meets the same table sizes
                if i % 25 == 0:
                    sizes.append(self.table_size(Tables.CLAIMS))
                self.delete_keys(written)
                if i % 10 == 9:
                    self.sqs.purge_queue(QueueUrl=url)
        # the product's calls in the measured rounds (only the product's clients are hooked)
        w = Window(calls=self.counter.calls - warm_start[0], http=self.counter.http - warm_start[1])
        self.rows.append(CallRow("intake, warm single (POST /v1/claims)", n, w))
        self._check_unhooked(warm, "timing rounds")
        self.table_sizes = (min(sizes), max(sizes))
        self.sqs.purge_queue(QueueUrl=url)

    def _written(self, claim_id: str, key: str | None) -> dict:
        from chalicelib.adapters.resources import Tables

        out = {Tables.CLAIMS: [{"claim_id": {"S": claim_id}}],
               Tables.CLAIM_EVENTS: [{"claim_id": {"S": claim_id}, "seq": {"N": "1"}}]}
        if key:
            out[Tables.IDEMPOTENCY] = [{"key": {"S": key}}]
        return out

    # -- 3. batch ---------------------------------------------------------------------------------

    def batch(self) -> None:
        size, batches = 25, self.args.batches
        self.progress(f"batch: {batches} x POST /v1/claims/batch with {size} claims")
        now = datetime.now(UTC)
        total = Window()
        walls = []
        for _ in range(batches):
            self.clear_intake_state()
            body = _encode({"claims": [food_claim(self.ref("BATCH"), now) for _ in range(size)]})
            with self.counter.window() as w:
                t0 = time.perf_counter()
                response = self.client.http.post("/v1/claims/batch", headers=self.food_headers, body=body)
                walls.append(time.perf_counter() - t0)
            if response.status_code != 207:
                raise RuntimeError(f"POST /v1/claims/batch answered {response.status_code}: {response.body[:500]!r}")
            bad = [r for r in response.json_body["results"] if r.get("status") != 202]
            if bad:
                raise RuntimeError(f"batch items not accepted: {bad[:3]}")
            total.calls += w.calls
            total.http += w.http
            self._check_unhooked(w, "batch")
        self.rows.append(CallRow(f"intake, batch of {size} (POST /v1/claims/batch)", size * batches, total))
        self.batch_ms = (percentile(sorted(walls), 50) * 1e3, sum(walls) / len(walls) * 1e3, size)
        self.clear_intake_state()

    # -- 4. scoring and dispatch ------------------------------------------------------------------

    def pipeline(self) -> None:
        from chalicelib.adapters.models import SurveyorModel
        from chalicelib.domain.claim import ClaimStatus
        from infra.sqs_events import queue_arn

        m = self.args.motor
        self.progress(f"pipeline: {m} motor claims through intake, score_claims, dispatch_claims")
        self.clear_intake_state()
        with self.counter.paused():
            policies = seed_motor_policies(m, start=self._seq)
            # enough room in the region that dispatch never waits for capacity
            extra = max(4, math.ceil(m / 10))
            for i in range(extra):
                SurveyorModel(f"SV-BENCH-{i:03d}", name=f"基准查勘员{i}", region_code=MOTOR_REGION,
                              status="AVAILABLE", capacity=10 + m, active_claims=0).save()
            # the motor partner's key is looked up once per container; keep that out of the figures
            self.client.http.get("/v1/claims/CLM-0000000000000000000000000A", headers=self.motor_headers)
            scoring_arn = queue_arn(self.sqs, self.scoring_url)
            dispatch_arn = queue_arn(self.sqs, self.dispatch_url)

        now = datetime.now(UTC)
        bodies = [_encode(motor_claim(self.ref("MOTOR"), now, policy)) for policy in policies]
        with self.counter.window() as w_intake:
            t0 = time.perf_counter()
            claim_ids = [self.post_claim(b, self.motor_headers) for b in bodies]
            intake_s = time.perf_counter() - t0
        w_score, score_s, score_n = self._drain(self.scoring_url, scoring_arn, "score_claims", m)
        w_dispatch, dispatch_s, dispatch_n = self._drain(self.dispatch_url, dispatch_arn, "dispatch_claims", m)
        with self.counter.paused():
            statuses = Counter(self.container.claims.get(cid).status for cid in claim_ids)
        if statuses[ClaimStatus.SURVEYOR_ASSIGNED] != m:
            raise RuntimeError(f"not every motor claim was dispatched: {dict(statuses)}")
        for w, what in ((w_intake, "motor intake"), (w_score, "scoring"), (w_dispatch, "dispatch")):
            self._check_unhooked(w, what)
        self.rows.append(CallRow("motor claim: intake (POST /v1/claims)", m, w_intake))
        self.rows.append(CallRow("motor claim: scoring (score_claims)", m, w_score))
        self.rows.append(CallRow("motor claim: dispatch (dispatch_claims)", m, w_dispatch))
        total = Window(calls=w_intake.calls + w_score.calls + w_dispatch.calls,
                       http=w_intake.http + w_score.http + w_dispatch.http)
        self.rows.append(CallRow("motor claim: submit -> SURVEYOR_ASSIGNED", m, total))
        self.stage_ms = {"intake": intake_s / m * 1e3, "scoring": score_s / m * 1e3,
                         "dispatch": dispatch_s / m * 1e3}
        self.invocations = (score_n, dispatch_n)
        self.clear_intake_state()

    def _drain(self, url: str, arn: str, function: str, expected: int) -> tuple[Window, float, int]:
        """Receive, invoke the consumer as Lambda's SQS event source would, delete what succeeded."""
        from infra.sqs_events import receive, sqs_event

        total, elapsed, processed, invocations, empty = Window(), 0.0, 0, 0, 0
        while processed < expected and empty < 20:
            with self.counter.paused():
                messages = receive(self.sqs, url, max_messages=10)
            if not messages:
                empty += 1
                time.sleep(0.05)
                continue
            event = sqs_event(messages, arn)
            with self.counter.window() as w:
                t0 = time.perf_counter()
                result = self.client.lambda_.invoke(function, event).payload
                elapsed += time.perf_counter() - t0
            invocations += 1
            failed = {f["itemIdentifier"] for f in (result or {}).get("batchItemFailures", [])}
            if failed:
                raise RuntimeError(f"{function}: {len(failed)} of {len(messages)} records failed")
            # Lambda's event source mapping deletes the batch; that call is not the function's
            self.sqs.delete_message_batch(QueueUrl=url, Entries=[
                {"Id": str(n), "ReceiptHandle": msg["ReceiptHandle"]} for n, msg in enumerate(messages)])
            total.calls += w.calls
            total.http += w.http
            total.unhooked += w.unhooked
            processed += len(messages)
        if processed != expected:
            raise RuntimeError(f"{function}: {processed} messages received, {expected} expected")
        return total, elapsed, invocations

    # -- 5. replay ---------------------------------------------------------------------------------

    def replay(self, times: int = 5) -> None:
        self.progress(f"replay: one claim posted again {times} times")
        body = _encode(food_claim(self.ref("REPLAY"), datetime.now(UTC)))
        first = self.post_claim(body, self.food_headers)
        with self.counter.window() as w:
            for _ in range(times):
                response = self.client.http.post("/v1/claims", headers=self.food_headers, body=body)
                if response.status_code != 202 or response.json_body["claim_id"] != first \
                        or response.headers.get("Idempotent-Replayed") != "true":
                    raise RuntimeError(f"replay answered {response.status_code}: {response.body[:300]!r}")
        self._check_unhooked(w, "replay")
        self.rows.append(CallRow("intake, replay (same key, same body)", times, w))
        self.clear_intake_state()

    # -- 6. where the time goes -------------------------------------------------------------------

    def profile(self) -> None:
        import cProfile
        import pstats

        k = self.args.profile
        self.progress(f"profile: {k} product intakes timed by step, then {k} under cProfile")
        self.clear_intake_state()
        now = datetime.now(UTC)
        # each claim's items are deleted after it (untimed), as in the timing rounds
        claims = [self._product_input(self.ref("PROFILE"), now) for _ in range(2 * k + 1)]
        with self.counter.paused():
            self._post_and_forget(*claims.pop())
            steps = StepTimer()
            steps.install()
            try:
                total = Timings()
                for body, key in claims[:k]:
                    c0, t0 = time.process_time(), time.perf_counter()
                    claim_id = self.post_claim(body, self.food_headers)
                    total.wall.append(time.perf_counter() - t0)
                    total.cpu.append(time.process_time() - c0)
                    self.delete_keys(self._written(claim_id, key))
            finally:
                steps.uninstall()
            self.steps = (steps, total, k)
            profiler = cProfile.Profile()
            for body, key in claims[k:]:
                profiler.enable()
                claim_id = self.post_claim(body, self.food_headers)
                profiler.disable()
                self.delete_keys(self._written(claim_id, key))
        self.profile_stats = (pstats.Stats(profiler), k)
        self.clear_intake_state()

    def _product_input(self, ref: str, now: datetime) -> tuple[bytes, str]:
        """A partner claim body and the idempotency key the product will store for it."""
        from chalicelib.domain.claim import Channel
        from chalicelib.schemas.claims import parse_claim
        from chalicelib.services.intake import IntakeRequest

        body = _encode(food_claim(ref, now))
        return body, IntakeRequest(self.food_partner, parse_claim(body, Channel.PARTNER_API)).scoped_key

    def _post_and_forget(self, body: bytes, key: str) -> None:
        self.delete_keys(self._written(self.post_claim(body, self.food_headers), key))

    # -- 7. through HTTP: Chalice's local server against a minimal http.server floor ---------------

    def http_timing(self) -> None:
        """The product and the floor each behind an HTTP server on 127.0.0.1, so the HTTP overhead is
        on both sides: the app behind Chalice's local dev server (what ``make run`` serves), the floor's
        two boto3 calls behind a minimal ``http.server`` handler. Both servers are threaded, run in
        this process (``cpu`` covers client and server alike) and are reached over one keep-alive
        connection each, with the same claim body. Runs last: ``create_local_server`` changes the
        app object's class for good."""
        import http.client
        import threading
        from functools import partial
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        import boto3
        from botocore.config import Config
        from chalice.cli.factory import CLIFactory
        from chalice.local import ChaliceRequestHandler, create_local_server

        from app import app
        from chalicelib.adapters.resources import Tables
        from chalicelib.domain.ids import new_claim_id
        from chalicelib.schemas.messages import CORRELATION_ATTRIBUTE, ClaimReceived

        n, warmup = self.args.http_n, self.args.warmup
        rounds = n + warmup
        self.progress(f"http: {warmup} warm-up + {n} measured rounds of floor and product, each behind an HTTP server")
        self.clear_intake_state()
        config = Config(connect_timeout=2.0, read_timeout=5.0, retries={"mode": "standard", "max_attempts": 3},
                        max_pool_connections=50)
        ddb = self.counter.ignore(boto3.client("dynamodb", region_name=REGION, config=config))
        sqs = self.counter.ignore(boto3.client("sqs", region_name=REGION, config=config))
        url = self.scoring_url
        now = datetime.now(UTC)
        floor_in, product_in = [], []
        for _ in range(rounds):
            ref = self.ref("HFLOOR")
            cid = new_claim_id()
            claim_item, _, _, _ = self._floor_items(cid, ref, now)
            floor_in.append((cid, claim_item, ClaimReceived(claim_id=cid).model_dump_json(), f"corr-{ref}",
                             _encode(food_claim(ref, now))))
            product_in.append(self._product_input(self.ref("HPRODUCT"), now))

        class FloorHandler(BaseHTTPRequestHandler):
            """The least an HTTP intake could do: read the body, the two calls, a small JSON answer."""
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms delayed-ACK stall

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length", "0")))
                cid, item, message, corr, _ = floor_in[int(self.path.rsplit("/", 1)[1])]
                ddb.put_item(TableName=Tables.CLAIMS, Item=item, ConditionExpression="attribute_not_exists(claim_id)")
                sqs.send_message(QueueUrl=url, MessageBody=message, MessageAttributes={
                    CORRELATION_ATTRIBUTE: {"DataType": "String", "StringValue": corr}})
                payload = json.dumps({"claim_id": cid, "status": "RECEIVED"}).encode()
                self.send_response(202)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *_args) -> None:  # the Chalice side is silenced the same way
                return None

        class QuietChaliceHandler(ChaliceRequestHandler):
            disable_nagle_algorithm = True  # as the floor's: both answer in two writes

            def log_message(self, *_args) -> None:
                return None

        chalice_config = CLIFactory(str(REPO)).create_config_obj(chalice_stage_name="dev")
        product_server = create_local_server(app, chalice_config, "127.0.0.1", 0)
        product_server.server.RequestHandlerClass = partial(QuietChaliceHandler, app_object=app, config=chalice_config)
        floor_server = ThreadingHTTPServer(("127.0.0.1", 0), FloorHandler)
        floor_server.daemon_threads = True
        servers = [product_server.server, floor_server]
        for server in servers:
            threading.Thread(target=server.serve_forever, name="bench-http", daemon=True).start()
        connections = {"floor": http.client.HTTPConnection("127.0.0.1", floor_server.server_address[1], timeout=30),
                       "product": http.client.HTTPConnection("127.0.0.1", product_server.server.server_address[1],
                                                             timeout=30)}

        def post(name: str, path: str, body: bytes, headers: dict) -> dict:
            conn = connections[name]
            conn.request("POST", path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
            if response.status != 202:
                raise RuntimeError(f"{name} over HTTP answered {response.status}: {data[:500]!r}")
            return json.loads(data)

        def floor(i: int) -> dict:
            cid = post("floor", f"/floor/{i}", floor_in[i][4], {"content-type": "application/json"})["claim_id"]
            return {Tables.CLAIMS: [{"claim_id": {"S": cid}}]}

        def product(i: int) -> dict:
            body, key = product_in[i]
            return self._written(post("product", "/v1/claims", body, self.food_headers)["claim_id"], key)

        variants: list[tuple[str, Callable[[int], dict]]] = [("floor", floor), ("product", product)]
        self.http_timings = {name: Timings() for name, _ in variants}
        try:
            with self.counter.window() as warm:
                for i in range(rounds):
                    if i == warmup:
                        warm_start = (Counter(self.counter.calls), self.counter.http)
                    ordered = variants if i % 2 == 0 else variants[::-1]
                    written: dict[str, list] = {}
                    for name, run in ordered:
                        c0, t0 = time.process_time(), time.perf_counter()
                        result = run(i)
                        t1, c1 = time.perf_counter(), time.process_time()
                        if i >= warmup:
                            self.http_timings[name].wall.append(t1 - t0)
                            self.http_timings[name].cpu.append(c1 - c0)
                        for table, keys in result.items():
                            written.setdefault(table, []).extend(keys)
                    self.delete_keys(written)  # untimed, as in the in-process rounds
                    if i % 10 == 9:
                        self.sqs.purge_queue(QueueUrl=url)
        finally:
            for conn in connections.values():
                conn.close()
            for server in servers:
                server.shutdown()
                server.server_close()
        w = Window(calls=self.counter.calls - warm_start[0], http=self.counter.http - warm_start[1])
        self.rows.append(CallRow("intake, warm single via Chalice local HTTP", n, w))
        self._check_unhooked(warm, "http rounds")
        self.sqs.purge_queue(QueueUrl=url)

    # -- report -----------------------------------------------------------------------------------

    def _check_unhooked(self, w: Window, where: str) -> None:
        if w.unhooked:
            self.notes.append(f"WARNING: {where}: calls from clients the benchmark did not hook: {dict(w.unhooked)}")

    def report(self, moto: MotoServer, started: float) -> None:
        import boto3
        import chalice
        import moto as moto_pkg
        import pynamodb

        p = self.out.write
        when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        p(f"claims-intake benchmark  {when}  Python {platform.python_version()}  N={self.args.n} "
          f"(warm-up {self.args.warmup})\n")
        p(f"  moto {moto_pkg.__version__} server on 127.0.0.1 (separate process), boto3 {boto3.__version__}, "
          f"pynamodb {pynamodb.__version__}, chalice {chalice.__version__}, {os.cpu_count()} CPUs, "
          f"log level {os.environ.get('POWERTOOLS_LOG_LEVEL')}\n\n")

        p("AWS calls per claim (botocore before-call on the app's SQS client, the repository's and every model's\n"
          "DynamoDB client; 'http' counts HTTP requests, retries included)\n")
        p(f"  {'stage':<44}{'claims':>6}{'calls':>8}{'http':>7}  by operation (per claim)\n")
        for row in self.rows:
            p(row.line() + "\n")
        p(f"  consumer invocations: score_claims {self.invocations[0]}, dispatch_claims {self.invocations[1]} "
          f"(records of up to 10 messages)\n\n")

        t = {name: tm.stats() for name, tm in self.timings.items()}
        p(f"Intake time per claim, ms (same moto server; N={self.args.n} of each after {self.args.warmup} warm-up "
          f"rounds; one of each per round, order rotated)\n")
        p(f"  {'path':<46}{'p50':>7}{'p90':>7}{'p99':>7}{'mean':>7}{'cpu':>7}   p50 1st/2nd half\n")
        labels = {"floor": "floor     put_item + send_message",
                  "floor_tx": "floor-tx  TransactWriteItems(3 puts) + send",
                  "product": "product   POST /v1/claims via chalice.test"}
        for name, label in labels.items():
            s = t[name]
            p(f"  {label:<46}{s['p50']:>7.2f}{s['p90']:>7.2f}{s['p99']:>7.2f}{s['mean']:>7.2f}{s['cpu']:>7.2f}"
              f"   {s['p50_first']:.2f} / {s['p50_second']:.2f}\n")
        for base in ("floor", "floor_tx"):
            name = "floor" if base == "floor" else "floor-tx"
            p(f"  product / {name:<9} p50 x{t['product']['p50'] / t[base]['p50']:.2f}   "
              f"mean x{t['product']['mean'] / t[base]['mean']:.2f}   "
              f"cpu x{t['product']['cpu'] / t[base]['cpu']:.2f}   (product - {name}: p50 "
              f"{t['product']['p50'] - t[base]['p50']:+.2f} ms, "
              f"client cpu {t['product']['cpu'] - t[base]['cpu']:+.2f} ms)\n")
        p(f"  cpu = this process's CPU per claim (moto's excluded). Each round's items are deleted after it, so "
          f"the claims table never held more than {self.table_sizes[1]} items\n"
          f"  (moto copies a whole table per item of a TransactWriteItems: its transactions slow down as tables "
          f"grow; real DynamoDB's do not)\n")
        if getattr(self, "http_timings", None):
            h = {name: tm.stats() for name, tm in self.http_timings.items()}
            p(f"  through HTTP on 127.0.0.1 (N={self.args.http_n} of each, one keep-alive connection each, order "
              f"alternated; servers in this process, so cpu is client + server):\n")
            http_labels = {"floor": "floor     http.server + put_item + send",
                           "product": "product   Chalice local server, POST /v1/claims"}
            for name, label in http_labels.items():
                s = h[name]
                p(f"  {label:<46}{s['p50']:>7.2f}{s['p90']:>7.2f}{s['p99']:>7.2f}{s['mean']:>7.2f}{s['cpu']:>7.2f}"
                  f"   {s['p50_first']:.2f} / {s['p50_second']:.2f}\n")
            p(f"  product / floor over HTTP: p50 x{h['product']['p50'] / h['floor']['p50']:.2f}   "
              f"mean x{h['product']['mean'] / h['floor']['mean']:.2f}   "
              f"cpu x{h['product']['cpu'] / h['floor']['cpu']:.2f}   (product - floor: p50 "
              f"{h['product']['p50'] - h['floor']['p50']:+.2f} ms, "
              f"cpu {h['product']['cpu'] - h['floor']['cpu']:+.2f} ms)"
              f"\n  (in process, for comparison: product / floor p50 "
              f"x{t['product']['p50'] / t['floor']['p50']:.2f}, cpu x{t['product']['cpu'] / t['floor']['cpu']:.2f}; "
              f"on a loaded machine the cpu ratio is the steadier one)\n")
        p(f"  first request of a container (cold, clients already built): {self.cold_ms:.1f} ms\n")
        bp50, bmean, bsize = self.batch_ms
        p(f"  batch of {bsize}: p50 {bp50:.1f} ms per request = {bp50 / bsize:.2f} ms per claim "
          f"(mean {bmean:.1f} ms over {self.args.batches})\n")
        s = self.stage_ms
        p(f"  motor pipeline, mean ms per claim: intake {s['intake']:.2f}, scoring {s['scoring']:.2f}, "
          f"dispatch {s['dispatch']:.2f}\n\n")

        if getattr(self, "steps", None):
            self._report_steps()
        if getattr(self, "profile_stats", None):
            self._report_profile()

        own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        p(f"Peak memory (ru_maxrss): benchmark process {own / 1024:.1f} MiB")
        if moto.peak_rss_kib:
            p(f", moto server {moto.peak_rss_kib / 1024:.1f} MiB")
        p(f"\nWall time of the whole run: {time.monotonic() - started:.1f} s\n")
        for note in self.notes:
            p(note + "\n")
        self.out.flush()

    def _report_steps(self) -> None:
        steps, total, k = self.steps
        p = self.out.write
        t = total.stats()
        p(f"Where the product's time goes: intake path timed by step ({k} intakes, ms per claim; "
          f"wall includes waiting for moto)\n")
        p(f"  {'step':<44}{'wall':>8}{'cpu':>8}{'calls':>7}\n")
        p(f"  {'whole request (chalice.test http.post)':<44}{t['mean']:>8.2f}{t['cpu']:>8.2f}{1:>7.1f}\n")
        app_wall, app_cpu = steps.wall[APP] / k * 1e3, steps.cpu[APP] / k * 1e3
        p(f"  {'  test client + local gateway (not in Lambda)':<44}{t['mean'] - app_wall:>8.2f}"
          f"{t['cpu'] - app_cpu:>8.2f}\n")
        p(f"  {'  ' + APP:<44}{app_wall:>8.2f}{app_cpu:>8.2f}{steps.calls[APP] / k:>7.1f}\n")
        inner_wall = inner_cpu = 0.0
        for label in steps.order:
            if label == APP:
                continue
            wall, cpu = steps.wall[label] / k * 1e3, steps.cpu[label] / k * 1e3
            inner_wall += wall
            inner_cpu += cpu
            p(f"  {'    ' + label:<44}{wall:>8.2f}{cpu:>8.2f}{steps.calls[label] / k:>7.1f}\n")
        rest = "    rest: routing, middleware, response"
        p(f"  {rest:<44}{app_wall - inner_wall:>8.2f}{app_cpu - inner_cpu:>8.2f}\n\n")

    def _report_profile(self) -> None:
        stats, k = self.profile_stats
        p = self.out.write
        groups: Counter = Counter()
        total = 0.0
        for (filename, _, name), (_, _, tt, _, _) in stats.stats.items():
            total += tt
            groups[_group(filename, name)] += tt
        p(f"Where the product's time goes (cProfile, {k} intakes, own time per claim in ms, by package)\n")
        for group, tt in groups.most_common(12):
            p(f"  {group:<40}{tt / k * 1e3:>8.2f}  {tt / total:>5.1%}\n")
        p(f"  {'total':<40}{total / k * 1e3:>8.2f}\n")
        p("Hot spots: functions by own time per claim, socket waits left out (ms own / ms cumulative / calls)\n")
        rows = sorted(stats.stats.items(), key=lambda kv: -kv[1][2])
        shown = 0
        for (filename, line, name), (_, nc, tt, ct, _) in rows:
            if _group(filename, name).startswith("socket"):
                continue
            p(f"  {tt / k * 1e3:>6.2f} {ct / k * 1e3:>7.2f} {nc / k:>6.1f}  {_short(filename)}:{line}({name})\n")
            shown += 1
            if shown >= self.args.profile_top:
                break
        p("  (cProfile's own overhead inflates Python-heavy code; compare rows, not totals)\n\n")


def _short(filename: str) -> str:
    if "site-packages/" in filename:
        return filename.split("site-packages/", 1)[1]
    try:
        return str(Path(filename).resolve().relative_to(REPO))
    except ValueError:
        return filename


def _group(filename: str, name: str) -> str:
    if filename == "~":
        if any(s in name for s in ("socket", "recv", "select", "poll", "sendall", "'send'", "connect")):
            return "socket I/O (waiting for moto)"
        return "builtins"
    if "site-packages/" in filename:
        return filename.split("site-packages/", 1)[1].split("/", 1)[0].removesuffix(".py")
    try:
        rel = Path(filename).resolve().relative_to(REPO)
        return "/".join(rel.parts[:2]) if rel.parts[0] == "chalicelib" else rel.parts[0]
    except ValueError:
        pass
    if "/lib/python3" in filename:
        mod = filename.split("/lib/python3", 1)[1].split("/", 2)
        sub = mod[1].removesuffix(".py") if len(mod) > 1 else "?"
        return f"stdlib {sub}" if sub in ("logging", "json", "http", "ssl", "email", "socket", "copy",
                                          "datetime", "uuid", "hashlib") else "python stdlib"
    return "other"


# ------------------------------------------------------------------------------------------------
# entry point
# ------------------------------------------------------------------------------------------------

def _args(argv: list[str] | None):
    parser = argparse.ArgumentParser(prog="python -m bench.intake", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: small N, few claims")
    parser.add_argument("--n", type=int, help="measured rounds of each intake path (default 300; 30 with --quick)")
    parser.add_argument("--warmup", type=int, help="warm-up rounds (default N/10, at least 5)")
    parser.add_argument("--motor", type=int, help="motor claims through scoring and dispatch (default 30; 10 quick)")
    parser.add_argument("--batches", type=int, help="batches of 25 posted (default 4; 1 quick)")
    parser.add_argument("--http-n", type=int, help="measured rounds through HTTP servers (default N; 0 = off)")
    parser.add_argument("--profile", type=int, metavar="K", help="profile K product intakes (default 200; 0 = off; "
                                                                "50 quick)")
    parser.add_argument("--profile-top", type=int, default=20, help="functions listed in the profile")
    parser.add_argument("--show-logs", action="store_true", help="let the product's log lines through to stdout")
    args = parser.parse_args(argv)
    args.n = args.n or (30 if args.quick else 300)
    if args.n < 2:
        parser.error("--n must be at least 2")
    args.warmup = args.warmup if args.warmup is not None else max(5, args.n // 10)
    args.motor = args.motor or (10 if args.quick else 30)
    args.batches = args.batches or (1 if args.quick else 4)
    args.http_n = args.n if args.http_n is None else args.http_n
    if args.http_n == 1:
        parser.error("--http-n must be 0 or at least 2")
    args.profile = args.profile if args.profile is not None else (50 if args.quick else 200)
    return args


def main(argv: list[str] | None = None) -> int:
    args = _args(argv)
    started, moto = begin()
    with report_stream(args.show_logs) as out:
        try:
            moto.start()
            bench = Bench(args, out)
            bench.setup()
            bench.cold()
            bench.timing()
            bench.batch()
            bench.pipeline()
            bench.replay()
            if args.profile:
                bench.profile()
            if args.http_n:
                bench.http_timing()  # last: it turns the app object into Chalice's local-server class
        finally:
            moto.stop()
        bench.report(moto, started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
