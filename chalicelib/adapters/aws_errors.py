"""Which AWS errors mean "busy or down: retry later". The one list, read by the repositories (which turn
such an error into ``TemporarilyUnavailable``) and by the API (which answers it 503 with Retry-After,
whichever adapter let it through).

Kept here rather than read from botocore: botocore's own lists (``botocore.retries.standard``) are
private names, its public detectors want the raw HTTP answer, and by the time an error reaches us
botocore's retries are spent anyway. No botocore import at module level: the API imports this module,
and its cold start must not pay for botocore before the first AWS call."""
from __future__ import annotations

from collections.abc import Iterator

# What a service answers when it sheds load or fails on its side; any 5xx counts as well.
BUSY_CODES = frozenset({
    "ProvisionedThroughputExceededException", "ThrottlingException", "Throttling", "ThrottledException",
    "RequestLimitExceeded", "RequestThrottled", "RequestThrottledException", "TooManyRequestsException",
    "SlowDown", "InternalServerError", "InternalError", "InternalFailure", "ServiceUnavailable",
    "ServiceUnavailableException",
})


def busy(error: BaseException) -> bool:
    """``error``, or an error it was raised from, is an AWS answer refusing the call for load or for a
    fault on the service's side (PynamoDB's errors carry botocore's as their cause)."""
    for current in _chain(error):
        response = _response_of(current)
        if response is not None:
            code = (response.get("Error") or {}).get("Code")
            status = (response.get("ResponseMetadata") or {}).get("HTTPStatusCode") or 0
            if code in BUSY_CODES or status >= 500:
                return True
    return False


def unreachable(error: BaseException) -> bool:
    """``error``, or an error it was raised from, is botocore failing to reach the service at all."""
    from botocore.exceptions import ConnectionError as AwsUnreachable
    from botocore.exceptions import HTTPClientError

    return any(isinstance(current, (AwsUnreachable, HTTPClientError)) for current in _chain(error))


def _response_of(error: BaseException) -> dict | None:
    from botocore.exceptions import ClientError

    for candidate in (error, getattr(error, "cause", None)):  # PynamoDB keeps botocore's error as ``cause``
        if isinstance(candidate, ClientError) and isinstance(candidate.response, dict):
            return candidate.response
    return None


def _chain(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__
