"""The one Logger, Tracer and Metrics of the service, and the middleware that attaches them."""
from __future__ import annotations

import re
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter
from aws_lambda_powertools.metrics import MetricUnit

SERVICE = "claims-intake"
NAMESPACE = "ClaimsIntake"

# Safety net: personal data is never logged on purpose; these patterns catch it if it slips in.
_PII_PATTERNS = [
    re.compile(r"(?<![0-9A-Za-z+])\+\d{7,15}(?![0-9A-Za-z])"),  # E.164 phone numbers
    re.compile(r"(?<![0-9A-Za-z])(?:86[ \-]?)?1[3-9]\d[ \-]?\d{4}[ \-]?\d{4}(?![0-9A-Za-z])"),  # PRC mobiles
    re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])"),  # PRC resident ID numbers
]


def redact(text: str) -> str:
    for pattern in _PII_PATTERNS:
        text = pattern.sub("***", text)
    return text


class RedactingFormatter(LambdaPowertoolsFormatter):
    def serialize(self, log: dict[str, Any]) -> str:
        return redact(super().serialize(log))


logger = Logger(service=SERVICE, logger_formatter=RedactingFormatter())
tracer = Tracer(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)


class Telemetry:
    """What services record about their work; the port behind it is Powertools Metrics."""

    def count(self, name: str, value: int = 1, **dimensions: str) -> None:
        if value <= 0:
            return
        if dimensions:
            from aws_lambda_powertools.metrics import single_metric

            with single_metric(name=name, unit=MetricUnit.Count, value=value, namespace=NAMESPACE) as m:
                m.add_dimension(name="service", value=SERVICE)
                for key, val in dimensions.items():
                    m.add_dimension(name=key, value=val)
        else:
            metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


CORRELATION_HEADER = "x-correlation-id"
_CORRELATION_OK = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


def correlation_id_from(headers: dict, fallback: str) -> str:
    value = headers.get(CORRELATION_HEADER) if headers else None
    if value and _CORRELATION_OK.match(value):
        return value
    return fallback


def observe(event, get_response):
    """Chalice middleware for every event type: context keys in, metrics flushed out."""
    context = getattr(event, "context", None)
    request_id = getattr(context, "aws_request_id", None)
    logger.append_keys(function_request_id=request_id)
    try:
        return get_response(event)
    finally:
        metrics.flush_metrics(raise_on_empty_metrics=False)
        logger.remove_keys(["correlation_id", "claim_id", "function_request_id"])
