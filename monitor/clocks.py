"""Slow clocks: a date and time on a page that only says when it was served.

"Updated 16:42 UTC", "Stand: 2. Dezember 2026, 16:42 Uhr", "Last modified: Thu, 03 Dec 2026
16:00 GMT": a stamp at minute or hour resolution, the same in two fetches seconds apart (so the
confirmation fetch cannot learn it) and different at the next pass. Such a stamp is recognised by
what it says: the time of the capture's own fetch (its WARC-Date), give or take a cache's age.
A date that is content (an event in a past year, a hearing moved to another day) says something
else and stays a change.

Finding the candidates is a regular expression (a time of day, with the date, weekday and zone
that may surround it); reading them, in any language and with its time zone, is `dateparser`'s
(a well-kept parser that knows month names and zone abbreviations in some 200 locales, which a
hand-written table would not). A stamp without a zone is read as the page's local time, at an
offset of whole hours from UTC: any offset is allowed, but then the minutes must fit. A whole
hour without a zone ("Stand: 3. Dezember 2026, 18:00 Uhr") fits some offset at any hour, so it is
a clock only at an offset the page's other stamp has shown (`offsets`: the version compared with,
read minutes before, at 17:55 Uhr), with its date, lagging the fetch by minutes.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from storage.timestamps import naive_utc, to_datetime

# a stamp may lag its fetch (a page cached or regenerated every few minutes) but not lead it much
# (a server clock a little fast); a stamp at hour resolution ("16:00 GMT") lags up to an hour
MAX_LAG = timedelta(minutes=10)
MAX_LAG_HOURLY = timedelta(minutes=65)
MAX_LEAD = timedelta(minutes=2)
LANGUAGES = [
    "en",
    "de",
    "fr",
    "es",
    "it",
    "nl",
    "pt",
    "pl",
    "sv",
    "da",
    "nb",
    "fi",
    "cs",
    "ru",
    "tr",
]

_WORD = r"[^\W\d_]"
_DATE = (
    rf"(?:{_WORD}{{3,12}}\.?,?\s+)?"  # a weekday ("am", "le" before a date are not)
    r"(?:\d{4}-\d{2}-\d{2}"  # 2026-12-03
    r"|\d{1,2}[./]\d{1,2}[./]\d{2,4}"  # 03.12.2026, 12/3/2026
    # 2. Dezember 2026, 3 de diciembre de 2026
    rf"|\d{{1,2}}\.?\s+(?:de\s+)?{_WORD}{{3,12}}\.?\s+(?:de\s+)?\d{{4}}"
    rf"|{_WORD}{{3,12}}\.?\s+\d{{1,2}},?\s+\d{{4}})"  # Dec 3, 2026
    rf"(?:,?\s*(?:{_WORD}{{1,5}}\.?\s+)?|T|\s*-\s*)"  # ", at ", " um ", " à ", "T"
)
_TIME = r"(?:[01]?\d|2[0-3])(?::|\.|h|\s?h\s?)[0-5]\d(?::[0-5]\d)?(?:\s?[apAP]\.?[mM]\.?)?"
_ZONE = r"(?:\s?(?:Uhr|h)\b)?(?:\s?(?:UTC|GMT|Z|[A-Z]{1,4}T|[+-]\d{2}:?\d{2}))?\b"
CANDIDATE = re.compile(rf"(?<![\w:.])(?:{_DATE})?{_TIME}{_ZONE}")
_HAS_DATE = re.compile(r"\d{4}")
_NUMERIC_DATE = re.compile(r"\d{1,2}[./]\d{1,2}[./]\d{2,4}")


@dataclass(frozen=True)
class Clock:
    """A stamp in a line that reads as its fetch time: where it is, and why it is taken for a
    clock."""

    start: int
    end: int
    text: str
    read_as: datetime  # the stamp in UTC (at the offset that fits, for a stamp without a zone)
    offset_hours: int | None  # the page's offset from UTC, None when the stamp names its zone
    fetched: datetime

    @property
    def why(self) -> str:
        zone = (
            "its zone" if self.offset_hours is None else f"local time at UTC{self.offset_hours:+d}"
        )
        lag = (self.fetched - self.read_as).total_seconds() / 60
        return (
            f"clock: {self.text!r} reads as {self.read_as:%Y-%m-%d %H:%M} UTC ({zone}), "
            f"{lag:.0f} min before the fetch at {self.fetched:%Y-%m-%d %H:%M:%S} UTC (WARC-Date)"
        )


@lru_cache(maxsize=1)
def _parser():
    from dateparser.date import DateDataParser

    return DateDataParser(languages=LANGUAGES, settings={"RELATIVE_BASE": datetime(2000, 1, 1)})


@lru_cache(maxsize=1)
def _dmy_parser():
    from dateparser.date import DateDataParser

    return DateDataParser(
        languages=LANGUAGES, settings={"RELATIVE_BASE": datetime(2000, 1, 1), "DATE_ORDER": "DMY"}
    )


@lru_cache(maxsize=4096)
def _read(text: str) -> tuple[datetime, ...]:
    """The readings of a stamp (two for an ambiguous numeric date), aware when it names a zone."""
    parsers = [_parser(), _dmy_parser()] if _NUMERIC_DATE.search(text) else [_parser()]
    out = []
    for p in parsers:
        got = p.get_date_data(text).date_obj
        if got is not None and got not in out:
            out.append(got)
    return tuple(out)


def _fits(stamp: datetime, fetched: datetime, hourly: bool) -> bool:
    lag = fetched - stamp
    return -MAX_LEAD <= lag <= (MAX_LAG_HOURLY if hourly else MAX_LAG)


def _readings(text: str) -> tuple[str, tuple[datetime, ...]]:
    """The stamp's text and readings; a leading word the pattern took for a weekday ("am",
    "le", "Updated") and the parser cannot read is dropped."""
    for _ in range(3):
        got = _read(text)
        if got or " " not in text:
            return text, got
        text = text.split(" ", 1)[1]
    return text, ()


def _as_clock(m: re.Match, fetched: datetime, offsets: Collection[int] = ()) -> Clock | None:
    text, stamps = _readings(m.group(0).strip())
    start = m.start() + m.group(0).find(text)
    has_date = bool(_HAS_DATE.search(text))
    for stamp in stamps:
        hourly = stamp.minute == 0 and stamp.second == 0
        if stamp.tzinfo is not None:
            utc = naive_utc(stamp)
            if not has_date:  # a time alone is today's, where "today" is the fetch's day
                utc = _nearest_day(utc, fetched)
            if _fits(utc, fetched, hourly):
                return Clock(start, start + len(text), text, utc, None, fetched)
            continue
        if hourly and not (has_date and offsets):
            continue  # a naive whole hour fits some offset at any hour: too weak to call a clock
        # a naive whole hour, at the page's known offset, is held to a minute stamp's lag
        for hours in sorted(offsets) if hourly else range(-12, 15):
            utc = stamp - timedelta(hours=hours)
            if not has_date:
                utc = _nearest_day(utc, fetched)
            if _fits(utc, fetched, False):
                return Clock(start, start + len(text), text, utc, hours, fetched)
    return None


def _nearest_day(stamp: datetime, fetched: datetime) -> datetime:
    same = datetime.combine(fetched.date(), stamp.time())
    return min((same + timedelta(days=d) for d in (-1, 0, 1)), key=lambda t: abs(t - fetched))


def clocks_in(line: str, fetched: datetime, offsets: Collection[int] = ()) -> list[Clock]:
    """The stamps in `line` that read as `fetched` (a naive UTC datetime); `offsets` are the
    page's offsets from UTC its other clocks were read at."""
    if not any(ch.isdigit() for ch in line):
        return []
    found = []
    for m in CANDIDATE.finditer(line):
        clock = _as_clock(m, fetched, offsets)
        if clock is not None:
            found.append(clock)
    return found


def fetch_time(timestamp: str) -> datetime:
    """A capture's 14-digit timestamp (its WARC-Date, UTC) as a naive UTC datetime."""
    return to_datetime(timestamp[:14])
