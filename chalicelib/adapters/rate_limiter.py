"""The claim form's rate limiter in DynamoDB: fixed-window counters per phone and per client address."""
from __future__ import annotations

import math
import time
from datetime import UTC, datetime

from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.adapters.dynamo import raise_if_throttled
from chalicelib.adapters.models import RateLimitModel
from chalicelib.domain.errors import RateLimited, TemporarilyUnavailable


class DynamoRateLimiter:
    """Fixed windows: one counter item per key and window, incremented only while below its limit.
    All keys in one TransactWriteItems, so a refused request counts against none of them."""

    def __init__(self, connection_factory, now=time.time, sleep=time.sleep, conflict_retries: int = 3):
        self._connection = connection_factory
        self._now = now
        self._sleep = sleep
        self._conflict_retries = conflict_retries

    def hit(self, keys: list[tuple[str, int]], window_seconds: int) -> None:
        """Two requests counting the same key at the same moment (a double tap, a busy address) cancel
        one another's transaction (TransactionConflict): that is retried a few times, then answered as
        busy (503), never as a failure."""
        now = self._now()
        window = int(now // window_seconds) * window_seconds
        expires = datetime.fromtimestamp(window + 2 * window_seconds, UTC)
        for attempt in range(self._conflict_retries + 1):
            try:
                with TransactWrite(connection=self._connection()) as tx:
                    for key, limit in keys:
                        tx.update(RateLimitModel(f"{key}#{window}"),
                                  actions=[RateLimitModel.hits.add(1), RateLimitModel.expires_at.set(expires)],
                                  condition=RateLimitModel.hits.does_not_exist() | (RateLimitModel.hits < limit))
                return
            except TransactWriteError as exc:
                reasons = [r.code for r in exc.cancellation_reasons or () if r is not None]
                if "ConditionalCheckFailed" in reasons:
                    raise RateLimited(math.ceil(window + window_seconds - now)) from exc
                raise_if_throttled(exc)
                if "TransactionConflict" not in reasons:
                    raise
                if attempt == self._conflict_retries:
                    raise TemporarilyUnavailable("The form is busy; please retry shortly.",
                                                 retry_after_seconds=1) from exc
                self._sleep(0.02 * (2 ** attempt))
