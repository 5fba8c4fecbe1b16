"""DynamoDB plumbing every table adapter shares: client limits and one shared client for all models,
timestamps as stored, and the one reading of "DynamoDB is busy" (a 503 with Retry-After upstream).

The adapters are by aggregate: ``claims`` (the claim, its events and idempotency keys, written in
transactions), ``claim_indexes`` (history and the review queue), ``surveyors``, ``partners``,
``partner_notices``, ``callers``, ``policies``, ``attachments`` and ``rate_limiter``. Each method is
one AWS call unless its docstring says otherwise."""
from __future__ import annotations

from datetime import datetime

from pynamodb.connection import Connection
from pynamodb.models import MetaProtocol, Model

from chalicelib.adapters import aws_errors
from chalicelib.adapters.models import ALL_MODELS
from chalicelib.domain.errors import TemporarilyUnavailable


def configure(region: str, connect_timeout: float, read_timeout: float, max_attempts: int) -> None:
    """Set client limits on every model before its first call (PynamoDB reads Meta lazily)."""
    for model in ALL_MODELS:
        model.Meta.region = region
        # PynamoDB annotates whole seconds; it hands them to botocore, which takes fractions.
        model.Meta.connect_timeout_seconds = connect_timeout  # type: ignore[assignment]  # see above
        model.Meta.read_timeout_seconds = read_timeout  # type: ignore[assignment]  # see above
        model.Meta.max_retry_attempts = max(0, max_attempts - 1)
        model._connection = None  # a connection made before (seeding, provisioning) had other limits


def limits_of(model: type[Model]) -> MetaProtocol:
    """The client limits ``configure`` gave ``model`` (region, timeouts, retries)."""
    return model.Meta


def share_client(connection: Connection) -> None:
    """Every model talks through ``connection``'s botocore client. PynamoDB otherwise gives each model
    its own botocore session and client: each loads the DynamoDB service description again (about
    130 ms and a few MB per model on a cold start) and keeps its own connection pool. Clients are
    thread-safe; the limits set by ``configure`` are the same for every model."""
    client = connection.client
    for model in ALL_MODELS:
        model._get_connection().connection._client = client


def parse_ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def error_code(exc: Exception) -> str:
    return getattr(exc, "cause_response_code", None) or ""


def request_throttled(exc: Exception) -> bool:
    """The request itself was refused for load or a fault on DynamoDB's side (botocore has already retried
    it): the same reading as the API's 503 (``aws_errors``)."""
    return aws_errors.busy(exc)


def _items_throttled(exc: Exception) -> bool:
    """A transaction cancelled because one of its items was throttled (botocore never retries that)."""
    return any(r is not None and r.code == "ThrottlingError" for r in getattr(exc, "cancellation_reasons", None) or ())


def raise_if_throttled(exc: Exception) -> None:
    if request_throttled(exc) or _items_throttled(exc):
        raise TemporarilyUnavailable("Storage is busy; please retry shortly.", retry_after_seconds=2) from exc
