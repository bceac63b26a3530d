"""The daemon's repairs of the archive: at start (what a stopped daemon or a crash left), after a
failed pass (its worker or writer killed, a timeout), and at shutdown (what a kill left `.open`).

Files that live writers hold (other passes, a `warcwatch crawl` beside the daemon) are left alone
with their rows: storage.repair knows them by the processes holding them open."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from sqlalchemy.exc import SQLAlchemyError

from monitor.daemon.eventlog import event
from monitor.daemon.records import close_stale_runs
from monitor.errors import WarcwatchError

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from storage.objects import Warcs


def repair_at_start(engine: Engine, warc_dir: Warcs, slow_after: float) -> set[str]:
    """Repair the archive, close the daemon runs a stopped daemon left 'running'; the targets that
    ran slow last time (they start alone)."""
    from storage.repair import repair_archive

    report = repair_archive(engine, warc_dir)
    stale, slow = close_stale_runs(engine, slow_after)
    if not report.clean or stale:
        event(
            "daemon.repair",
            logging.WARNING,
            files=len(report.files),
            orphans=len(report.orphans),
            recatalogued=report.records_recatalogued,
            runs=len(report.interrupted_runs),
            daemon_runs=stale,
            skipped=len(report.skipped),
        )
    return slow


def repair_after_failure(engine: Engine, warc_dir: Warcs) -> None:
    """Close the `.open` files no live process holds, cut after their last whole record, as the
    next start would, and now. A repair that fails is one log line: the daemon goes on."""
    from storage.repair import repair_archive

    try:
        report = repair_archive(engine, warc_dir, mark_runs=False)
    except (WarcwatchError, OSError, SQLAlchemyError) as exc:
        event("daemon.repair-failed", logging.ERROR, error=str(exc).splitlines()[0])
        return
    done: dict[str, object] = {
        part: len(items)
        for part, items in report.as_json().items()
        if isinstance(items, list) and items
    }
    if report.recatalogued:
        done["recatalogued"] = report.records_recatalogued  # records, not files
    if set(done) - {"skipped"}:
        event(
            "daemon.repair",
            logging.WARNING,
            why="a pass failed",
            **done,
            closed=" ".join(f.name for f in report.files),
        )


def repair_at_shutdown(engine: Engine, warc_dir: Warcs) -> None:
    """Once every worker and writer has exited: close anything a kill left open."""
    from storage.repair import repair_archive

    report = repair_archive(engine, warc_dir, mark_runs=False)
    if report.files:
        event(
            "daemon.repair", logging.WARNING, files=len(report.files), orphans=len(report.orphans)
        )
    if report.uploaded or report.upload_failed:  # the files no pass of this daemon finished
        event(
            "daemon.upload",
            logging.INFO,
            uploaded=len(report.uploaded),
            failed=len(report.upload_failed),
        )
