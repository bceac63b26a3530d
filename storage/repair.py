"""Crash repair: after a hard kill, put the archive back into a state where every WARC file is
closed and valid and every catalog row points at bytes that exist.

What a `kill -9` (or a power cut) can leave behind, and what is done about it:
- `NAME.warc.gz.open`: a WARC file whose writer died. Each record is one gzip member, so the file
  is cut after its last complete member whose content is a whole WARC record, checked again with
  warcio, and renamed to `NAME.warc.gz`. A file with no complete record is removed.
- catalog rows whose bytes are missing (file gone, or offset + length past the end of the file):
  deleted and reported. Rows are committed only after an fsync of their bytes, so this is rare; it
  happens when the disk lost writes the kernel had acknowledged, or when a file was removed by hand.
- the other way round, records in a closed file with no catalog row (a killed writer's last batch):
  catalogued, as the writer would have done (storage.recatalog).
- crawl runs still marked 'running' (and daemon runs): marked 'interrupted'.

It may run while a writer is writing: an `.open` file that some process still holds open is left
alone (checked through /proc where there is one), and so are that file's rows.
"""

from __future__ import annotations

import logging
import os
import re
import zlib
from collections.abc import Callable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine, delete, select, update
from sqlalchemy.orm import Session

from storage.catalog import serialise
from storage.enums import RunStatus
from storage.errors import ArchiveError
from storage.evidence.log import log_custody
from storage.models import Base, Capture, CrawlRun
from storage.models import WarcFile as WarcFileRow
from storage.objects import ObjectStore, Warcs, WarcStorage, storage_of
from storage.recatalog import Recatalogued, catalogued_ends, files_to_read, recatalog_file
from storage.timestamps import utcnow
from storage.uploads import remove_local, upload_closed
from storage.warcfile import OPEN_SUFFIX, folder_id, folder_lock, fsync_dir, is_claimed

log = logging.getLogger(__name__)
_CHUNK = 1 << 20
_HEAD_KEEP = 64 * 1024  # enough decompressed bytes to read a record's WARC headers
_CONTENT_LENGTH = re.compile(rb"^content-length:\s*(\d+)\s*$", re.I | re.M)


@dataclass(frozen=True)
class FileRepair:
    name: str  # the closed name (…warc.gz)
    records: int  # complete records kept
    kept: int  # bytes kept
    dropped: int  # bytes cut off the end
    removed: bool = False  # no complete record at all: the file was deleted


@dataclass(frozen=True)
class OrphanRow:
    capture_id: int
    url: str
    warc_file: str | None
    reason: str  # file-missing | beyond-end


@dataclass
class RepairReport:
    files: list[FileRepair] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # .open files still held by a live process
    orphans: list[OrphanRow] = field(default_factory=list)
    recatalogued: list[Recatalogued] = field(
        default_factory=list
    )  # records given their missing rows
    interrupted_runs: list[int] = field(default_factory=list)
    # with an object store: files uploaded, left local (the store unreachable), local copies of
    # uploaded files removed
    uploaded: list[str] = field(default_factory=list)
    upload_failed: list[str] = field(default_factory=list)
    local_removed: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not (self.files or self.orphans or self.recatalogued or self.interrupted_runs)

    @property
    def records_recatalogued(self) -> int:
        return sum(r.captures + r.requests for r in self.recatalogued)

    def as_json(self) -> dict:
        return {
            "files": [f.__dict__ for f in self.files],
            "skipped": self.skipped,
            "orphans": [o.__dict__ for o in self.orphans],
            "recatalogued": [r.__dict__ for r in self.recatalogued],
            "interrupted_runs": self.interrupted_runs,
            "uploaded": self.uploaded,
            "upload_failed": self.upload_failed,
            "local_removed": self.local_removed,
        }


# --- WARC files ---------------------------------------------------------------------------------


def _record_complete(head: bytes, size: int) -> bool:
    """Is a decompressed gzip member (its first bytes `head`, `size` bytes in all) a whole
    record?"""
    if not head.startswith(b"WARC/"):
        return False
    end = head.find(b"\r\n\r\n")
    if end < 0:
        return False
    m = _CONTENT_LENGTH.search(head[: end + 2])
    if not m:
        return False
    return size >= end + 4 + int(m.group(1)) + 4  # headers, blank line, block, trailing CRLFCRLF


def complete_prefix(path: Path) -> tuple[int, int]:
    """(bytes, records): the length of the longest prefix of `path` made of complete gzip members,
    each holding one whole WARC record."""
    good_end, records = 0, 0
    pos = 0  # file offset where the current member started
    with open(path, "rb") as f:
        d = zlib.decompressobj(zlib.MAX_WBITS + 16)
        head, size, consumed = b"", 0, 0
        pending = b""
        while True:
            data = pending or f.read(_CHUNK)
            pending = b""
            if not data:
                return good_end, records
            try:
                out = d.decompress(data)
            except zlib.error:
                return good_end, records
            if len(head) < _HEAD_KEEP:
                head += out[: _HEAD_KEEP - len(head)]
            size += len(out)
            if not d.eof:
                consumed += len(data)
                continue
            rest = d.unused_data
            consumed += len(data) - len(rest)
            if not _record_complete(head, size):
                return good_end, records
            pos += consumed
            good_end, records = pos, records + 1
            d = zlib.decompressobj(zlib.MAX_WBITS + 16)
            head, size, consumed = b"", 0, 0
            pending = rest


def verify_warc(path: Path) -> int:
    """Read every record of `path` with warcio; returns the record count or raises ArchiveError."""
    from warcio.archiveiterator import ArchiveIterator
    from warcio.exceptions import ArchiveLoadFailed

    n = 0
    try:
        with open(path, "rb") as f:
            for record in ArchiveIterator(f, check_digests=True):
                # the stored bytes, which the digests are of: warcio's own br decoder needs
                # brotlipy, not the brotli the crawl decodes with (warcio issue #73)
                record.raw_stream.read()
                if record.digest_checker.problems:
                    raise ArchiveError(f"{path.name}: {'; '.join(record.digest_checker.problems)}")
                n += 1
    except (ArchiveLoadFailed, OSError, zlib.error, ValueError) as exc:
        raise ArchiveError(f"{path.name}: not a valid WARC after repair: {exc}") from None
    return n


def close_open_file(open_path: Path) -> FileRepair:
    """Cut an `.open` WARC after its last complete record, check it, and give it its closed name."""
    name = open_path.name.removesuffix(OPEN_SUFFIX)
    closed = open_path.with_name(name)
    total = open_path.stat().st_size
    kept, records = complete_prefix(open_path)
    if records == 0:
        open_path.unlink()
        return FileRepair(name=name, records=0, kept=0, dropped=total, removed=True)
    with open(open_path, "r+b") as f:
        f.truncate(kept)
        f.flush()
        os.fsync(f.fileno())
    verify_warc(open_path)
    os.replace(open_path, closed)
    fsync_dir(closed.parent)
    return FileRepair(name=name, records=records, kept=kept, dropped=total - kept)


def files_in_use(paths: list[Path]) -> set[Path]:
    """Which of `paths` a live process holds: locked by their writer (storage.warcfile.claim; seen
    whatever user or container the writer runs as), or open in a process that /proc shows (a file
    system without flock, the instant between a writer's creating its file and locking it)."""
    found = {p for p in paths if is_claimed(p)}
    wanted = {str(p.resolve()): p for p in paths if p not in found}
    proc = Path("/proc")
    if not wanted or not proc.is_dir():
        return found
    for pid_dir in proc.iterdir():
        if not pid_dir.name.isdigit():
            continue
        try:
            fds = list((pid_dir / "fd").iterdir())
        except OSError:  # gone, or not ours to look at
            continue
        for fd in fds:
            try:
                target = os.readlink(fd)
            except OSError:  # closed meanwhile (the listing's own fd is, always): look at the next
                continue
            if target in wanted:
                found.add(wanted[target])
    return found


# --- the catalog --------------------------------------------------------------------------------


def _current_size(warc_dir: Path, name: str) -> int | None:
    """The size of WARC file `name` under its closed or its `.open` name, None when it has neither.
    The closed name is asked again last: a writer may rename `.open` to closed between the two."""
    for path in (warc_dir / name, warc_dir / f"{name}{OPEN_SUFFIX}", warc_dir / name):
        try:
            return path.stat().st_size
        except FileNotFoundError:
            continue
    return None


def _orphans(
    session: Session,
    warcs: WarcStorage,
    held: AbstractSet[str] = frozenset(),
) -> list[OrphanRow]:
    """Rows whose bytes are not in their WARC file. The rows of a file that a live writer holds
    (`held`, closed names) are its writer's to keep: they are never orphans, whatever the size.
    Nor are the rows of a file written to another folder (another machine's, sharing the
    catalog): only this folder's files can be missing from it. A file missing from the folder is
    looked for in the object store before its rows are taken for lost; if the store cannot be
    asked, they are left for a later repair."""
    ends = catalogued_ends(session)
    here = folder_id(warcs.local, create=False)
    files = {
        name: (folder, obj)
        for name, folder, obj in session.execute(
            select(WarcFileRow.name, WarcFileRow.folder, WarcFileRow.object)
        )
    }
    stored = _Listing(warcs.objects)
    out: list[OrphanRow] = []
    for name, end in ends.items():
        if name in held:
            continue
        folder, obj = files.get(name, (None, None))
        if folder is not None and folder != here:
            continue
        size = _current_size(warcs.local, name)
        if size is None and warcs.objects is not None:
            if obj is not None and not obj.startswith(warcs.objects.url + "/"):
                continue  # uploaded to another store than this one: not ours to judge
            listing = stored.get()
            if listing is None:
                continue  # the store cannot say now: nothing is taken for lost
            size = listing.get(name)
        if size is not None and end <= size:
            continue
        rows = session.execute(
            select(
                Capture.id,
                Capture.url,
                Capture.offset,
                Capture.length,
                Capture.request_offset,
                Capture.request_length,
            ).where(Capture.warc_file == name)
        )
        for cid, url, off, length, roff, rlen in rows:
            if size is None:
                out.append(OrphanRow(cid, url, name, "file-missing"))
            elif (off or 0) + (length or 0) > size or (
                roff is not None and roff + (rlen or 0) > size
            ):
                out.append(OrphanRow(cid, url, name, "beyond-end"))
    return out


class _Listing:
    """The store's objects, listed once, when first asked (a repair with every file local never
    asks); None when there is no store or it cannot be listed now."""

    def __init__(self, objects: ObjectStore | None):
        self.objects = objects
        self._listing: dict[str, int] | None = None
        self._asked = False

    def get(self) -> dict[str, int] | None:
        if not self._asked and self.objects is not None:
            self._asked = True
            try:
                self._listing = self.objects.listing()
            except ArchiveError as exc:
                log.warning("repair.store unreachable, no missing file taken for lost: %s", exc)
        return self._listing


def _delete_captures(session: Session, ids: list[int]) -> None:
    """Delete captures, first unhooking the rows of other tables that refer to them: nullable
    references are cleared, rows that cannot exist without the capture go with it."""
    captures = Capture.__table__
    for table in Base.metadata.sorted_tables:
        for fk in table.foreign_keys:
            if fk.column.table is not captures:
                continue
            col = fk.parent
            for chunk in _chunks(ids):
                if col.nullable:
                    session.execute(update(table).where(col.in_(chunk)).values({col.name: None}))
                elif table is not captures:
                    session.execute(delete(table).where(col.in_(chunk)))
    for chunk in _chunks(ids):
        session.execute(delete(Capture).where(Capture.id.in_(chunk)))


def _chunks(ids: list[int], n: int = 500):
    for i in range(0, len(ids), n):
        yield ids[i : i + n]


def repair_archive(
    engine: Engine, warc_dir: Warcs, clock: Callable[[], datetime] = utcnow, mark_runs: bool = True
) -> RepairReport:
    """Repair what a crash left in `warc_dir` and the catalog; see the module docstring. Repairs
    run one at a time: per WARC folder (a lock on the folder, taken by `warcwatch repair` and every
    daemon's) and per catalog (`serialise`), so two of them never close one file or catalogue one
    record twice."""
    warcs = storage_of(warc_dir)
    with folder_lock(warcs.local):
        report = _repair(engine, warcs.local, warcs, clock, mark_runs)
        if warcs.objects is not None:
            _finish_uploads(engine, warcs, report, clock)
        return report


def _repair(
    engine: Engine,
    warc_dir: Path,
    warcs: WarcStorage,
    clock: Callable[[], datetime],
    mark_runs: bool,
) -> RepairReport:
    report = RepairReport()
    opened = sorted(warc_dir.glob(f"*.warc.gz{OPEN_SUFFIX}")) if warc_dir.is_dir() else []
    busy = files_in_use(opened)
    for path in opened:
        if path in busy:
            report.skipped.append(path.name)
            continue
        try:
            fixed = close_open_file(path)
        except FileNotFoundError:  # its live writer renamed it closed between our two looks
            continue
        report.files.append(fixed)
        log.warning(
            "repair.warc file=%s records=%d kept=%d dropped=%d removed=%s",
            fixed.name,
            fixed.records,
            fixed.kept,
            fixed.dropped,
            fixed.removed,
        )
    with Session(engine) as s, s.begin():
        serialise(s, "repair")
        for fixed in report.files:
            row = s.scalars(select(WarcFileRow).where(WarcFileRow.name == fixed.name)).first()
            if row is not None and fixed.removed:
                s.delete(row)
            elif row is not None:
                row.closed_at = row.closed_at or clock()
                row.size = fixed.kept
        held = {n.removesuffix(OPEN_SUFFIX) for n in report.skipped}
        report.orphans = _orphans(s, warcs, held)
        if report.orphans:
            _delete_captures(s, [o.capture_id for o in report.orphans])
        for o in report.orphans:
            log.warning(
                "repair.orphan capture=%d url=%s file=%s reason=%s",
                o.capture_id,
                o.url,
                o.warc_file,
                o.reason,
            )
        # then the other way: records a killed writer wrote and never catalogued get their rows
        for path in files_to_read(s, warc_dir, held):
            done = recatalog_file(s, path, clock())
            if done is not None:
                report.recatalogued.append(done)
        # with a crawl still writing somewhere, its run is not ours to call interrupted
        if mark_runs and not report.skipped:
            running = list(
                s.scalars(select(CrawlRun.id).where(CrawlRun.status == RunStatus.RUNNING))
            )
            if running:
                s.execute(
                    update(CrawlRun)
                    .where(CrawlRun.id.in_(running))
                    .values(status=RunStatus.INTERRUPTED, finished_at=clock())
                )
            report.interrupted_runs = running
            for run_id in running:
                log.warning("repair.run run=%d status=interrupted", run_id)
        if not report.clean:  # a repair that changed something is a custody action
            log_custody(s, "repair", _custody_details(report))
    return report


def _finish_uploads(
    engine: Engine, warcs: WarcStorage, report: RepairReport, clock: Callable[[], datetime]
) -> None:
    """With an object store: the local copies of files whose upload was confirmed (a crash
    between that commit and their removal) are removed once their object is seen whole, and the
    folder's closed files not uploaded yet (a writer died before uploading, or a closed file
    whose next pass never came) are uploaded. Runs under the folder's lock, after the repair's
    commit: the files it closed are catalogued before they are uploaded."""
    assert warcs.objects is not None, "only with an object store"
    here = folder_id(warcs.local, create=False)
    with Session(engine) as s:
        uploaded = [
            name
            for name, obj in s.execute(
                select(WarcFileRow.name, WarcFileRow.object).where(
                    WarcFileRow.folder == here, WarcFileRow.object.is_not(None)
                )
            )
            if obj == warcs.objects.object_url(name)
        ]
    local = [n for n in uploaded if (warcs.local / n).exists()]
    listing = _Listing(warcs.objects).get() if local else None
    for name in local:
        size = _current_size(warcs.local, name)
        if listing is not None and listing.get(name) == size:
            remove_local(warcs.local / name)
            report.local_removed.append(name)
    done = upload_closed(engine, warcs, None, clock, locked=True)
    report.uploaded, report.upload_failed = done.uploaded, done.failed
    for name in done.uploaded:
        log.warning("repair.upload file=%s", name)


def _custody_details(report: RepairReport) -> dict:
    return {
        "files": [
            {"name": f.name, "kept": f.kept, "dropped": f.dropped, "removed": f.removed}
            for f in report.files
        ],
        "orphans": [
            {"capture": o.capture_id, "file": o.warc_file, "reason": o.reason}
            for o in report.orphans
        ],
        "recatalogued": [
            {"name": r.name, "captures": r.captures, "requests": r.requests}
            for r in report.recatalogued
        ],
        "interrupted_runs": report.interrupted_runs,
    }
