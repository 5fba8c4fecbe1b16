"""Move messages from a queue's dead-letter queue back to the queue, once what made them fail is fixed.

    python -m infra.redrive QUEUE|all [--endpoint-url URL] [--max N] [--dry-run]

QUEUE is one of ``QUEUES`` in chalicelib/adapters/resources.py, by its name (``claims-intake-scoring``),
its short name (``scoring``) or its DLQ's name; ``all`` takes every one of them in turn. Region and
credentials come from the environment as boto3 reads them; ``--endpoint-url`` (or ``AWS_ENDPOINT_URL``)
points at the local stack's moto server (``http://127.0.0.1:5000``).

For each message: receive from the DLQ → send to the source queue with the same body and message
attributes → delete from the DLQ only once the send succeeded. Interrupted anywhere, nothing is lost:
a message not yet sent reappears in the DLQ when its visibility timeout (``REDRIVE_VISIBILITY_SECONDS``)
ends; one sent but not yet deleted is delivered twice, which the consumers are built for (idempotent
under redelivery). Bodies are never printed (contact messages carry phone numbers): counts only, one
line per queue on stderr and a JSON summary as the last line on stdout. ``--dry-run`` receives nothing
and moves nothing; it reports how many messages wait in each DLQ. ``--max N``: at most N messages per
queue. Exit code 0: everything received was moved; 2: some sends failed (those messages stay in the
DLQ; run again); 1: a queue is unknown or unreachable.
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from typing import Any, TextIO

from chalicelib.adapters.resources import QUEUES, QueueSpec

REDRIVE_VISIBILITY_SECONDS = 60  # how long a received dead letter stays hidden while it is moved
_BATCH = 10  # ReceiveMessage's and SendMessageBatch's limit


@dataclass
class QueueOutcome:
    queue: str
    dlq: str
    waiting: int = 0  # in the DLQ before the run (SQS's approximate count)
    moved: int = 0
    failed: int = 0  # sent nowhere: still in the DLQ
    undeleted: int = 0  # sent, but still in the DLQ too: it will be moved (and delivered) again

    def as_dict(self) -> dict[str, Any]:
        return {"queue": self.queue, "dlq": self.dlq, "waiting": self.waiting, "moved": self.moved,
                "failed": self.failed, "undeleted": self.undeleted}


@dataclass
class Outcome:
    dry_run: bool
    queues: list[QueueOutcome] = field(default_factory=list)
    error: str | None = None

    @property
    def exit_code(self) -> int:
        if self.error:
            return 1
        return 2 if any(q.failed or q.undeleted for q in self.queues) else 0

    def summary(self) -> str:
        return json.dumps({"summary": "redrive", "dry_run": self.dry_run,
                           "moved": sum(q.moved for q in self.queues),
                           "failed": sum(q.failed for q in self.queues),
                           "queues": [q.as_dict() for q in self.queues], "error": self.error,
                           "exit_code": self.exit_code}, ensure_ascii=False)


def queue_specs(name: str) -> list[QueueSpec]:
    """The queues ``name`` stands for; ValueError names the choices when it stands for none."""
    if name == "all":
        return list(QUEUES)
    for spec in QUEUES:
        if name in (spec.name, spec.dlq_name, spec.name.rsplit("-", 1)[-1]):
            return [spec]
    choices = ", ".join(["all"] + [spec.name for spec in QUEUES])
    raise ValueError(f"unknown queue {name!r}; one of: {choices}")


def sqs_client(endpoint_url: str | None = None) -> Any:
    import boto3

    return boto3.client("sqs", endpoint_url=endpoint_url) if endpoint_url else boto3.client("sqs")


def _attributes(message: dict) -> dict:
    """The message attributes as SendMessage takes them (ReceiveMessage adds empty list fields)."""
    out = {}
    for name, attribute in (message.get("MessageAttributes") or {}).items():
        sent = {"DataType": attribute["DataType"]}
        for key in ("StringValue", "BinaryValue"):
            if key in attribute:
                sent[key] = attribute[key]
        out[name] = sent
    return out


def redrive_queue(sqs: Any, spec: QueueSpec, *, limit: int | None = None, dry_run: bool = False,
                  wait_seconds: int = 1, err: TextIO | None = None) -> QueueOutcome:
    err = err or sys.stderr
    source = sqs.get_queue_url(QueueName=spec.name)["QueueUrl"]
    dlq = sqs.get_queue_url(QueueName=spec.dlq_name)["QueueUrl"]
    outcome = QueueOutcome(spec.name, spec.dlq_name)
    attributes = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["ApproximateNumberOfMessages"])
    outcome.waiting = int(attributes["Attributes"].get("ApproximateNumberOfMessages", 0))
    if dry_run:
        would = outcome.waiting if limit is None else min(limit, outcome.waiting)
        err.write(f"{spec.dlq_name}: {outcome.waiting} waiting; would move {would} to {spec.name}\n")
        return outcome
    # Each message is received once: it stays hidden while this run lasts (or is deleted), so the loop
    # ends when the DLQ answers nothing, even if consumers dead-letter new messages meanwhile.
    while limit is None or outcome.moved + outcome.failed + outcome.undeleted < limit:
        room = _BATCH if limit is None else min(_BATCH, limit - outcome.moved - outcome.failed - outcome.undeleted)
        messages = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=room, WaitTimeSeconds=wait_seconds,
                                       VisibilityTimeout=REDRIVE_VISIBILITY_SECONDS,
                                       MessageAttributeNames=["All"]).get("Messages", [])
        if not messages:
            break
        _move(sqs, source, dlq, messages, outcome)
    err.write(f"{spec.dlq_name} -> {spec.name}: moved {outcome.moved}, failed {outcome.failed}"
              f"{f', sent but not deleted {outcome.undeleted}' if outcome.undeleted else ''}\n")
    return outcome


def _move(sqs: Any, source: str, dlq: str, messages: list[dict], outcome: QueueOutcome) -> None:
    entries = [{"Id": str(n), "MessageBody": m["Body"], "MessageAttributes": _attributes(m)}
               for n, m in enumerate(messages)]
    try:
        response = sqs.send_message_batch(QueueUrl=source, Entries=entries)
    except Exception:  # noqa: BLE001 - nothing was sent: every message stays in the DLQ
        outcome.failed += len(messages)
        return
    sent = [messages[int(ok["Id"])] for ok in response.get("Successful", [])]
    outcome.failed += len(messages) - len(sent)
    if not sent:
        return
    try:
        deleted = sqs.delete_message_batch(QueueUrl=dlq, Entries=[
            {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(sent)])
    except Exception:  # noqa: BLE001 - sent and still in the DLQ: moved again by the next run
        outcome.undeleted += len(sent)
        return
    not_deleted = len(deleted.get("Failed", []))
    outcome.moved += len(sent) - not_deleted
    outcome.undeleted += not_deleted


def redrive(name: str, *, sqs: Any = None, endpoint_url: str | None = None, limit: int | None = None,
            dry_run: bool = False, wait_seconds: int = 1, err: TextIO | None = None) -> Outcome:
    outcome = Outcome(dry_run)
    try:
        specs = queue_specs(name)
        sqs = sqs if sqs is not None else sqs_client(endpoint_url)
        for spec in specs:
            outcome.queues.append(redrive_queue(sqs, spec, limit=limit, dry_run=dry_run,
                                                wait_seconds=wait_seconds, err=err))
    except Exception as error:  # noqa: BLE001 - reported as one line (AWS's messages name no message body)
        outcome.error = f"{type(error).__name__}: {error}"
        (err or sys.stderr).write(f"redrive stopped: {outcome.error}\n")
    return outcome


def main(argv: list[str] | None = None, *, sqs: Any = None, out: TextIO | None = None,
         err: TextIO | None = None, wait_seconds: int = 1) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.redrive",
                                     description="Move dead letters back to their queue once the cause is fixed.")
    parser.add_argument("queue", help="a queue of chalicelib/adapters/resources.py QUEUES (name, short name or "
                                      "DLQ name), or 'all'")
    parser.add_argument("--endpoint-url", help="SQS endpoint (default: boto3's, e.g. AWS_ENDPOINT_URL)")
    parser.add_argument("--max", type=int, default=None, metavar="N", help="move at most N messages per queue")
    parser.add_argument("--dry-run", action="store_true", help="count what waits in the DLQs; move nothing")
    args = parser.parse_args(argv)
    if args.max is not None and args.max < 1:
        parser.error("--max must be at least 1")
    outcome = redrive(args.queue, sqs=sqs, endpoint_url=args.endpoint_url, limit=args.max, dry_run=args.dry_run,
                      wait_seconds=wait_seconds, err=err)
    (out or sys.stdout).write(outcome.summary() + "\n")
    return outcome.exit_code


if __name__ == "__main__":
    sys.exit(main())
