"""What every benchmark shares: a moto server of its own on a free local port (``devkit.moto``, plain
``moto.server``, on which the published figures were measured), the environment that points boto3,
PynamoDB and the app's settings at it, and a report stream kept apart from the product's log lines.
``begin()`` is the first line of each benchmark's ``main``."""
from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from pathlib import Path

from devkit.moto import PLAIN_SERVER, MotoServer

REPO = Path(__file__).resolve().parents[1]
REGION = "ap-southeast-1"


def set_environment(endpoint: str) -> None:
    """Everything boto3, PynamoDB and settings.py read; set before any client exists."""
    for var in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_DEFAULT_PROFILE", "SCORING_QUEUE_URL",
                "DISPATCH_QUEUE_URL"):
        os.environ.pop(var, None)
    os.environ.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION=REGION,
        AWS_REGION=REGION,
        AWS_ENDPOINT_URL=endpoint,
        AWS_EC2_METADATA_DISABLED="true",
        POWERTOOLS_TRACE_DISABLED="1",
        POWERTOOLS_DEV="false",
        CUSTOMER_ID_KEY="bench-customer-id-key",
    )
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "INFO")  # what production logs at


def begin() -> tuple[float, MotoServer]:
    """A benchmark's start: its clock, the repository importable, SIGTERM turned into an exit (so the
    moto server is still stopped), and a moto server, not started yet, that the environment points at."""
    started = time.monotonic()
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    moto = MotoServer(server=PLAIN_SERVER)
    set_environment(moto.url)
    return started, moto


@contextlib.contextmanager
def report_stream(show_logs: bool = False):
    """The report goes to the real stdout; the product's log lines and metrics (stdout, as in Lambda)
    are still formatted and written, but to /dev/null, so the table stays readable."""
    sys.stdout.flush()
    report = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    if show_logs:
        try:
            yield report
        finally:
            report.close()
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.close(devnull)
    try:
        yield report
    finally:
        sys.stdout.flush()
        os.dup2(report.fileno(), 1)
        report.close()
