"""Times as users give them and as the catalog keeps them: the one place they are parsed and
formatted, and the catalog's clock (`utcnow`: naive UTC, as every datetime column holds).

The catalog stores 14-digit UTC `YYYYMMDDhhmmss` (the Wayback and CDXJ form) and, beside it, the
microseconds of the second (`micros`): together they are the capture's WARC-Date exactly
(`iso(ts, micros)`, `2026-11-25T13:02:46.123456Z`), written whole as 20 digits by `exact`.

Users may give a prefix of 14 digits (`2026`, `20261125`, Wayback style), 15 to 20 digits (the
second's fraction: `20261125130246123456`) or ISO 8601 (`2026-11-25`, `2026-11-25T13:02:46Z`,
`2026-11-25T13:02:46.5Z`, `2026-11-25T15:02+02:00`). A prefix stands for a whole period; which end
of it depends on the question: a point to be near (`show --at`) and the end of a range (`--until`)
take its last instant, as pywb and the Wayback Machine do (`2026` → `20261231235959.999999`); the
start of a range (`--since`) takes its first (`2026` → `20260101000000.000000`). An ISO fraction is
a number, not a period: `…:46.5Z` is 46.5 s exactly.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from storage.errors import ArchiveError

UP, DOWN = "up", "down"
LAST_MICRO = 999_999

_ISO = re.compile(
    r"^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:[T ](\d{2})(?::(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?"
    r"\s*(Z|[+-]\d{2}:?\d{2})?)?)?)?$",
    re.I,
)
_FIELDS = (  # (start, end, lowest, highest) of each field in a 14-digit timestamp
    (0, 4, 1, 9999),
    (4, 6, 1, 12),
    (6, 8, 1, 31),
    (8, 10, 0, 23),
    (10, 12, 0, 59),
    (12, 14, 0, 59),
)


class BadTimestamp(ArchiveError, ValueError):
    """Not a Wayback timestamp (prefix of YYYYMMDDhhmmss, or up to 6 more digits) nor ISO 8601."""


@dataclass(frozen=True, order=True)
class Instant:
    """A time asked for, to the microsecond: `ts` (14 digits) and `micros`. `precise` when the
    asker named a fraction of a second: closeness is then measured in microseconds, else in whole
    seconds as Wayback does, so that asking for a second finds a capture made in it."""

    ts: str
    micros: int = 0
    precise: bool = field(default=False, compare=False)

    @property
    def exact(self) -> str:
        return exact(self.ts, self.micros)


def parse_instant(text: str, pad: str = UP) -> Instant:
    """`text` as an `Instant`; a partial one padded to the start (`DOWN`) or end (`UP`) of the
    period it names. A WARC-Date parses (with `DOWN`) to the catalog's `(ts, micros)`."""
    text = (text or "").strip()
    if text.isdigit():
        if len(text) > 20 or len(text) < 4:
            raise BadTimestamp(
                f"{text!r}: a timestamp has 4 to 14 digits (YYYYMMDDhhmmss), "
                "or up to 6 more for the fraction of the second"
            )
        if len(text) <= 14:
            return Instant(_pad(text, pad, text), _end_micros(pad))
        fill = "9" if pad == UP else "0"
        return Instant(_pad(text[:14], pad, text), int(text[14:].ljust(6, fill)), precise=True)
    m = _ISO.match(text)
    if not m:
        raise BadTimestamp(f"{text!r} is neither YYYYMMDDhhmmss (or a prefix of it) nor ISO 8601")
    digits = "".join(g for g in m.groups()[:6] if g)
    fraction, zone = m.group(7), m.group(8)
    ts = _pad(digits, pad, text)
    found = (
        Instant(ts, int(fraction[:6].ljust(6, "0")), precise=True)
        if fraction
        else Instant(ts, _end_micros(pad))
    )
    if zone is None or zone.upper() == "Z":
        return found
    # an offset: the timestamp names a local time, to be moved to UTC (a prefix first padded)
    sign = 1 if zone[0] == "+" else -1
    hours, minutes = int(zone[1:3]), int(zone[-2:])
    utc = to_datetime(found.ts).replace(microsecond=found.micros) - sign * timedelta(
        hours=hours, minutes=minutes
    )
    return Instant(from_datetime(utc), utc.microsecond, found.precise)


def parse_timestamp(text: str, pad: str = UP) -> str:
    """`text` as a 14-digit UTC timestamp (see `parse_instant`; a fraction of a second is
    dropped)."""
    return parse_instant(text, pad).ts


def _end_micros(pad: str) -> int:
    return LAST_MICRO if pad == UP else 0


def _pad(digits: str, pad: str, original: str) -> str:
    fill = "00000101000000" if pad == DOWN else "99991231235959"
    ts = digits + fill[len(digits) :]
    for start, end, low, high in _FIELDS:
        if not low <= int(ts[start:end]) <= high:
            raise BadTimestamp(f"{original!r}: {ts[start:end]} is out of range in {ts}")
    last_day = calendar.monthrange(int(ts[0:4]), int(ts[4:6]))[1]
    if int(ts[6:8]) > last_day:
        if len(digits) >= 8:
            raise BadTimestamp(f"{original!r}: {ts[0:4]}-{ts[4:6]} has {last_day} days")
        ts = ts[:6] + f"{last_day:02d}" + ts[8:]  # "202602" up → the 28th
    return ts


def utcnow() -> datetime:
    """Now, as the catalog keeps times: a naive UTC datetime."""
    return datetime.now(UTC).replace(tzinfo=None)


def naive_utc(when: datetime) -> datetime:
    """`when` as the catalog keeps times: an aware time moved to UTC and made naive; a naive time
    is taken to be UTC already."""
    return when if when.tzinfo is None else when.astimezone(UTC).replace(tzinfo=None)


def to_datetime(ts: str) -> datetime:
    """A 14-digit timestamp as a naive UTC datetime."""
    return datetime.strptime(ts, "%Y%m%d%H%M%S")


def from_datetime(when: datetime) -> str:
    """A datetime (naive UTC, or aware) as a 14-digit UTC timestamp: the only place it is
    formatted."""
    return f"{naive_utc(when):%Y%m%d%H%M%S}"


def seconds_between(a: str, b: str) -> float:
    """|a − b| in seconds, for two 14-digit timestamps (their digits differ across month ends)."""
    return abs((to_datetime(a) - to_datetime(b)).total_seconds())


def micros_between(a_ts: str, a_micros: int, b_ts: str, b_micros: int) -> int:
    """|a − b| in microseconds (integers: no float rounding between captures µs apart)."""
    seconds = int((to_datetime(a_ts) - to_datetime(b_ts)).total_seconds())
    return abs(seconds * 1_000_000 + a_micros - b_micros)


def exact(ts: str, micros: int) -> str:
    """The 20-digit form of a capture's time, `YYYYMMDDhhmmssffffff`: what `show --at` reaches
    exactly."""
    return f"{ts}{micros:06d}"


def iso(ts: str, micros: int = 0) -> str:
    """`20261125130246` → `2026-11-25T13:02:46Z`; with micros, `…:46.123456Z`. This is the WARC-Date
    of a capture exactly (a whole second is written without a fraction, as warcio does)."""
    fraction = f".{micros:06d}" if micros else ""
    return f"{ts[0:4]}-{ts[4:6]}-{ts[6:8]}T{ts[8:10]}:{ts[10:12]}:{ts[12:14]}{fraction}Z"


def iso_second(when: datetime) -> str:
    """A datetime (naive UTC, or aware) as `iso` writes a timestamp, to the second:
    `2026-11-25T13:02:46Z`."""
    return iso(from_datetime(when))


def iso_offset(when: datetime) -> str:
    """A datetime (naive UTC, or aware) in ISO 8601 with its offset, to the second:
    `2026-11-25T13:02:46+00:00` (the times of `status --json`)."""
    return naive_utc(when).replace(tzinfo=UTC).isoformat(timespec="seconds")


def readable(ts: str, micros: int = 0) -> str:
    """`2026-11-25 13:02:46.123456 UTC`, for people (the fraction only when there is one)."""
    fraction = f".{micros:06d}" if micros else ""
    return f"{ts[0:4]}-{ts[4:6]}-{ts[6:8]} {ts[8:10]}:{ts[10:12]}:{ts[12:14]}{fraction} UTC"


def warc_date(when: datetime) -> str:
    """The WARC-Date of a record made at `when` (naive UTC), to the microsecond: `iso` of the
    catalog's (ts, micros), so a revisit's WARC-Refers-To-Date rebuilt from the catalog equals
    it."""
    return iso(from_datetime(when), when.microsecond)
