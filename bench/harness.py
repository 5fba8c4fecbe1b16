"""What every benchmark shares: a moto server of its own on a free local port, the environment that
points boto3, PynamoDB and the app's settings at it, and a report stream kept apart from the product's
log lines. ``begin()`` is the first line of each benchmark's ``main``."""
from __future__ import annotations

import contextlib
import os
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
REGION = "ap-southeast-1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MotoServer:
    """A moto server on a free local port, its output kept in a temporary file; ``stop`` always ends
    it. ``argv`` says which server runs (plain ``moto.server`` unless a subclass says otherwise)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log = tempfile.TemporaryFile(mode="w+b")
        self.proc: subprocess.Popen | None = None
        self.peak_rss_kib: int | None = None

    def argv(self) -> list[str]:
        return [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)]

    def start(self, timeout: float = 30.0) -> None:
        env = dict(os.environ, MOTO_SQS_ENFORCE_STRICT_QUEUE_PURGE_BEHAVIOUR="false")
        self.proc = subprocess.Popen(self.argv(), stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env=env, cwd=REPO)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"moto server exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/moto-api/", timeout=1):
                    return
            except OSError:
                time.sleep(0.1)  # the server is starting
        raise RuntimeError(f"moto server did not answer on {self.url} within {timeout:.0f}s:\n{self.log_tail()}")

    def log_tail(self, size: int = 2000) -> str:
        self._log.seek(0, os.SEEK_END)
        self._log.seek(max(0, self._log.tell() - size))
        return self._log.read().decode("utf-8", "replace")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc is not None:
            # moto is this process's only child, so the children's peak RSS is moto's.
            self.peak_rss_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        self._log.close()


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
    moto = MotoServer()
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
