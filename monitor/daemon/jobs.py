"""The daemon's APScheduler side: one job per target, its trigger, reconciling the jobs with the
watchlist, spreading the runs missed while the daemon was down, the executor that hands a fired
job to the dispatcher, and the job store in the catalog that outlives a full disk.

Each job is stored as the importable function `monitor.daemon:run_target` with the target's name
(nothing pickled that a change in our code could break): that path must stay importable as long
as catalogs hold such jobs. `every` targets use an IntervalTrigger with a small jitter and a
random phase, `cron` targets a CronTrigger. Jobs are submitted to our own executor, which only
queues the target for the dispatcher; APScheduler's max_instances=1 then holds until the target's
run has ended, and coalesce=True folds missed runs into one. After downtime the overdue jobs are
spread over min(interval, `spread`) instead of all firing at start.

The job store: after each run is submitted, APScheduler saves the job's next run time; with the
disk full that save raises in the scheduler's own thread, which dies, and the daemon would never
schedule again. Here a job that cannot be saved is kept in memory, and every look for due jobs
first saves it: while the disk is full that look fails too, which APScheduler answers by trying
again after `jobstore_retry_interval` (10 s), quietly. Once there is room, scheduling picks up.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from monitor.config import Config, Target
from monitor.daemon.options import DaemonOptions

if TYPE_CHECKING:
    from sqlalchemy import Engine

JOB_FUNC = "monitor.daemon:run_target"  # what stored jobs call: never rename
JOB_PREFIX = "target:"

Enqueue = Callable[[str, datetime], None]
_dispatcher: Enqueue | None = None  # the running daemon's queue, while it runs


def job_id(name: str) -> str:
    return JOB_PREFIX + name


def run_target(name: str, scheduled_at: datetime | None = None) -> None:
    """The job function of every target (stored by its path, with the target's name): queue the
    target for the running daemon's dispatcher."""
    if _dispatcher is None:
        raise RuntimeError("run_target is called by the scheduler of `warcwatch run`")
    _dispatcher(name, scheduled_at or datetime.now(UTC))


@contextlib.contextmanager
def dispatching_to(enqueue: Enqueue) -> Iterator[None]:
    """While inside, fired jobs go to `enqueue` (the daemon's queue)."""
    global _dispatcher
    _dispatcher = enqueue
    try:
        yield
    finally:
        _dispatcher = None


def make_trigger(t: Target, now: datetime, rng: random.Random, options: DaemonOptions) -> Any:
    from apscheduler.triggers.cron import CronTrigger
    from apscheduler.triggers.interval import IntervalTrigger

    if t.cron is not None:
        return CronTrigger.from_crontab(t.cron)
    # A random phase spreads targets with the same interval over it; the jitter keeps them from
    # falling back into step. (APScheduler adds the jitter to each run, so the mean period grows
    # by jitter/2: 2.5 % by default, at most 30 s.)
    if t.every is None:
        raise ValueError(f"target {t.name} has no schedule")
    phase = rng.uniform(0, min(t.every, options.spread))
    jitter = min(t.every * options.jitter, 60.0) or None
    start = now + timedelta(seconds=phase)
    return IntervalTrigger(seconds=t.every, start_date=start, timezone=UTC, jitter=jitter)


def _period(trigger: Any, default: float) -> float:
    return getattr(trigger, "interval_length", None) or default


@dataclass
class Reconciled:
    added: list[str] = field(default_factory=list)
    rescheduled: list[str] = field(default_factory=list)  # their schedule changed: a new next run
    removed: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    unscheduled: list[str] = field(default_factory=list)  # targets with neither every nor cron


def reconcile(
    scheduler: Any, config: Config, now: datetime, rng: random.Random, options: DaemonOptions
) -> Reconciled:
    """Make the scheduler's jobs match the watchlist: the watchlist is the source of truth. A job
    whose schedule is unchanged keeps its next run time; run history is in the catalog either way.
    Every new trigger is built before any job is touched: one that cannot be built leaves them
    all."""
    out = Reconciled()
    desired: dict[str, Target] = {}
    for t in config.targets:
        if t.schedule is None:
            out.unscheduled.append(t.name)
        else:
            desired[job_id(t.name)] = t
    existing = {j.id: j for j in scheduler.get_jobs() if j.id.startswith(JOB_PREFIX)}
    plan = []
    for jid, t in desired.items():
        label = f"{t.name}: {t.schedule}"
        job = existing.get(jid)
        if job is not None and job.name == label and tuple(job.args) == (t.name,):
            out.kept.append(t.name)
        else:
            plan.append((jid, t, label, job, make_trigger(t, now, rng, options)))
    for jid in existing.keys() - desired.keys():
        scheduler.remove_job(jid)
        out.removed.append(jid.removeprefix(JOB_PREFIX))
    for jid, t, label, job, trigger in plan:
        if job is None:
            scheduler.add_job(
                JOB_FUNC,
                trigger=trigger,
                args=[t.name],
                id=jid,
                name=label,
                max_instances=1,
                coalesce=True,
                misfire_grace_time=None,
                replace_existing=True,
            )
            out.added.append(t.name)
        else:
            scheduler.modify_job(jid, name=label, args=[t.name])
            scheduler.reschedule_job(jid, trigger=trigger)
            out.rescheduled.append(t.name)
    return out


def spread_missed(scheduler: Any, now: datetime, options: DaemonOptions) -> int:
    """Jobs that came due while the daemon was down run once each (coalesced), spread out over
    min(their interval, `spread`) in the order they were due, not all in the first second."""
    late = sorted(
        (j for j in scheduler.get_jobs() if j.next_run_time is not None and j.next_run_time <= now),
        key=lambda j: j.next_run_time,
    )
    for i, job in enumerate(late):
        window = min(_period(job.trigger, options.spread), options.spread)
        scheduler.modify_job(job.id, next_run_time=now + timedelta(seconds=window * i / len(late)))
    return len(late)


def dispatch_executor() -> Any:
    """The executor that queues each fired job; `finished(job id, run time, ok)` ends its run."""
    from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, JobExecutionEvent
    from apscheduler.executors.base import BaseExecutor

    class DispatchExecutor(BaseExecutor):  # type: ignore[misc]
        """Submitting a job calls its function with the time it was due; the function only queues
        the target, so the scheduler never waits and no thread is held per target. The job's
        instance stays counted until `finished` is called at the end of its run, which is how
        max_instances=1 holds for the whole run."""

        def _do_submit_job(self, job: Any, run_times: list[datetime]) -> None:
            job.func(*job.args, scheduled_at=run_times[-1], **job.kwargs)

        def finished(self, jid: str, run_time: datetime, ok: bool) -> None:
            code = EVENT_JOB_EXECUTED if ok else EVENT_JOB_ERROR
            if self._instances.get(jid):
                self._run_job_success(jid, [JobExecutionEvent(code, jid, "default", run_time)])

    return DispatchExecutor()


def catalog_job_store(engine: Engine) -> Any:
    """A SQLAlchemyJobStore in the catalog whose failed saves are kept and retried."""
    from apscheduler.jobstores.base import JobLookupError
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from sqlalchemy.exc import SQLAlchemyError

    class CatalogJobStore(SQLAlchemyJobStore):  # type: ignore[misc]
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self._unsaved: dict[str, Any] = {}  # job id → job whose new state is not saved yet

        def update_job(self, job: Any) -> None:
            try:
                super().update_job(job)
            except SQLAlchemyError:
                self._unsaved[job.id] = job
            else:
                self._unsaved.pop(job.id, None)

        def remove_job(self, job_id: str) -> None:
            self._unsaved.pop(job_id, None)
            super().remove_job(job_id)

        def get_due_jobs(self, now: datetime) -> Any:
            for job in list(self._unsaved.values()):
                try:
                    super().update_job(job)  # raises while the disk is full: tried again in 10 s
                except JobLookupError:
                    pass
                del self._unsaved[job.id]
            return super().get_due_jobs(now)

    return CatalogJobStore(engine=engine)
