"""The one way this repository starts a moto server: a subprocess on a local port, up once it answers,
its output in a log file, always stopped.

The local stack (``make run``), the tests that need a real server process and the benchmarks all start
theirs with ``MotoServer``. By default it runs the local stack's server (``infra/moto_server.py``: one
request at a time, as DynamoDB's transactions are atomic); the benchmarks ask for plain ``moto.server``,
on which their published figures were measured."""
from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import IO

from devkit.ports import free_port

ROOT = Path(__file__).resolve().parents[1]
LOCAL_STACK_SERVER = "infra.moto_server"
PLAIN_SERVER = "moto.server"


class MotoServerError(RuntimeError):
    """The server exited or did not answer in time; the message says which, and where its log is."""


def _answers(url: str) -> bool:
    try:
        urllib.request.urlopen(f"{url}/moto-api/", timeout=1).close()
    except urllib.error.HTTPError:
        return True  # any HTTP answer means the server is up
    except OSError:
        return False
    return True


class MotoServer:
    """A moto server on ``host:port`` (a free port unless given). Its output goes to ``log_path``, or to
    a temporary file that ``log_tail`` reads; ``stop`` always ends the process."""

    def __init__(self, port: int | None = None, *, host: str = "127.0.0.1", server: str = LOCAL_STACK_SERVER,
                 log_path: Path | None = None) -> None:
        self.host = host
        self.port = port if port is not None else free_port()
        self.url = f"http://{host}:{self.port}"
        self.server = server
        self.log_path = log_path
        self._log: IO[bytes] = open(log_path, "w+b") if log_path is not None else tempfile.TemporaryFile(mode="w+b")
        self.proc: subprocess.Popen | None = None
        self.peak_rss_kib: int | None = None

    def argv(self) -> list[str]:
        return [sys.executable, "-m", self.server, "-H", self.host, "-p", str(self.port)]

    def start(self, timeout: float = 30.0, stop: threading.Event | None = None) -> None:
        """Returns once the server answers (or as soon as ``stop`` is set); raises MotoServerError."""
        # Benchmarks purge queues between rounds; moto refuses a second purge within 60 s unless told.
        env = dict(os.environ, MOTO_SQS_ENFORCE_STRICT_QUEUE_PURGE_BEHAVIOUR="false")
        self.proc = subprocess.Popen(self.argv(), stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env=env, cwd=ROOT)
        deadline = time.monotonic() + timeout
        while not _answers(self.url):
            if self.proc.poll() is not None:
                raise MotoServerError(f"moto server exited with code {self.proc.returncode}{self._see_log()}")
            if stop is not None and stop.is_set():
                return
            if time.monotonic() > deadline:
                self.stop()
                raise MotoServerError(f"moto server did not answer on {self.url} within {timeout:.0f} s"
                                      f"{self._see_log()}")
            time.sleep(0.1)  # the server is starting

    def _see_log(self) -> str:
        return f"; see {self.log_path}" if self.log_path is not None else f":\n{self.log_tail()}"

    def log_tail(self, size: int = 2000) -> str:
        self._log.flush()
        self._log.seek(0, os.SEEK_END)
        self._log.seek(max(0, self._log.tell() - size))
        return self._log.read().decode("utf-8", "replace")

    def stop(self, wait_seconds: float = 10.0) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(wait_seconds)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc is not None:
            # For the benchmarks, where moto is the process's only child: the children's peak RSS is moto's.
            self.peak_rss_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        if not self._log.closed:
            self._log.close()
