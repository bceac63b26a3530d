"""The archive writer: decides response or revisit, writes the records to its WARC file, and
catalogs each capture only after its bytes are on disk.

Each target that writes to a file gets a warcinfo record there (isPartOf = the target, and the
crawl run), and each of its records names that warcinfo (WARC-Warcinfo-ID). Which file that is,
when it rolls by size and age, and the upload of finished files to an object store:
storage.rolling.

It runs wherever it is put: in the crawl's writer process (storage.writer_process) or in-process.
"""

from __future__ import annotations

import contextlib
import functools
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
from storage.digests import DEFAULT, same_payload
from storage.enums import RecordKind
from storage.evidence import log as evidence
from storage.exchange import Attribution, Exchange, FailedFetch, Rendered
from storage.models import REQUISITE, Capture
from storage.objects import ObjectStore, WarcStorage
from storage.records import (
    RUN_FIELD,
    WireHeaders,
    dechunked_head,
    request_record,
    resource_record,
    response_record,
    revisit_record,
    warcinfo_record,
)
from storage.rolling import RollingFile
from storage.rows import capture_row, inherit_validators
from storage.surt import surt
from storage.timestamps import from_datetime, utcnow
from storage.warcfile import WarcFile

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WriterSettings:
    warc_dir: Path  # where files are written (and kept, without an object store)
    # where finished files are uploaded to (storage.uploads); None: they stay in warc_dir
    objects: ObjectStore | None = None
    prefix: str = "warcwatch"
    max_size: int = 1_000_000_000
    max_age: float = 3600.0  # seconds from a file's opening after which no record is added to it
    gzip_level: int = 1
    digest: str = DEFAULT  # the algorithm of new records' block and payload digests
    robots_policy: str = "obey"
    user_agent: str = ""
    commit_every: float = 0.5  # seconds between catalog commits (each preceded by an fsync)
    # one evidence log entry per record, committed with the batch's rows (storage.evidence.log);
    # off only to measure what it costs (benchmarks/crawl.py)
    evidence: bool = True
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


@functools.cache  # read once, in the fork server (storage.writer_preload)
def _software() -> str:
    parts = [evidence.tool(), f"warcio/{version('warcio')}"]
    try:
        parts.append(f"Scrapy/{version('scrapy')}")
    except Exception:  # noqa: BLE001 - version lookup is informational only
        pass
    return " ".join(parts)


class ArchiveWriter:
    def __init__(
        self,
        engine: Engine,
        settings: WriterSettings,
        clock: Callable[[], datetime] = utcnow,
    ):
        self.engine = engine
        self.settings = settings
        self.clock = clock
        self.stats: Counter[str] = Counter()
        self._infos: dict[str, str] = {}  # target → the record id of its warcinfo in the file
        self._previous: dict[str, _Previous | None] = {}
        # (url, status) → the newest error answer (4xx/5xx) with a payload: a removed page answers
        # the same 404 page pass after pass, stored once and then as revisits
        self._previous_error: dict[tuple[str, int], _Previous | None] = {}
        self._session = Session(engine, expire_on_commit=False)
        self._dirty = False
        self._last_commit = time.monotonic()
        self._software = _software()
        self._rolling = RollingFile(
            engine,
            self._session,
            WarcStorage(settings.warc_dir, settings.objects),
            settings,
            clock,
            self._commit,
        )
        # Called with the rows of each commit, once they are durable (the monitor hooks in here).
        self._pending: list[Capture] = []
        self._entries: list[dict] = []  # evidence log rows of this batch, inserted at commit
        self._actor = evidence.Actor.here()
        # (target, url) → the record id last written for it: what a rendered DOM or screenshot
        # of that page is WARC-Concurrent-To (it arrives after its page, through the same pipe)
        self._last_record: dict[tuple[str, str], str] = {}
        if settings.targets is not None:
            self._preload(settings.targets)

    # --- files --------------------------------------------------------------------------------

    def _file_for(self, target: str, run_id: int | None) -> tuple[WarcFile, str]:
        """The file to write `target`'s next records to, and the id of its warcinfo there."""
        f, fresh = self._rolling.current()
        if fresh:
            self._infos = {}
            self._dirty = True  # its warc_files row, added or changed
        info_id = self._infos.get(target)
        if info_id is None:
            info_id = self._infos[target] = self._warcinfo(f, target, run_id)
        return f, info_id

    def _warcinfo(self, f: WarcFile, target: str, run_id: int | None) -> str:
        info = {
            "software": self._software,
            "format": "WARC File Format 1.1",
            "conformsTo": "https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/",
            "robots": self.settings.robots_policy,
            "http-header-user-agent": self.settings.user_agent,
            "isPartOf": target,
            "description": f"warcwatch captures of target {target}",
        }
        if run_id is not None:
            # what a repair re-cataloguing this target's records gives them as their run
            # (storage.recatalog): a file now holds the records of many runs
            info[RUN_FIELD] = str(run_id)
        record = warcinfo_record(f.writer, f.name, info)
        self._log(f.name, [record], f.write(record))
        self._dirty = True
        return record.rec_headers.get_header("WARC-Record-ID")

    # --- captures -----------------------------------------------------------------------------

    @staticmethod
    def _previous_from(
        digest: str | None, origin: Capture, capture_id: int | None, row: Capture | None = None
    ) -> _Previous:
        # Only payload captures are remembered: the catalog's queries select rows with a digest,
        # and the writer's own are responses it just read a digest off; every row has a time.
        date = origin.warc_date
        assert digest is not None and date is not None, "a payload capture has a digest and a date"
        return _Previous(
            capture_id=capture_id,
            digest=digest,
            uri=origin.url,
            date=date,
            record_id=origin.record_id,
            row=row,
        )

    def _row_of(self, prev: _Previous) -> Capture:
        if prev.row is not None:
            return prev.row
        row = self._session.get(Capture, prev.capture_id)
        assert row is not None, "a remembered capture id names a catalog row"
        return row

    def _preload(self, targets: tuple[str, ...]) -> None:
        for url, (digest, origin) in catalog.previous_payloads(self._session, targets).items():
            self._previous[url] = self._previous_from(digest, origin, origin.id)
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
                assert origin is not None, "a revisit's revisit_of names a catalog row"
                self._previous[url] = self._previous_from(prev.digest, origin, origin.id)
        return self._previous[url]

    def _previous_error_of(self, url: str, status: int) -> _Previous | None:
        key = (url, status)
        if key not in self._previous_error:
            prev = catalog.previous_error(self._session, url, status)
            self._previous_error[key] = (
                None if prev is None else self._previous_from(prev[0], prev[1], prev[1].id)
            )
        return self._previous_error[key]

    def write(self, ex: Exchange) -> Capture:
        head = WireHeaders.parse(dechunked_head(ex.response_head))
        f, info_id = self._file_for(ex.target, ex.run_id)
        prev = self._previous_of(ex.url)
        # the earlier capture this one is a revisit of: the one a 304 confirms, or the one whose
        # payload a new answer repeats
        refers = prev if ex.status == 304 else None
        not_modified = refers is not None
        # a page requisite's captures are counted apart from the pages' (crawler.requisites)
        counted = "requisites" if ex.meta.get("requisite") else "captures"
        if refers is not None:
            record = revisit_record(
                f.writer,
                ex.url,
                head,
                ex.fetched_at,
                ex.ip,
                refers.digest,
                refers.uri,
                refers.date,
                refers.record_id,
                not_modified=True,
                warcinfo_id=info_id,
            )
            self.stats[f"{counted}/not-modified"] += 1
        else:
            record = response_record(f.writer, ex.url, head, ex.body, ex.fetched_at, ex.ip, info_id)
            digest = record.rec_headers.get_header("WARC-Payload-Digest")
            same = (
                prev
                if ex.status == 200
                else self._previous_error_of(ex.url, ex.status)
                if ex.status >= 400
                else None
            )
            if same is not None and same_payload(ex.body, digest, same.digest):
                # the revisit says the payload digest of the record it refers to, in that record's
                # algorithm (a sha1 record stays the origin of sha1 revisits): tools that match a
                # revisit to its origin by digest find it
                record = revisit_record(
                    f.writer,
                    ex.url,
                    head,
                    ex.fetched_at,
                    ex.ip,
                    same.digest,
                    same.uri,
                    same.date,
                    same.record_id,
                    not_modified=False,
                    warcinfo_id=info_id,
                )
                refers = same
                self.stats[f"{counted}/revisit"] += 1
            else:
                self.stats[
                    f"{counted}/new" if ex.status == 200 else f"{counted}/status/{ex.status}"
                ] += 1
        record_id = record.rec_headers.get_header("WARC-Record-ID")
        req = (
            request_record(f.writer, ex.url, ex.request_head, ex.fetched_at, record_id, info_id)
            if ex.request_head
            else None
        )
        spans = f.write(record, req) if req is not None else f.write(record)
        self._log(f.name, [record, req] if req is not None else [record], spans)
        self._last_record[(ex.target, ex.url)] = record_id
        # the row is read off the record, as repair reads one the catalog lacks (storage.rows)
        row = capture_row(
            record,
            spans[0],
            spans[1] if req is not None else None,
            warc_file=f.name,
            target=ex.target,
            run_id=ex.run_id,
        )
        row.purpose = _purpose(ex.meta)
        if row.kind == RecordKind.REVISIT:
            assert refers is not None, "a revisit record is written with the capture it refers to"
            row.revisit_of = self._id_of(refers)
            if not_modified:
                inherit_validators(row, self._row_of(refers))
        self._add(row)
        if row.kind == RecordKind.RESPONSE and (ex.status == 200 or ex.status >= 400):
            latest = self._previous_from(row.digest, row, None, row)
            if ex.status == 200:
                self._previous[ex.url] = latest
            else:
                self._previous_error[(ex.url, ex.status)] = latest
        self.stats["warc/records"] += 2 if req is not None else 1
        return row

    def resource(self, r: Rendered) -> Capture:
        """A page's rendered DOM or screenshot, as a resource record beside the page's record."""
        f, info_id = self._file_for(r.target, r.run_id)
        page_record = self._last_record.get((r.target, r.page))
        record = resource_record(
            f.writer, r.uri, r.content_type, r.body, r.fetched_at, page_record, info_id
        )
        (span,) = f.write(record)
        self._log(f.name, [record], [span])
        row = capture_row(record, span, None, warc_file=f.name, target=r.target, run_id=r.run_id)
        self._add(row)
        self.stats[f"rendered/{row.purpose}"] += 1
        self.stats["warc/records"] += 1
        return row

    def fail(self, failed: FailedFetch) -> Capture:
        row = Capture(
            url=failed.url,
            surt=surt(failed.url),
            timestamp=from_datetime(failed.fetched_at),
            micros=failed.fetched_at.microsecond,
            purpose=_purpose(failed.meta),
            kind=RecordKind.FAILED,
            status=failed.status,
            reason=failed.reason
            if not failed.detail
            else f"{failed.reason}: {failed.detail}"[:1000],
            run_id=failed.run_id,
            target=failed.target,
        )
        self._add(row)
        self.stats[f"failed/{failed.reason}"] += 1
        return row

    def attribute(self, a: Attribution) -> list[Capture]:
        """Catalog the captures `a.source` made of `a.urls` in this run for `a.targets` as well:
        rows of their own, pointing at the same records (nothing is written to the WARC again)."""
        self._session.flush()
        q = (
            select(Capture)
            .where(Capture.run_id == a.run_id, Capture.target == a.source, Capture.url.in_(a.urls))
            .order_by(Capture.id)
        )
        sources = list(self._session.scalars(q))
        columns = [c.key for c in Capture.__table__.columns if c.key not in ("id", "target")]
        # Two of the run's fetches may name the same URL (the shared test's article: two
        # attributions from one source), and each attribution names all of the source's captures
        # of it: give each target each capture once.
        # (A record catalogued twice for one target is refused by the catalog:
        # ux_captures_record_target.)
        identity = (Capture.url, Capture.timestamp, Capture.micros, Capture.kind, Capture.record_id)
        have = set(
            self._session.execute(
                select(Capture.target, *identity).where(
                    Capture.run_id == a.run_id,
                    Capture.target.in_(a.targets),
                    Capture.url.in_(a.urls),
                )
            ).tuples()
        )
        rows = []
        for target in a.targets:
            for src in sources:
                key = (target, src.url, src.timestamp, src.micros, src.kind, src.record_id)
                if key in have:
                    continue
                have.add(key)
                row = Capture(target=target, **{k: getattr(src, k) for k in columns})
                self._add(row)
                rows.append(row)
        self.stats["captures/attributed"] += len(rows)
        return rows

    def _log(self, file: str, records: list, spans: list) -> None:
        if self.settings.evidence:
            for record, span in zip(records, spans, strict=True):
                self._entries.append(evidence.record_entry(self._actor, record, span, file))

    def _id_of(self, prev: _Previous) -> int:
        if prev.capture_id is not None:
            return prev.capture_id
        row = prev.row
        assert row is not None, "a remembered capture without an id is a row of this process"
        if row.id is None:
            self._session.flush()  # a revisit of a row of this pass: give that row its id now
        return row.id

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
        if self._rolling.file is not None:
            self._rolling.file.sync()  # bytes first, then the rows that point at them
        # the records' log entries, in the rows' transaction: never a record row without its entry
        evidence.append(self._session, self._entries)
        self._session.commit()
        self._entries = []
        self._pending = []
        self._session.expunge_all()  # a months-long daemon must not keep every row in memory
        self._dirty = False
        self._last_commit = time.monotonic()

    def commit_if_due(self) -> None:
        """Commit the rows written since the last commit, once `commit_every` has passed."""
        if time.monotonic() - self._last_commit >= self.settings.commit_every:
            self._commit()

    def flush(self) -> None:
        self._commit()

    def close(self) -> dict[str, int]:
        self._rolling.close()
        self._session.close()
        self._rolling.upload_finished()
        self.stats["warc/files"] += self._rolling.closed
        return dict(self.stats)

    def abandon(self) -> None:
        """After a write failed (a full disk): keep what is whole, as repair does after a crash.
        Rows not yet committed are dropped (a record of theirs that reached the disk whole is
        re-catalogued by repair); the open file is cut after its last whole record and closed."""
        from sqlalchemy.exc import SQLAlchemyError

        self._entries = []  # as the rows: repair logs the records that reached the disk whole
        with contextlib.suppress(SQLAlchemyError):
            self._session.rollback()
        self._session.close()
        self._infos = {}
        self._rolling.abandon()


def _purpose(meta: dict) -> str | None:
    """Why the crawler fetched it, for the catalog: a confirmation fetch is labelled as one, and so
    is a page requisite (a stylesheet, an image: archived for replay, never read for text)."""
    if meta.get("confirm"):
        return "confirmation"
    return REQUISITE if meta.get("requisite") else None
