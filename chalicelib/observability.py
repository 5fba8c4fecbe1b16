"""The one Logger, Tracer and Metrics of the service, and the middleware that attaches them.

Personal data (names, phones, ID numbers, plates, addresses, what the claimant wrote) is never logged:
log lines carry ids, codes and counts. Two safety nets catch what slips in anyway: the formatter masks
the values of fields named like personal data (a name cannot be told from other words by a pattern,
but it can by the field it sits in) and anything shaped like a phone, an ID number or a plate, in any
field. Powertools' data-masking utility would do the first by JSONPath over known payloads; log lines
have no such shape, so this is its equivalent. The AWS libraries' DEBUG lines hold whole requests and
responses (claims, with names and phones); they are held at INFO whatever the root logger's level.
"""
from __future__ import annotations

import logging
import os
import re
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter
from aws_lambda_powertools.metrics import MetricUnit, single_metric

if TYPE_CHECKING:
    from aws_lambda_powertools.logging.types import LogRecord

# Not the Chalice app's name: Chalice owns the stdlib logger named after the app and sets it to ERROR.
SERVICE = "claims_intake"
NAMESPACE = "ClaimsIntake"

# Safety net: personal data is never logged on purpose; these patterns catch it if it slips in.
_PII_PATTERNS = [
    re.compile(r"(?<![0-9A-Za-z+])\+\d{7,15}(?![0-9A-Za-z])"),  # E.164 phone numbers
    re.compile(r"(?<![0-9A-Za-z])(?:86[ \-]?)?1[3-9]\d[ \-]?\d{4}[ \-]?\d{4}(?![0-9A-Za-z])"),  # PRC mobiles
    re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])"),  # PRC resident ID numbers
    # PRC plates: province, letter, optional separator, 5 or 6 letters and digits (沪A12345, 京A·D12345)
    re.compile(r"[京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼][A-Za-z][·•.\s\-]?[A-Za-z0-9]{5,6}"
               r"(?![0-9A-Za-z])"),
]
MASK = "***"

# Fields whose value is personal whatever it looks like (compared lower-case, at any depth).
PERSONAL_FIELDS = frozenset({
    "name", "claimant_name", "holder_name", "customer_name", "full_name",
    "phone", "claimant_phone", "holder_phone", "caller", "from", "caller_phone", "mobile",
    "id_number", "holder_id_number", "plate", "address", "description", "notes", "speechresult",
})


def redact(text: str) -> str:
    for pattern in _PII_PATTERNS:
        text = pattern.sub(MASK, text)
    return text


def mask_personal(value: Any, depth: int = 0) -> Any:
    """A copy of a log record's fields with personal fields masked and every string redacted."""
    if isinstance(value, str):
        return redact(value)
    if depth > 8:
        return value
    if isinstance(value, dict):
        return {key: MASK if isinstance(key, str) and key.lower() in PERSONAL_FIELDS and value[key] is not None
                else mask_personal(item, depth + 1) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [mask_personal(item, depth + 1) for item in value]
    return value


class RedactingFormatter(LambdaPowertoolsFormatter):
    def serialize(self, log: LogRecord) -> str:
        return redact(super().serialize(mask_personal(log)))


_VERBOSE_LIBRARIES = ("botocore", "boto3", "urllib3", "pynamodb", "s3transfer")
for _library in _VERBOSE_LIBRARIES:
    logging.getLogger(_library).setLevel(logging.INFO)


logger = Logger(service=SERVICE, logger_formatter=RedactingFormatter())


def _tracer():
    from aws_lambda_powertools import Tracer

    return Tracer(service=SERVICE)


def _tracing_off() -> bool:
    return os.environ.get("POWERTOOLS_TRACE_DISABLED", "").strip().lower() in ("1", "true", "yes", "on")


# With tracing on (stage config ``xray: true``), Tracer patches botocore at import: every AWS call is a
# subsegment. With it off (tests, the local stack, benchmarks), Tracer is not made at all: Powertools
# would still import the X-Ray SDK (~75 ms of every cold start; ~350 ms more outside Lambda, where the
# SDK builds a sampling client).
tracer = None if _tracing_off() else _tracer()


def traced(method):
    """An X-Ray subsegment per call of a service method. Responses and errors are not recorded in
    the trace: they carry claim contents, which are personal data."""
    if tracer is None:
        return method
    return tracer.capture_method(method, capture_response=False, capture_error=False)


class Telemetry:
    """What services record about their work, as CloudWatch metrics (Powertools EMF lines).

    Each count is written at once as its own metric line: nothing is shared between threads and
    nothing waits for a flush, so a metric can never be lost to a crash later in the invocation.
    """

    def count(self, name: str, value: int = 1, **dimensions: str) -> None:
        if value <= 0:
            return
        with single_metric(name=name, unit=MetricUnit.Count, value=value, namespace=NAMESPACE) as metric:
            metric.add_dimension(name="service", value=SERVICE)
            for key, val in dimensions.items():
                metric.add_dimension(name=key, value=val)


# Log context is kept per thread (Powertools' thread-safe keys): one Lambda container serves one
# invocation at a time, but the local stack serves requests and consumers on threads of one process.

def bind(**keys: object) -> None:
    logger.thread_safe_append_keys(**keys)


def unbind(*keys: str) -> None:
    logger.thread_safe_remove_keys(list(keys))


def current_correlation_id() -> str | None:
    return logger.thread_safe_get_current_keys().get("correlation_id")


CORRELATION_HEADER = "x-correlation-id"
_CORRELATION_OK = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


def correlation_id_from(headers: dict, fallback: str) -> str:
    value = headers.get(CORRELATION_HEADER) if headers else None
    if value and _CORRELATION_OK.match(value):
        return value
    return fallback


def observe(event, get_response):
    """Chalice middleware for every event type: the invocation's context in, and out again after."""
    logger.thread_safe_clear_keys()
    bind(function_request_id=getattr(getattr(event, "context", None), "aws_request_id", None))
    try:
        return get_response(event)
    finally:
        logger.thread_safe_clear_keys()


def observed(handler):
    """Gives a function declared in a blueprint the ``observe`` middleware of its own. Once deployed,
    Lambda enters such a function through its blueprint's module (Chalice names it in the handler
    string), so ``app.py`` never runs and the app's middleware never wraps it (aws/chalice#1566).
    Where the app does register the blueprint (tests, the local stack), the app's middleware list
    replaces this one, and it holds ``observe`` too: the middleware runs once either way."""
    handler.middleware_handlers = [observe]
    return handler
