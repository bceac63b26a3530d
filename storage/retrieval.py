"""Wayback-style retrieval through a SQLAlchemy session (any catalog database): the capture of a
URL nearest a time, a revisit resolved to the record that holds its payload, and the archived HTTP
message read back from its WARC file.

The SQL, the choice between the two index probes and the revisit walk are `storage.lookup`'s,
shared with the web API and with the CLI's SQLAlchemy-free reader of SQLite catalogs; here they
run through the session, so callers get mapped `Capture`s.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from storage.errors import CaptureNotFound
from storage.lookup import (
    Snapshot,
    location,
    nearest_sql,
    pick,
    probe_params,
    probe_time,
    read_snapshot,
    request_location,
    require_url,
    resolve_origin,
)
from storage.models import Capture

__all__ = [
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


def nearest(session: Session, url: str, at: str | None = None) -> Capture:
    """The capture of `url` (SURT match) nearest `at` (14-digit prefix, up to 20 digits, or ISO
    8601 with or without a fraction of a second; a prefix means the end of its period, as in
    Wayback); the newest when `at` is None. The earlier on a tie. A capture's exact time (its
    WARC-Date, or its 20 digits) finds that capture."""
    when = probe_time(at)
    found = pick(when, session.scalars(_NEAREST, probe_params(url, when)).all())
    if found is None:
        raise CaptureNotFound(f"no capture of {url}")
    return found


def by_id(session: Session, capture_id: int) -> Capture:
    """The capture with this id (the catalog's key: what `captures` prints, stable for its life)."""
    found = session.get(Capture, capture_id)
    if found is None:
        raise CaptureNotFound(f"no capture with id {capture_id}")
    return found


def origin_of(session: Session, capture: Capture) -> Capture:
    """The response whose record holds the payload of `capture` (itself unless a revisit)."""
    return resolve_origin(capture, lambda id_: session.get(Capture, id_))


def load(session: Session, warc_dir: Path, capture: Capture) -> Snapshot:
    return read_snapshot(warc_dir, capture, origin_of(session, capture))


def snapshot(
    session: Session,
    warc_dir: Path,
    url: str | None = None,
    at: str | None = None,
    capture_id: int | None = None,
) -> Snapshot:
    """The capture with `capture_id`, or else the capture of `url` nearest `at`, read back (see
    `nearest`)."""
    if capture_id is not None:
        capture = by_id(session, capture_id)
    else:
        capture = nearest(session, require_url(url), at)
    return load(session, warc_dir, capture)
