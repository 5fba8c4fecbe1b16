"""Starting the local stack (``python -m infra.local_stack``, what ``make run`` runs) with a setting it cannot
use: one line that says which variable, what is wrong and what it must hold, and a non-zero exit."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXIT_WITHIN_SECONDS = 60


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start(**variables: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "MOTO_PORT": str(free_port()), "API_PORT": str(free_port()),
           "PARTNER_RECEIVER_PORT": str(free_port()), "PYTHONIOENCODING": "utf-8", **variables}
    return subprocess.run([sys.executable, "-m", "infra.local_stack"], cwd=ROOT, env=env, capture_output=True,
                          text=True, stdin=subprocess.DEVNULL, timeout=EXIT_WITHIN_SECONDS)


@pytest.mark.parametrize("variable, value, expected", [
    ("AGENT_TOKENS", "agent-x:not-a-digest-s3cr3t", "id:<64 hex digits of the token's SHA-256>"),
    ("IVR_WEBHOOK_SECRETS", "acme:s3cr3t", "vendor:secret entries"),
    ("MAX_BODY_BYTES", "lots", "a whole number at least 1024"),
    ("RECONCILE_INTERVAL_SECONDS", "soon", "a whole number at least 1"),
])
def test_a_malformed_setting_stops_the_start_with_one_line_naming_it(variable, value, expected):
    # GIVEN a shell whose environment sets a variable the service cannot use
    # WHEN the local stack is started
    started = start(**{variable: value})
    output = started.stdout + started.stderr

    # THEN it exits non-zero, without a traceback
    assert started.returncode != 0, output
    assert "Traceback" not in output
    # AND one line says which variable, what is wrong with it and what it must hold
    lines = [line for line in output.splitlines() if variable in line]
    assert len(lines) == 1, output
    assert "cannot start" in lines[0] and expected in lines[0]
    # AND the rejected value, which may be a secret, is not shown
    assert value not in output and "s3cr3t" not in output
