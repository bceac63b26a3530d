"""The daemon's live scheduler: APScheduler over the catalog's job store and the dispatching
executor (monitor.daemon.jobs), started paused so that the runs missed while the daemon was down
are spread and the jobs reconciled with the watchlist before anything fires; and the end of each
target's run reported back to it (which releases its max_instances=1)."""

from __future__ import annotations

import logging
import random
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from monitor.config import Config
from monitor.daemon import jobs
from monitor.daemon.eventlog import event
from monitor.daemon.options import DaemonOptions

if TYPE_CHECKING:
    from sqlalchemy import Engine


class Schedule:
    def __init__(self, engine: Engine, options: DaemonOptions, rng: random.Random) -> None:
        from apscheduler.schedulers.background import BackgroundScheduler

        self.options = options
        self.rng = rng
        self.executor = jobs.dispatch_executor()
        self.scheduler = BackgroundScheduler(
            jobstores={"default": jobs.catalog_job_store(engine)},
            executors={"default": self.executor},
            job_defaults={"max_instances": 1, "coalesce": True, "misfire_grace_time": None},
            timezone=UTC,
        )

    def start(self, config: Config) -> int:
        """Start scheduling `config`'s targets; how many runs were missed while it was down."""
        from apscheduler.events import EVENT_JOB_MAX_INSTANCES

        self.scheduler.add_listener(self._on_skipped, EVENT_JOB_MAX_INSTANCES)
        self.scheduler.start(paused=True)
        now = datetime.now(UTC)
        missed = jobs.spread_missed(self.scheduler, now, self.options)
        self.reconcile(config, now, "start")
        self.scheduler.resume()
        return missed

    def reconcile(self, config: Config, now: datetime, why: str) -> jobs.Reconciled:
        r = jobs.reconcile(self.scheduler, config, now, self.rng, self.options)
        kept = len(r.kept)
        event(
            "jobs.reconcile",
            why=why,
            added=r.added,
            rescheduled=r.rescheduled,
            removed=r.removed,
            kept=kept,
        )
        for name in r.unscheduled:
            event("jobs.unscheduled", logging.WARNING, target=name, reason="neither every nor cron")
        return r

    def finished(self, target: str, scheduled_at: datetime, ok: bool) -> None:
        """The run of `target` due at `scheduled_at` has ended (or will not happen)."""
        self.executor.finished(jobs.job_id(target), scheduled_at, ok)

    def shutdown(self) -> None:
        self.scheduler.shutdown(wait=False)

    def _on_skipped(self, ev: Any) -> None:
        target = ev.job_id.removeprefix(jobs.JOB_PREFIX)
        event("run.skip", logging.WARNING, target=target, reason="previous run still going")
