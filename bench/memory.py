"""Memory benchmark: the peak memory of a process that serves partner claims, against a bare boto3
process making the floor's calls, and what that leaves of a 128 MB Lambda.

Run ``python -m bench.memory [--quick] [--claims N]``. It starts its own moto server (bench.intake's
helpers: moto's memory is its own process's, not counted), creates the tables and queues and seeds the
demo data. Then, each in a fresh ``python`` process with the API function's Lambda environment:

- *product*: ``import app``, then N partner claims (``POST /v1/claims``, a new claim each) handed to
  the API handler ``app.app(event, context)`` as Lambda would, with API Gateway's proxy event;
- *floor*: ``import boto3``, a DynamoDB and an SQS client, then N times a conditional PutItem of the
  same claim item and a SendMessage;
- *interpreter*: ``python -c pass``, what the interpreter itself holds.

Each runs twice (the second with at most 200 claims): once for the resident set (the RSS at
checkpoints and the peak, ``VmHWM``: the process's ``ru_maxrss`` would still hold this benchmark's own
peak, inherited across fork and exec), once under ``tracemalloc`` (which slows the run and grows the
RSS itself) for the peak of Python's own allocations. It prints figures and never asserts on them; it
fails only when a claim is not accepted.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime

from bench.harness import REGION, REPO, begin, report_stream
from bench.hotline import lambda_environment

LAMBDA_MB = 128
MIB = 1024 * 1024
TRACED_CLAIMS = 200  # tracemalloc slows every allocation; Python's own peak is reached within the first claims

_CHILD = r"""
import json, resource, sys, time, uuid

mode, spec = sys.argv[1], json.loads(sys.argv[2])
if spec["tracemalloc"]:
    import tracemalloc
    tracemalloc.start()

def status_kib(field):
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(field + ":"))

def rss_kib():
    return status_kib("VmRSS")

out = {"checkpoints": []}
def checkpoint(label):
    out["checkpoints"].append((label, rss_kib()))

class Context:
    def __init__(self):
        self.function_name, self.memory_limit_in_mb = "claims-intake-prod", 128
        self.aws_request_id = str(uuid.uuid4())
        self.invoked_function_arn = "arn:aws:lambda:ap-southeast-1:123456789012:function:claims-intake-prod"
    def get_remaining_time_in_millis(self):
        return 10000

def event(i):
    body = dict(spec["claim"], external_ref=f"{spec['prefix']}-{i:06d}")
    return {"resource": "/v1/claims", "path": "/v1/claims", "httpMethod": "POST",
            "headers": {"x-api-key": spec["api_key"], "content-type": "application/json"},
            "multiValueQueryStringParameters": None, "pathParameters": None, "stageVariables": None,
            "requestContext": {"resourcePath": "/v1/claims", "httpMethod": "POST", "path": "/api/v1/claims",
                               "stage": "api", "requestId": str(uuid.uuid4()), "identity": {"sourceIp": "203.0.113.7"}},
            "body": json.dumps(body, ensure_ascii=False), "isBase64Encoded": False}

n = spec["claims"]
marks = {0, max(1, n // 10) - 1, n // 2 - 1, n - 1}
checkpoint("start")
t0 = time.perf_counter()
if mode == "interpreter":
    pass
elif mode == "floor":
    import boto3
    from botocore.config import Config
    checkpoint("import")
    config = Config(connect_timeout=2, read_timeout=5, retries={"mode": "standard", "max_attempts": 3})
    ddb, sqs = boto3.client("dynamodb", config=config), boto3.client("sqs", config=config)
    for i in range(n):
        item = dict(spec["item"], claim_id={"S": f"CLM-MEM-{spec['prefix']}-{i:06d}"})
        ddb.put_item(TableName=spec["table"], Item=item, ConditionExpression="attribute_not_exists(claim_id)")
        sqs.send_message(QueueUrl=spec["queue_url"], MessageBody=json.dumps({"claim_id": item["claim_id"]["S"]}))
        if i in marks:
            checkpoint(f"after {i + 1}")
else:
    import app
    checkpoint("import")
    out["retried_503"] = 0
    for i in range(n):
        for attempt in range(10):  # a 503 (moto slow or unreachable on a loaded machine) is retried, as a partner would
            answer = app.app(event(i), Context())
            if answer.get("statusCode") != 503:
                break
            out["retried_503"] += 1
            time.sleep(1 + attempt)
        if answer.get("statusCode") != 202:
            raise SystemExit(f"claim {i} answered {answer.get('statusCode')}: {str(answer.get('body'))[:300]}")
        if i in marks:
            checkpoint(f"after {i + 1}")
out["seconds"] = time.perf_counter() - t0
out["maxrss_kib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # inherited across fork + exec
out["hwm_kib"] = status_kib("VmHWM")  # this process image's own peak
if spec["tracemalloc"]:
    out["traced_current"], out["traced_peak"] = tracemalloc.get_traced_memory()
    by_package = {}
    for stat in tracemalloc.take_snapshot().statistics("filename"):
        name = stat.traceback[0].filename
        if "site-packages/" in name:
            name = name.split("site-packages/", 1)[1].split("/", 1)[0].removesuffix(".py")
        elif "/chalicelib/" in name or name.endswith("/app.py"):
            name = "chalicelib (ours)"
        elif "/lib/python3" in name:
            name = "stdlib " + name.split("/lib/python3", 1)[1].split("/", 1)[1]
        by_package[name] = by_package.get(name, 0) + stat.size
    out["by_package"] = sorted(by_package.items(), key=lambda kv: -kv[1])[:8]
sys.stdout.flush()
print("BENCH-RESULT " + json.dumps(out), flush=True)
"""


def progress(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def child(mode: str, env: dict[str, str], spec: dict) -> dict:
    done = subprocess.run([sys.executable, "-c", _CHILD, mode, json.dumps(spec, ensure_ascii=False)], cwd=REPO,
                          env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=3600)
    lines = [line for line in done.stdout.splitlines() if line.startswith("BENCH-RESULT ")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"{mode} process exited with {done.returncode}:\n{done.stderr[-3000:]}")
    return json.loads(lines[-1].split(" ", 1)[1])


def prepare(moto_url: str) -> tuple[dict[str, str], dict]:
    """Tables, queues and demo data on the moto server; the environment and inputs of the processes."""
    import boto3

    from bench.intake import food_claim
    from chalicelib.adapters.claims import claim_to_model
    from chalicelib.adapters.resources import SCORING_QUEUE, Tables
    from chalicelib.domain import claim as claim_domain
    from chalicelib.domain.claim import Channel
    from chalicelib.domain.ids import new_claim_id
    from chalicelib.schemas.claims import parse_claim
    from infra.provision import create_all
    from infra.seed import DEMO_PARTNERS, seed

    queues = create_all(boto3.client("sqs", region_name=REGION))
    seed()
    now = datetime.now(UTC)
    claim = food_claim("MEM", now)
    submission = parse_claim(json.dumps(claim, ensure_ascii=False).encode(), Channel.PARTNER_API)
    stored, _ = claim_domain.received(new_claim_id(), "eleme", submission, idempotency_key="eleme#MEM",
                                      correlation_id="corr-mem", actor="partner_api:eleme", at=now)
    env = {**lambda_environment("api_handler"), "AWS_ENDPOINT_URL": moto_url,
           "SCORING_QUEUE_URL": queues[SCORING_QUEUE.name]["url"]}
    spec = {"claim": claim, "api_key": {p.partner_id: p.api_key for p in DEMO_PARTNERS}["eleme"],
            "table": Tables.CLAIMS, "queue_url": queues[SCORING_QUEUE.name]["url"],
            "item": claim_to_model(stored).serialize()}
    return env, spec


def report(out, args, results: dict[str, dict], started: float) -> None:
    p = out.write
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    n = args.claims
    p(f"memory benchmark  {when}  Python {platform.python_version()}  {n} partner claims per process, "
      f"{os.cpu_count()} CPUs\n  fresh processes with the API function's Lambda environment (tracing off); "
      f"the moto server is another process\n\n")
    p("Resident set (MiB): at start, after the import, after the 1st, 10%, 50% and last claim, and the peak\n"
      "(VmHWM: getrusage's ru_maxrss would report this benchmark's own peak, inherited across fork and exec)\n")
    p(f"  {'process':<44}" + "".join(f"{label:>9}" for label in ("start", "import", "1st", "10%", "50%", "last"))
      + f"{'peak':>9}{'s':>7}\n")
    labels = {"interpreter": "interpreter (python -c pass)", "floor": "floor: boto3 put_item + send_message",
              "product": "product: import app, app.app(event, context)"}
    for mode in ("interpreter", "floor", "product"):
        r = results[mode]
        points = [kib / 1024 for _, kib in r["checkpoints"]]
        p(f"  {labels[mode]:<44}" + "".join(f"{v:>9.1f}" for v in points) + " " * 9 * (6 - len(points))
          + f"{r['hwm_kib'] / 1024:>9.1f}{r['seconds']:>7.1f}\n")
    prod, floor, bare = (results[m]["hwm_kib"] / 1024 for m in ("product", "floor", "interpreter"))
    p(f"  product / floor peak: x{prod / floor:.2f} ({prod - floor:+.1f} MiB); product above the bare "
      f"interpreter: {prod - bare:.1f} MiB\n")
    growth = (results["product"]["checkpoints"][-1][1] - results["product"]["checkpoints"][2][1]) / 1024
    retried = results["product"].get("retried_503", 0) + results["product_traced"].get("retried_503", 0)
    if retried:
        p(f"  (requests answered 503 'storage busy' and sent again, as a partner would: {retried})\n")
    p(f"  product RSS growth from the 1st to the last claim: {growth:+.1f} MiB over {n - 1} claims\n\n")

    p(f"tracemalloc (a second run of each with {min(n, TRACED_CLAIMS)} claims, Python allocations only; MiB)\n")
    for mode in ("floor", "product"):
        r = results[f"{mode}_traced"]
        p(f"  {labels[mode]:<44} peak {r['traced_peak'] / MIB:7.1f}   at the end {r['traced_current'] / MIB:7.1f}"
          f"   (RSS peak under tracemalloc {r['hwm_kib'] / 1024:.1f})\n")
        p("    live at the end, by package: " + ", ".join(f"{name} {size / MIB:.1f}" for name, size in r["by_package"])
          + "\n")
    p("\n")
    p(f"A {LAMBDA_MB} MB Lambda: the limit covers the whole sandbox process (Python runtime client included).\n")
    p(f"  this process's peak: {prod:.1f} MiB = {prod * MIB / 1e6:.1f} MB -> {LAMBDA_MB - prod * MIB / 1e6:.1f} MB "
      f"left of {LAMBDA_MB} MB before the runtime's own share\n"
      f"  (the bare interpreter here holds {bare:.1f} MiB; Lambda's runtime interface client and bootstrap add "
      f"to that,\n  so read the margin as an upper bound and check 'Max Memory Used' in the REPORT lines once "
      f"deployed)\n")
    p(f"\nWall time of the whole run: {time.monotonic() - started:.1f} s\n")
    out.flush()


def _args(argv: list[str] | None):
    parser = argparse.ArgumentParser(prog="python -m bench.memory", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: 100 claims")
    parser.add_argument("--claims", type=int, help="claims per process (default 1000; 100 with --quick)")
    args = parser.parse_args(argv)
    args.claims = args.claims or (100 if args.quick else 1000)
    if args.claims < 10:
        parser.error("--claims must be at least 10")
    return args


def main(argv: list[str] | None = None) -> int:
    args = _args(argv)
    started, moto = begin()
    with report_stream(show_logs=False) as out:
        results: dict[str, dict] = {}
        try:
            moto.start()
            env, spec = prepare(moto.url)
            spec["claims"] = args.claims
            for mode in ("interpreter", "floor", "product"):
                for traced in (False, True):
                    if mode == "interpreter" and traced:
                        continue
                    claims = min(args.claims, TRACED_CLAIMS) if traced else args.claims
                    progress(f"{mode}{' under tracemalloc' if traced else ''}: {claims} claims")
                    run = dict(spec, tracemalloc=traced, prefix=f"{mode[:1]}{int(traced)}", claims=claims)
                    results[f"{mode}_traced" if traced else mode] = child(mode, env, run)
        finally:
            moto.stop()
        report(out, args, results, started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
