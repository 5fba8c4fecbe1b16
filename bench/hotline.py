"""Hotline benchmark: the Amazon Connect functions' AWS calls, caller identification time against its
floor, and the cold start of the ``app`` module that every Lambda function imports.

Run ``python -m bench.hotline [--quick] [--n N]``. It starts its own moto server (bench.intake's
helpers), creates the tables and queues with ``infra.provision.create_all``, seeds ``infra.seed`` and
invokes ``connect_identify_caller`` and ``connect_report_claim`` in process through
``chalice.test.Client`` (stage prod, so each function gets its own environment from
.chalice/config.json, as in Lambda). The cold start is measured in fresh ``python`` processes. It
prints figures and never asserts on time; it fails only when a function answers wrongly, because then
the figures would mean nothing. See bench/README.md for what each figure means.
"""
from __future__ import annotations

import argparse
import copy
import csv
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections import Counter
from dataclasses import asdict
from datetime import UTC, datetime

from bench.harness import REGION, REPO, begin, report_stream
from bench.intake import CallCounter, Window, percentile
from devkit.moto import MotoServer

STAGE = "prod"
IDENTIFY = "connect_identify_caller"
REPORT = "connect_report_claim"
EVENTS = REPO / "tests" / "events"
CHALICE_CONFIG = REPO / ".chalice" / "config.json"
QUEUE_URL_VARS = ("SCORING_QUEUE_URL", "DISPATCH_QUEUE_URL", "CONTACTS_QUEUE_URL")
COLD_RUNS = 7


def progress(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------------------
# inputs
# ------------------------------------------------------------------------------------------------

def seeded_callers() -> dict[str, set[str]]:
    """Phone -> the Connect-safe numbers of the policies seeded on it (infra/data/demo_policies.csv)."""
    from infra.seed import DEMO_POLICIES_FILE

    out: dict[str, set[str]] = {}
    with open(DEMO_POLICIES_FILE, encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            out.setdefault(row["holder_phone"], set()).add(row["policy_number"].replace("/", "_"))
    return out


def flow_event(name: str, caller: str, contact_id: str, parameters: dict | None = None) -> dict:
    """The real ContactFlowEvent of tests/events, with another caller, ContactId and parameters."""
    event = json.loads((EVENTS / name).read_text(encoding="utf-8"))
    data = event["Details"]["ContactData"]
    data["CustomerEndpoint"]["Address"] = caller
    data["ContactId"] = data["InitialContactId"] = contact_id
    if parameters is not None:
        event["Details"]["Parameters"] = parameters
    return event


def lambda_environment(function: str, tracing: bool = False, in_lambda: bool = True) -> dict[str, str]:
    """What the deployed function's process has in its environment for this benchmark: fake credentials,
    the region, tracing off, LAMBDA_TASK_ROOT (the X-Ray SDK checks it at import, see README) and the
    variables .chalice/config.json gives it (app, stage prod, function). No endpoint: importing the app
    makes no call."""
    config = json.loads(CHALICE_CONFIG.read_text(encoding="utf-8"))
    stage = config["stages"][STAGE]
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_EC2_METADATA_DISABLED": "true",
        "LAMBDA_TASK_ROOT": str(REPO),
        "POWERTOOLS_TRACE_DISABLED": "1",
        "AWS_LAMBDA_FUNCTION_NAME": f"{config['app_name']}-{STAGE}-{function}",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(stage.get("lambda_memory_size", 128)),
    }
    env.update(config.get("environment_variables", {}))
    env.update(stage.get("environment_variables", {}))
    env.update(stage.get("lambda_functions", {}).get(function, {}).get("environment_variables", {}))
    if tracing:
        del env["POWERTOOLS_TRACE_DISABLED"]
    if not in_lambda:
        del env["LAMBDA_TASK_ROOT"]
    return env


# ------------------------------------------------------------------------------------------------
# 1 and 2: calls and latency, in process
# ------------------------------------------------------------------------------------------------

class Hotline:
    def __init__(self, args, out) -> None:
        self.args = args
        self.out = out
        self.counter = CallCounter()
        self.notes: list[str] = []
        self.run_id = datetime.now(UTC).strftime("%H%M%S")

    def check(self, ok: bool, message: str) -> None:
        if not ok:
            raise RuntimeError(message)

    # -- set-up ----------------------------------------------------------------------------------

    def setup(self) -> None:
        import boto3
        from botocore.config import Config

        from chalicelib.adapters.resources import CONTACTS_QUEUE
        from infra.provision import create_all
        from infra.seed import seed

        progress("tables, queues and demo data")
        self.counter.install_guard()
        self.counter._paused = True  # set-up calls are not the product's
        plain = Config(retries={"mode": "standard", "max_attempts": 3})
        self.sqs = self.counter.ignore(boto3.client("sqs", region_name=REGION, config=plain))
        queues = create_all(self.sqs)
        seed()
        self.contacts_url = queues[CONTACTS_QUEUE.name]["url"]
        # As deployed: .chalice/config.json sets no queue URL, so each container looks them up once.
        for var in QUEUE_URL_VARS:
            os.environ.pop(var, None)
        self.callers = seeded_callers()
        self.phones = sorted(self.callers)

    def start_app(self) -> None:
        from chalice.test import Client

        from app import app
        from chalicelib import bootstrap

        bootstrap.reset()  # the container is built in the first invocation, under the function's env
        self.client = Client(app, stage_name=STAGE, project_dir=str(REPO))

    def hook_app_clients(self) -> None:
        from botocore.client import BaseClient

        from chalicelib import bootstrap
        from devkit.aws_calls import app_clients

        for client in app_clients():  # every model's client, the repository's, the SQS client
            self.counter.hook(client)
        # and any other client an adapter of the container holds (the contact log's SQS client, S3, ...)
        for adapter in vars(bootstrap.container()).values():
            for value in vars(adapter).values() if hasattr(adapter, "__dict__") else ():
                client = getattr(value, "client", value)  # a PynamoDB connection or a client
                if isinstance(client, BaseClient):
                    self.counter.hook(client)
        self.dynamodb_ops = set(bootstrap.container().claims._conn().client.meta.service_model.operation_names)

    def identify(self, phone: str, contact_id: str) -> dict:
        answer = self.client.lambda_.invoke(IDENTIFY, flow_event("connect_contact_flow_event.json", phone,
                                                                 contact_id)).payload
        self.check(answer.get("result") == "ok" and answer.get("customer_found") == "true"
                   and answer.get("primary_policy") in self.callers[phone],
                   f"{IDENTIFY} for a seeded caller answered {answer}")
        return answer

    # -- cold: the first invocation of a container ----------------------------------------------

    def cold(self) -> None:
        progress("first identify of a container")
        self.start_app()
        self.counter._paused = False
        with self.counter.window() as w:  # the clients do not exist yet: the guard counts their calls
            self.identify(self.phones[0], f"bench-{self.run_id}-cold")
        self.cold_calls = Window(calls=w.unhooked, http=0)
        self.hook_app_clients()

    # -- identify: calls and latency against the floor -------------------------------------------

    def timing(self) -> None:
        import boto3
        from botocore.config import Config

        from chalicelib import bootstrap
        from chalicelib.adapters.models import PolicyModel
        from chalicelib.domain.caller import Contact
        from chalicelib.domain.claim import Channel, utc_now
        from chalicelib.schemas.messages import CORRELATION_ATTRIBUTE, ContactRecorded

        n, warmup = self.args.n, self.args.warmup
        progress(f"identify: {warmup} warm-up + {n} measured rounds of product and floor")
        # The floor's clients: plain boto3 with the limits the function's own clients have.
        s = bootstrap.container().settings
        config = Config(connect_timeout=s.aws_connect_timeout_seconds, read_timeout=s.aws_read_timeout_seconds,
                        retries={"mode": "standard", "max_attempts": s.aws_max_attempts}, max_pool_connections=50)
        self.client_limits = (s.aws_connect_timeout_seconds, s.aws_read_timeout_seconds, s.aws_max_attempts)
        ddb = self.counter.ignore(boto3.client("dynamodb", region_name=REGION, config=config))
        sqs = self.counter.ignore(boto3.client("sqs", region_name=REGION, config=config))
        table, index = PolicyModel.Meta.table_name, PolicyModel.by_phone.Meta.index_name
        url = self.contacts_url

        rounds = []
        for i in range(warmup + n):
            phone = self.phones[i % len(self.phones)]
            contact_id = f"bench-{self.run_id}-{i:06d}"
            # the message the product sends for this call (built untimed, with the product's schema)
            body = ContactRecorded(**asdict(Contact(phone, utc_now(), Channel.IVR_CONNECT.value, "identified",
                                                    f"floor-{contact_id}", customer_id="CUS-floor"))).model_dump_json()
            rounds.append((phone, contact_id, body))

        def product(i: int) -> None:
            phone, contact_id, _ = rounds[i]
            self.identify(phone, contact_id)

        def floor(i: int) -> None:
            phone, contact_id, body = rounds[i]
            ddb.query(TableName=table, IndexName=index, KeyConditionExpression="#k = :v",
                      ExpressionAttributeNames={"#k": "holder_phone"},
                      ExpressionAttributeValues={":v": {"S": phone}})
            sqs.send_message(QueueUrl=url, MessageBody=body, MessageAttributes={
                CORRELATION_ATTRIBUTE: {"DataType": "String", "StringValue": f"floor-{contact_id}"}})

        self.times: dict[str, list[float]] = {"product": [], "floor": []}
        self.cpu: dict[str, list[float]] = {"product": [], "floor": []}
        self.identify_calls = Window()
        self.identify_exact = 0  # invocations with exactly the expected calls
        self.identify_shapes: Counter = Counter()
        runs = [("product", product), ("floor", floor)]
        for i in range(warmup + n):
            timed = i >= warmup
            for name, fn in (runs if i % 2 == 0 else runs[::-1]):  # alternate which goes first
                with self.counter.window() as w:
                    c0, t0 = time.process_time(), time.perf_counter()
                    fn(i)
                    elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
                if not timed:
                    continue
                self.times[name].append(elapsed)
                self.cpu[name].append(cpu)
                if name == "product":
                    self.identify_calls.calls.update(w.calls)
                    self.identify_calls.http += w.http
                    self.identify_calls.unhooked.update(w.unhooked)
                    shape = tuple(sorted(w.calls.items()))
                    self.identify_shapes[shape] += 1
                    self.identify_exact += shape == (("Query", 1), ("SendMessage", 1))
            if i % 50 == 49:  # untimed: keep the contacts queue short
                with self.counter.paused():
                    self.sqs.purge_queue(QueueUrl=url)
        if self.identify_calls.unhooked:
            self.notes.append(f"WARNING: identify: calls from clients the benchmark did not hook: "
                              f"{dict(self.identify_calls.unhooked)}")

    # -- report: calls per new claim ---------------------------------------------------------------

    def reports(self) -> None:
        from chalicelib.domain.ivr import MENU

        k = self.args.reports
        progress(f"report: 1 first + {k} counted new claims by phone")
        self.report_calls = Window()
        self.report_exact = 0
        self.report_ms: list[float] = []
        first = None
        for i in range(k + 1):
            # a new caller, ContactId and loss each time: neither the idempotency key (the call) nor
            # the duplicate guard (phone, loss, day) has been seen, so each report is a new claim
            phone = f"+86139{(int(self.run_id) * 1000 + i) % 10 ** 8:08d}"
            parameters = {"loss_digit": str(i % len(MENU) + 1), "amount": f"{100 + i}#"}
            event = flow_event("connect_report_claim_event.json", phone, f"bench-{self.run_id}-report-{i:06d}",
                               parameters)
            with self.counter.window() as w:
                t0 = time.perf_counter()
                answer = self.client.lambda_.invoke(REPORT, copy.deepcopy(event)).payload
                elapsed = time.perf_counter() - t0
            self.check(answer.get("result") == "created" and answer.get("claim_id", "").startswith("CLM-"),
                       f"{REPORT} for a new claim answered {answer}")
            if i == 0:  # the container's first report also looks up the scoring queue's URL
                first = w
                continue
            self.report_ms.append(elapsed)
            self.report_calls.calls.update(w.calls)
            self.report_calls.http += w.http
            self.report_calls.unhooked.update(w.unhooked)
            self.report_exact += tuple(sorted(w.calls.items())) == (("SendMessage", 1), ("TransactWriteItems", 1))
        self.first_report = first
        if self.report_calls.unhooked:
            self.notes.append(f"WARNING: report: calls from clients the benchmark did not hook: "
                              f"{dict(self.report_calls.unhooked)}")


# ------------------------------------------------------------------------------------------------
# 3: cold start, in fresh processes
# ------------------------------------------------------------------------------------------------

_CHILD = r"""
import json, sys, time

def peak_kib():  # VmHWM: ru_maxrss would keep the parent's peak across fork and exec
    with open("/proc/self/status") as f:
        return next((int(line.split()[1]) for line in f if line.startswith("VmHWM:")), 0)

mode = sys.argv[1]
t0 = time.perf_counter()
if mode == "boto3":
    import boto3
else:
    import app
out = {"import_ms": (time.perf_counter() - t0) * 1e3, "rss_import_kib": peak_kib()}
if mode == "invoke":
    from chalice.test import Client
    from chalicelib import bootstrap

    build, built = bootstrap.build_aws, []
    def timed_build(settings):  # the container: settings, adapters and their clients
        t = time.perf_counter()
        try:
            return build(settings)
        finally:
            built.append((time.perf_counter() - t) * 1e3)
    bootstrap.build_aws = timed_build
    client = Client(app.app, stage_name=sys.argv[2], project_dir=sys.argv[3])
    answers, before = [], set(sys.modules)
    for event in json.loads(sys.argv[4]):
        t = time.perf_counter()
        answers.append(client.lambda_.invoke("connect_identify_caller", event).payload)
        out.setdefault("invoke_ms", []).append((time.perf_counter() - t) * 1e3)
        if len(answers) == 1:
            out["first_imports"] = sorted({m.split(".")[0] for m in set(sys.modules) - before})
    out["answers"] = answers
    out["build_ms"] = built
    out["rss_invoke_kib"] = peak_kib()
print("BENCH-RESULT " + json.dumps(out), flush=True)
"""


def _child(mode: str, env: dict[str, str], *extra: str) -> tuple[dict, float]:
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", _CHILD, mode, *extra], cwd=REPO, env=env, capture_output=True,
                          text=True, stdin=subprocess.DEVNULL, timeout=120)
    wall_ms = (time.perf_counter() - t0) * 1e3
    lines = [line for line in done.stdout.splitlines() if line.startswith("BENCH-RESULT ")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"fresh process ({mode}) exited with {done.returncode}:\n{done.stderr[-3000:]}")
    return json.loads(lines[-1].split(" ", 1)[1]), wall_ms


def importtime(env: dict[str, str]) -> list[tuple[int, int, int, str]]:
    """(cumulative us, self us, depth, module) of every import of ``import app``."""
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", "import app"], cwd=REPO, env=env,
                          capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"python -X importtime -c 'import app' exited with {done.returncode}:\n"
                           f"{done.stderr[-3000:]}")
    rows = []
    for line in done.stderr.splitlines():
        if not line.startswith("import time:"):
            continue
        try:
            self_us, cumulative, name = line[len("import time:"):].split("|", 2)
            rows.append((int(cumulative), int(self_us), (len(name) - len(name.lstrip()) - 1) // 2, name.strip()))
        except ValueError:
            continue  # the header line
    return rows


class ColdStart:
    def __init__(self, args, moto_url: str, callers: dict[str, set[str]]) -> None:
        self.args = args
        self.moto_url = moto_url
        self.callers = callers

    def run(self) -> None:
        runs = COLD_RUNS
        env = lambda_environment(IDENTIFY)
        progress(f"cold start: import app / import boto3 in {runs} fresh processes each, then -X importtime, "
                 f"then import + first identify in {self.args.invoke_runs}")
        _child("app", env)  # untimed: .pyc files and the OS file cache are in place, as in a Lambda image
        _child("boto3", env)
        self.app, self.boto3 = [], []
        for _ in range(runs):  # interleaved, so a noisy moment hits both
            self.app.append(_child("app", env))
            self.boto3.append(_child("boto3", env))
        self.imports = importtime(env)
        # two variants, for context: tracing on (stage prod deploys with xray: true), and outside Lambda
        traced_env = lambda_environment(IDENTIFY, tracing=True)
        local_env = lambda_environment(IDENTIFY, in_lambda=False)
        self.variants: dict[str, list] = {"tracing": [], "outside": []}
        for _ in range(self.args.invoke_runs):
            self.variants["tracing"].append(_child("app", traced_env))
            self.variants["outside"].append(_child("app", local_env))

        phone = "+8613800138000"
        invoke_env = dict(env, AWS_ENDPOINT_URL=self.moto_url)
        self.invokes = []
        for r in range(self.args.invoke_runs):
            events = [flow_event("connect_contact_flow_event.json", phone, f"bench-cold-{r}-{k}") for k in range(2)]
            result, wall = _child("invoke", invoke_env, STAGE, str(REPO), json.dumps(events))
            for answer in result["answers"]:
                if answer.get("customer_found") != "true" or answer.get("primary_policy") not in self.callers[phone]:
                    raise RuntimeError(f"{IDENTIFY} in a fresh process answered {answer}")
            self.invokes.append((result, wall))


# ------------------------------------------------------------------------------------------------
# report
# ------------------------------------------------------------------------------------------------

def _ops(w: Window, per: int) -> str:
    return ", ".join(f"{op} {c / per:g}" if c % per == 0 else f"{op} {c / per:.2f}"
                     for op, c in sorted(w.calls.items(), key=lambda kv: (-kv[1], kv[0]))) or "none"


def _num(x: float) -> str:
    return f"{x:g}" if float(x).is_integer() else f"{x:.2f}"


def report(out, args, h: Hotline, cold: ColdStart, moto: MotoServer, moto_hwm_kib: int | None,
           started: float) -> None:
    import boto3
    import chalice
    import moto as moto_pkg
    import pynamodb

    p = out.write
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    p(f"hotline benchmark  {when}  Python {platform.python_version()}  N={args.n} (warm-up {args.warmup})\n")
    ct, rt, attempts = h.client_limits
    p(f"  moto {moto_pkg.__version__} server on 127.0.0.1 (separate process), boto3 {boto3.__version__}, "
      f"chalice {chalice.__version__}, pynamodb {pynamodb.__version__}, {os.cpu_count()} CPUs; functions invoked "
      f"in process through chalice.test (stage {STAGE}: clients {ct:g} s connect / {rt:g} s read / "
      f"{attempts} attempts)\n\n")

    # 1. calls
    p("AWS calls per invocation (botocore before-call on every client the app uses: each model's, the claim\n"
      "repository's, SQS and any other client the container holds; 'http' counts HTTP requests, retries included)\n")
    p(f"  {'invocation':<52}{'n':>5}{'calls':>7}{'http':>6}  by operation (per invocation)\n")
    n = args.n
    rows = [
        ("identify, first of a container (no clients yet)", 1, h.cold_calls, "n/a"),
        ("identify, warm (seeded caller)", n, h.identify_calls, None),
        ("report, first of a container (identify ran before)", 1, h.first_report, None),
        ("report, warm (new claim each time)", args.reports, h.report_calls, None),
    ]
    for label, count, w, http in rows:
        http = http or f"{w.http / count:.2f}"
        p(f"  {label:<52}{count:>5}{w.total / count:>7.2f}{http:>6}  {_ops(w, count)}\n")
    ddb_per = sum(c for op, c in h.identify_calls.calls.items() if op in h.dynamodb_ops) / n
    sqs_per = sum(c for op, c in h.identify_calls.calls.items() if op not in h.dynamodb_ops) / n
    p(f"  DynamoDB calls per identify: {_num(ddb_per)}{'' if ddb_per == 1 else '  (target 1)'}; SQS calls per "
      f"identify: {_num(sqs_per)} (the contact entry)\n")
    p(f"  identify invocations with exactly Query 1 + SendMessage 1: {h.identify_exact} of {n}")
    if h.identify_exact != n:
        p(f"; shapes seen: {dict(h.identify_shapes)}")
    p("\n")
    p(f"  report invocations with exactly TransactWriteItems 1 (claim + contact entry) + SendMessage 1 (scoring): "
      f"{h.report_exact} of {args.reports}; report p50 {percentile(sorted(h.report_ms), 50) * 1e3:.2f} ms "
      f"(moto's transactions, no floor)\n")
    p("  (first of a container: counted by the guard on unhooked clients, which has no HTTP count; the first\n"
      "  SQS send of a container looks up the queue's URL because config.json sets no *_QUEUE_URL)\n\n")

    # 2. latency
    prod, flo = sorted(h.times["product"]), sorted(h.times["floor"])
    pp50, pp99, fp50, fp99 = (percentile(prod, 50) * 1e3, percentile(prod, 99) * 1e3,
                              percentile(flo, 50) * 1e3, percentile(flo, 99) * 1e3)
    pcpu, fcpu = statistics.fmean(h.cpu["product"]) * 1e3, statistics.fmean(h.cpu["floor"]) * 1e3
    p(f"Identify time, ms (same moto server; N={n} of each after {args.warmup} warm-up rounds; order alternated\n"
      f"each round; cpu = this process's mean CPU per call, moto's left out)\n")
    p(f"  {'path':<58}{'p50':>7}{'p99':>8}{'mean':>8}{'cpu':>7}\n")
    p(f"  {'product  connect_identify_caller via chalice.test invoke':<58}{pp50:>7.2f}{pp99:>8.2f}"
      f"{statistics.fmean(prod) * 1e3:>8.2f}{pcpu:>7.2f}\n")
    p(f"  {'floor    boto3 query holder-phone-index + send_message':<58}{fp50:>7.2f}{fp99:>8.2f}"
      f"{statistics.fmean(flo) * 1e3:>8.2f}{fcpu:>7.2f}\n")
    p(f"  ratio product / floor: p50 x{pp50 / fp50:.2f}, p99 x{pp99 / fp99:.2f} (p50 {pp50 - fp50:+.2f} ms, "
      f"client cpu {pcpu - fcpu:+.2f} ms)\n")
    p("\n")

    # 3. cold start
    p(f"Cold start (fresh python processes with Lambda's environment for {IDENTIFY}: fake credentials,\n"
      f"region, POWERTOOLS_TRACE_DISABLED=1, LAMBDA_TASK_ROOT, the config.json variables of stage {STAGE}; one\n"
      f"untimed run first, then median of {COLD_RUNS}, app and boto3 interleaved)\n")
    p(f"  {'':<40}{'import ms':>10}{'min':>8}{'max':>8}{'process wall ms':>17}{'peak RSS MiB':>14}\n")

    def line(label: str, runs: list) -> float:
        values = [r["import_ms"] for r, _ in runs]
        med = statistics.median(values)
        wall = statistics.median(w for _, w in runs)
        rss = statistics.median(r["rss_import_kib"] for r, _ in runs) / 1024
        p(f"  {label:<40}{med:>10.1f}{min(values):>8.1f}{max(values):>8.1f}{wall:>17.1f}{rss:>14.1f}\n")
        return med

    app_ms = line("import app (the handler module)", cold.app)
    boto_ms = line("import boto3 (the floor)", cold.boto3)
    p(f"  ratio app / boto3: x{app_ms / boto_ms:.2f} (app - boto3: {app_ms - boto_ms:+.1f} ms)\n")
    k = len(cold.variants["tracing"])
    p(f"  for context, median of {k}:\n")
    line("import app, tracing on (prod: xray)", cold.variants["tracing"])
    line("import app outside Lambda (no TASK_ROOT)", cold.variants["outside"])
    first = statistics.median(r["invoke_ms"][0] for r, _ in cold.invokes)
    second = statistics.median(r["invoke_ms"][1] for r, _ in cold.invokes)
    build = statistics.median(r["build_ms"][0] for r, _ in cold.invokes)
    imp = statistics.median(r["import_ms"] for r, _ in cold.invokes)
    rss = statistics.median(r["rss_invoke_kib"] for r, _ in cold.invokes) / 1024
    imported = cold.invokes[0][0]["first_imports"]
    packages = [m for m in imported if not m.startswith("_") and m not in sys.stdlib_module_names]
    stdlib = [m for m in imported if not m.startswith("_") and m in sys.stdlib_module_names]
    p(f"  import app + first identify against moto, fresh process, tracing off (median of {len(cold.invokes)}):\n"
      f"    import {imp:.1f} ms + first invocation {first:.1f} ms = {imp + first:.1f} ms; second invocation "
      f"{second:.1f} ms; peak RSS {rss:.1f} MiB\n"
      f"    the first invocation builds the container (build_aws {build:.1f} ms: settings, adapters, clients) and "
      f"imports\n    {', '.join(packages)} (and from the standard library {', '.join(stdlib)})\n")
    rows = cold.imports
    total = max(rows)[0] if rows else 0
    p(f"  python -X importtime -c 'import app', same environment, one run ({total / 1e3:.1f} ms; importtime adds "
      f"its own overhead);\n  the 8 slowest cumulative imports (an import is charged to whichever module "
      f"imports it first):\n")
    p(f"    {'cumulative ms':>13}{'self ms':>9}  module (indent = nesting)\n")
    for cumulative, own, depth, name in sorted(rows, reverse=True)[:8]:
        p(f"    {cumulative / 1e3:>13.1f}{own / 1e3:>9.1f}  {'  ' * depth}{name}\n")
    p("  and the 5 with the most self time (their module-level code, not their imports):\n")
    for cumulative, own, _depth, name in sorted(rows, key=lambda r: -r[1])[:5]:
        p(f"    {cumulative / 1e3:>13.1f}{own / 1e3:>9.1f}  {name}\n")
    p("\n")

    # 4. memory
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    p(f"Peak memory (ru_maxrss): benchmark process {own / 1024:.1f} MiB")
    if moto_hwm_kib:
        p(f", moto server {moto_hwm_kib / 1024:.1f} MiB (VmHWM)")
    p(f"\nWall time of the whole run: {time.monotonic() - started:.1f} s\n")
    for note in h.notes:
        p(note + "\n")
    out.flush()


def _moto_peak_kib(moto: MotoServer) -> int | None:
    """moto's own peak RSS; RUSAGE_CHILDREN would also cover the cold-start processes."""
    try:
        with open(f"/proc/{moto.proc.pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, AttributeError, ValueError):
        pass
    return None


# ------------------------------------------------------------------------------------------------
# entry point
# ------------------------------------------------------------------------------------------------

def _args(argv: list[str] | None):
    parser = argparse.ArgumentParser(prog="python -m bench.hotline", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: N=30, fewer reports and fresh processes")
    parser.add_argument("--n", type=int, help="measured identify rounds (default 200; 30 with --quick)")
    parser.add_argument("--warmup", type=int, help="warm-up rounds (default 20; 5 with --quick)")
    parser.add_argument("--reports", type=int, help="new claims reported and counted (default 30; 10 with --quick)")
    args = parser.parse_args(argv)
    args.n = args.n or (30 if args.quick else 200)
    if args.n < 2:
        parser.error("--n must be at least 2")
    args.warmup = args.warmup if args.warmup is not None else (5 if args.quick else 20)
    args.reports = args.reports or (10 if args.quick else 30)
    args.invoke_runs = 3 if args.quick else COLD_RUNS
    return args


def main(argv: list[str] | None = None) -> int:
    args = _args(argv)
    started, moto = begin()
    with report_stream(show_logs=False) as out:
        moto_hwm = None
        try:
            moto.start()
            h = Hotline(args, out)
            h.setup()
            h.cold()
            h.timing()
            h.reports()
            cold = ColdStart(args, moto.url, h.callers)
            cold.run()
            moto_hwm = _moto_peak_kib(moto)
        finally:
            moto.stop()
        report(out, args, h, cold, moto, moto_hwm, started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
