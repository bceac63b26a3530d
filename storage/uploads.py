"""Uploading finished WARC files to the object store, in the order that keeps every catalog row
pointing at bytes that exist: the file is closed and its rows committed (storage.writer), then it
is uploaded and the object confirmed (storage.objects.ObjectStore.upload: size and checksum), then
its `warc_files` row records the object (`object`, `uploaded_at`), and only after that commit is
the local copy removed.

A crash at any point leaves a state a repair (storage.repair) finishes: before the row's commit,
the file is still local and its row says "not uploaded" (it is uploaded again: an upload cut off
by a kill left no object, or a whole one with the same bytes, which the new one replaces); after
it, the object is confirmed and the local copy, if still there, is removed. Uploads run under the
folder's lock (storage.warcfile.folder_lock), so no writer takes a file back for appending while
it is being uploaded, and no two processes upload one file at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from storage.errors import ArchiveError
from storage.models import WarcFile as WarcFileRow
from storage.objects import ObjectStore, WarcStorage
from storage.timestamps import utcnow
from storage.warcfile import folder_id, folder_lock, fsync_dir

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Finished:
    """Which closed files are done with: at `max_size`, or opened `max_age` seconds ago. A file
    short of both may still be taken back by the next pass (storage.rolling)."""

    max_size: int
    max_age: float

    def __call__(self, row: WarcFileRow, now: datetime) -> bool:
        return (row.size or 0) >= self.max_size or row.opened_at <= now - timedelta(
            seconds=self.max_age
        )


@dataclass
class Uploads:
    uploaded: list[str]
    failed: list[str]  # left local, to be uploaded by the next writer's close or a repair


def upload_closed(
    engine: Engine,
    storage: WarcStorage,
    which: Callable[[WarcFileRow, datetime], bool] | None = None,
    clock: Callable[[], datetime] = utcnow,
    locked: bool = False,
) -> Uploads:
    """Upload this folder's closed files that have no object yet (those `which` picks, or all),
    each confirmed before its row says so and its local copy goes. A file that cannot be uploaded
    now (the store unreachable) is left local and logged. With `locked` the caller holds the
    folder's lock (a repair); otherwise it is taken, and if another process holds it (a repair,
    another upload) nothing is done now: it will be."""
    done = Uploads([], [])
    if storage.objects is None:
        return done
    if locked:
        _upload_all(engine, storage.local, storage.objects, which, clock, done)
        return done
    with folder_lock(storage.local, wait=False) as held:
        if held:
            _upload_all(engine, storage.local, storage.objects, which, clock, done)
    return done


def _upload_all(
    engine: Engine,
    local: Path,
    objects: ObjectStore,
    which: Callable[[WarcFileRow, datetime], bool] | None,
    clock: Callable[[], datetime],
    done: Uploads,
) -> None:
    folder = folder_id(local, create=False)
    if folder is None:
        return
    now = clock()
    with Session(engine) as s:
        rows = s.scalars(
            select(WarcFileRow).where(
                WarcFileRow.folder == folder,
                WarcFileRow.closed_at.is_not(None),
                WarcFileRow.object.is_(None),
            )
        )
        todo = [(r.name, r.size) for r in rows if which is None or which(r, now)]
    for name, size in todo:
        path = local / name
        try:
            if path.stat().st_size != size:
                continue  # not as catalogued: a repair's to look at, not an upload's
        except FileNotFoundError:
            continue
        try:
            url = objects.upload(path, name)
        except ArchiveError as exc:
            log.warning("upload failed, %s stays local for now: %s", name, exc)
            done.failed.append(name)
            continue
        with Session(engine) as s, s.begin():
            s.execute(
                update(WarcFileRow)
                .where(WarcFileRow.name == name, WarcFileRow.object.is_(None))
                .values(object=url, uploaded_at=clock())
            )
        remove_local(path)
        done.uploaded.append(name)
        log.info("uploaded %s to %s", name, url)


def remove_local(path: Path) -> None:
    """Remove the local copy of an uploaded file (its row names its object, committed)."""
    try:
        path.unlink()
    except FileNotFoundError:
        return
    fsync_dir(path.parent)
