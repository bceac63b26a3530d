"""Wayback-style retrieval through a SQLAlchemy session (any catalog database): the capture of a
URL nearest a time, a revisit resolved to the record that holds its payload, and the archived HTTP
message read back from its WARC file.

`SessionLookup` is `storage.lookup.Lookup` on a session: the SQL, the choice between the two index
probes and the revisit walk are `storage.lookup`'s, shared with the SQLAlchemy-free reader of
SQLite catalogs; here they run through the session, so callers get mapped `Capture`s. The
functions below are the same lookups for code that holds a session.
"""

from __future__ import annotations

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from storage.catalog import captures_of
from storage.errors import CaptureNotFound
from storage.lookup import (
    Lookup,
    Snapshot,
    location,
    nearest_sql,
    pick,
    probe_params,
    probe_time,
    request_location,
)
from storage.models import Capture
from storage.objects import Warcs

__all__ = [
    "SessionLookup",
    "Snapshot",
    "by_id",
    "load",
    "location",
    "nearest",
    "origin_of",
    "request_location",
    "snapshot",
]

_NEAREST = select(Capture).from_statement(text(nearest_sql("*")))  # every column: mapped Captures


class SessionLookup(Lookup[Capture]):
    """`storage.lookup.Lookup` through a SQLAlchemy session; captures as mapped `Capture`s."""

    def __init__(self, session: Session):
        self.session = session

    def nearest(self, url: str, at: str | None = None) -> Capture:
        when = probe_time(at)
        found = pick(when, self.session.scalars(_NEAREST, probe_params(url, when)).all())
        if found is None:
            raise CaptureNotFound(f"no capture of {url}")
        return found

    def get(self, capture_id: int) -> Capture | None:
        return self.session.get(Capture, capture_id)

    def captures_of(self, url: str) -> list[Capture]:
        return captures_of(self.session, url)


# The same as functions of a session, for the monitor's code that holds one.


def nearest(session: Session, url: str, at: str | None = None) -> Capture:
    """See `storage.lookup.Lookup.nearest`."""
    return SessionLookup(session).nearest(url, at)


def by_id(session: Session, capture_id: int) -> Capture:
    return SessionLookup(session).by_id(capture_id)


def origin_of(session: Session, capture: Capture) -> Capture:
    """The response whose record holds the payload of `capture` (itself unless a revisit)."""
    return SessionLookup(session).origin_of(capture)


def load(session: Session, warc_dir: Warcs, capture: Capture) -> Snapshot:
    return SessionLookup(session).load(warc_dir, capture)


def snapshot(
    session: Session,
    warc_dir: Warcs,
    url: str | None = None,
    at: str | None = None,
    capture_id: int | None = None,
) -> Snapshot:
    return SessionLookup(session).snapshot(warc_dir, url, at, capture_id)
