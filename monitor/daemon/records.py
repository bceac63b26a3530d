"""The daemon's rows in the catalog: a `daemon_runs` row per target per pass (started, then
ended with its outcome), the crawl run a killed worker left 'running', the pruning of old rows,
and which targets ran slow last time. A write that fails (a full disk) is one log line and is
skipped: the daemon outlives a full disk and goes on once there is room."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.engine import CursorResult

from monitor.daemon.batches import Due
from monitor.daemon.eventlog import event
from monitor.daemon.options import DAEMON_RUNS_KEPT
from monitor.daemon.protocol import Done, Error, Interrupted, Report
from storage.enums import DaemonOutcome, RunStatus
from storage.timestamps import naive_utc, utcnow


@contextlib.contextmanager
def bookkeeping(what: str) -> Iterator[None]:
    """A write of the daemon's own records to the catalog; one that fails is logged and skipped."""
    from sqlalchemy.exc import SQLAlchemyError

    from storage.errors import write_error

    try:
        yield
    except SQLAlchemyError as exc:
        error = str(write_error(exc) or exc).splitlines()[0]
        event("catalog.write-failed", logging.ERROR, what=what, error=error)


def record_start(engine: Engine, batch: Sequence[Due], worker_pid: int, now: datetime) -> bool:
    """A 'running' row for each target of a pass (its id in `Due.row_id`); False if not written."""
    from sqlalchemy.orm import Session

    from storage.models import DaemonRun

    recorded = False
    with bookkeeping("run.start"):
        with Session(engine) as s, s.begin():
            rows = [
                DaemonRun(
                    target=d.name,
                    scheduled_at=naive_utc(d.scheduled_at),
                    started_at=naive_utc(now),
                    outcome=DaemonOutcome.RUNNING,
                    fetched=0,
                    failed=0,
                    failures={},
                    worker_pid=worker_pid,
                )
                for d in batch
            ]
            s.add_all(rows)
            s.flush()
            ids = [row.id for row in rows]
        for d, row_id in zip(batch, ids, strict=True):  # committed
            d.row_id = row_id
        recorded = True
    return recorded


def outcome_of(
    kill_reason: str | None,
    report: Report | None,
    rc: int | None,
    tail: Sequence[str],
    duration: float,
    run_timeout: float,
) -> tuple[DaemonOutcome, str | None]:
    """A pass's outcome (ok, failed, timeout, interrupted) and its error line, from how its worker
    ended: killed by the daemon, or the last report it sent (if any), or its exit code."""
    if kill_reason == "timeout":
        return (
            DaemonOutcome.TIMEOUT,
            f"terminated after {duration:.1f}s (run timeout {run_timeout:g}s)",
        )
    if kill_reason == "shutdown":
        return DaemonOutcome.INTERRUPTED, "daemon shutting down"
    if isinstance(report, Done):
        return DaemonOutcome.OK, None
    if isinstance(report, Interrupted):
        return DaemonOutcome.INTERRUPTED, "the pass was cancelled"
    error = report.error if isinstance(report, Error) else ""
    return DaemonOutcome.FAILED, error or f"worker exited {rc}: " + " | ".join(list(tail)[-3:])


def record_end(
    engine: Engine,
    batch: Sequence[Due],
    done: Done | None,
    outcome: DaemonOutcome,
    error: str | None,
    worker_pid: int,
    duration: float,
) -> None:
    """End each target's row with the pass's outcome and its own counts; log `run.end` for it."""
    from sqlalchemy.orm import Session

    from storage.models import DaemonRun

    gone = set(done.gone) if done else set()
    finished_at = datetime.now(UTC)
    with bookkeeping("run.end"), Session(engine) as s, s.begin():
        for d in batch:
            row = s.get(DaemonRun, d.row_id)
            if row is None:  # pruned meanwhile: nothing to record it in
                continue
            counts = done.targets.get(d.name) if done else None
            failures = counts.failed if counts else {}
            row.finished_at = naive_utc(finished_at)
            row.outcome = DaemonOutcome.FAILED if d.name in gone else outcome
            row.error = "target is no longer in the watchlist" if d.name in gone else error
            row.run_id = done.run if done else None
            row.fetched = counts.fetched if counts else 0
            row.failures = failures
            row.failed = sum(failures.values())
            level = logging.INFO if row.outcome == DaemonOutcome.OK else logging.WARNING
            event(
                "run.end",
                level,
                target=d.name,
                outcome=row.outcome,
                run=row.run_id,
                worker=worker_pid,
                seconds=duration,
                fetched=row.fetched,
                failed=row.failed,
                failures=failures,
                **({"error": error} if row.error else {}),
            )


def interrupt_crawl_run(engine: Engine, names: list[str], started_at: datetime) -> None:
    """A worker killed before it could finish its pass leaves its crawl run 'running'."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from storage.models import CrawlRun

    since = naive_utc(started_at - timedelta(seconds=1))
    running = select(CrawlRun).where(
        CrawlRun.status == RunStatus.RUNNING, CrawlRun.started_at >= since
    )
    with bookkeeping("run.interrupted"), Session(engine) as s, s.begin():
        for run in s.scalars(running):
            if list(run.targets) == names:
                run.status = RunStatus.INTERRUPTED
                run.finished_at = utcnow()


def prune(engine: Engine) -> None:
    """Forget daemon run rows older than DAEMON_RUNS_KEPT: at a thousand targets every ten
    seconds they would grow by millions a day. Crawl runs and captures are kept."""
    from sqlalchemy import delete
    from sqlalchemy.orm import Session

    from storage.models import DaemonRun

    cutoff = utcnow() - DAEMON_RUNS_KEPT
    gone = 0
    with bookkeeping("daemon.prune"), Session(engine) as s, s.begin():
        result = s.execute(delete(DaemonRun).where(DaemonRun.finished_at < cutoff))
        gone = cast("CursorResult[Any]", result).rowcount
    if gone:
        event("daemon.prune", rows=gone, older_than=cutoff.isoformat())


def close_stale_runs(engine: Engine, slow_after: float) -> tuple[int, set[str]]:
    """At start: rows a stopped daemon left 'running' become 'interrupted' (how many is returned),
    and the targets whose last run timed out or took longer than `slow_after` (they start alone)."""
    from sqlalchemy import func, select, update
    from sqlalchemy.orm import Session

    from storage.models import DaemonRun

    with Session(engine) as s, s.begin():
        stale = list(
            s.scalars(select(DaemonRun.id).where(DaemonRun.outcome == DaemonOutcome.RUNNING))
        )
        if stale:
            s.execute(
                update(DaemonRun)
                .where(DaemonRun.id.in_(stale))
                .values(
                    outcome=DaemonOutcome.INTERRUPTED,
                    finished_at=utcnow(),
                    error="daemon stopped",
                )
            )
        newest = select(func.max(DaemonRun.id)).group_by(DaemonRun.target)
        last = s.execute(
            select(
                DaemonRun.target, DaemonRun.outcome, DaemonRun.started_at, DaemonRun.finished_at
            ).where(DaemonRun.id.in_(newest))
        )
        slow = {
            target
            for target, outcome, started, finished in last
            if outcome == DaemonOutcome.TIMEOUT
            or (finished is not None and (finished - started).total_seconds() > slow_after)
        }
    return len(stale), slow
