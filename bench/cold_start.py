"""Cold-start benchmark: the import of each Lambda function's entry module and its first invocation, in
fresh processes, against a bare ``import boto3`` measured in the same run.

Run ``python -m bench.cold_start [--quick] [--runs R]``. Lambda imports a function's handler module and
calls the handler: ``app.app`` for the API, and for every function declared in a blueprint, the
blueprint's own module (Chalice's handler string, e.g. ``chalicelib.api.connect``), which never
imports ``app.py``. So, for every function, a fresh ``python`` process with that function's Lambda
environment (bench.hotline's ``lambda_environment``, plus the queue URLs and secrets the deployment
passes) times the import of its entry module, then calls the handler twice with a real event and a
Lambda-like context against a moto server (started here, with events prepared by the app in this
process), and lists the modules the first invocation imported. The floors, in fresh processes too:
``import boto3``, and a bare handler's cold path (import boto3, make a DynamoDB and an SQS client, a
conditional PutItem and a SendMessage). One untimed round warms the ``.pyc`` files and the OS file
cache; then R rounds (default 7), every function once per round, and medians. ``-X importtime`` runs
give the heaviest imports of the entry modules and of each function's first invocation. It prints
figures and never asserts on time; it fails only if a function answers wrongly. See bench/README.md.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime

from bench.harness import REGION, REPO, begin, report_stream
from bench.hotline import flow_event, lambda_environment
from bench.intake import motor_claim, seed_motor_policies
from devkit.ports import free_port

API = "api_handler"
FUNCTIONS = (API, "connect_identify_caller", "connect_report_claim", "score_claims", "dispatch_claims",
             "notify_partners", "record_contacts", "record_attachment", "reconcile_claims")
TARGET = 1.5  # issue 9: the API's and the Connect functions' import within 1.5x a bare import boto3
INVOCATIONS = 2  # per process: the first (cold) and a second (warm)


def progress(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------------------
# the fresh process
# ------------------------------------------------------------------------------------------------

_CHILD = r"""
import json, sys, time, uuid

def peak_kib():  # VmHWM: ru_maxrss would keep the parent's peak across fork and exec
    with open("/proc/self/status") as f:
        return next((int(line.split()[1]) for line in f if line.startswith("VmHWM:")), 0)

class Context:  # what Lambda passes: the handlers read the request id and the time left
    def __init__(self, name, memory_mb, timeout_s):
        self.function_name, self.memory_limit_in_mb = name, memory_mb
        self.aws_request_id = str(uuid.uuid4())
        self.invoked_function_arn = f"arn:aws:lambda:ap-southeast-1:123456789012:function:{name}"
        self.log_group_name, self.log_stream_name = f"/aws/lambda/{name}", "bench"
        self._deadline = time.monotonic() + timeout_s
    def get_remaining_time_in_millis(self):
        return int((self._deadline - time.monotonic()) * 1000)

mode, spec = sys.argv[1], json.loads(sys.argv[2])
out = {}
t0 = time.perf_counter()
if mode == "boto3":
    import boto3
    out["import_ms"] = (time.perf_counter() - t0) * 1e3
elif mode == "floor":
    import boto3
    out["import_ms"] = (time.perf_counter() - t0) * 1e3
    from botocore.config import Config
    out["invoke_ms"], clients = [], []
    for item, message in spec["calls"]:
        t = time.perf_counter()
        if not clients:  # a bare handler makes its clients on first use, as ours does
            config = Config(connect_timeout=2, read_timeout=5, retries={"mode": "standard", "max_attempts": 3})
            clients = [boto3.client("dynamodb", config=config), boto3.client("sqs", config=config)]
        clients[0].put_item(TableName=spec["table"], Item=item, ConditionExpression="attribute_not_exists(claim_id)")
        clients[1].send_message(QueueUrl=spec["queue_url"], MessageBody=message)
        out["invoke_ms"].append((time.perf_counter() - t) * 1e3)
else:
    # The Lambda runtime imports the handler's module, then calls the handler with (event, context).
    __import__(spec["module"])  # the import statement's path, so -X importtime reports the module itself
    module = sys.modules[spec["module"]]
    out["import_ms"] = (time.perf_counter() - t0) * 1e3
    out["rss_import_kib"] = peak_kib()
    handler = getattr(module, spec["handler"])
    before = set(sys.modules)
    print("BENCH-MARK first invocation", file=sys.stderr, flush=True)
    out["invoke_ms"], out["answers"] = [], []
    for event in spec["events"]:
        context = Context(spec["function_name"], spec["memory_mb"], spec["timeout_s"])
        t = time.perf_counter()
        answer = handler(event, context)
        out["invoke_ms"].append((time.perf_counter() - t) * 1e3)
        out["answers"].append({"statusCode": answer.get("statusCode")} if "statusCode" in (answer or {}) else answer)
        if len(out["answers"]) == 1:
            out["first_imports"] = sorted(set(sys.modules) - before)
            print("BENCH-MARK second invocation", file=sys.stderr, flush=True)
out["rss_kib"] = peak_kib()
print("BENCH-RESULT " + json.dumps(out, default=str), flush=True)
"""


def child(mode: str, env: dict[str, str], spec: dict, importtime: bool = False) -> tuple[dict, float, str]:
    args = [sys.executable] + (["-X", "importtime"] if importtime else []) + ["-c", _CHILD, mode, json.dumps(spec)]
    t0 = time.perf_counter()
    done = subprocess.run(args, cwd=REPO, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                          timeout=180)
    wall_ms = (time.perf_counter() - t0) * 1e3
    lines = [line for line in done.stdout.splitlines() if line.startswith("BENCH-RESULT ")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"fresh process ({mode}) exited with {done.returncode}:\n{done.stderr[-3000:]}")
    return json.loads(lines[-1].split(" ", 1)[1]), wall_ms, done.stderr


def parse_importtime(stderr: str) -> dict[str, list[tuple[int, int, int, str]]]:
    """(cumulative us, self us, depth, module) of each import, split at the child's markers: 'import'
    (the entry module), 'first' (the first invocation), 'second'."""
    section, out = "import", {"import": [], "first": [], "second": []}
    for line in stderr.splitlines():
        if line.startswith("BENCH-MARK first"):
            section = "first"
        elif line.startswith("BENCH-MARK second"):
            section = "second"
        elif line.startswith("import time:"):
            try:
                self_us, cumulative, name = line[len("import time:"):].split("|", 2)
                out[section].append((int(cumulative), int(self_us), (len(name) - len(name.lstrip()) - 1) // 2,
                                     name.strip()))
            except ValueError:
                continue  # the header line
    return out


# ------------------------------------------------------------------------------------------------
# events, prepared against moto by the app in this process
# ------------------------------------------------------------------------------------------------

class Events:
    """Two real events per process and function: claims to score, claims to dispatch, notices to
    deliver, contact entries, photos, a schedule tick, API requests, Connect contact flows."""

    def __init__(self, processes: int) -> None:
        self.processes = processes
        self.per_function: dict[str, list[list[dict]]] = {}

    def prepare(self) -> dict[str, str]:
        import boto3
        from chalice.local import LambdaEventConverter, RouteMatcher
        from chalice.test import Client

        from app import app
        from chalicelib import bootstrap
        from chalicelib.adapters.models import PartnerModel, SurveyorModel
        from chalicelib.adapters.resources import (
            ATTACHMENTS_BUCKET,
            CONTACTS_QUEUE,
            DISPATCH_QUEUE,
            NOTIFY_QUEUE,
            SCORING_QUEUE,
            Tables,
        )
        from chalicelib.domain.attachment import object_key
        from chalicelib.domain.ids import new_attachment_id
        from chalicelib.schemas.messages import ContactRecorded
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
        from infra.sqs_events import queue_arn, receive, sqs_event

        n = self.processes * INVOCATIONS
        sqs, s3 = boto3.client("sqs", region_name=REGION), boto3.client("s3", region_name=REGION)
        queues = create_all(sqs, s3, REGION)
        seed()
        self.receiver = PartnerReceiver("127.0.0.1", free_port(), DEMO_CALLBACK_SECRET)
        self.receiver.start()
        PartnerModel("motor-direct").update(actions=[PartnerModel.callback_url.set(self.receiver.url)])
        env = {
            "SCORING_QUEUE_URL": queues[SCORING_QUEUE.name]["url"],
            "DISPATCH_QUEUE_URL": queues[DISPATCH_QUEUE.name]["url"],
            "CONTACTS_QUEUE_URL": queues[CONTACTS_QUEUE.name]["url"],
            "NOTIFY_QUEUE_URL": queues[NOTIFY_QUEUE.name]["url"],
            "NOTIFY_DLQ_URL": queues[NOTIFY_QUEUE.name]["dlq_url"],
            "TWILIO_AUTH_TOKEN": DEMO_TWILIO_AUTH_TOKEN, "IVR_WEBHOOK_SECRETS": f"{DEMO_IVR_VENDOR}:{DEMO_IVR_SECRET}",
            "STATUS_TOKEN_SECRET": DEMO_STATUS_TOKEN_SECRET,
            "PARTNER_CALLBACK_SECRETS": f"motor-direct:{DEMO_CALLBACK_SECRET}",
        }
        os.environ.update(env)
        self.queue_url, self.table = env["SCORING_QUEUE_URL"], Tables.CLAIMS
        bootstrap.reset()
        client = Client(app, project_dir=str(REPO))
        keys = {p.partner_id: p.api_key for p in DEMO_PARTNERS}
        motor_headers = {"x-api-key": keys["motor-direct"], "content-type": "application/json"}
        food_headers = {"x-api-key": keys["eleme"], "content-type": "application/json"}
        policies = seed_motor_policies(3 * n)
        for i in range(max(4, n // 5)):
            SurveyorModel(f"SV-COLD-{i:03d}", name=f"查勘员{i}", region_code="310115", status="AVAILABLE",
                          capacity=20, active_claims=0, lat=31.22, lon=121.54).save()
        now = datetime.now(UTC)
        arn = {name: queue_arn(sqs, queues[name]["url"]) for name in queues}

        def post(body: dict) -> str:
            r = client.http.post("/v1/claims", headers=motor_headers, body=json.dumps(body, ensure_ascii=False))
            if r.status_code != 202:
                raise RuntimeError(f"POST /v1/claims answered {r.status_code}: {r.body[:300]!r}")
            return r.json_body["claim_id"]

        def take(queue: str, count: int) -> list[dict]:
            """One message per event, received (so invisible for the visibility timeout) and kept."""
            events = []
            while len(events) < count:
                messages = receive(sqs, queues[queue]["url"], max_messages=1, wait=1)
                events += [sqs_event(messages, arn[queue])] if messages else []
            return events

        # claims to dispatch (scored here) and their AWAITING_SURVEYOR notices
        dispatched = [post(motor_claim(f"COLD-D-{i}", now, p)) for i, p in enumerate(policies[:n])]
        while messages := receive(sqs, queues[SCORING_QUEUE.name]["url"], max_messages=10):
            client.lambda_.invoke("score_claims", sqs_event(messages, arn[SCORING_QUEUE.name]))
            sqs.delete_message_batch(QueueUrl=queues[SCORING_QUEUE.name]["url"], Entries=[
                {"Id": str(k), "ReceiptHandle": m["ReceiptHandle"]} for k, m in enumerate(messages)])
        dispatch_events = take(DISPATCH_QUEUE.name, n)
        notify_events = take(NOTIFY_QUEUE.name, n)
        # claims to score
        for i, p in enumerate(policies[n:2 * n]):
            post(motor_claim(f"COLD-S-{i}", now, p))
        score_events = take(SCORING_QUEUE.name, n)
        # contact entries
        for i in range(n):
            body = ContactRecorded(phone=f"+86157{i:08d}", at=now, channel="ivr_connect", kind="identified",
                                   contact_id=f"cold-contact-{i}").model_dump_json()
            sqs.send_message(QueueUrl=queues[CONTACTS_QUEUE.name]["url"], MessageBody=body)
        contact_events = take(CONTACTS_QUEUE.name, n)
        # photos of existing claims, as S3 events
        png = _png()
        photo_events = []
        for claim_id in dispatched:
            key = object_key(claim_id, new_attachment_id())
            s3.put_object(Bucket=ATTACHMENTS_BUCKET, Key=key, Body=png, ContentType="image/png")
            photo_events.append(client.events.generate_s3_event(bucket=ATTACHMENTS_BUCKET, key=key))
        tick = client.events.generate_cw_event("aws.events", "Scheduled Event", {}, [], REGION)
        # API Gateway's proxy event, as chalice.local builds it for `chalice local`
        gateway = LambdaEventConverter(RouteMatcher(list(app.routes)))
        api = [gateway.create_lambda_event("POST", "/v1/claims", food_headers, json.dumps(
            _food_claim(f"COLD-API-{i}", now), ensure_ascii=False)) for i in range(n)]
        identify = [flow_event("connect_contact_flow_event.json", "+8613800138000", f"cold-id-{i}") for i in range(n)]
        report = [flow_event("connect_report_claim_event.json", f"+86156{i:08d}", f"cold-rep-{i}") for i in range(n)]
        by_function = {
            API: api, "connect_identify_caller": identify, "connect_report_claim": report,
            "score_claims": score_events, "dispatch_claims": dispatch_events, "notify_partners": notify_events,
            "record_contacts": contact_events, "record_attachment": photo_events, "reconcile_claims": [tick] * n,
        }
        # Each function's entry point as the deployment names it: the API is app.app; a blueprint's
        # function is its own module's (Chalice's handler string), so `app` is never imported there.
        self.entries = {API: ("app", "app")}
        for f in list(app.pure_lambda_functions) + list(app.event_sources):
            self.entries[f.name] = tuple(f.handler_string.rsplit(".", 1))
        self.per_function = {f: [events[k * INVOCATIONS:(k + 1) * INVOCATIONS] for k in range(self.processes)]
                             for f, events in by_function.items()}
        # the floor's items: the claim as intake stores it (a copy of a stored one, new id each time)
        ddb = boto3.client("dynamodb", region_name=REGION)
        stored = ddb.get_item(TableName=Tables.CLAIMS, Key={"claim_id": {"S": dispatched[0]}})["Item"]
        self.floor_calls = [[[{**stored, "claim_id": {"S": f"CLM-FLOOR-{k}-{i}"}}, json.dumps({"claim_id": "x"})]
                             for i in range(INVOCATIONS)] for k in range(self.processes + 1)]
        bootstrap.reset()
        return env

    def stop(self) -> None:
        if getattr(self, "receiver", None):
            self.receiver.stop()


def _food_claim(ref: str, now: datetime) -> dict:
    from bench.intake import food_claim

    return food_claim(ref, now)


def _png() -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (128, 128), (240, 240, 235))
    ImageDraw.Draw(image).rectangle([20, 30, 90, 100], fill=(200, 80, 120))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def check_answer(function: str, answer: dict) -> None:
    ok = {
        API: lambda a: a.get("statusCode") == 202,
        "connect_identify_caller": lambda a: a.get("customer_found") == "true",
        "connect_report_claim": lambda a: a.get("result") == "created",
        "record_attachment": lambda a: a.get("outcome") == "recorded",
        "reconcile_claims": lambda a: "requeued" in a,
    }.get(function, lambda a: a == {"batchItemFailures": []})
    if not ok(answer or {}):
        raise RuntimeError(f"{function} answered {answer} in a fresh process")


# ------------------------------------------------------------------------------------------------
# the benchmark
# ------------------------------------------------------------------------------------------------

class ColdStart:
    def __init__(self, args, moto_url: str) -> None:
        self.args = args
        self.moto_url = moto_url
        self.results: dict[str, list[tuple[dict, float]]] = {f: [] for f in FUNCTIONS + ("boto3", "floor")}
        self.importtimes: dict[str, dict] = {}

    def env(self, function: str, extra: dict[str, str]) -> dict[str, str]:
        return {**lambda_environment(function), **extra, "AWS_ENDPOINT_URL": self.moto_url}

    def spec(self, function: str, events: list[dict]) -> dict:
        config = json.loads((REPO / ".chalice" / "config.json").read_text(encoding="utf-8"))
        stage = config["stages"]["prod"]
        own = stage.get("lambda_functions", {}).get(function, {})
        module, handler = self.entries[function]
        return {"module": module, "handler": handler, "function_name": f"{config['app_name']}-prod-{function}",
                "memory_mb": own.get("lambda_memory_size", stage.get("lambda_memory_size", 128)),
                "timeout_s": own.get("lambda_timeout", stage.get("lambda_timeout", 60)), "events": events}

    def run(self, events: Events, extra: dict[str, str]) -> None:
        runs = self.args.runs
        self.entries = events.entries
        progress(f"cold start: {len(FUNCTIONS)} functions and 2 floors, 1 untimed round + {runs} rounds of fresh "
                 f"processes, then -X importtime")
        floor_env = self.env(API, extra)
        for r in range(runs + 1):  # round 0 is the untimed warm-up
            progress(f"  round {r}/{runs}")
            self._record(r, "boto3", *child("boto3", floor_env, {})[:2])
            floor_spec = {"table": events.table, "queue_url": events.queue_url, "calls": events.floor_calls[r]}
            self._record(r, "floor", *child("floor", floor_env, floor_spec)[:2])
            for function in FUNCTIONS:
                # round 0 uses the set of events after the timed rounds' sets
                batch = events.per_function[function][r - 1 if r else runs]
                result, wall, _ = child("function", self.env(function, extra), self.spec(function, batch))
                for answer in result["answers"]:
                    check_answer(function, answer)
                self._record(r, function, result, wall)
        # importtime: one more process per function, with events of its own
        for function in FUNCTIONS:
            batch = events.per_function[function][runs + 1]
            _, _, stderr = child("function", self.env(function, extra), self.spec(function, batch), importtime=True)
            self.importtimes[function] = parse_importtime(stderr)

    def _record(self, r: int, name: str, result: dict, wall: float) -> None:
        if r:
            self.results[name].append((result, wall))


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def report(out, args, cold: ColdStart, started: float) -> None:
    import boto3
    import chalice
    import pydantic

    p = out.write
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    p(f"cold-start benchmark  {when}  Python {platform.python_version()}  median of {args.runs} fresh processes "
      f"each\n  boto3 {boto3.__version__}, chalice {chalice.__version__}, pydantic {pydantic.__version__}, "
      f"{os.cpu_count()} CPUs; each function with its Lambda environment (stage prod, tracing off,\n"
      f"  LAMBDA_TASK_ROOT set), the queue URLs and secrets the deployment passes, AWS_ENDPOINT_URL = moto\n\n")
    boto_ms = _median([r["import_ms"] for r, _ in cold.results["boto3"]])
    floor = cold.results["floor"]
    floor_import = _median([r["import_ms"] for r, _ in floor])
    floor_first = _median([r["import_ms"] + r["invoke_ms"][0] for r, _ in floor])
    floor_second = _median([r["invoke_ms"][1] for r, _ in floor])
    p("Floors (fresh processes, same run)\n")
    p(f"  import boto3                                                {boto_ms:8.1f} ms\n")
    p(f"  bare handler: import boto3 {floor_import:.1f} ms + clients + PutItem + SendMessage = "
      f"{floor_first:.1f} ms to the first answer; second answer {floor_second:.1f} ms\n\n")

    p("Per function: its entry module's import, then the first and second invocations (ms, medians).\n"
      "'x boto3' = import / import boto3; 'to 1st' = import + first invocation, 'x floor' its ratio to the bare\n"
      "handler's. The entry module is the deployment's handler (Chalice's handler string): app.app for the API;\n"
      "a blueprint's own module for every other function, which never imports app.py (aws/chalice#1566).\n")
    p(f"  {'function':<24}{'entry module':<32}{'import':>7}{'x boto3':>8}{'1st inv':>8}{'2nd inv':>8}"
      f"{'to 1st':>8}{'x floor':>8}{'RSS MiB':>8}\n")
    first_imports = {}
    for function in FUNCTIONS:
        runs = cold.results[function]
        imp = _median([r["import_ms"] for r, _ in runs])
        first = _median([r["invoke_ms"][0] for r, _ in runs])
        second = _median([r["invoke_ms"][1] for r, _ in runs])
        to_first = _median([r["import_ms"] + r["invoke_ms"][0] for r, _ in runs])
        rss = _median([r["rss_kib"] for r, _ in runs]) / 1024
        modules = runs[-1][0]["first_imports"]
        top = sorted({m.split(".")[0] for m in modules if not m.startswith("_")})
        first_imports[function] = (len(modules), [m for m in top if m not in sys.stdlib_module_names])
        mark = "" if function not in (API, "connect_identify_caller", "connect_report_claim") else \
            ("  <= aim" if imp / boto_ms <= TARGET else "  > aim")
        p(f"  {function:<24}{cold.entries[function][0]:<32}{imp:>7.1f}{imp / boto_ms:>8.2f}{first:>8.1f}{second:>8.1f}"
          f"{to_first:>8.1f}{to_first / floor_first:>8.2f}{rss:>8.1f}{mark}\n")
    p(f"  aim (issue 9): the API's and the Connect functions' import within x{TARGET} of import boto3\n")
    p("  modules imported by the first invocation (count, third-party packages):\n")
    for function, (count, packages) in first_imports.items():
        p(f"    {function:<24}{count:>4}  {', '.join(packages) or '-'}\n")
    p("\n")

    for function, label in ((API, "import app (the API handler)"),
                            ("connect_identify_caller", "import chalicelib.api.connect (the Connect functions)"),
                            ("score_claims", "import chalicelib.consumers.pipeline (scoring, dispatch, reconcile)")):
        rows = cold.importtimes[function]["import"]
        total = max(rows)[0] if rows else 0
        p(f"python -X importtime, {label}, one run ({total / 1e3:.1f} ms with importtime's own overhead).\n"
          f"The 15 largest cumulative imports (an import is charged to the module that imports it first; indent ="
          f" depth):\n")
        p(f"  {'cumulative ms':>13}{'self ms':>9}  module\n")
        for cumulative, own, depth, name in sorted(rows, reverse=True)[:15]:
            p(f"  {cumulative / 1e3:>13.1f}{own / 1e3:>9.1f}  {'  ' * depth}{name}\n")
        if function == API:
            p("and the 10 with the most self time (module-level code):\n")
            for cumulative, own, _, name in sorted(rows, key=lambda r: -r[1])[:10]:
                p(f"  {cumulative / 1e3:>13.1f}{own / 1e3:>9.1f}  {name}\n")
        p("\n")
    p("The heaviest imports of each function's first invocation (top-level entries of -X importtime after the\n"
      "entry module's import, cumulative ms; one run):\n")
    for function in FUNCTIONS:
        first = cold.importtimes[function]["first"]
        if not first:
            p(f"  {function:<26} none\n")
            continue
        depth0 = min(d for _, _, d, _ in first)
        tops = sorted([r for r in first if r[2] == depth0], reverse=True)
        total = sum(c for c, _, _, _ in tops)
        p(f"  {function:<26}{total / 1e3:>7.1f} ms: "
          + ", ".join(f"{name} {c / 1e3:.1f}" for c, _, _, name in tops[:6]) + "\n")
    p(f"\nWall time of the whole run: {time.monotonic() - started:.1f} s\n")
    out.flush()


def _args(argv: list[str] | None):
    parser = argparse.ArgumentParser(prog="python -m bench.cold_start", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: 3 rounds")
    parser.add_argument("--runs", type=int, help="timed rounds of fresh processes (default 7; 3 with --quick)")
    args = parser.parse_args(argv)
    args.runs = args.runs or (3 if args.quick else 7)
    return args


def main(argv: list[str] | None = None) -> int:
    args = _args(argv)
    started, moto = begin()
    with report_stream(show_logs=False) as out:
        events = Events(args.runs + 2)  # the timed rounds, the untimed one, the importtime run
        try:
            moto.start()
            progress("preparing events against moto")
            extra = events.prepare()
            cold = ColdStart(args, moto.url)
            cold.run(events, extra)
        finally:
            events.stop()
            moto.stop()
        report(out, args, cold, started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
