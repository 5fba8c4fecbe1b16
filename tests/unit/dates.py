"""What a sender may put in a date field, as hypothesis strategies, and what any accepted request date
must be once parsed: shared by the claim schema's and the parsers' property tests."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import strategies as st

any_offset = st.integers(min_value=-(24 * 60 - 1), max_value=24 * 60 - 1).map(lambda m: timezone(timedelta(minutes=m)))


any_moment = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30),
                          timezones=st.none() | any_offset)


recent_moment = st.datetimes(min_value=datetime(1890, 1, 1), max_value=datetime.now() + timedelta(days=2),
                             timezones=st.none() | any_offset)


moments = any_moment | recent_moment
OFFSET_AT_END = re.compile(r"(?:[Zz]|[+-][0-9]{2}:[0-9]{2})\Z")


# What a sender may put in a date field: date-times written every which way, Unix times as numbers and
# as strings, and any text at all.
date_texts = st.one_of(
    moments.map(datetime.isoformat),
    moments.map(lambda d: d.isoformat().replace("+00:00", "Z")),
    moments.map(lambda d: d.isoformat(sep=" ")),
    moments.map(lambda d: d.isoformat(timespec="minutes")),
    moments.map(lambda d: re.sub(r"([+-][0-9]{2}):([0-9]{2})$", r"\1\2", d.isoformat())),
    moments.map(lambda d: d.strftime("%Y-%m-%dT%H:%M:%S")),
    st.integers().map(str), st.floats(allow_nan=False).map(str),
    st.integers(), st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
)


def assert_a_date_in_the_window(sent, parsed: datetime) -> None:
    """What any request date must be once accepted: sent as a string ending in its offset, aware, from
    1900 (as written) to now, and an instant that UTC can hold (the fingerprint and scoring convert it)."""
    assert isinstance(sent, str) and OFFSET_AT_END.search(sent)
    assert parsed.utcoffset() is not None
    assert parsed.year >= 1900
    assert parsed.astimezone(UTC) <= datetime.now(UTC) + timedelta(minutes=5)
