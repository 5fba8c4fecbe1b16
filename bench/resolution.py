"""Policy resolution benchmark: DynamoDB calls per resolution and resolution time against its floor,
for each key a claim can be tied to its policy by.

Run ``python -m bench.resolution [--quick] [--n N] [--policies P]``. It starts its own moto server
(bench.intake's helpers), creates the tables with ``infra.provision.create_tables``, writes P
policies with PynamoDB ``batch_write`` and resolves N claims of each path through the real
``DynamoPolicyDirectory`` + ``PolicyResolver``. It prints figures and never asserts on time; it fails
only when a claim resolves wrongly, because then the figures would mean nothing.
See bench/README.md for what each figure means.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

from bench.harness import REGION, begin, report_stream
from bench.intake import CallCounter, Window, percentile

CN_TZ = timezone(timedelta(hours=8))
PATHS = ("policy_number", "order_id", "phone", "plate", "no_match")
PARTNER_OF = {"food_safety": "eleme", "shared_bike_accident": "hellobike", "motor": "motor-direct"}
LOSS_OF = {"food_safety": "food_safety", "shared_bike_accident": "shared_bike_accident", "motor": "motor_collision"}


# ------------------------------------------------------------------------------------------------
# data
# ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class StoredPolicy:
    number: str
    product: str
    phone: str
    plate: str | None
    order_id: str | None
    partner_id: str


def policies(count: int) -> list[StoredPolicy]:
    """Food, bike and motor policies in turn. Each motor policy's holder also holds the food policy
    two rows before (same phone), so a phone lookup finds two policies and narrows them by peril."""
    out = []
    for i in range(count):
        product = ("food_safety", "shared_bike_accident", "motor")[i % 3]
        phone = f"+86139{(i - 2 if product == 'motor' else i):08d}"
        plate = None
        if product == "motor":  # alternate 7-character and 8-character (new-energy) plates
            plate = f"沪A{i:05d}" if i % 2 else f"沪AD{i:05d}"
        order_id = None if product == "motor" else f"ORD-{i:08d}"
        out.append(StoredPolicy(f"PB{2026000000 + i}", product, phone, plate, order_id, PARTNER_OF[product]))
    return out


def write_policies(items: list[StoredPolicy]) -> None:
    from chalicelib.adapters.models import PolicyModel

    today = datetime.now(CN_TZ).date()
    starts, ends = (today - timedelta(days=180)).isoformat(), (today + timedelta(days=180)).isoformat()
    with PolicyModel.batch_write() as batch:
        for p in items:
            batch.save(PolicyModel(p.number, product=p.product, customer_id=f"CUS-{p.number}", holder_name="测试",
                                   holder_phone=p.phone, plate=p.plate, order_id=p.order_id,
                                   partner_id=p.partner_id, starts_on=starts, ends_on=ends, status="ACTIVE"))


@dataclass(frozen=True)
class Case:
    """One claim to resolve: the submission, the claiming partner, the expected policy (None: no match)
    and the floor's bare calls for the same keys."""
    submission: object
    owner: str
    expected: str | None
    floor: tuple[tuple[str, str | None, str, str], ...]  # (operation, index, key attribute, value)


def cases(path: str, items: list[StoredPolicy], n: int) -> list[Case]:
    from chalicelib.adapters.models import PolicyModel
    from chalicelib.domain.claim import Channel, ClaimSubmission, Location

    phone_index = PolicyModel.by_phone.Meta.index_name
    plate_index = PolicyModel.by_plate.Meta.index_name
    order_index = PolicyModel.by_order.Meta.index_name
    occurred = datetime.now(CN_TZ).replace(microsecond=0) - timedelta(days=1)

    def sub(product: str, **keys) -> ClaimSubmission:
        return ClaimSubmission(channel=Channel.PARTNER_API, loss_type=LOSS_OF[product], occurred_at=occurred,
                               description="benchmark claim", location=Location("310115"),
                               amount=Decimal("35.50"), currency="CNY", **keys)

    pool = {
        "policy_number": items,
        "order_id": [p for p in items if p.order_id],
        "phone": [p for p in items if p.product == "food_safety"],  # two policies on the phone
        "plate": [p for p in items if p.plate],
    }
    out = []
    for k in range(n):
        if path == "no_match":
            j = len(items) + k  # keys of the same shape that no stored policy has
            number, order_id = f"PB{2026000000 + j}", f"ORD-{j:08d}"
            phone, plate = f"+86139{j:08d}", f"沪B{j % 100000:05d}"
            out.append(Case(sub("motor", policy_number=number, order_id=order_id, claimant_phone=phone, plate=plate),
                            "eleme", None,
                            (("GetItem", None, "policy_number", number), ("Query", order_index, "order_id", order_id),
                             ("Query", phone_index, "holder_phone", phone), ("Query", plate_index, "plate", plate))))
            continue
        candidates = pool[path]
        p = candidates[(k * 7919) % len(candidates)]  # spread over the table, deterministically
        if path == "policy_number":
            case = Case(sub(p.product, policy_number=p.number), p.partner_id, p.number,
                        (("GetItem", None, "policy_number", p.number),))
        elif path == "order_id":
            case = Case(sub(p.product, order_id=p.order_id), p.partner_id, p.number,
                        (("Query", order_index, "order_id", p.order_id),))
        elif path == "phone":
            case = Case(sub(p.product, claimant_phone=p.phone), p.partner_id, p.number,
                        (("Query", phone_index, "holder_phone", p.phone),))
        else:
            case = Case(sub(p.product, plate=p.plate), p.partner_id, p.number,
                        (("Query", plate_index, "plate", p.plate),))
        out.append(case)
    return out


# ------------------------------------------------------------------------------------------------
# the benchmark
# ------------------------------------------------------------------------------------------------

@dataclass
class PathResult:
    path: str
    n: int
    window: Window
    product: list[float] = field(default_factory=list)  # wall seconds
    floor: list[float] = field(default_factory=list)
    product_cpu: list[float] = field(default_factory=list)  # this process's CPU seconds (moto excluded)
    floor_cpu: list[float] = field(default_factory=list)


def floor_call(ddb, table: str, op: str, index: str | None, attribute: str, value: str) -> None:
    if op == "GetItem":
        ddb.get_item(TableName=table, Key={attribute: {"S": value}})
    else:
        ddb.query(TableName=table, IndexName=index, KeyConditionExpression="#k = :v",
                  ExpressionAttributeNames={"#k": attribute}, ExpressionAttributeValues={":v": {"S": value}})


def run(args, out) -> None:
    import boto3
    from botocore.config import Config

    from chalicelib.adapters import dynamo
    from chalicelib.adapters.models import ALL_MODELS, PolicyModel
    from chalicelib.adapters.policies import DynamoPolicyDirectory
    from chalicelib.domain.policy import ResolutionOutcome
    from chalicelib.domain.products import catalogue
    from chalicelib.services.resolve import PolicyResolver
    from chalicelib.settings import get_settings
    from infra.provision import create_tables

    def progress(message: str) -> None:
        print(f"[bench] {message}", file=sys.stderr, flush=True)

    progress(f"tables, then {args.policies} policies by batch_write")
    t0 = time.perf_counter()
    create_tables()
    items = policies(args.policies)
    write_policies(items)
    load_s = time.perf_counter() - t0

    # The product's clients, configured as bootstrap configures them, hooked before their first call.
    s = get_settings()
    dynamo.configure(s.aws_region, s.aws_connect_timeout_seconds, s.aws_read_timeout_seconds, s.aws_max_attempts)
    counter = CallCounter()
    for model in ALL_MODELS:
        counter.hook(model._get_connection().connection.client)
    # The floor's client: plain boto3, with the limits the product's clients have.
    ddb = counter.ignore(boto3.client("dynamodb", region_name=REGION, config=Config(
        connect_timeout=s.aws_connect_timeout_seconds, read_timeout=s.aws_read_timeout_seconds,
        retries={"mode": "standard", "max_attempts": s.aws_max_attempts}, max_pool_connections=50)))
    counter.install_guard()
    resolver = PolicyResolver(DynamoPolicyDirectory(), catalogue())
    table = PolicyModel.Meta.table_name

    results: list[PathResult] = []
    unhooked: dict = {}
    for path in PATHS:
        progress(f"{path}: {args.warmup} warm-up + {args.n} measured resolutions and floors")
        todo = cases(path, items, args.warmup + args.n)
        result = PathResult(path, args.n, Window())
        measured = Window()
        for i, case in enumerate(todo):
            timed = i >= args.warmup

            # both run within this iteration: the loop's values are bound as defaults all the same
            def product(case: Case = case, timed: bool = timed, measured: Window = measured, path: str = path) -> None:
                with counter.window() as w:
                    got = resolver.resolve(case.submission, case.owner)
                if timed:
                    measured.calls.update(w.calls)
                    measured.http += w.http
                    measured.unhooked.update(w.unhooked)
                want = ResolutionOutcome.UNVERIFIED if case.expected is None else ResolutionOutcome.RESOLVED
                number = got.policy.policy_number if got.policy else None
                if got.outcome is not want or number != case.expected:
                    raise RuntimeError(f"{path}: resolved {got.outcome.value} {number}, expected "
                                       f"{want.value} {case.expected}")

            def floor(case: Case = case) -> None:
                for op, index, attribute, value in case.floor:
                    floor_call(ddb, table, op, index, attribute, value)

            runs = [("product", product), ("floor", floor)]
            for name, fn in (runs if i % 2 == 0 else runs[::-1]):  # alternate which goes first
                c, t = time.process_time(), time.perf_counter()
                fn()
                elapsed, cpu = time.perf_counter() - t, time.process_time() - c
                if timed:
                    getattr(result, name).append(elapsed)
                    getattr(result, f"{name}_cpu").append(cpu)
        result.window = measured
        unhooked.update(measured.unhooked)
        results.append(result)

    report(out, args, results, load_s, unhooked)


def report(out, args, results: list[PathResult], load_s: float, unhooked: dict) -> None:
    import boto3
    import moto as moto_pkg
    import pynamodb

    p = out.write
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    p(f"policy-resolution benchmark  {when}  Python {platform.python_version()}  N={args.n} per path "
      f"(warm-up {args.warmup})\n")
    p(f"  moto {moto_pkg.__version__} server on 127.0.0.1 (separate process), boto3 {boto3.__version__}, "
      f"pynamodb {pynamodb.__version__}, {os.cpu_count()} CPUs; {args.policies} policies written by "
      f"batch_write in {load_s:.1f} s\n\n")

    p("DynamoDB calls per resolution (botocore before-call on every PynamoDB model client; 'http' counts HTTP\n"
      "requests, retries included)\n")
    p(f"  {'path':<16}{'n':>6}{'calls':>8}{'http':>7}  by operation (per resolution)\n")
    for r in results:
        by_count = sorted(r.window.calls.items(), key=lambda kv: (-kv[1], kv[0]))
        ops = ", ".join(f"{op} {c / r.n:.2f}" for op, c in by_count)
        p(f"  {r.path:<16}{r.n:>6}{r.window.total / r.n:>8.2f}{r.window.http / r.n:>7.2f}  {ops}\n")
    p("\n")

    p("Resolution time, ms (same moto server; product = PolicyResolver.resolve through DynamoPolicyDirectory;\n"
      "floor = bare boto3 get_item / query of the same keys; order alternated each round; cpu = this\n"
      "process's mean CPU time per resolution, moto's left out)\n")
    p(f"  {'path':<16}{'floor calls':<24}{'product p50':>12}{'p99':>8}{'floor p50':>11}{'p99':>8}"
      f"{'ratio p50':>11}{'p99':>7}{'cpu product':>13}{'floor':>7}\n")
    floor_ops = {"policy_number": "get_item", "order_id": "query order-id", "phone": "query phone",
                 "plate": "query plate", "no_match": "get_item + 3 queries"}
    for r in results:
        prod, flo = sorted(r.product), sorted(r.floor)
        pp50, pp99 = percentile(prod, 50) * 1e3, percentile(prod, 99) * 1e3
        fp50, fp99 = percentile(flo, 50) * 1e3, percentile(flo, 99) * 1e3
        p(f"  {r.path:<16}{floor_ops[r.path]:<24}{pp50:>12.2f}{pp99:>8.2f}{fp50:>11.2f}{fp99:>8.2f}"
          f"{pp50 / fp50:>10.2f}x{pp99 / fp99:>6.2f}x"
          f"{sum(r.product_cpu) / r.n * 1e3:>13.2f}{sum(r.floor_cpu) / r.n * 1e3:>7.2f}\n")
    if unhooked:
        p(f"\nWARNING: calls from clients the benchmark did not hook: {unhooked}\n")


def _args(argv: list[str] | None):
    parser = argparse.ArgumentParser(prog="python -m bench.resolution", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: fewer policies and claims")
    parser.add_argument("--n", type=int, help="measured resolutions per path (default 100; 30 with --quick)")
    parser.add_argument("--warmup", type=int, help="warm-up resolutions per path (default N/10, at least 5)")
    parser.add_argument("--policies", type=int, help="policies written (default 3000; 1000 with --quick)")
    args = parser.parse_args(argv)
    args.n = args.n or (30 if args.quick else 100)
    if args.n < 2:
        parser.error("--n must be at least 2")
    args.warmup = args.warmup if args.warmup is not None else max(5, args.n // 10)
    args.policies = args.policies or (1000 if args.quick else 3000)
    if args.policies < 3:
        parser.error("--policies must be at least 3")
    return args


def main(argv: list[str] | None = None) -> int:
    args = _args(argv)
    _, moto = begin()
    with report_stream(show_logs=False) as out:
        try:
            moto.start()
            run(args, out)
        finally:
            moto.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
