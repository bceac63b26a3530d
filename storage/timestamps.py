"""Timestamps as users give them and as the catalog keeps them: the one place they are parsed.

The catalog stores 14-digit UTC `YYYYMMDDhhmmss`. Users may give a prefix of one (`2026`,
`20261125`, Wayback style) or ISO 8601 (`2026-11-25`, `2026-11-25T13:02:46Z`,
`2026-11-25T15:02+02:00`). A prefix stands for a whole period; which end of it depends on the
question: a point to be near (`show --at`) and the end of a range (`--until`) take its last second,
as pywb and the Wayback Machine do (`2026` → `20261231235959`); the start of a range (`--since`)
takes its first (`2026` → `20260101000000`).
"""

from __future__ import annotations

import calendar
import re
from datetime import UTC, datetime, timedelta

from storage.errors import ArchiveError

UP, DOWN = "up", "down"

_ISO = re.compile(
    r"^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:[T ](\d{2})(?::(\d{2})(?::(\d{2})(?:[.,]\d+)?)?)?"
    r"\s*(Z|[+-]\d{2}:?\d{2})?)?)?)?$",
    re.I,
)
_FIELDS = (  # (start, end, lowest, highest) of each field in a 14-digit timestamp
    (0, 4, 1, 9999), (4, 6, 1, 12), (6, 8, 1, 31), (8, 10, 0, 23), (10, 12, 0, 59), (12, 14, 0, 59),
)


class BadTimestamp(ArchiveError, ValueError):
    """Not a Wayback timestamp (prefix of YYYYMMDDhhmmss) nor ISO 8601."""


def parse_timestamp(text: str, pad: str = UP) -> str:
    """`text` as a 14-digit UTC timestamp; a partial one padded to the start (`DOWN`) or end (`UP`)
    of the period it names."""
    text = (text or "").strip()
    if text.isdigit():
        if len(text) > 14 or len(text) < 4:
            raise BadTimestamp(f"{text!r}: a timestamp has 4 to 14 digits (YYYYMMDDhhmmss)")
        return _pad(text, pad, text)
    m = _ISO.match(text)
    if not m:
        raise BadTimestamp(f"{text!r} is neither YYYYMMDDhhmmss (or a prefix of it) nor ISO 8601")
    digits = "".join(g for g in m.groups()[:6] if g)
    zone = m.group(7)
    if zone is None or zone.upper() == "Z":
        return _pad(digits, pad, text)
    # an offset: the timestamp names a local time, to be moved to UTC (a prefix first padded)
    local = to_datetime(_pad(digits, pad, text))
    sign = 1 if zone[0] == "+" else -1
    hours, minutes = int(zone[1:3]), int(zone[-2:])
    return from_datetime(local - sign * timedelta(hours=hours, minutes=minutes))


def _pad(digits: str, pad: str, original: str) -> str:
    fill = "00000101000000" if pad == DOWN else "99991231235959"
    ts = digits + fill[len(digits):]
    for start, end, low, high in _FIELDS:
        if not low <= int(ts[start:end]) <= high:
            raise BadTimestamp(f"{original!r}: {ts[start:end]} is out of range in {ts}")
    last_day = calendar.monthrange(int(ts[0:4]), int(ts[4:6]))[1]
    if int(ts[6:8]) > last_day:
        if len(digits) >= 8:
            raise BadTimestamp(f"{original!r}: {ts[0:4]}-{ts[4:6]} has {last_day} days")
        ts = ts[:6] + f"{last_day:02d}" + ts[8:]  # "202602" up → the 28th
    return ts


def to_datetime(ts: str) -> datetime:
    """A 14-digit timestamp as a naive UTC datetime."""
    return datetime.strptime(ts, "%Y%m%d%H%M%S")


def from_datetime(when: datetime) -> str:
    if when.tzinfo is not None:
        when = when.astimezone(UTC).replace(tzinfo=None)
    return f"{when:%Y%m%d%H%M%S}"


def seconds_between(a: str, b: str) -> float:
    """|a − b| in seconds, for two 14-digit timestamps (their digits differ across month ends)."""
    return abs((to_datetime(a) - to_datetime(b)).total_seconds())


def iso(ts: str) -> str:
    """`20261125130246` → `2026-11-25T13:02:46Z`."""
    return f"{ts[0:4]}-{ts[4:6]}-{ts[6:8]}T{ts[8:10]}:{ts[10:12]}:{ts[12:14]}Z"
