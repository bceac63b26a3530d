"""CDXJ index lines, as pywb's `cdxj-indexer` writes them and pywb reads them:
`surt timestamp {"url", "mime", "status", "digest", "length", "offset", "filename"}`, sorted.

Lines are made from catalog rows (no WARC is re-read); an export passes the offsets of the records
in the file it wrote instead of the archive's own.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from typing import TextIO

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from storage.enums import REPLAYABLE, RecordKind
from storage.lookup import location
from storage.models import Capture
from storage.warcread import Location


def cdxj_line(capture: Capture, where: Location | None = None) -> str:
    """One line (no newline) for a response or revisit capture; `where` overrides its location."""
    where = where or location(capture)
    fields = {
        "url": capture.url,
        "mime": "warc/revisit" if capture.kind == RecordKind.REVISIT else capture.mime,
        "status": str(capture.status) if capture.status is not None else None,
        "digest": capture.digest,
        "length": str(where.length),
        "offset": str(where.offset),
        "filename": where.filename,
    }
    return (
        f"{capture.surt} {capture.timestamp}"
        f" {json.dumps({k: v for k, v in fields.items() if v is not None})}"
    )


def archive_lines(session: Session, chunk: int = 10_000) -> Iterator[str]:
    """Every response and revisit of the catalog as a sorted CDXJ stream, read in key order from the
    (surt, timestamp) index; only lines that share a key are sorted in memory."""
    key: ColumnElement[str] | InstrumentedAttribute[str] = Capture.surt
    if session.get_bind().dialect.name == "postgresql":
        key = key.collate("C")  # byte order, as pywb's binary search expects (SQLite's is already)
    q = (
        select(Capture)
        .where(Capture.kind.in_(REPLAYABLE), Capture.warc_file.is_not(None))
        .order_by(key, Capture.timestamp)
        .execution_options(yield_per=chunk)
    )
    rows = (cdxj_line(c) for c in session.scalars(q))
    for _key, group in itertools.groupby(rows, key=lambda line: line.split(" ", 2)[:2]):
        # a set: a fetch catalogued for several targets is one record, indexed once
        yield from sorted(set(group))


def write_index(session: Session, out: TextIO) -> int:
    n = 0
    for line in archive_lines(session):
        out.write(line + "\n")
        n += 1
    return n
