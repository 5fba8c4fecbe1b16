"""The local stack as ``make run`` starts it (``python -m infra.local_stack``), on free ports, driven
over HTTP; ``running_stack`` always kills it, and its moto server, at the end."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from devkit.ports import free_port
from infra.local_stack import READY_LINE

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
START_WITHIN_SECONDS = 60


def nobody_listens_on(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", port)) != 0


@dataclass
class LocalStack:
    process: subprocess.Popen
    api_url: str
    moto_port: int
    api_port: int
    log_path: Path
    http: requests.Session

    def output(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def tail(self, lines: int = 60) -> str:
        return "\n".join(self.output().splitlines()[-lines:])


def _wait_until_ready(stack: LocalStack) -> None:
    deadline = time.monotonic() + START_WITHIN_SECONDS
    while READY_LINE not in stack.output():
        if stack.process.poll() is not None:
            pytest.fail(f"local stack exited with {stack.process.returncode} before it was ready:\n{stack.tail()}")
        if time.monotonic() > deadline:
            pytest.fail(f"local stack not ready within {START_WITHIN_SECONDS} s:\n{stack.tail()}")
        time.sleep(0.2)


@contextmanager
def running_stack(name: str = "") -> Iterator[LocalStack]:
    """A local stack of its own, ready; ``name`` tells its log apart from other stacks' in ARTIFACTS."""
    moto_port, api_port = free_port(), free_port()
    while api_port == moto_port:
        api_port = free_port()
    ARTIFACTS.mkdir(exist_ok=True)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    log_path = ARTIFACTS / f"local-stack-{worker}{'-' + name if name else ''}.log"
    env = {**os.environ, "MOTO_PORT": str(moto_port), "API_PORT": str(api_port),
           "PARTNER_RECEIVER_PORT": str(free_port()),
           "PYTHONUNBUFFERED": "1", "PYTHONIOENCODING": "utf-8"}
    with open(log_path, "wb") as out:
        # Its own session: the teardown can kill it and its moto server together, whatever happened.
        process = subprocess.Popen([sys.executable, "-m", "infra.local_stack"], cwd=ROOT, env=env,
                                   stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    http = requests.Session()
    http.trust_env = False  # 127.0.0.1 only, never through a proxy from the environment
    stack = LocalStack(process, f"http://127.0.0.1:{api_port}", moto_port, api_port, log_path, http)
    try:
        _wait_until_ready(stack)
        yield stack
    finally:
        http.close()
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
