"""The task queue over the catalog's PostgreSQL database (procrastinate): how to reach it, its
schema, the pass job and its locks, and the retry of the jobs of workers that died.

The job: one per due pass of one target, task `warcwatch.pass` on queue `passes`, arguments the
target's name and the time it was due. Its `queueing_lock` is the target (a target never waits
in the queue twice: a second defer while one waits is refused, and counted as skipped), its `lock`
the host of the target's first URL (procrastinate runs at most one job per lock at a time, so one
pass per host runs across the whole cluster, and robots.txt and crawl delays hold as on one
machine). A target whose URLs span several hosts is locked on its first URL's host only:
procrastinate takes one lock per job.

The schema: procrastinate's own (`schema.sql` of the installed version), applied when its tables
are missing by the first leader or worker, under an advisory lock so two never race. Not an
Alembic migration of ours: it is procrastinate's schema (types, functions, triggers), versioned
by procrastinate with its own migration files; copying it into our chain would tie each
procrastinate upgrade to a warcwatch migration and give SQLite catalogs revisions that do
nothing, and a catalog that never uses the cluster gets no queue tables. Upgrading procrastinate
across a schema change means applying its migrations (docs/deployment.md).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from monitor.config import Target

if TYPE_CHECKING:
    import procrastinate

TASK = "warcwatch.pass"
QUEUE = "passes"
# pg_advisory_lock keys (one 64-bit key each): leader election, schema creation
LEADER_KEY = 0x7761_7263_0001  # "warc" 1
SCHEMA_KEY = 0x7761_7263_0002

log = logging.getLogger("monitor.cluster")


def conninfo(database_url: str) -> str:
    """The libpq connection string of a SQLAlchemy PostgreSQL URL (driver name dropped)."""
    from sqlalchemy.engine import make_url

    url = make_url(database_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def host_of(target: Target) -> str:
    """The host a target's passes are serialised on: its first URL's (with the port, which
    makes it another server on loopback and in tests)."""
    parts = urlsplit(target.urls[0])
    return (parts.netloc.rsplit("@", 1)[-1] or parts.path).lower()


def ensure_schema(dsn: str) -> bool:
    """Create procrastinate's tables if they are missing; whether this call created them."""
    import psycopg
    from procrastinate.schema import SchemaManager

    with psycopg.connect(dsn) as conn, conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_KEY,))
        row = conn.execute("SELECT to_regclass('procrastinate_jobs')").fetchone()
        if row is not None and row[0] is not None:
            return False
        conn.execute(SchemaManager.get_schema())  # procrastinate's own SQL
    log.info("created the task queue's tables (procrastinate)")
    return True


def sync_app(dsn: str) -> procrastinate.App:
    """An app that defers from plain threads (the scheduler's), opened."""
    import procrastinate

    app = procrastinate.App(connector=procrastinate.SyncPsycopgConnector(conninfo=dsn))
    app.open()
    return app


@dataclass(frozen=True)
class Deferred:
    target: str
    job: int | None  # None: one was already waiting (its queueing lock held)


def defer_pass(app: procrastinate.App, target: Target, scheduled_at: datetime) -> Deferred:
    """Queue one pass of `target`, due at `scheduled_at`."""
    from procrastinate.exceptions import AlreadyEnqueued

    job = app.configure_task(TASK, queue=QUEUE, queueing_lock=target.name, lock=host_of(target))
    try:
        job_id = job.defer(target=target.name, scheduled_at=scheduled_at.isoformat())
    except AlreadyEnqueued:
        return Deferred(target.name, None)
    return Deferred(target.name, job_id)


@dataclass(frozen=True)
class Stalled:
    """A job of a silent worker, and what became of it: `retried` (back in the queue, attempts
    + 1) or `superseded` (a pass of its target was already waiting: the stalled one is dropped,
    since two cannot wait at once, and the waiting one runs the target)."""

    job: Any
    retried: bool

    @property
    def target(self) -> str:
        return str(self.job.task_kwargs.get("target"))

    @property
    def scheduled_at(self) -> datetime:
        return datetime.fromisoformat(str(self.job.task_kwargs.get("scheduled_at")))


async def retry_stalled(app: procrastinate.App, stalled_after: float) -> list[Stalled]:
    """Put the running jobs of workers silent for `stalled_after` back in the queue (another
    worker retries them). Several workers may look at once: a job another one dealt with first
    is passed by."""
    from procrastinate.exceptions import ConnectorException, UniqueViolation
    from procrastinate.jobs import Status

    out = []
    jobs: Iterable[Any] = await app.job_manager.get_stalled_jobs(
        queue=QUEUE, seconds_since_heartbeat=stalled_after
    )
    for job in jobs:
        try:
            await app.job_manager.retry_job(job)
            out.append(Stalled(job, retried=True))
        except UniqueViolation:  # its target's next pass waits already (its queueing lock)
            try:
                await app.job_manager.finish_job(job, status=Status.ABORTED, delete_job=True)
            except ConnectorException:
                continue
            out.append(Stalled(job, retried=False))
        except ConnectorException:
            continue  # no longer 'doing': another worker retried it, or it finished
    return out
