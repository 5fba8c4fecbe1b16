"""HTTP plumbing shared by every blueprint: errors mapped to the contract in one place, body limits,
media types, correlation ids. Blueprints built from ``ApiBlueprint`` get all of it."""
from __future__ import annotations

import functools
import re
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from chalice import Blueprint, Response
from chalice.app import Request
from pydantic_core import from_json

from chalicelib.adapters import aws_errors
from chalicelib.domain import errors as e
from chalicelib.observability import CORRELATION_HEADER, bind, correlation_id_from, logger

STATUS_BY_ERROR: dict[type[e.DomainError], int] = {
    e.ValidationFailed: 400,
    e.MalformedBody: 400,
    e.Unauthenticated: 401,
    e.Forbidden: 403,
    e.NotFound: 404,
    e.IdempotencyConflict: 409,
    e.ConcurrentUpdate: 409,
    e.IllegalTransition: 409,
    e.PayloadTooLarge: 413,
    e.UnsupportedMediaType: 415,
    e.Unprocessable: 422,
    e.RateLimited: 429,
    e.TemporarilyUnavailable: 503,
}

# Errors Chalice raises itself before our code runs, rewritten into the contract's shape.
_CHALICE_CODES = {
    400: ("MALFORMED_BODY", "The request could not be read."),
    403: ("NOT_FOUND", "No such route."),
    404: ("NOT_FOUND", "No such route."),
    405: ("METHOD_NOT_ALLOWED", "This method is not allowed here."),
    415: ("UNSUPPORTED_MEDIA_TYPE", "This media type is not accepted here."),
    500: ("INTERNAL", "Something went wrong on our side; the request may be retried."),
}

IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")

# An AWS error that reaches a route has outlasted botocore's own retries; when it means busy or down
# (``aws_errors``) the request is answered 503 with Retry-After, never 500: a retry is safe, since every
# intake channel is idempotent on its key (Idempotency-Key, external_ref, submission key, call id).
RETRY_AFTER_SECONDS = 2


def status_of(error: e.DomainError) -> int:
    for cls in type(error).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]
    return 400


def dependency_unavailable(error: BaseException) -> e.TemporarilyUnavailable | None:
    """A TemporarilyUnavailable for an AWS call that stayed throttled, failing or unreachable, found along
    the error's chain (PynamoDB raises its own errors from botocore's); None for anything else, which
    stays a 500. botocore is imported only on this failure path."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:  # one the adapters raised already stands
        seen.add(id(current))
        if isinstance(current, e.TemporarilyUnavailable):
            return current
        current = current.__cause__ or current.__context__
    if aws_errors.unreachable(error):
        return e.TemporarilyUnavailable("A service we depend on is unreachable; please retry shortly.",
                                        RETRY_AFTER_SECONDS)
    if aws_errors.busy(error):
        return e.TemporarilyUnavailable("Storage is busy; please retry shortly.", RETRY_AFTER_SECONDS)
    return None


def error_body(error: e.DomainError) -> dict[str, Any]:
    body: dict[str, Any] = {"code": error.code, "message": error.message}
    if error.details:
        body["details"] = [{"field": d.field, "problem": d.problem} for d in error.details]
    return body


def problem(error: e.DomainError) -> Response:
    headers: dict[str, str | list[str]] = {"Content-Type": "application/json"}
    if isinstance(error, (e.TemporarilyUnavailable, e.RateLimited)):
        headers["Retry-After"] = str(error.retry_after_seconds)
    return Response(body={"error": error_body(error)}, status_code=status_of(error), headers=headers)


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(body=body, status_code=status, headers={"Content-Type": "application/json", **(headers or {})})


def query_params(request: Request) -> Mapping[str, str]:
    """The request's query parameters (a repeated one: its last value); empty when there are none."""
    return request.query_params or {}


class ApiBlueprint(Blueprint):
    """A Blueprint whose routes answer domain errors with the contract's error body."""

    def route(self, path: str, **kwargs: Any) -> Callable:
        register = super().route(path, **kwargs)

        def decorator(view: Callable) -> Callable:
            @functools.wraps(view)
            def mapped(*args: Any, **kw: Any) -> Any:
                try:
                    return view(*args, **kw)
                except e.DomainError as error:
                    if status_of(error) >= 500:
                        logger.warning("request deferred", extra={"code": error.code})
                    return problem(error)
                except Exception as failure:
                    unavailable = dependency_unavailable(failure)
                    if unavailable is None:
                        raise
                    # The error's type only: AWS messages can quote request contents.
                    logger.warning("request deferred: a dependency is unavailable",
                                   extra={"code": unavailable.code, "cause": type(failure).__name__})
                    return problem(unavailable)
            return register(mapped)
        return decorator


def http_middleware(event, get_response):
    """Correlation id in, contract-shaped errors out, for every HTTP route."""
    headers = dict(event.headers or {})
    context = event.context or {}
    fallback = (context.get("requestId") if isinstance(context, dict) else None) or str(uuid.uuid4())
    correlation_id = correlation_id_from(headers, fallback)
    bind(correlation_id=correlation_id)
    response = get_response(event)
    body = response.body
    if response.status_code in _CHALICE_CODES and isinstance(body, dict) and "Code" in body:
        code, message = _CHALICE_CODES[response.status_code]
        status = 404 if response.status_code == 403 else response.status_code
        # Allow: the methods the route takes, which a 405 must name (RFC 9110), as API Gateway's does
        kept = {name: value for name, value in (response.headers or {}).items() if name.lower() == "allow"}
        response = Response(body={"error": {"code": code, "message": message}}, status_code=status,
                            headers={"Content-Type": "application/json", **kept})
    response.headers[CORRELATION_HEADER] = correlation_id
    return response


def is_json_in_utf8(content_type: str | None) -> bool:
    """JSON (``application/json`` or ``*+json``) with no charset or UTF-8. No header is not JSON: Chalice
    takes a missing Content-Type for application/json, so its own check lets such a body through."""
    media_type, *parameters = (content_type or "").split(";")
    media_type = media_type.strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        return False
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset" and value.strip().strip('"').lower() not in ("utf-8", "utf8"):
            return False
    return True


def read_json_body(request, max_bytes: int) -> bytes:
    """The raw body, checked for size and media type; parsing is the schema's job."""
    if not is_json_in_utf8(request.headers.get("content-type")):
        raise e.UnsupportedMediaType("Send the body as application/json in UTF-8.")
    raw = request.raw_body or b""
    if len(raw) > max_bytes:
        raise e.PayloadTooLarge(f"The body is larger than {max_bytes} bytes.")
    if not raw.strip():
        raise e.MalformedBody("The body is empty.")
    return raw


def load_json(raw: bytes) -> Any:
    """JSON as the request models read it (pydantic's parser): the stdlib's would let through a lone
    surrogate (``"\\ud800"``), which no UTF-8 encoder (nor DynamoDB) accepts afterwards."""
    try:
        return from_json(raw)
    except (ValueError, UnicodeDecodeError):
        raise e.MalformedBody("The body is not valid JSON.") from None


def idempotency_key_of(request) -> str | None:
    key = request.headers.get("idempotency-key")
    if key is None:
        return None
    if not IDEMPOTENCY_KEY.match(key):
        raise e.ValidationFailed("The Idempotency-Key header is not valid.",
                                 [e.FieldProblem("Idempotency-Key", "1-128 characters: letters, digits, . _ : -")])
    return key
