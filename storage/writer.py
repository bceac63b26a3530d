"""The archive writer: decides response or revisit, writes the records to the target's WARC file,
and catalogs each capture only after its bytes are on disk.

It runs wherever it is put: in the crawl's writer process (storage.writer_process) or in-process.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from importlib.metadata import version
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from storage import catalog
from storage.exchange import Exchange, FailedFetch
from storage.models import Capture
from storage.models import WarcFile as WarcFileRow
from storage.records import (
    WireHeaders,
    dechunked_head,
    request_record,
    response_info,
    response_record,
    revisit_record,
    warcinfo_record,
)
from storage.surt import surt
from storage.timestamps import from_datetime
from storage.warcfile import WarcFile, warc_name

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WriterSettings:
    warc_dir: Path
    prefix: str = "warcwatch"
    max_size: int = 1_000_000_000
    gzip_level: int = 1
    robots_policy: str = "obey"
    user_agent: str = ""
    commit_every: float = 0.5  # seconds between catalog commits (each preceded by an fsync)
    # The pass's targets: the newest payload of each URL they archived is loaded in one query at
    # start, instead of one query per URL (a fifth of the writer's time). A URL that only another
    # target archived before is then stored in full rather than as a revisit: a copy too many,
    # never a wrong record.
    targets: tuple[str, ...] | None = None


@dataclass(frozen=True)
class _Previous:
    """The newest capture of a URL that holds (or refers to) a payload."""

    capture_id: int | None  # None until the row written in this process is flushed
    digest: str
    uri: str
    date: str  # WARC-Date of the original response record
    record_id: str | None
    row: Capture | None = None  # the row, when it was written in this process


def _software() -> str:
    parts = [f"warcwatch/{version('warcwatch')}", f"warcio/{version('warcio')}"]
    try:
        parts.append(f"Scrapy/{version('scrapy')}")
    except Exception:  # noqa: BLE001 - version lookup is informational only
        pass
    return " ".join(parts)


class ArchiveWriter:
    def __init__(self, engine: Engine, settings: WriterSettings, clock: Callable[[], datetime] = catalog.utcnow):
        self.engine = engine
        self.settings = settings
        self.clock = clock
        self.stats: Counter[str] = Counter()
        self._files: dict[str, WarcFile] = {}
        self._previous: dict[str, _Previous | None] = {}
        self._session = Session(engine, expire_on_commit=False)
        self._dirty = False
        self._last_commit = time.monotonic()
        self._software = _software()
        # Called with the rows of each commit, once they are durable (the monitor hooks in here).
        self.on_commit: Callable[[list[Capture]], None] | None = None
        self._pending: list[Capture] = []
        if settings.targets is not None:
            self._preload(settings.targets)

    # --- files --------------------------------------------------------------------------------

    def _file_for(self, target: str) -> WarcFile:
        f = self._files.get(target)
        if f is not None and f.size >= self.settings.max_size:
            self._close_files([target])
            f = None
        if f is None:
            f = self._open_file(target)
            self._files[target] = f
        return f

    def _open_file(self, target: str) -> WarcFile:
        now = self.clock()
        while True:  # another process may have picked the same name: take the next serial
            try:
                f = WarcFile(self.settings.warc_dir, warc_name(self.settings.prefix, now), self.settings.gzip_level)
                break
            except FileExistsError:
                continue
        name = f.name
        info = {
            "software": self._software,
            "format": "WARC File Format 1.1",
            "conformsTo": "https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/",
            "robots": self.settings.robots_policy,
            "http-header-user-agent": self.settings.user_agent,
            "isPartOf": target,
            "description": f"warcwatch captures of target {target}",
        }
        f.write(warcinfo_record(f.writer, name, info))
        self._session.add(WarcFileRow(name=name, target=target, opened_at=now))
        self._dirty = True
        log.debug("opened %s for target %s", name, target)
        return f

    def _close_files(self, targets: list[str]) -> None:
        self._commit()  # rows for their records are durable before the files are final
        closed = {}
        for target in targets:
            f = self._files.pop(target)
            closed[f.name] = f.size
            f.close()
        with Session(self.engine) as s, s.begin():  # one transaction for all of them
            for row in s.scalars(select(WarcFileRow).where(WarcFileRow.name.in_(list(closed)))):
                row.closed_at, row.size = self.clock(), closed[row.name]
        self.stats["warc/files"] += len(closed)

    # --- captures -----------------------------------------------------------------------------

    @staticmethod
    def _previous_from(digest: str, origin: Capture) -> _Previous:
        return _Previous(capture_id=origin.id, digest=digest, uri=origin.url,
                         date=origin.warc_date, record_id=origin.record_id)

    def _preload(self, targets: tuple[str, ...]) -> None:
        for url, (digest, origin) in catalog.previous_payloads(self._session, targets).items():
            self._previous[url] = self._previous_from(digest, origin)
        self._session.expunge_all()

    def _previous_of(self, url: str) -> _Previous | None:
        if url not in self._previous:
            if self.settings.targets is not None:
                return None  # preloaded: the URL has no payload in these targets yet
            prev = catalog.previous_capture(self._session, url)
            if prev is None:
                self._previous[url] = None
            else:
                origin = self._session.get(Capture, prev.revisit_of) if prev.revisit_of else prev
                self._previous[url] = self._previous_from(prev.digest, origin)
        return self._previous[url]

    def write(self, ex: Exchange) -> Capture:
        head = WireHeaders.parse(dechunked_head(ex.response_head))
        info = response_info(head)
        f = self._file_for(ex.target)
        prev = self._previous_of(ex.url)
        row = Capture(
            url=ex.url, surt=surt(ex.url), timestamp=from_datetime(ex.fetched_at), micros=ex.fetched_at.microsecond,
            status=ex.status, mime=info.mime, etag=info.etag, last_modified=info.last_modified,
            location=info.location, ip=ex.ip, run_id=ex.run_id, target=ex.target, warc_file=f.name,
            purpose=_purpose(ex.meta),
        )
        not_modified = ex.status == 304 and prev is not None
        if not_modified:
            record = revisit_record(f.writer, ex.url, head, ex.fetched_at, ex.ip, prev.digest,
                                    prev.uri, prev.date, prev.record_id, not_modified=True)
            row.kind, row.revisit_profile, row.digest, row.revisit_of = "revisit", "server-not-modified", prev.digest, self._id_of(prev)
            # a 304 carries no validators of its own: keep the ones that are still valid
            if not row.etag and not row.last_modified:
                origin = prev.row or self._session.get(Capture, prev.capture_id)
                row.etag, row.last_modified = origin.etag, origin.last_modified
            self.stats["captures/not-modified"] += 1
        else:
            record = response_record(f.writer, ex.url, head, ex.body, ex.fetched_at, ex.ip)
            digest = record.rec_headers.get_header("WARC-Payload-Digest")
            if ex.status == 200 and prev is not None and prev.digest == digest:
                record = revisit_record(f.writer, ex.url, head, ex.fetched_at, ex.ip, digest,
                                        prev.uri, prev.date, prev.record_id, not_modified=False)
                row.kind, row.revisit_profile, row.revisit_of = "revisit", "identical-payload", self._id_of(prev)
                self.stats["captures/revisit"] += 1
            else:
                row.kind = "response"
                self.stats["captures/new" if ex.status == 200 else f"captures/status/{ex.status}"] += 1
            row.digest = digest
        if ex.status >= 400:
            row.reason = f"http-{ex.status}"
        row.record_id = record.rec_headers.get_header("WARC-Record-ID")
        req = request_record(f.writer, ex.url, ex.request_head, ex.fetched_at, row.record_id) if ex.request_head else None
        spans = f.write(record, req) if req is not None else f.write(record)
        row.offset, row.length = spans[0].offset, spans[0].length
        if req is not None:
            row.request_offset, row.request_length = spans[1].offset, spans[1].length
        self._add(row)
        if row.kind == "response" and ex.status == 200:
            self._previous[ex.url] = _Previous(None, row.digest, ex.url, row.warc_date, row.record_id, row)
        self.stats["warc/records"] += 2 if req is not None else 1
        return row

    def fail(self, failed: FailedFetch) -> Capture:
        row = Capture(
            url=failed.url, surt=surt(failed.url), timestamp=from_datetime(failed.fetched_at),
            micros=failed.fetched_at.microsecond, purpose=_purpose(failed.meta), kind="failed", status=failed.status, reason=failed.reason if not failed.detail else f"{failed.reason}: {failed.detail}"[:1000],
            run_id=failed.run_id, target=failed.target,
        )
        self._add(row)
        self.stats[f"failed/{failed.reason}"] += 1
        return row

    def _id_of(self, prev: _Previous) -> int:
        if prev.capture_id is not None:
            return prev.capture_id
        if prev.row.id is None:
            self._session.flush()  # a revisit of a row of this pass: give that row its id now
        return prev.row.id

    def _add(self, row: Capture) -> None:
        # Rows are inserted in batches when the session flushes (at commit, or when a revisit
        # needs the id of a row of this pass): a flush per row cost a tenth of the writer's time.
        self._session.add(row)
        self._pending.append(row)
        self._dirty = True
        if time.monotonic() - self._last_commit >= self.settings.commit_every:
            self._commit()

    def _commit(self) -> None:
        if not self._dirty:
            return
        for f in self._files.values():
            f.sync()  # bytes first, then the rows that point at them
        self._session.commit()
        rows, self._pending = self._pending, []
        self._session.expunge_all()  # a months-long daemon must not keep every row in memory
        if self.on_commit is not None:
            self.on_commit(rows)
        self._dirty = False
        self._last_commit = time.monotonic()

    def flush(self) -> None:
        self._commit()

    def close(self) -> dict[str, int]:
        self._close_files(list(self._files))
        self._session.close()
        return dict(self.stats)


def _purpose(meta: dict) -> str | None:
    """Why the crawler fetched it, for the catalog: a confirmation fetch is labelled as one."""
    return "confirmation" if meta.get("confirm") else None
