"""The one date-time type of every request body: RFC 3339 with its UTC offset, within a sane window."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BeforeValidator, Field, Strict

# RFC 3339's date-time (section 5.6): seconds required, a fraction optional, then Z or ±hh:mm ('T' and
# 'Z' in either case). Checked before pydantic, which alone also reads numbers and numeric strings as
# Unix times in UTC ("0", "-1", "1764560000"), and takes a space for the 'T', '+0800' and no seconds.
RFC3339 = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?"
                     r"([Zz]|[+\-][0-9]{2}:[0-9]{2})")
NOT_RFC3339 = ("must be an RFC 3339 date-time with its UTC offset, e.g. 2026-11-24T12:30:00+08:00 or "
               "2026-11-24T04:30:00Z")

# Nothing insured happened before 1900; a year-1 date in Shanghai has no UTC instant a datetime can hold
# (the claim's fingerprint and every comparison in UTC overflow), and year 1 in UTC poisons scoring.
EARLIEST_YEAR = 1900
MAX_CLOCK_SKEW = timedelta(minutes=5)  # a sender's clock running a little fast is not a loss in the future


def _rfc3339(value: Any) -> Any:
    if isinstance(value, datetime):  # made by our own code, not read from a request
        return value
    if not isinstance(value, str) or not RFC3339.fullmatch(value):
        raise ValueError(NOT_RFC3339)
    return value


def _within_window(value: datetime) -> datetime:
    # Years compared first: 0001-01-01T00:00+08:00 or 9999-12-31T23:59-14:00 cannot be turned into UTC.
    if value.year < EARLIEST_YEAR:
        raise ValueError(f"must not be before {EARLIEST_YEAR}-01-01")
    latest = datetime.now(UTC) + MAX_CLOCK_SKEW
    if value.year > latest.year + 1 or value > latest:
        raise ValueError("is in the future")
    return value


# Strict(False): once a validator has looked at the value, pydantic validates the string in Python mode,
# where a strict datetime takes only datetime objects; the pattern above is the strictness instead.
OffsetDateTime = Annotated[
    AwareDatetime,
    Strict(False),
    BeforeValidator(_rfc3339),
    AfterValidator(_within_window),
    Field(description="RFC 3339 date-time with its UTC offset (Z or ±hh:mm), from 1900 to now."),
]
