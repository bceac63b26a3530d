"""The writer's WARC file and when it rolls: one file at a time, for all of the writer's targets,
rolled to a new one by size (`max_size`) and age (`max_age`), not per pass. A writer starts by
taking back the youngest closed file of its folder that is still under both and not uploaded
(storage.warcfile.WarcFile.reopen), so a daemon's passes, each in a process of its own, fill one
file an hour rather than one per target per pass. With an object store, files that are finished
(at size or age) are uploaded when a writer closes (storage.uploads).

The `warc_files` row of a file says it is open (closed_at NULL) for as long as a writer holds it;
the rows of the records in it are committed (after an fsync) before the file is closed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from storage.errors import ArchiveError
from storage.models import WarcFile as WarcFileRow
from storage.objects import WarcStorage
from storage.uploads import Finished, upload_closed
from storage.warcfile import WarcFile, folder_id, warc_name

log = logging.getLogger(__name__)


class RollSettings(Protocol):
    """What `RollingFile` reads of storage.writer.WriterSettings."""

    @property
    def prefix(self) -> str: ...
    @property
    def max_size(self) -> int: ...
    @property
    def max_age(self) -> float: ...
    @property
    def gzip_level(self) -> int: ...
    @property
    def digest(self) -> str: ...


class RollingFile:
    """The file a writer appends to, opened, reopened, rolled and closed here. Rows it adds to or
    changes in `session` are committed by the writer, with the records' rows (`commit`)."""

    def __init__(
        self,
        engine: Engine,
        session: Session,
        storage: WarcStorage,
        settings: RollSettings,
        clock: Callable[[], datetime],
        commit: Callable[[], None],
    ):
        self.engine, self.session, self.storage = engine, session, storage
        self.settings, self.clock, self._commit = settings, clock, commit
        self.file: WarcFile | None = None
        self.opened_at: datetime | None = None  # of the file (its first opening, when reopened)
        self.folder = folder_id(storage.local)
        self.closed = 0  # files closed by this writer

    def current(self) -> tuple[WarcFile, bool]:
        """The file to write the next records to, and whether it is another than the last one's
        (its targets then need their warcinfo records written to it)."""
        f = self.file
        if f is not None and (f.size >= self.settings.max_size or self._too_old()):
            self.close()
            f = None
        if f is not None:
            return f, False
        self.file = self._reopen() or self._open()
        return self.file, True

    def _too_old(self) -> bool:
        assert self.opened_at is not None, "an open file has its opening time"
        return (self.clock() - self.opened_at).total_seconds() >= self.settings.max_age

    def _reopen(self) -> WarcFile | None:
        """The youngest closed file of this folder still under max_size and max_age (and not
        uploaded: an object is never appended to), taken back for appending; None when there is
        none free (then a new file is opened)."""
        if self.folder is None:
            return None  # no folder id: the catalog cannot say which files are this folder's
        s, now = self.settings, self.clock()
        young = (
            select(WarcFileRow)
            .where(
                WarcFileRow.folder == self.folder,
                WarcFileRow.closed_at.is_not(None),
                WarcFileRow.object.is_(None),
                WarcFileRow.size < s.max_size,
                WarcFileRow.opened_at > now - timedelta(seconds=s.max_age),
                WarcFileRow.name.startswith(f"{s.prefix}-", autoescape=True),
            )
            .order_by(WarcFileRow.opened_at.desc())
            .limit(5)
        )
        for row in list(self.session.scalars(young)):
            f = WarcFile.reopen(self.storage.local, row.name, s.gzip_level, s.digest)
            if f is None:
                continue  # another writer holds it (or a repair, an upload runs): try the next
            if f.size != row.size:  # not as its writer left it (a repair cut it since?): leave it
                f.close()
                continue
            # open again until this writer closes it; a repair after a crash closes it again
            row.closed_at, row.size = None, None
            self.opened_at = row.opened_at
            log.debug("reopened %s", row.name)
            return f
        return None

    def _open(self) -> WarcFile:
        now, s = self.clock(), self.settings
        while True:  # another process may have picked the same name: take the next serial
            try:
                f = WarcFile(self.storage.local, warc_name(s.prefix, now), s.gzip_level, s.digest)
                break
            except FileExistsError:
                continue
        self.session.add(WarcFileRow(name=f.name, target=None, opened_at=now, folder=self.folder))
        self.opened_at = now
        log.debug("opened %s", f.name)
        return f

    def close(self) -> None:
        self._commit()  # rows for its records are durable before the file is final
        f = self.file
        if f is None:
            return
        self.file, self.opened_at = None, None
        size = f.size
        f.close()
        with Session(self.engine) as s, s.begin():
            for row in s.scalars(select(WarcFileRow).where(WarcFileRow.name == f.name)):
                row.closed_at, row.size = self.clock(), size
        self.closed += 1

    def upload_finished(self) -> None:
        """Upload this folder's closed files that are finished (size or age): the one just closed,
        and any another writer left. A failure leaves them local, for the next close or a repair:
        the pass is not failed for it."""
        if self.storage.objects is None:
            return
        try:
            upload_closed(
                self.engine,
                self.storage,
                Finished(self.settings.max_size, self.settings.max_age),
                self.clock,
            )
        except (ArchiveError, SQLAlchemyError, OSError) as exc:
            log.warning("could not upload finished WARC files: %s", exc)

    def abandon(self) -> None:
        """After a write failed (a full disk): the file is cut after its last whole record and
        closed, as repair does after a crash (its rows not yet committed are dropped by the
        writer; a record of theirs that reached the disk whole is re-catalogued by repair)."""
        from storage.repair import close_open_file

        sizes: dict[str, int | None] = {}
        f = self.file
        self.file, self.opened_at = None, None
        if f is not None:
            try:
                fixed = close_open_file(f.abandon())
                sizes[fixed.name] = None if fixed.removed else fixed.kept
            except (OSError, ArchiveError) as exc:  # left `.open`: `warcwatch repair` closes it
                log.warning("could not close %s after a failed write: %s", f.name, exc)
        try:
            with Session(self.engine) as s, s.begin():
                for row in s.scalars(select(WarcFileRow).where(WarcFileRow.name.in_(list(sizes)))):
                    if sizes[row.name] is None:
                        s.delete(row)
                    else:
                        row.closed_at, row.size = self.clock(), sizes[row.name]
        except SQLAlchemyError as exc:
            log.warning("could not record the closed WARC files: %s", exc)
