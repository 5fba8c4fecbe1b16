"""Burst benchmark: 10,000 claims across every channel into the local stack as fast as it takes them,
then the drain; figures against a floor pipeline measured on the same moto server in the same run.

    .venv/bin/python -m bench.burst --claims 1000   # about 6 minutes on two busy cores
    .venv/bin/python -m bench.burst                 # 10,000 claims: hours on moto (below)
    (also --threads, --consumers, --surveyors, --capacity, --sample, --drain-timeout)

It starts ``python -m infra.local_stack`` on free ports (the claim form's and partners' limits raised,
the Lambda Invoke API on, ``--consumers`` pollers per queue), drives it with ``devkit.burst_driver``
and stops it at the end, on error or on SIGTERM. Before the product's burst, the *floor* runs on the
same moto server: per claim a bare boto3 conditional PutItem and a SendMessage from as many threads,
drained by as many trivial consumers as the stack runs per queue (receive, one PutItem per message,
delete). Figures are printed as ours / floor. The run fails (exit 1) only if the product breaks a
promise (a claim lost, stored or scored twice, a surveyor overfilled, a 500): then its figures mean
nothing. Times are wall-clock on a shared machine: read the ratios and the CPU per claim.

moto is what bounds the size: its DynamoDB queries read every item of the table (index queries too),
its SQS walks every message of a queue to delete one, and its server answers one request at a time
(infra/moto_server.py), so the cost of a claim grows with the burst. 1,000 claims drain in minutes;
10,000 take hours, and once the scoring backlog is older than RECONCILE_AFTER_SECONDS each reconciler
run re-queues up to 1,000 claims still RECEIVED (idempotent, but more messages to drain).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from devkit import burst_driver as d  # noqa: E402 - after the path is set
from devkit.ports import free_port  # noqa: E402 - after the path is set

READY_LINE = "LOCAL STACK READY"
START_WITHIN_SECONDS = 120
FLOOR_TABLE = "bench-burst-floor-claims"
FLOOR_QUEUE = "bench-burst-floor-scoring"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of one process (Linux /proc), 0 when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


class LocalStackProcess:
    """``python -m infra.local_stack`` on free ports, its own process group, always stopped."""

    def __init__(self, consumers: int):
        self.ports = {name: free_port() for name in ("MOTO_PORT", "API_PORT", "PARTNER_RECEIVER_PORT", "LAMBDA_PORT")}
        self.log = Path(tempfile.gettempdir()) / f"bench-burst-stack-{os.getpid()}.log"
        self.env = {**os.environ, **d.STACK_ENVIRONMENT, **{k: str(v) for k, v in self.ports.items()},
                    "CONSUMER_THREADS": str(consumers), "DISPATCH_RETRY_BASE_SECONDS": "900",
                    # as deployed (every 5 minutes), not the local stack's every minute: a backlog older than
                    # RECONCILE_AFTER_SECONDS is re-queued by each run, and a run a minute would inflate it
                    "RECONCILE_INTERVAL_SECONDS": "300",
                    "PYTHONUNBUFFERED": "1", "PYTHONIOENCODING": "utf-8"}
        self.process: subprocess.Popen | None = None

    @property
    def stack(self) -> d.Stack:
        return d.Stack(f"http://127.0.0.1:{self.ports['API_PORT']}", f"http://127.0.0.1:{self.ports['MOTO_PORT']}",
                       f"http://127.0.0.1:{self.ports['LAMBDA_PORT']}")

    def start(self) -> None:
        with open(self.log, "wb") as out:
            self.process = subprocess.Popen([sys.executable, "-m", "infra.local_stack"], cwd=REPO, env=self.env,
                                            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                            start_new_session=True)
        deadline = time.monotonic() + START_WITHIN_SECONDS
        while READY_LINE not in self.output():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the local stack did not start:\n{self.output()[-3000:]}")
            time.sleep(0.2)

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""

    @property
    def moto_pid(self) -> int | None:
        kids = _children(self.process.pid) if self.process else []
        return kids[0] if kids else None

    def cpu(self) -> tuple[float, float]:
        """(the stack's process, its moto server) CPU seconds so far."""
        moto = self.moto_pid
        return _cpu_seconds(self.process.pid), _cpu_seconds(moto) if moto else 0.0

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.unlink(missing_ok=True)


# -- the floor -------------------------------------------------------------------------------------------

class Floor:
    """The least a queued intake could do on this moto server: conditional PutItem + SendMessage per
    claim, drained by consumers that receive, PutItem once per message and delete."""

    def __init__(self, moto_url: str, consumers: int, threads: int):
        self.moto_url = moto_url
        self.consumers = consumers
        self.threads = threads
        self.ddb = d.aws_client("dynamodb", moto_url, max_pool=threads + consumers)
        self.sqs = d.aws_client("sqs", moto_url, max_pool=threads + consumers)
        self.ddb.create_table(TableName=FLOOR_TABLE, BillingMode="PAY_PER_REQUEST",
                              AttributeDefinitions=[{"AttributeName": "claim_id", "AttributeType": "S"}],
                              KeySchema=[{"AttributeName": "claim_id", "KeyType": "HASH"}])
        self.url = self.sqs.create_queue(QueueName=FLOOR_QUEUE, Attributes={"VisibilityTimeout": "180"})["QueueUrl"]
        self.latencies: list[float] = []
        self.drained = 0
        self._counting = threading.Lock()
        self._stop = threading.Event()

    def _consume(self) -> None:
        while not self._stop.is_set():
            try:
                messages = self.sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10,
                                                    WaitTimeSeconds=1).get("Messages", [])
                for m in messages:
                    claim_id = json.loads(m["Body"])["claim_id"]
                    self.ddb.put_item(TableName=FLOOR_TABLE, Item={"claim_id": {"S": claim_id},
                                                                    "status": {"S": "SCORED"}})
                if messages:
                    self.sqs.delete_message_batch(QueueUrl=self.url, Entries=[
                        {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(messages)])
                    with self._counting:
                        self.drained += len(messages)
            except Exception as error:  # noqa: BLE001 - a consumer outlives one failure; redelivery retries it
                print(f"[bench.burst] floor consumer: {type(error).__name__}: {error}", file=sys.stderr)
                time.sleep(1)

    def _intake(self, claim: d.Claim) -> None:
        body = d.partner_body(claim, 0)
        item = {"claim_id": {"S": f"CLM-FLOOR-{uuid.uuid4().hex}"}, "status": {"S": "RECEIVED"},
                "external_ref": {"S": body["external_ref"]}, "policy_number": {"S": claim.policy.number},
                "claimant_phone": {"S": claim.policy.phone}, "loss_type": {"S": claim.policy.peril},
                "occurred_at": {"S": body["loss"]["occurred_at"]}, "description": {"S": body["loss"]["description"]},
                "region_code": {"S": claim.region}, "amount": {"S": claim.amount}, "currency": {"S": "CNY"}}
        started = time.perf_counter()
        self.ddb.put_item(TableName=FLOOR_TABLE, Item=item, ConditionExpression="attribute_not_exists(claim_id)")
        self.sqs.send_message(QueueUrl=self.url, MessageBody=json.dumps({"claim_id": item["claim_id"]["S"]}))
        self.latencies.append(time.perf_counter() - started)

    def run(self, claims: list[d.Claim], sample_every: float) -> dict:
        sampler = d.DepthSampler(self.moto_url, sample_every, urls={FLOOR_QUEUE: self.url})
        sampler.start()
        consumers = [threading.Thread(target=self._consume, name=f"floor-consumer-{n}", daemon=True)
                     for n in range(self.consumers)]
        for c in consumers:
            c.start()
        began = time.monotonic()
        with ThreadPoolExecutor(self.threads) as pool:
            list(pool.map(self._intake, claims))
        submitted = time.monotonic() - began
        deadline = time.monotonic() + 3600
        while self.drained < len(claims) and time.monotonic() < deadline:
            time.sleep(0.2)
        drained = time.monotonic() - began
        self._stop.set()
        for c in consumers:
            c.join(5)
        sampler.stop()
        return {"submitted": submitted, "drained": drained, "samples": sampler.samples, "began": began}


# -- report ----------------------------------------------------------------------------------------------

def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.0f}" if not math.isnan(seconds) else "-"


def _ratio(ours: float, floor: float) -> str:
    return f"x{ours / floor:.1f}" if floor and not math.isnan(ours) and not math.isnan(floor) else "-"


def _depth_table(samples, began: float, queues: list[tuple[str, str]], rows: int = 40) -> list[str]:
    """A row per second (every k-th when there are more than ``rows``): visible+in flight (+delayed)."""
    if not samples:
        return ["  (no samples)"]
    step = max(1, math.ceil(len(samples) / rows))
    head = f"  {'t (s)':>6}" + "".join(f"{label:>16}" for _, label in queues)
    lines = [head]
    picked = samples[::step]
    if picked[-1] is not samples[-1]:
        picked.append(samples[-1])
    for taken, depths in picked:
        cells = []
        for name, _ in queues:
            depth = depths.get(name)
            cell = "-" if depth is None else f"{depth.busy}" + (f" (+{depth.delayed})" if depth.delayed else "")
            cells.append(f"{cell:>16}")
        lines.append(f"  {max(0.0, taken - began):>6.0f}" + "".join(cells))
    return lines


def report(out, args, product: dict, floor: dict) -> None:
    import boto3
    import moto

    def p(line: str = "") -> None:
        out.write(line + "\n")

    burst, result, claims = product["burst"], product["outcome"], args.claims
    p(f"claims-intake burst benchmark  {datetime.now(UTC):%Y-%m-%d %H:%M UTC}  Python "
      f"{platform.python_version()}  moto {moto.__version__}  boto3 {boto3.__version__}  {os.cpu_count()} CPUs  "
      f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    mix = ", ".join(f"{ch} {w}" for ch, w in d.DEFAULT_MIX.items())
    p(f"  {claims} claims (per 20: {mix}; batches of {d.BATCH_SIZE}), {args.threads} client threads with keep-alive "
      f"sessions, {args.consumers} pollers per queue; floor: the same threads and consumers, same moto server")
    p()
    accept_ours = claims / burst.seconds
    accept_floor = claims / floor["submitted"]
    lat = d.latencies(burst.records)
    fl = floor["latencies"]
    p(f"Intake                                      {'ours':>10}{'floor':>10}{'ours/floor':>12}")
    p(f"  accept rate, claims/s                     {accept_ours:>10.1f}{accept_floor:>10.1f}"
      f"{_ratio(accept_ours, accept_floor):>12}")
    for q in (50, 95, 99):
        ours, base = d.percentile(lat["all"], q), d.percentile(fl, q)
        p(f"  latency p{q}, ms (per request)            {_ms(ours):>10}{_ms(base):>10}{_ratio(ours, base):>12}")
    p()
    p(f"Latency per channel, ms        {'requests':>9}{'p50':>8}{'p95':>8}{'p99':>8}   p50/floor p50  "
      f"(a batch carries {d.BATCH_SIZE} claims; a Twilio call is two webhooks)")
    base50 = d.percentile(fl, 50)
    for channel in (*d.CHANNELS, "all"):
        values = lat.get(channel, [])
        p(f"  {channel:<28}{len(values):>9}{_ms(d.percentile(values, 50)):>8}{_ms(d.percentile(values, 95)):>8}"
          f"{_ms(d.percentile(values, 99)):>8}   {_ratio(d.percentile(values, 50), base50):>13}")
    p()
    scoring, dispatch = product["drain"]["scoring"], product["drain"]["dispatch"]
    p(f"Drain, s from the first request (after the last answer)      {'ours':>18}{'floor':>10}{'ours/floor':>12}")
    for label, ours in (("scoring queue empty", scoring), ("dispatch queue empty (waiting ones delayed)", dispatch)):
        after = f"{ours:.0f} ({ours - burst.seconds:.0f})" if ours is not None else "never"
        p(f"  {label:<58}{after:>18}{floor['drained']:>10.0f}"
          f"{_ratio(ours, floor['drained']) if ours is not None else '-':>12}")
    p()
    stack_cpu, moto_cpu = product["cpu"]
    p(f"CPU per claim, ms                           {'ours':>10}{'floor':>10}{'ours/floor':>12}")
    p(f"  moto server (DynamoDB + SQS)              {moto_cpu / claims * 1e3:>10.1f}"
      f"{floor['moto_cpu'] / claims * 1e3:>10.1f}{_ratio(moto_cpu, floor['moto_cpu']):>12}")
    p(f"  the stack's process (API + consumers)     {stack_cpu / claims * 1e3:>10.1f}{'':>10}")
    p()
    p("Queue depth, messages visible + in flight (+ delayed), ours:")
    names = [(q.name, q.name.removeprefix("claims-intake-")) for q in product["queues"]]
    for line in _depth_table(product["samples"], burst.began, names):
        p(line)
    p("Floor queue:")
    for line in _depth_table(floor["samples"], floor["began"], [(FLOOR_QUEUE, "floor")], rows=12):
        p(line)
    p()
    p(f"Outcome: {result.line()}")
    requeued = product["requeued"]
    if requeued:
        p(f"  the reconciler re-queued {requeued} claims still RECEIVED after RECONCILE_AFTER_SECONDS (a backlog "
          f"longer than that is scored twice over; the second delivery changes nothing)")
    p(f"  {product['errors']} ERROR log lines from the stack")
    for line in product["problems"] or ["no broken promise"]:
        p(f"  {line}")
    p(f"Wall time of the whole run: {time.monotonic() - args.started:.0f} s")
    out.flush()


# -- run -------------------------------------------------------------------------------------------------

def run(args, out) -> int:
    stack_process = LocalStackProcess(args.consumers)
    try:
        def progress(message: str) -> None:
            print(f"[bench.burst {time.monotonic() - args.started:5.0f} s] {message}", file=sys.stderr, flush=True)

        progress(f"starting the local stack ({args.consumers} pollers per queue)")
        stack_process.start()
        stack = stack_process.stack
        claims = d.population(args.claims, args.run)

        progress(f"floor: {args.claims} PutItem + SendMessage, drained by {args.consumers} consumers")
        floor_runner = Floor(stack.moto_url, args.consumers, args.threads)
        _, moto0 = stack_process.cpu()
        floor = floor_runner.run(claims, args.sample)
        floor["latencies"] = floor_runner.latencies
        floor["moto_cpu"] = stack_process.cpu()[1] - moto0

        progress(f"seeding {args.claims} policies and {args.surveyors} surveyors")
        d.seed_population(stack, claims, args.surveyors, args.capacity)
        sampler = d.DepthSampler(stack.moto_url, args.sample)
        sampler.start()
        cpu0 = stack_process.cpu()
        progress(f"burst: {args.claims} claims from {args.threads} threads")
        burst = d.submit(stack, d.plan(claims, args.run), args.run, args.threads)
        progress(f"submitted in {burst.seconds:.0f} s; waiting for the consumers to drain the queues")
        from chalicelib.adapters.resources import DISPATCH_QUEUE, QUEUES, SCORING_QUEUE

        drained, deadline = False, time.monotonic() + args.drain_timeout
        while not drained and time.monotonic() < deadline:
            drained = d.wait_for_drain(sampler, [q.name for q in QUEUES], min(60.0, deadline - time.monotonic()))
            if not drained and sampler.samples:
                depths = sampler.samples[-1][1]
                def depth(name: str, depths: dict = depths) -> str:
                    delayed = depths[name].delayed
                    return f"{depths[name].busy}" + (f" (+{delayed} delayed)" if delayed else "")
                progress("draining: " + ", ".join(f"{q.name.removeprefix('claims-intake-')} {depth(q.name)}"
                                                  for q in QUEUES if q.name in depths))
        cpu1 = stack_process.cpu()
        sampler.stop()
        if not drained:
            progress(f"queues still busy after {args.drain_timeout} s; counting what is there")
        counted = d.count(stack, sampler)
        d.resolve_twilio(burst, counted)
        drain = {name: (lambda at: None if at is None else at - burst.began)(sampler.drained_at(q.name, burst.began))
                 for name, q in (("scoring", SCORING_QUEUE), ("dispatch", DISPATCH_QUEUE))}
        output = stack_process.output()
        requeued = sum(int(part.split("}")[0]) for part in output.split("reconciler: {'requeued': ")[1:])
        product = {"burst": burst, "outcome": d.outcome(burst, counted), "problems": d.problems(burst, counted),
                   "samples": sampler.samples, "queues": QUEUES, "drain": drain,
                   "cpu": (cpu1[0] - cpu0[0], cpu1[1] - cpu0[1]), "requeued": requeued,
                   "errors": output.count('"level":"ERROR"')}
        report(out, args, product, floor)
        return 1 if product["problems"] or not drained else 0
    finally:
        stack_process.stop()


def _args(argv: list[str] | None):
    parser = argparse.ArgumentParser(prog="python -m bench.burst", description=__doc__.split("\n")[0])
    parser.add_argument("--claims", type=int, default=10_000, help="claims in the burst (default 10000)")
    parser.add_argument("--threads", type=int, default=12, help="client threads (default 12)")
    parser.add_argument("--consumers", type=int, default=2, help="pollers per queue in the stack (default 2)")
    parser.add_argument("--surveyors", type=int, default=40, help="surveyors added in Pudong (default 40)")
    parser.add_argument("--capacity", type=int, default=5, help="claims each added surveyor takes (default 5)")
    parser.add_argument("--sample", type=float, default=1.0, help="seconds between queue-depth samples")
    parser.add_argument("--drain-timeout", type=float, default=4 * 3600, help="give up waiting after (s)")
    parser.add_argument("--run", type=int, default=7, help="0-99: tags the burst's policy numbers and phones")
    args = parser.parse_args(argv)
    if args.claims < d.BATCH_SIZE:
        parser.error(f"--claims must be at least {d.BATCH_SIZE}")
    args.started = time.monotonic()
    return args


def main(argv: list[str] | None = None) -> int:
    args = _args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so the stack is still stopped
    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_EC2_METADATA_DISABLED="true",
                      AWS_DEFAULT_REGION=d.REGION, AWS_REGION=d.REGION)
    for var in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        os.environ.pop(var, None)
    return run(args, sys.stdout)


if __name__ == "__main__":
    sys.exit(main())
