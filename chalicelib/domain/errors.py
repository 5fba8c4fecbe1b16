"""Domain errors. The API maps them to HTTP by type, in one place (api/http.py)."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class FieldProblem:
    field: str
    problem: str


class DomainError(Exception):
    """Base of every error a caller can be told about."""

    code = "ERROR"

    def __init__(self, message: str, details: list[FieldProblem] | None = None):
        super().__init__(message)
        self.message = message
        self.details = details or []


class ValidationFailed(DomainError):
    code = "VALIDATION_FAILED"


class MalformedBody(DomainError):
    code = "MALFORMED_BODY"


class UnsupportedMediaType(DomainError):
    code = "UNSUPPORTED_MEDIA_TYPE"


class PayloadTooLarge(DomainError):
    code = "PAYLOAD_TOO_LARGE"


class Unauthenticated(DomainError):
    code = "UNAUTHENTICATED"


class Forbidden(DomainError):
    """Credentials were presented but do not hold: a webhook signature that does not verify."""

    code = "FORBIDDEN"


class NotFound(DomainError):
    code = "NOT_FOUND"


class Unprocessable(DomainError):
    """Well-formed but unacceptable: for example a policy number and phone that do not match."""

    code = "UNPROCESSABLE"


class PolicyNotMatched(Unprocessable):
    """One generic answer: it never says whether the policy number or the phone was wrong."""

    code = "POLICY_NOT_MATCHED"

    def __init__(self):
        super().__init__("We could not find a policy with this number and phone.")


class RateLimited(DomainError):
    code = "RATE_LIMITED"

    def __init__(self, retry_after_seconds: int):
        super().__init__("Too many requests; please retry later.")
        self.retry_after_seconds = max(1, int(retry_after_seconds))


class IdempotencyConflict(DomainError):
    code = "IDEMPOTENCY_CONFLICT"


class ConcurrentUpdate(DomainError):
    """A conditional write lost against another writer; the caller may retry."""

    code = "CONFLICT"


class IllegalTransition(DomainError):
    code = "ILLEGAL_TRANSITION"


class TemporarilyUnavailable(DomainError):
    """A dependency is throttling or down; the caller should retry later."""

    code = "TEMPORARILY_UNAVAILABLE"

    def __init__(self, message: str, retry_after_seconds: int = 2):
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


@dataclass
class ErrorBody:
    code: str
    message: str
    details: list[FieldProblem] = field(default_factory=list)
