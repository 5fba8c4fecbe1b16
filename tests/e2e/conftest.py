"""End-to-end tier: ``python -m infra.local_stack`` started once per module on free ports, driven over HTTP
(tests/e2e/stack.py)."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.stack import LocalStack, running_stack


@pytest.fixture(scope="module")
def local_stack() -> Iterator[LocalStack]:
    """The local stack the module's tests share, on ports nobody else uses; always killed at the end."""
    with running_stack() as stack:
        yield stack
