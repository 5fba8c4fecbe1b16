"""The local stack behind ``make run``: the whole product on one machine, no AWS account needed.

One process serves the API with Chalice's dev server, polls each SQS queue and hands the received
messages to the app's consumers as Lambda's SQS event source would, and runs the reconciler
on a timer. Every AWS call goes to a moto server started as a subprocess on 127.0.0.1.

    python -m infra.local_stack        # MOTO_PORT (5000), API_PORT (8000), RECONCILE_INTERVAL_SECONDS (60)

Optional: CONSUMER_THREADS (1) pollers per queue, as Lambda runs several batches of a queue at once;
LAMBDA_PORT (unset: off) serves Lambda's Invoke API for the functions Amazon Connect invokes.

Ctrl-C or SIGTERM stops everything and exits 0.
"""
from __future__ import annotations

import json
import logging
import os
import re
import shlex
import signal
import socket
import sys
import tempfile
import threading
import uuid
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import boto3
from chalice import Chalice
from chalice.cli.factory import CLIFactory
from chalice.config import Config
from chalice.local import (
    ChaliceRequestHandler,
    ForbiddenError,
    LambdaContext,
    LocalDevServer,
    LocalGatewayException,
    NotAuthorizedError,
    create_local_server,
)
from pydantic import ValidationError

from chalicelib.adapters.models import PartnerModel
from chalicelib.adapters.resources import (
    CONTACTS_QUEUE,
    DISPATCH_QUEUE,
    LOCAL_ATTACHMENT_EVENTS_QUEUE,
    NOTIFY_QUEUE,
    SCORING_QUEUE,
    QueueSpec,
)
from chalicelib.domain.errors import Unauthenticated
from chalicelib.observability import MASK, redact
from chalicelib.services.auth import AgentAuthenticator, hash_api_key
from chalicelib.settings import Settings, describe_invalid, get_settings
from devkit.moto import MotoServer, MotoServerError
from infra.gateway_errors import GATEWAY_ERRORS
from infra.partner_receiver import PartnerReceiver
from infra.provision import create_all, notify_queue_of_uploads
from infra.seed import (
    DEMO_AGENT_ID,
    DEMO_AGENT_TOKEN,
    DEMO_CALLBACK_SECRET,
    DEMO_FORM_PHONE,
    DEMO_FORM_POLICY,
    DEMO_IVR_SECRET,
    DEMO_IVR_VENDOR,
    DEMO_PARTNERS,
    DEMO_STATUS_TOKEN_SECRET,
    DEMO_SUPERVISOR_ID,
    DEMO_SUPERVISOR_TOKEN,
    DEMO_SURVEYOR_TOKENS,
    DEMO_TWILIO_AUTH_TOKEN,
    seed,
)
from infra.sqs_events import queue_arn, receive, sqs_event

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
STAGE = "dev"
DEFAULT_REGION = "ap-southeast-1"
READY_LINE = "LOCAL STACK READY"
MOTO_START_SECONDS = 30
POLL_WAIT_SECONDS = 1  # long poll: short enough that a stop request is honoured within a second or two
STOP_JOIN_SECONDS = 10
DEMO_PARTNER_FOR_CURL = "motor-direct"
# The demo claims' loss: yesterday, so they are never reported late whenever the stack runs.
YESTERDAY_NOON_SHANGHAI = (datetime.now(timezone(timedelta(hours=8))) - timedelta(days=1)).replace(
    hour=12, minute=30, second=0, microsecond=0).isoformat()
DEMO_CLAIM = {
    "external_ref": "DEMO-0001",
    "policy": {"number": "PM2026000789"},
    "claimant": {"name": "王五", "phone": "+8613700137000"},
    "loss": {"type": "motor_collision", "occurred_at": YESTERDAY_NOON_SHANGHAI,
             "description": "rear-ended at a junction", "location": {"region_code": "310115"}},
    "amount": {"value": "3500.00", "currency": "CNY"},
    "vehicle": {"plate": "沪A12345"},
}
CLAIM_ID_OF_ANSWER = r"""sed -n 's/.*"claim_id": *"\([^"]*\)".*/\1/p'"""
# The consumers each own one queue, as their @on_sqs_message decorators say.
CONSUMERS = ((SCORING_QUEUE, "score_claims"), (DISPATCH_QUEUE, "dispatch_claims"),
             (CONTACTS_QUEUE, "record_contacts"), (NOTIFY_QUEUE, "notify_partners"))
DEMO_CALLBACK_PARTNER = "motor-direct"  # its status changes are posted to the local partner receiver
RECONCILER = "reconcile_claims"
# Functions an AWS service invokes directly, neither over HTTP nor from a queue: Amazon Connect's.
DIRECT_FUNCTIONS = ("connect_identify_caller", "connect_report_claim")
INVOKE_PATH = re.compile(r"^/2015-03-31/functions/([A-Za-z0-9_-]{1,64})/invocations$")
MAX_INVOKE_BYTES = 256 * 1024  # Lambda's limit for an event invoked asynchronously; plenty for Connect's
ATTACHMENT_HANDLER = "record_attachment"

log = logging.getLogger("local-stack")


class StartupError(Exception):
    """The stack cannot start; the message says why and what to do."""


def free_port_from_env(variable: str, default: int) -> int:
    port = whole_number_from_env(variable, default, 0, 65535)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # SO_REUSEADDR: a port left in TIME_WAIT by the previous run is free for a new listener.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError:
            raise StartupError(f"{HOST}:{port} is in use; stop what holds it or set {variable} "
                               f"to a free port") from None
    return port


# -- environment ---------------------------------------------------------------------------------

def point_at_moto(endpoint: str) -> str:
    """Fake credentials, a region and moto's endpoint for this process; returns the region.

    Runs before any AWS client exists, so boto3 and PynamoDB can only ever talk to moto.
    """
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    os.environ.pop("AWS_PROFILE", None)  # a profile could carry credentials or endpoints of a real account
    for var in [v for v in os.environ if v.startswith("AWS_ENDPOINT_URL_")]:
        del os.environ[var]  # service-specific endpoints would win over AWS_ENDPOINT_URL
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION
    os.environ["AWS_REGION"] = os.environ["AWS_DEFAULT_REGION"] = region
    # Local traffic must never go through a proxy (botocore and urllib honour HTTP(S)_PROXY).
    for var in ("NO_PROXY", "no_proxy"):
        os.environ[var] = ",".join(filter(None, [os.environ.get(var), HOST, "localhost"]))
    return region


def demo_environment() -> dict[str, str]:
    """The demo secrets and credentials the stack runs with unless the shell sets its own. Demo values
    only: a deployed stage gets its own from its secret store, never these."""
    return {
        "CUSTOMER_ID_KEY": "local-stack-demo-customer-id-key",
        "TWILIO_AUTH_TOKEN": DEMO_TWILIO_AUTH_TOKEN,
        "IVR_WEBHOOK_SECRETS": f"{DEMO_IVR_VENDOR}:{DEMO_IVR_SECRET}",
        "AGENT_TOKENS": f"{DEMO_AGENT_ID}:{hash_api_key(DEMO_AGENT_TOKEN)},"
                        f"{DEMO_SUPERVISOR_ID}:{hash_api_key(DEMO_SUPERVISOR_TOKEN)}:supervisor",
        "STATUS_TOKEN_SECRET": DEMO_STATUS_TOKEN_SECRET,
        "PARTNER_CALLBACK_SECRETS": f"{DEMO_CALLBACK_PARTNER}:{DEMO_CALLBACK_SECRET}",
        "SURVEYOR_TOKENS": ",".join(f"{surveyor}:{hash_api_key(token)}"
                                    for surveyor, token in DEMO_SURVEYOR_TOKENS.items()),
    }


def use_stage_environment(config: Config) -> None:
    """The stage's environment variables from .chalice/config.json, as ``chalice local`` applies them,
    and the demo ones; a variable already set in the shell wins."""
    for name, value in config.environment_variables.items():
        os.environ.setdefault(name, value)
    os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "1")  # no X-Ray daemon on a laptop
    for name, value in demo_environment().items():
        os.environ.setdefault(name, value)


def check_settings() -> None:
    """Refuses to start, in one line, on a setting the app could not use (rather than a traceback from
    the first code that reads the settings). Not cached: the queue URLs are set once moto is up."""
    try:
        Settings()
    except ValidationError as invalid:
        raise StartupError(describe_invalid(invalid)) from None


def whole_number_from_env(variable: str, default: int, least: int = 0, most: int | None = None) -> int:
    """One of the stack's own settings (ports, intervals, threads): a malformed one stops the start in one line."""
    raw = os.environ.get(variable, "").strip() or str(default)
    value = int(raw) if raw.isdigit() else None
    wrong = ("not a whole number" if value is None else f"below {least}" if value < least
             else f"above {most}" if most is not None and value > most else None)
    if value is None or wrong:
        shape = f"from {least} to {most}" if most is not None else f"at least {least}"
        raise StartupError(f"invalid setting {variable}: {wrong}; expected a whole number {shape} (default {default})")
    return value


# -- moto ----------------------------------------------------------------------------------------

def start_moto(port: int, log_path: Path, stop: threading.Event) -> MotoServer:
    """moto's server as a subprocess, once it answers (see infra/moto_server.py: one request at a time,
    as moto is not thread-safe). Its request log goes to ``log_path``."""
    moto = MotoServer(port, host=HOST, log_path=log_path)
    try:
        moto.start(MOTO_START_SECONDS, stop)
    except MotoServerError as error:
        raise StartupError(str(error)) from None
    return moto


# -- invoking functions as Lambda would ----------------------------------------------------------

def invoke(app: Chalice, config: Config, function_name: str, event: dict) -> Any:
    """``handler(event, context)`` of one of the app's Lambda functions, with that function's stage
    settings (see chalice.test's ``TestLambdaClient.invoke``)."""
    scoped = config.scope(config.chalice_stage, function_name)
    context = LambdaContext(function_name, memory_size=scoped.lambda_memory_size,
                            max_runtime_ms=scoped.lambda_timeout * 1000)
    return app.handler_map[function_name](event, context)


def failed_message_ids(response: Any, batch: set[str]) -> set[str]:
    """The messages Lambda leaves on the queue after a ReportBatchItemFailures response.

    No response or no failures listed: all succeeded. A response that is not an object, or a failure
    whose identifier is empty or not in the batch: the whole batch failed.
    """
    if not response:
        return set()
    if not isinstance(response, dict):
        return set(batch)
    failures = response.get("batchItemFailures")
    if not failures:
        return set()
    if not isinstance(failures, list):
        return set(batch)
    failed: set[str] = set()
    for failure in failures:
        message_id = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if not message_id or message_id not in batch:
            return set(batch)
        failed.add(message_id)
    return failed


class QueuePoller(threading.Thread):
    """Lambda's SQS event source for one queue: receive a batch, invoke the consumer, delete what it
    did not report as failed. A consumer that raises leaves the whole batch for redelivery."""

    def __init__(self, sqs: Any, spec: QueueSpec, url: str, handle: Callable[[dict], Any],
                 stop: threading.Event):
        super().__init__(name=f"poll-{spec.name}", daemon=True)
        self._sqs = sqs
        self._spec = spec
        self._url = url
        self._handle = handle
        self._stopping = stop
        self._arn = queue_arn(sqs, url)

    def run(self) -> None:
        while not self._stopping.is_set():
            try:
                messages = receive(self._sqs, self._url, self._spec.batch_size, POLL_WAIT_SECONDS)
                if messages:
                    self._deliver(messages)
            except Exception:
                # Ctrl-C reaches moto too (same process group), so it may go away just before the
                # stop request arrives here: give that a moment before calling this a failure.
                if self._stopping.wait(1):
                    return
                log.exception("%s: polling failed; retrying", self._spec.name)

    def _deliver(self, messages: list[dict]) -> None:
        batch = {m["MessageId"] for m in messages}
        try:
            response = self._handle(sqs_event(messages, self._arn))
        except Exception:
            log.exception("%s: consumer raised; %d message(s) stay on the queue", self._spec.name, len(batch))
            return
        failed = failed_message_ids(response, batch)
        done = [m for m in messages if m["MessageId"] not in failed]
        if done:
            entries = [{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(done)]
            result = self._sqs.delete_message_batch(QueueUrl=self._url, Entries=entries)
            for problem in result.get("Failed", []):
                log.warning("%s: delete failed: %s", self._spec.name, problem.get("Message"))
        log.info("%s: %d message(s) delivered, %d done, %d left for redelivery",
                 self._spec.name, len(messages), len(done), len(failed))


class LambdaInvokeServer:
    """Lambda's Invoke API for DIRECT_FUNCTIONS (opt-in, LAMBDA_PORT): ``POST
    /2015-03-31/functions/<name>/invocations`` with the event as its body answers the function's result,
    as Lambda answers a contact flow, so the Connect functions can be driven over HTTP like every other
    channel (boto3's ``lambda`` client pointed here works too). A function that raises answers 200 with
    ``X-Amz-Function-Error: Unhandled``, as Lambda does."""

    def __init__(self, host: str, port: int, call: Callable[[str, dict], Any]):
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as SDK clients use it

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                if length > MAX_INVOKE_BYTES:
                    self.close_connection = True  # the unread body would garble the next request
                    return self._answer(413, {"Type": "User", "Message": "Request must be smaller than "
                                              f"{MAX_INVOKE_BYTES} bytes"},
                                        {"X-Amzn-ErrorType": "RequestTooLargeException"})
                body = self.rfile.read(length)
                match = INVOKE_PATH.match(self.path.split("?", 1)[0])
                if not match or match.group(1) not in DIRECT_FUNCTIONS:
                    return self._answer(404, {"Type": "User", "Message": "Function not found"},
                                        {"X-Amzn-ErrorType": "ResourceNotFoundException"})
                try:
                    event = json.loads(body)
                except ValueError:
                    return self._answer(400, {"Type": "User", "Message": "Could not parse request body into json"},
                                        {"X-Amzn-ErrorType": "InvalidRequestContentException"})
                try:
                    result = call(match.group(1), event)
                except Exception as error:
                    log.exception("%s raised", match.group(1))
                    return self._answer(200, {"errorType": type(error).__name__, "errorMessage": "unhandled"},
                                        {"X-Amz-Function-Error": "Unhandled"})
                self._answer(200, result)

            def _answer(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                for name, value in {"Content-Type": "application/json", "Content-Length": str(len(data)),
                                    "X-Amz-Executed-Version": "$LATEST", **(headers or {})}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):  # the functions log for themselves
                return

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self.url = f"http://{host}:{port}"

    def start(self) -> None:
        threading.Thread(target=self.server.serve_forever, name="lambda-invoke", daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class GatewayRequestHandler(ChaliceRequestHandler):
    """Chalice's dev server, answering what it refuses itself as the deployed API Gateway does (its
    gateway responses, infra/gateway_errors.py): an unknown route is a 404 in the contract's error shape,
    not Chalice's copy of API Gateway's default 403 ``Missing Authentication Token``; a method no route
    takes is the app's 405 with ``Allow``, not the dev server's HTML 501; its request log masks personal
    data."""

    def __getattr__(self, name: str) -> Any:
        # http.server answers an HTML 501 for a method it has no do_<METHOD> for (TRACE, CONNECT, QUERY,
        # ...). Every method goes through the gateway instead, where a method no route takes is a 405.
        if name.startswith("do_"):
            return self._generic_handle
        raise AttributeError(name)

    def _send_error_response(self, error: LocalGatewayException) -> None:
        if isinstance(error, ForbiddenError):  # no route for this path (the app has no authorizers)
            response_type, status = "MISSING_AUTHENTICATION_TOKEN", 404
        elif isinstance(error, NotAuthorizedError):
            response_type, status = "UNAUTHORIZED", 401
        else:
            response_type, status = "DEFAULT_5XX", error.CODE
        answer = GATEWAY_ERRORS[response_type]
        headers = {**(error.headers or {}), "Content-Type": "application/json", **answer.headers}
        self._send_http_response(answer.status or status, headers, answer.body())

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's signature
        """The request log (stderr) goes through ``request_log_line``: no phone number in it."""
        sys.stderr.write(f"{self.address_string()} - - [{self.log_date_time_string()}] "
                         f"{request_log_line(format % args)}\n")


def api_server(app: Chalice, config: Config, host: str, port: int) -> LocalDevServer:
    """The API over HTTP as ``chalice local`` serves it (which also gives the app a request per thread),
    with API Gateway's own answers in the contract's shape."""
    server = create_local_server(app, config, host, port)
    server.server.RequestHandlerClass = partial(GatewayRequestHandler, app_object=app, config=config)
    return server


def deliver_s3_events(app: Chalice, config: Config, event: dict) -> dict:
    """Hands each S3 event that moto queued to ``record_attachment``, as Lambda's S3 trigger would;
    answers the SQS batch's failures so that a failed one is delivered again."""
    failures = []
    for record in event["Records"]:
        body = json.loads(record["body"])
        if "Records" not in body:  # the s3:TestEvent S3 sends when the notification is set up
            continue
        try:
            invoke(app, config, ATTACHMENT_HANDLER, body)
        except Exception:
            log.exception("%s failed; the S3 event will be delivered again", ATTACHMENT_HANDLER)
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}


def scheduled_event(region: str) -> dict:
    """The EventBridge event a ``rate(...)`` schedule delivers."""
    return {"version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event", "source": "aws.events",
            "account": "123456789012", "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": region, "resources": [f"arn:aws:events:{region}:123456789012:rule/{RECONCILER}"],
            "detail": {}}


# -- the API's request log ---------------------------------------------------------------------------

# The deprecated screen pop carries the caller's number in its path, in whatever form the desk wrote it.
_NUMBER_IN_PATH = re.compile(r"(/v1/agent/callers/)(?!lookup\b)[^\s?#]+")


def request_log_line(text: str) -> str:
    """A request line as the local server logs it, without personal data: the deprecated screen pop's
    number is masked whatever its form, and anything else shaped like a phone, an ID number or a plate
    (URL-decoded first) is masked as the app's own log lines are."""
    return redact(unquote(_NUMBER_IN_PATH.sub(r"\1" + MASK, text)))


# -- banner ----------------------------------------------------------------------------------------

def your_own(variable: str) -> str:
    return f"<your own, from {variable}>"


def bearer_holder(token_hashes: tuple[tuple[str, ...], ...], token: str, role: str | None = None) -> str | None:
    """Whom the app takes a demo bearer token for with these settings (with that role), or None if it refuses it."""
    try:
        holder = AgentAuthenticator(token_hashes).identify(f"Bearer {token}")
    except Unauthenticated:
        return None
    return holder.agent_id if role is None or holder.role == role else None


@dataclass(frozen=True)
class DemoCredentials:
    """The credentials the banner may print: a demo one only where the settings accept it, otherwise a
    pointer to the variable that holds the user's own (never a credential that would be refused)."""
    agent: tuple[str, str]  # (id, bearer token)
    supervisor: tuple[str, str]
    surveyor: tuple[str, str]
    twilio_auth_token: str
    ivr_secret: str

    @classmethod
    def of(cls, settings: Settings) -> DemoCredentials:
        agent = bearer_holder(settings.agent_tokens, DEMO_AGENT_TOKEN)
        supervisor = bearer_holder(settings.agent_tokens, DEMO_SUPERVISOR_TOKEN, "supervisor")
        surveyor_id = "SV-SH-001"
        surveyor = bearer_holder(settings.surveyor_tokens, DEMO_SURVEYOR_TOKENS[surveyor_id]) == surveyor_id
        twilio = settings.twilio_auth_token
        ivr = any(secret.get_secret_value() == DEMO_IVR_SECRET for _, secret in settings.ivr_webhook_secrets)
        return cls(
            agent=(agent, DEMO_AGENT_TOKEN) if agent else ("<agent id>", your_own("AGENT_TOKENS")),
            supervisor=(supervisor, DEMO_SUPERVISOR_TOKEN) if supervisor else
            ("<supervisor id>", your_own("AGENT_TOKENS")),
            surveyor=(surveyor_id, DEMO_SURVEYOR_TOKENS[surveyor_id]) if surveyor else
            ("<surveyor id>", your_own("SURVEYOR_TOKENS")),
            twilio_auth_token=DEMO_TWILIO_AUTH_TOKEN if twilio and twilio.get_secret_value() == DEMO_TWILIO_AUTH_TOKEN
            else your_own("TWILIO_AUTH_TOKEN"),
            ivr_secret=DEMO_IVR_SECRET if ivr else your_own("IVR_WEBHOOK_SECRETS"))


def banner(api_url: str, moto_endpoint: str, region: str, moto_log: Path, reconcile_every: int,
           lambda_url: str | None = None, consumer_threads: int = 1, *, settings: Settings) -> str:
    """What ``make run`` prints once everything answers: where each part is and what to try, with the
    credentials that work with ``settings`` (the app's)."""
    credentials = DemoCredentials.of(settings)
    agent_id, agent_token = credentials.agent
    supervisor_id, supervisor_token = credentials.supervisor
    surveyor_id, surveyor_token = credentials.surveyor
    key = next(p.api_key for p in DEMO_PARTNERS if p.partner_id == DEMO_PARTNER_FOR_CURL)
    body = json.dumps(DEMO_CLAIM, ensure_ascii=False)
    # The answer is shown (tee to stderr) and its claim_id kept in $CLAIM_ID for the second command.
    submit = (f"CLAIM_ID=$(curl -s -X POST {api_url}/v1/claims -H 'content-type: application/json' "
              f"-H 'x-api-key: {key}' -d {shlex.quote(body)} | tee /dev/stderr | {CLAIM_ID_OF_ANSWER}); echo")
    status = f"curl -s {api_url}/v1/claims/$CLAIM_ID -H 'x-api-key: {key}'; echo"
    event = json.dumps({"type": "claim.reported", "call_id": "demo-call-0001", "caller": "+8613800138000",
                        "loss": {"type": "food_safety"}}, separators=(",", ":"))
    ivr_event = (f"BODY={shlex.quote(event)}; T=$(date +%s); SIG=$(printf '%s.%s' \"$T\" \"$BODY\" | "
                 f"openssl dgst -sha256 -hmac {shlex.quote(credentials.ivr_secret)} | sed 's/^.* //'); "
                 f"curl -s -X POST {api_url}/v1/ivr/events -H 'content-type: application/json' "
                 f"-H \"X-Signature: t=$T,v1=$SIG\" -d \"$BODY\"; echo")
    lookup = json.dumps({"phone": "+8613800138000"})
    agent_header = shlex.quote(f"Authorization: Bearer {agent_token}")
    screen_pop = (f"curl -s -X POST {api_url}/v1/agent/callers/lookup -H 'content-type: application/json' "
                  f"-H {agent_header} -d {shlex.quote(lookup)}; echo")
    partners = "\n".join(f"    {p.partner_id:<13} x-api-key: {p.api_key:<30} ({p.name})" for p in DEMO_PARTNERS)
    rule = "=" * 100
    lambda_api = (f"\n    Lambda API   {lambda_url}/2015-03-31/functions/<name>/invocations  "
                  f"({', '.join(DIRECT_FUNCTIONS)})" if lambda_url else "")
    threads = f" ({consumer_threads} pollers per queue)" if consumer_threads > 1 else ""
    return f"""
{rule}
  Claims intake, local stack
    API          {api_url}   (Chalice dev server, stage {STAGE})
    moto (AWS)   {moto_endpoint}   region {region}   server log: {moto_log}
    consumers    {SCORING_QUEUE.name} -> score_claims, {DISPATCH_QUEUE.name} -> dispatch_claims,
                 {CONTACTS_QUEUE.name} -> record_contacts{threads}
    reconciler   every {reconcile_every} s{lambda_api}

  Claim form (open it in a phone-sized window; English: {api_url}/?lang=en):
    {api_url}/
    demo policy {DEMO_FORM_POLICY}, phone {DEMO_FORM_PHONE}

  Demo partners:
{partners}

  Submit a motor claim: answers 202 {{"claim_id", "status", "links"}} and keeps the id in $CLAIM_ID
    {submit}

  Read its status, RECEIVED -> SCORED -> AWAITING_SURVEYOR -> SURVEYOR_ASSIGNED, with its timeline:
    {status}

  Hotline: a vendor IVR reports a claim for the caller +86 138 0013 8000 (signed webhook, vendor
  {DEMO_IVR_VENDOR}; answers 202 with the claim's voice reference), then the agent's screen pop:
    {ivr_event}
    {screen_pop}

  Partner callbacks: {DEMO_CALLBACK_PARTNER}'s status changes are posted, signed, to the local receiver;
  its log lines ("partner callback: ...") show each one.
  Surveyor {surveyor_id}: Authorization: Bearer {surveyor_token}
    (POST /v1/surveyors/{surveyor_id}/assignments/<claim id>/complete when a survey is done)
  Agent queue:  curl -s {api_url}/v1/agent/queue -H {agent_header}; echo

  Twilio Voice webhooks: {api_url}/v1/ivr/twilio/voice and /gather, auth token {credentials.twilio_auth_token}
  Agent {agent_id}: Authorization: Bearer {agent_token}
  Supervisor {supervisor_id}: Authorization: Bearer {supervisor_token}

  Ctrl-C stops everything.
{rule}
{READY_LINE}: API {api_url}, moto {moto_endpoint}
"""


# -- main ------------------------------------------------------------------------------------------

def run(stop: threading.Event) -> None:
    moto_port = free_port_from_env("MOTO_PORT", 5000)
    api_port = free_port_from_env("API_PORT", 8000)
    receiver_port = free_port_from_env("PARTNER_RECEIVER_PORT", 8001)
    reconcile_every = whole_number_from_env("RECONCILE_INTERVAL_SECONDS", 60, least=1)
    lambda_port = free_port_from_env("LAMBDA_PORT", 0) if os.environ.get("LAMBDA_PORT") else None
    consumer_threads = whole_number_from_env("CONSUMER_THREADS", 1, least=1)
    moto_endpoint = f"http://{HOST}:{moto_port}"
    api_url = f"http://{HOST}:{api_port}"
    region = point_at_moto(moto_endpoint)
    config = CLIFactory(str(ROOT)).create_config_obj(chalice_stage_name=STAGE)
    # before anything starts: the policy import (seeding) derives customer ids with CUSTOMER_ID_KEY, and
    # a setting the app cannot use stops the start here
    use_stage_environment(config)
    check_settings()

    with ExitStack() as running:  # unwinds in reverse: pollers, then the API, then moto
        moto_log = Path(tempfile.gettempdir()) / f"claims-intake-moto-{moto_port}.log"
        log.info("starting moto server on %s", moto_endpoint)
        moto = start_moto(moto_port, moto_log, stop)
        running.callback(moto_log.unlink, missing_ok=True)  # kept only when moto fails to start
        running.callback(log.info, "moto server stopped")
        running.callback(moto.stop, STOP_JOIN_SECONDS)
        if stop.is_set():
            return

        sqs = boto3.client("sqs", region_name=region)
        s3 = boto3.client("s3", region_name=region)
        queues = create_all(sqs, s3, region, allowed_origins=[api_url])
        uploads_url = notify_queue_of_uploads(s3, sqs)
        os.environ["SCORING_QUEUE_URL"] = queues[SCORING_QUEUE.name]["url"]
        os.environ["DISPATCH_QUEUE_URL"] = queues[DISPATCH_QUEUE.name]["url"]
        os.environ["CONTACTS_QUEUE_URL"] = queues[CONTACTS_QUEUE.name]["url"]
        os.environ["NOTIFY_QUEUE_URL"] = queues[NOTIFY_QUEUE.name]["url"]
        os.environ.setdefault("PUBLIC_BASE_URL", api_url)
        counts = seed()  # the settings it reads are cached, for the app too
        log.info("tables and queues created; seeded %s", counts)
        receiver = PartnerReceiver(HOST, receiver_port, DEMO_CALLBACK_SECRET)
        receiver.start()
        running.callback(receiver.stop)
        PartnerModel(DEMO_CALLBACK_PARTNER).update(actions=[PartnerModel.callback_url.set(receiver.url)])

        from app import app  # only now: Powertools and settings read the environment on import

        server = api_server(app, config, HOST, api_port)
        threading.Thread(target=server.server.serve_forever, name="api", daemon=True).start()
        running.callback(server.server.server_close)
        running.callback(server.shutdown)

        lambda_url = None
        if lambda_port is not None:
            lambda_api = LambdaInvokeServer(HOST, lambda_port, partial(invoke, app, config))
            lambda_api.start()
            running.callback(lambda_api.stop)
            lambda_url = lambda_api.url

        pollers = [QueuePoller(sqs, spec, queues[spec.name]["url"], partial(invoke, app, config, name), stop)
                   for spec, name in CONSUMERS for _ in range(consumer_threads)]
        pollers.append(QueuePoller(sqs, LOCAL_ATTACHMENT_EVENTS_QUEUE, uploads_url,
                                   partial(deliver_s3_events, app, config), stop))
        for poller in pollers:
            poller.start()
            running.callback(poller.join, STOP_JOIN_SECONDS)
        running.callback(stop.set)  # first to run on the way out, whatever the reason

        if stop.is_set():
            return
        print(banner(api_url, moto_endpoint, region, moto_log, reconcile_every, lambda_url, consumer_threads,
                     settings=get_settings()), flush=True)
        while not stop.wait(reconcile_every):
            try:
                result = invoke(app, config, RECONCILER, scheduled_event(region))
                log.info("reconciler: %s", result)
            except Exception:
                if not stop.is_set():
                    log.exception("reconciler failed")


def main() -> int:
    # Our own lines only; the app logs JSON through Powertools' handler, and other libraries'
    # chatter (botocore's "Found credentials...") stays below the default WARNING threshold.
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    for ours in (log, logging.getLogger("partner-receiver")):
        ours.addHandler(handler)
        ours.setLevel(logging.INFO)
        ours.propagate = False
    stop = threading.Event()

    def request_stop(signum: int, _frame: object) -> None:
        if not stop.is_set():
            log.info("%s received; stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    try:
        run(stop)
    except StartupError as error:
        log.error("cannot start: %s", error)
        return 1
    log.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
