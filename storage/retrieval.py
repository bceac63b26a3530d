"""Wayback-style retrieval: the capture of a URL nearest a time, a revisit resolved to the record
that holds its payload, and the archived HTTP message read back from its WARC file.

The nearest capture costs two probes of the (surt, timestamp) index: the newest capture at or
before the time and the oldest after it, whichever is closer (the earlier on a tie, as pywb sorts).
So a lookup takes the same time for a URL with one capture as for one with ten thousand.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.errors import ArchiveError, CaptureNotFound
from storage.models import Capture
from storage.surt import surt
from storage.timestamps import UP, parse_timestamp, seconds_between
from storage.warcread import ArchivedRecord, Location, read_record

REPLAYABLE = ("response", "revisit")  # failed fetches have no record
_MAX_REVISIT_CHAIN = 16


def nearest(session: Session, url: str, at: str | None = None) -> Capture:
    """The capture of `url` (SURT match) nearest `at` (14-digit prefix or ISO 8601; a prefix means
    the end of its period, as in Wayback); the newest when `at` is None."""
    key = surt(url)
    base = select(Capture).where(Capture.surt == key, Capture.kind.in_(REPLAYABLE)).limit(1)
    if at is None:
        found = session.scalars(base.order_by(Capture.timestamp.desc(), Capture.id.desc())).first()
    else:
        ts = parse_timestamp(at, UP)
        before = session.scalars(
            base.where(Capture.timestamp <= ts).order_by(Capture.timestamp.desc(), Capture.id.desc())
        ).first()
        after = session.scalars(
            base.where(Capture.timestamp > ts).order_by(Capture.timestamp.asc(), Capture.id.asc())
        ).first()
        found = _closer(ts, before, after)
    if found is None:
        raise CaptureNotFound(f"no capture of {url}")
    return found


def _closer(ts: str, before: Capture | None, after: Capture | None) -> Capture | None:
    if before is None or after is None:
        return before or after
    return after if seconds_between(after.timestamp, ts) < seconds_between(ts, before.timestamp) else before


def origin_of(session: Session, capture: Capture) -> Capture:
    """The response whose record holds the payload of `capture` (itself unless a revisit)."""
    seen = 0
    while capture.kind == "revisit":
        if capture.revisit_of is None:
            raise ArchiveError(f"revisit {capture.timestamp} of {capture.url} refers to a record not in the catalog")
        capture = session.get(Capture, capture.revisit_of)
        seen += 1
        if capture is None or seen > _MAX_REVISIT_CHAIN:
            raise ArchiveError("revisit chain broken or too long")
    return capture


def location(capture: Capture) -> Location:
    if capture.warc_file is None or capture.offset is None or capture.length is None:
        raise ArchiveError(f"capture {capture.timestamp} of {capture.url} has no record")
    return Location(capture.warc_file, capture.offset, capture.length)


def request_location(capture: Capture) -> Location | None:
    if capture.warc_file is None or capture.request_offset is None or capture.request_length is None:
        return None
    return Location(capture.warc_file, capture.request_offset, capture.request_length)


@dataclass(frozen=True)
class Snapshot:
    """A capture read back: its own record and, for a revisit, the record holding the payload."""

    capture: Capture
    origin: Capture
    record: ArchivedRecord
    payload_record: ArchivedRecord

    @property
    def is_revisit(self) -> bool:
        return self.capture.kind == "revisit"

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


def load(session: Session, warc_dir: Path, capture: Capture) -> Snapshot:
    origin = origin_of(session, capture)
    record = read_record(warc_dir, location(capture))
    payload_record = record if origin is capture else read_record(warc_dir, location(origin))
    return Snapshot(capture=capture, origin=origin, record=record, payload_record=payload_record)


def snapshot(session: Session, warc_dir: Path, url: str, at: str | None = None) -> Snapshot:
    """The capture of `url` nearest `at`, read back (see `nearest`)."""
    return load(session, warc_dir, nearest(session, url, at))
