"""Re-cataloguing: records found in a closed WARC file that the catalog lacks get their rows.

A writer commits rows in batches, each after an fsync of the bytes they point at, so a writer
killed with `kill -9` leaves its last records on disk (whole, once repair has cut the file after
its last complete record) and none of their rows. Those records are valid evidence: repair
indexes them here, so that after any crash the catalog and the WARC files agree both ways.

Rows are built from the records exactly as the writer builds them (storage.rows.capture_row):
- a response or revisit record gets a capture row; a revisit points at the capture its
  WARC-Refers-To names, when the catalog (or this repair) has it;
- a request record goes on its response's row (WARC-Concurrent-To);
- the warcinfo record gives the file's `warc_files` row, when the writer never committed it;
- a record's target and crawl run are those its warcinfo says (the one its WARC-Warcinfo-ID
  names: `isPartOf` and `warcwatch-run`), as one file holds the records of many targets and
  passes (storage.writer). A file written before files rolled has one warcinfo and no run in it:
  its target is the file's, and its run the run of the file's other rows (one writer served one
  run), or else the newest run of the file's target that started before the file was.

Only files whose catalogued records end before the file does are read: a clean archive costs one
query and a stat per file.
"""

from __future__ import annotations

import logging
import zlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed
from warcio.timeutils import iso_date_to_datetime

from storage.enums import RecordKind
from storage.evidence import log as evidence
from storage.models import Capture, CrawlRun, EvidenceEntry
from storage.models import WarcFile as WarcFileRow
from storage.records import RUN_FIELD
from storage.rows import CATALOGUED, capture_row, inherit_validators
from storage.surt import surt
from storage.warcfile import Span, folder_id

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Recatalogued:
    name: str  # the WARC file
    captures: int  # rows added for response and revisit records
    requests: int  # request records put on rows that lacked them
    file_row: bool  # its `warc_files` row was missing and was added


@dataclass
class _Read:
    """What a file holds that the catalog does not."""

    info: dict[str, str] = field(default_factory=dict)  # the warcinfo's fields, and its WARC-Date
    infos: dict[str, dict[str, str]] = field(default_factory=dict)  # each warcinfo's, by record id
    captures: list = field(
        default_factory=list
    )  # (record, span) of uncatalogued responses/revisits
    requests: dict[str, Span] = field(
        default_factory=dict
    )  # WARC-Concurrent-To → span, uncatalogued
    # (fields, span) of every record read that may lack its evidence log entry (the uncatalogued
    # ones, and the warcinfo)
    logged: list = field(default_factory=list)


def catalogued_ends(session: Session) -> dict[str, int]:
    """Where the last catalogued record of each WARC file ends."""
    ends = (
        select(
            Capture.warc_file,
            func.max(Capture.offset + Capture.length),
            func.max(func.coalesce(Capture.request_offset + Capture.request_length, 0)),
        )
        .where(Capture.warc_file.is_not(None))
        .group_by(Capture.warc_file)
    )
    # (the query excludes rows without a file; the test tells the type checker so)
    return {
        name: max(end or 0, req or 0)
        for name, end, req in session.execute(ends)
        if name is not None
    }


def files_to_read(session: Session, warc_dir: Path, skip: set[str]) -> list[Path]:
    """Closed WARC files in `warc_dir` (but those in `skip`) with bytes after their last
    catalogued record: a writer's last batch can only be missing at the end of its file."""
    if not warc_dir.is_dir():
        return []
    ends = catalogued_ends(session)
    out = []
    for path in sorted(warc_dir.glob("*.warc.gz")):
        if path.name in skip:
            continue
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            continue
        if ends.get(path.name, 0) < size:
            out.append(path)
    return out


def _read(path: Path, offsets: set[int], request_offsets: set[int]) -> _Read:
    found = _Read()
    try:
        _walk(path, offsets, request_offsets, found)
    except (ArchiveLoadFailed, OSError, zlib.error, ValueError) as exc:
        # a closed file is whole (the writer closed it, or repair checked it); if one is not,
        # what could be read is indexed and the rest is reported, not guessed at
        log.error(
            "repair.recatalog file=%s unreadable after %d records: %s",
            path.name,
            len(found.captures),
            exc,
        )
    return found


def _walk(path: Path, offsets: set[int], request_offsets: set[int], found: _Read) -> None:
    with open(path, "rb") as fh:
        it = ArchiveIterator(fh)
        for record in it:
            kind = record.rec_type
            if kind == "warcinfo":
                body = record.content_stream().read().decode("utf-8", "replace")
                info = dict(_fields(body))
                info["WARC-Date"] = record.rec_headers.get_header("WARC-Date")
                found.info = found.info or info  # the first: the file's opening
                found.infos[record.rec_headers.get_header("WARC-Record-ID")] = info
            it.read_to_end(record)
            span = Span(it.get_record_offset(), it.get_record_length())
            if kind in CATALOGUED and span.offset not in offsets:
                found.captures.append((record, span))
            elif kind == "request" and span.offset not in request_offsets:
                found.requests[record.rec_headers.get_header("WARC-Concurrent-To")] = span
            elif kind != "warcinfo":
                continue  # catalogued: its entry was committed with its row
            found.logged.append((evidence.record_fields(record), span))


def _fields(text: str):
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            yield key.strip(), value.strip()


def recatalog_file(session: Session, path: Path, now: datetime) -> Recatalogued | None:
    """Add the rows the catalog lacks for the records of closed WARC file `path`; None when it
    lacked none. The caller commits."""
    name = path.name
    rows = session.execute(
        select(
            Capture.offset, Capture.request_offset, Capture.run_id, Capture.record_id, Capture.id
        ).where(Capture.warc_file == name)
    ).all()
    found = _read(
        path,
        {r.offset for r in rows},
        {r.request_offset for r in rows if r.request_offset is not None},
    )
    file_row = session.scalars(select(WarcFileRow).where(WarcFileRow.name == name)).first()
    opened = _naive(found.info.get("WARC-Date")) or now
    target = (file_row.target if file_row else None) or found.info.get("isPartOf")
    added_file = file_row is None
    if added_file:
        parts = {i.get("isPartOf") for i in found.infos.values()}
        session.add(
            WarcFileRow(
                name=name,
                target=target if len(parts) <= 1 else None,  # a file of many targets has none
                opened_at=opened,
                closed_at=now,
                size=path.stat().st_size,
                folder=folder_id(path.parent),
            )
        )
    file_runs = [r.run_id for r in rows]
    by_id: dict[str, Capture] = {}
    for record, span in found.captures:
        record_id = record.rec_headers.get_header("WARC-Record-ID")
        info = found.infos.get(record.rec_headers.get_header("WARC-Warcinfo-ID") or "", {})
        own_target = info.get("isPartOf") or target
        run_id = _run_named(session, info.get(RUN_FIELD)) or _run_of(
            session, file_runs, own_target, opened
        )
        row = capture_row(
            record,
            span,
            found.requests.pop(record_id, None),
            warc_file=name,
            target=own_target,
            run_id=run_id,
        )
        if row.kind == RecordKind.REVISIT:
            origin = _origin(session, record, by_id)
            if origin is not None:
                if origin.id is None:
                    session.flush()  # an origin re-catalogued just now: give it its id
                row.revisit_of = origin.id
                inherit_validators(row, origin)
        session.add(row)
        by_id[record_id] = row
    # a request whose response row exists but lacks it (its writer died between the two records'
    # rows; they are committed together, so this is for files written otherwise)
    attached = 0
    known = {r.record_id: r.id for r in rows if r.record_id and r.request_offset is None}
    for response_id, span in found.requests.items():
        if response_id in known:
            response = session.get(Capture, known[response_id])
            assert response is not None, "`known` holds ids of rows read above"
            response.request_offset, response.request_length = span.offset, span.length
            attached += 1
    logged = _log_records(session, path, found.logged)
    if not (found.captures or attached or added_file or logged):
        return None
    session.flush()
    done = Recatalogued(
        name=name, captures=len(found.captures), requests=attached, file_row=added_file
    )
    # reported by the caller (repair's output, the daemon's daemon.repair line) once committed
    log.info(
        "repair.recatalog file=%s captures=%d requests=%d file_row=%s",
        name,
        done.captures,
        done.requests,
        done.file_row,
    )
    return done


def _log_records(session: Session, path: Path, records: list) -> int:
    """Evidence log entries for the records read that have none (a killed writer's last batch:
    its entries went with its rows), each member's SHA-256 read off the file as it is now."""
    ids = [fields["record_id"] for fields, _ in records]
    have = set(
        session.scalars(select(EvidenceEntry.record_id).where(EvidenceEntry.record_id.in_(ids)))
    )
    todo = [(f, s) for f, s in records if f["record_id"] not in have]
    if not todo:
        return 0
    actor = evidence.Actor.here()
    rows = []
    with open(path, "rb") as fh:
        for fields, span in sorted(todo, key=lambda t: t[1].offset):
            fh.seek(span.offset)
            digest = evidence.sha256_hex(fh.read(span.length))
            hashed = Span(span.offset, span.length, digest)
            rows.append(evidence.record_entry(actor, None, hashed, path.name, "repair", fields))
    evidence.append(session, rows)
    return len(rows)


def _origin(session: Session, record, just_added: dict[str, Capture]) -> Capture | None:
    """The capture a revisit record refers to (WARC-Refers-To), None when no row has it."""
    h = record.rec_headers
    refers_to = h.get_header("WARC-Refers-To")
    if not refers_to:
        return None
    if refers_to in just_added:
        return just_added[refers_to]
    uri = h.get_header("WARC-Refers-To-Target-URI") or h.get_header("WARC-Target-URI")
    # by surt first: it is indexed, record ids are not
    return session.scalars(
        select(Capture).where(Capture.surt == surt(uri), Capture.record_id == refers_to).limit(1)
    ).first()


def _run_named(session: Session, value: str | None) -> int | None:
    """The crawl run a warcinfo names, if the catalog has it."""
    if not value or not value.isdigit():
        return None
    return session.scalars(select(CrawlRun.id).where(CrawlRun.id == int(value))).first()


def _run_of(
    session: Session, file_runs: list[int | None], target: str | None, opened: datetime
) -> int | None:
    """The crawl run the records of a file were written for (see the module docstring)."""
    counted = Counter(r for r in file_runs if r is not None)
    if counted:
        return counted.most_common(1)[0][0]
    candidates = session.scalars(
        select(CrawlRun)
        .where(CrawlRun.started_at <= opened)
        .order_by(CrawlRun.started_at.desc())
        .limit(50)
    )
    for run in candidates:
        if target is None or target in (run.targets or []):
            return run.id
    return None


def _naive(iso: str | None) -> datetime | None:
    if not iso:
        return None
    try:
        return iso_date_to_datetime(iso).replace(tzinfo=None)
    except ValueError:
        return None
