"""Wayback lookups without SQLAlchemy: the one definition of how a capture is found and read back.

It owns the catalog queries of a lookup as SQL text with named parameters (`:surt`, `:ts`, `:id`),
the choice between the two index probes (closer wins, the earlier on a tie, as pywb sorts), the
walk from a revisit to the record holding its payload, and the `Snapshot` read from the WARCs.

One interface, `Lookup` (find by URL and time, by id, every capture of a URL, the record holding
a revisit's payload, the snapshot read back), with two implementations: `SqliteLookup` here, on a
read-only `sqlite3` connection, and `storage.retrieval.SessionLookup`, on a SQLAlchemy session
(any database). `storage.reader.open_lookup` gives the fast one when the catalog is a current
SQLite file (the CLI's `show` and `captures` then start without importing SQLAlchemy: ≈0.2 s of a
0.3 s lookup), else the ORM one. The web UI's API (`monitor.web.queries`) runs the same SQL on
its own session.

`NEAREST` is both probes of the (surt, timestamp, micros) index joined by UNION ALL: the newest
capture at or before `(:ts, :us)` and the oldest after it, one round trip, the same cost for one
capture or 10,000. Times are compared to the microsecond (row values), so two captures made in
the same second are two answers.
"""

from __future__ import annotations

import os
import sqlite3
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Generic, Protocol, TypeVar, cast

from storage.enums import REPLAYABLE, RecordKind
from storage.errors import ArchiveError, CaptureNotFound
from storage.objects import Warcs
from storage.surt import surt
from storage.timestamps import (
    LAST_MICRO,
    UP,
    Instant,
    exact,
    iso,
    micros_between,
    parse_instant,
    seconds_between,
)
from storage.warcread import ArchivedRecord, Location, read_record

MAX_REVISIT_CHAIN = 16
LATEST = Instant("99999999999999", LAST_MICRO)  # after every capture: `at` None means the newest

_KINDS = ", ".join(f"'{k}'" for k in REPLAYABLE)
_PROBE = (
    "SELECT {columns} FROM captures WHERE surt = :surt AND kind IN ({kinds}) "
    'AND ("timestamp", micros) {op} (:ts, :us) ORDER BY "timestamp" {dir}, micros {dir}, id {dir} '
    "LIMIT 1"
)


def nearest_sql(columns: str) -> str:
    """`NEAREST` selecting `columns` (`*` for an ORM entity)."""
    before = _PROBE.format(columns=columns, kinds=_KINDS, op="<=", dir="DESC")
    after = _PROBE.format(columns=columns, kinds=_KINDS, op=">", dir="ASC")
    return f"SELECT * FROM ({before}) AS before_ts UNION ALL SELECT * FROM ({after}) AS after_ts"


# Capture.as_json()'s keys, in its order (the `captures --json` and /api/show shape)
JSON_FIELDS = (
    "url",
    "timestamp",
    "status",
    "mime",
    "digest",
    "kind",
    "warc_file",
    "offset",
    "length",
    "target",
    "reason",
    "id",
    "warc_date",
    "purpose",
)


class CaptureLike(Protocol):
    """What a lookup reads of a capture: a `storage.models.Capture` or a `CaptureRow`.

    Read-only members: a lookup never assigns them, and `CaptureRow` is a frozen dataclass."""

    @property
    def id(self) -> int: ...
    @property
    def url(self) -> str: ...
    @property
    def timestamp(self) -> str: ...
    @property
    def micros(self) -> int: ...
    @property
    def kind(self) -> str: ...
    @property
    def status(self) -> int | None: ...
    @property
    def warc_file(self) -> str | None: ...
    @property
    def offset(self) -> int | None: ...
    @property
    def length(self) -> int | None: ...
    @property
    def revisit_of(self) -> int | None: ...
    @property
    def purpose(self) -> str | None: ...


C = TypeVar("C", bound=CaptureLike)
# what a Lookup's captures are (Capture or CaptureRow); unbound, as mypy cannot check a mapped
# class against CaptureLike where a class is defined (the base `Lookup[Capture]`)
R = TypeVar("R")


@dataclass(frozen=True)
class CaptureRow:
    """A row of the captures table as plain data: the columns a lookup and its output use
    (`COLUMNS`, in this order)."""

    id: int
    url: str
    timestamp: str
    kind: str
    status: int | None
    mime: str | None
    digest: str | None
    warc_file: str | None
    offset: int | None
    length: int | None
    request_offset: int | None
    request_length: int | None
    revisit_of: int | None
    target: str | None
    reason: str | None
    micros: int
    purpose: str | None

    @property
    def warc_date(self) -> str:
        """As `Capture.warc_date`."""
        return iso(self.timestamp, self.micros)

    @property
    def exact(self) -> str:
        """As `Capture.exact`."""
        return exact(self.timestamp, self.micros)

    def as_json(self) -> dict:
        """The same dict as `Capture.as_json()`."""
        return {name: getattr(self, name) for name in JSON_FIELDS}


# The row readers' SQL: its columns are CaptureRow's fields, in order (`CaptureRow(*row)`).
COLUMNS = ", ".join(f'"{f.name}"' for f in fields(CaptureRow))
NEAREST = nearest_sql(COLUMNS)
BY_ID = f"SELECT {COLUMNS} FROM captures WHERE id = :id"
OF_URL = f'SELECT {COLUMNS} FROM captures WHERE surt = :surt ORDER BY "timestamp", micros, id'


# --- the choices, whatever ran the SQL ----------------------------------------------------------


def probe_time(at: str | None) -> Instant:
    """The time `NEAREST` probes: `at` (a 14-digit prefix, up to 20 digits, or ISO 8601, with a
    fraction of a second or not; a prefix means the end of its period, as in Wayback), or `LATEST`
    when `at` is None."""
    return LATEST if at is None else parse_instant(at, UP)


def probe_params(url: str, at: Instant) -> dict:
    """`NEAREST`'s parameters."""
    return {"surt": surt(url), "ts": at.ts, "us": at.micros}


def _distance(at: Instant, c: CaptureLike) -> int:
    # A whole second asked for (no fraction): closeness in whole seconds, as Wayback measures it,
    # so every capture made in that second is as close as can be (the newest of them is taken).
    if not at.precise:
        return int(seconds_between(c.timestamp, at.ts))
    return micros_between(c.timestamp, c.micros, at.ts, at.micros)


def closer(at: Instant, before: C | None, after: C | None) -> C | None:
    """The capture nearer `at` of the newest at or before it and the oldest after it; the earlier
    on a tie."""
    if before is None or after is None:
        return before or after
    return after if _distance(at, after) < _distance(at, before) else before


def pick(at: Instant, rows: Sequence[C]) -> C | None:
    """The answer among the (at most two) rows `NEAREST` returned for `at`."""
    key = (at.ts, at.micros)
    before = next((r for r in rows if (r.timestamp, r.micros) <= key), None)
    after = next((r for r in rows if (r.timestamp, r.micros) > key), None)
    return closer(at, before, after)


def resolve_origin(capture: C, get: Callable[[int], C | None]) -> C:
    """The response whose record holds the payload of `capture` (itself unless a revisit);
    `get` reads a capture by id."""
    seen = 0
    while capture.kind == RecordKind.REVISIT:
        if capture.revisit_of is None:
            raise ArchiveError(
                f"revisit {capture.timestamp} of {capture.url} refers to a record not in the "
                "catalog"
            )
        referred = get(capture.revisit_of)
        seen += 1
        if referred is None or seen > MAX_REVISIT_CHAIN:
            raise ArchiveError("revisit chain broken or too long")
        capture = referred
    return capture


def location(capture) -> Location:
    if capture.warc_file is None or capture.offset is None or capture.length is None:
        raise ArchiveError(f"capture {capture.timestamp} of {capture.url} has no record")
    return Location(capture.warc_file, capture.offset, capture.length)


def request_location(capture) -> Location | None:
    if (
        capture.warc_file is None
        or capture.request_offset is None
        or capture.request_length is None
    ):
        return None
    return Location(capture.warc_file, capture.request_offset, capture.request_length)


@dataclass(frozen=True)
class Snapshot:
    """A capture read back: its own record and, for a revisit, the record holding the payload.
    `capture` and `origin` are `Capture`s or `CaptureRow`s, depending on the reader."""

    capture: CaptureLike
    origin: CaptureLike
    record: ArchivedRecord
    payload_record: ArchivedRecord

    @property
    def is_revisit(self) -> bool:
        return self.capture.kind == RecordKind.REVISIT

    @property
    def http_head(self) -> bytes:
        """The response head that goes with the payload: the capture's own, except for a 304
        (server-not-modified revisit), whose payload and headers are those of the original."""
        if self.is_revisit and self.capture.status == 304:
            return self.payload_record.http_head
        return self.record.http_head

    def raw(self) -> bytes:
        """The HTTP response as archived: head and payload, Content-Encoding kept."""
        if not self.is_revisit:
            return self.record.http_block
        return self.http_head + self.payload_record.payload

    def decoded(self, limit: int | None = None) -> Iterator[bytes]:
        """The payload with its Content-Encoding undone."""
        return self.payload_record.decoded(limit)

    def content_type(self) -> str | None:
        return self.payload_record.http_headers().get_header("Content-Type")


def read_snapshot(warc_dir: Warcs, capture: CaptureLike, origin: CaptureLike) -> Snapshot:
    """`capture`'s record, and `origin`'s when it is another, read from the WARC files."""
    record = read_record(warc_dir, location(capture))
    payload_record = record if origin is capture else read_record(warc_dir, location(origin))
    return Snapshot(capture=capture, origin=origin, record=record, payload_record=payload_record)


# --- the interface ------------------------------------------------------------------------------


class Lookup(ABC, Generic[R]):
    """Finding captures in the catalog and reading them back, whatever reads the catalog. An
    implementation runs the SQL (`nearest`, `get`, `captures_of`); the rest is shared."""

    @abstractmethod
    def nearest(self, url: str, at: str | None = None) -> R:
        """The capture of `url` (SURT match) nearest `at` (14-digit prefix, up to 20 digits, or
        ISO 8601 with or without a fraction of a second; a prefix means the end of its period, as
        in Wayback); the newest when `at` is None. The earlier on a tie. A capture's exact time
        (its WARC-Date, or its 20 digits) finds that capture. CaptureNotFound if there is none."""

    @abstractmethod
    def get(self, capture_id: int) -> R | None:
        """The capture with this id, or None."""

    @abstractmethod
    def captures_of(self, url: str) -> Sequence[R]:
        """Every capture of `url` (SURT match), oldest first."""

    def by_id(self, capture_id: int) -> R:
        """The capture with this id (the catalog's key: what `captures` prints, stable for its
        life); CaptureNotFound if there is none."""
        found = self.get(capture_id)
        if found is None:
            raise CaptureNotFound(f"no capture with id {capture_id}")
        return found

    def origin_of(self, capture: R) -> R:
        """The response whose record holds the payload of `capture` (itself unless a revisit)."""
        return cast(R, resolve_origin(cast(CaptureLike, capture), self._get_like))

    def load(self, warc_dir: Warcs, capture: R) -> Snapshot:
        """`capture` read back from the WARC files under `warc_dir`."""
        like = cast(CaptureLike, capture)
        return read_snapshot(warc_dir, like, cast(CaptureLike, self.origin_of(capture)))

    def _get_like(self, capture_id: int) -> CaptureLike | None:
        return cast(CaptureLike | None, self.get(capture_id))

    def snapshot(
        self,
        warc_dir: Warcs,
        url: str | None = None,
        at: str | None = None,
        capture_id: int | None = None,
    ) -> Snapshot:
        """The capture with `capture_id`, or else the capture of `url` nearest `at`, read back."""
        if capture_id is not None:
            capture = self.by_id(capture_id)
        else:
            capture = self.nearest(require_url(url), at)
        return self.load(warc_dir, capture)


# --- the same lookups over a read-only sqlite3 connection ---------------------------------------


def open_sqlite(database_url: str) -> sqlite3.Connection | None:
    """A read-only connection to the SQLite catalog at `database_url` if it exists and its schema
    is current; None otherwise (another database, no file yet, or a migration due), when the
    caller goes through `storage.catalog.open_catalog`, which creates and migrates."""
    from storage.migrations import HEAD

    if not database_url.startswith("sqlite:///"):
        return None
    path = Path(database_url.removeprefix("sqlite:///"))
    if "?" in database_url or not path.is_file():  # URL options: leave them to SQLAlchemy
        return None
    try:
        # on read-only media SQLite cannot make the WAL's -shm file: read the file as immutable
        immutable = "&immutable=1" if not os.access(path.parent, os.W_OK) else ""
        conn = sqlite3.connect(
            path.resolve().as_uri() + "?mode=ro" + immutable, uri=True, timeout=30
        )
    except sqlite3.Error:
        return None
    try:
        version = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.Error:
        version = None
    if version is None or version[0] != HEAD:
        conn.close()
        return None
    return conn


def _rows(conn: sqlite3.Connection, sql: str, params: dict) -> list[CaptureRow]:
    try:
        return [CaptureRow(*r) for r in conn.execute(sql, params)]
    except sqlite3.Error as exc:
        raise ArchiveError(f"cannot read the catalog: {exc}") from None


class SqliteLookup(Lookup[CaptureRow]):
    """`Lookup` on a read-only sqlite3 connection (`open_sqlite`); captures as `CaptureRow`s."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn

    def nearest(self, url: str, at: str | None = None) -> CaptureRow:
        when = probe_time(at)
        found = pick(when, _rows(self.conn, NEAREST, probe_params(url, when)))
        if found is None:
            raise CaptureNotFound(f"no capture of {url}")
        return found

    def get(self, capture_id: int) -> CaptureRow | None:
        return next(iter(_rows(self.conn, BY_ID, {"id": capture_id})), None)

    def captures_of(self, url: str) -> list[CaptureRow]:
        return _rows(self.conn, OF_URL, {"surt": surt(url)})


def require_url(url: str | None) -> str:
    """The URL of a lookup by time (`snapshot` takes a capture id or a URL)."""
    if url is None:
        raise TypeError("snapshot needs a url or a capture_id")
    return url


# The same as functions of a connection, for a caller that holds one (tests compare the two).


def nearest(conn: sqlite3.Connection, url: str, at: str | None = None) -> CaptureRow:
    return SqliteLookup(conn).nearest(url, at)


def by_id(conn: sqlite3.Connection, capture_id: int) -> CaptureRow:
    return SqliteLookup(conn).by_id(capture_id)


def origin_of(conn: sqlite3.Connection, capture: CaptureRow) -> CaptureRow:
    return SqliteLookup(conn).origin_of(capture)


def snapshot(
    conn: sqlite3.Connection,
    warc_dir: Warcs,
    url: str | None = None,
    at: str | None = None,
    capture_id: int | None = None,
) -> Snapshot:
    return SqliteLookup(conn).snapshot(warc_dir, url, at, capture_id)


def captures_of(conn: sqlite3.Connection, url: str) -> list[CaptureRow]:
    return SqliteLookup(conn).captures_of(url)
