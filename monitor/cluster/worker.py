"""`warcwatch worker`: a procrastinate worker that runs the passes the leader defers, each in a
child process as the local daemon runs them (monitor.daemon.worker starts it, monitor.daemon.child
is its loop, monitor.daemon.protocol what they say), recorded in `daemon_runs` as the daemon's
are, so `status` and the web UI read a cluster's runs as they read a daemon's.

Faults:
- A pass whose child fails (killed, timed out, crashed) is a failed run, recorded; its job ends
  (the next slot runs the target again), and what its writer left `.open` is repaired once every
  process of that pass is gone.
- A worker that dies (kill -9, a machine lost) stops heartbeating; after `stalled_after` any
  other worker puts its running jobs back in the queue (queue.retry_stalled), and the worker that
  takes one up first repairs the archive (the dead writer's `.open` file closed, its records
  catalogued once), marks the dead attempt's runs interrupted, then runs the pass. When the
  target's next pass is queued already (two cannot wait at once), the stalled job is dropped
  instead, and the worker that found it does the repair and the marking.
- A worker starting repairs its WARC folder first (what a crash of the machine left).
- Finished jobs are deleted (the record of each run is `daemon_runs`, not the queue).
- SIGTERM/SIGINT: no new job is taken; running passes get `grace` seconds, then are cancelled
  (their files closed, their runs recorded interrupted).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from monitor import reload as watchlists
from monitor.cluster import queue
from monitor.daemon import records, repairs
from monitor.daemon.batches import Due
from monitor.daemon.eventlog import event
from monitor.daemon.protocol import Done
from monitor.daemon.worker import Worker, group_alive
from storage.enums import DaemonOutcome

if TYPE_CHECKING:
    from sqlalchemy import Engine

GROUP_WAIT = 15.0  # seconds a failed pass's writer may take to exit before the repair goes on


@dataclass(frozen=True)
class WorkerOptions:
    concurrency: int = 1  # passes this worker runs at once
    run_timeout: float = 3600.0
    grace: float = 30.0
    kill_grace: float = 5.0


class PassRunner:
    """Runs one pass per job in a child process; children are kept warm between jobs."""

    def __init__(
        self,
        config_path: Path,
        watchlist: watchlists.Watchlist,
        engine: Engine,
        opts: WorkerOptions,
    ) -> None:
        self.config_path = config_path
        self.watchlist = watchlist
        self.engine = engine
        self.opts = opts
        self.stopping = threading.Event()
        self._stop_at = float("inf")
        self._idle: list[Worker] = []
        self._guard = threading.Lock()

    def stop(self) -> None:
        self._stop_at = time.monotonic() + self.opts.grace
        self.stopping.set()

    def _take(self) -> Worker:
        with self._guard:
            while self._idle:
                w = self._idle.pop()
                if w.proc.poll() is None:
                    return w
        return Worker(self.config_path)

    def _keep_or_close(self, w: Worker) -> None:
        if not self.stopping.is_set() and w.proc.poll() is None and w.recycle():
            with self._guard:
                self._idle.append(w)
        else:
            w.close_idle()

    def close(self) -> None:
        with self._guard:
            idle, self._idle = self._idle, []
        for w in idle:
            w.close_idle()

    def _current_watchlist(self) -> watchlists.Watchlist:
        """The watchlist file as it is now, or the last good one if it no longer loads."""
        try:
            self.watchlist = watchlists.reread(self.config_path, self.watchlist)
        except Exception as exc:  # noqa: BLE001 - a broken edit must not stop the passes
            event("jobs.reload-failed", logging.ERROR, error=str(exc).splitlines()[0])
        return self.watchlist

    def run(self, target: str, scheduled_at: datetime, attempts: int) -> dict[str, Any]:
        if attempts:
            event("run.retry", logging.WARNING, target=target, attempt=attempts + 1)
            self.after_dead_worker(target, scheduled_at, "its worker died; retried on another")
        watchlist = self._current_watchlist()
        child = self._take()
        due = Due(target, scheduled_at, time.monotonic())
        if not records.record_start(self.engine, [due], child.pid, datetime.now(UTC)):
            self._keep_or_close(child)
            raise RuntimeError("the run could not be recorded (see the log)")  # the job fails
        child.start([due], self.opts.run_timeout, watchlist.text)
        event("run.start", target=target, worker=child.pid, attempt=attempts + 1)
        rc = self._wait(child)
        duration = time.monotonic() - child.started
        outcome, error = records.outcome_of(
            child.kill_reason, child.result, rc, child.tail, duration, self.opts.run_timeout
        )
        done = child.result if isinstance(child.result, Done) else None
        records.record_end(self.engine, [due], done, outcome, error, child.pid, duration)
        if done is None:
            records.interrupt_crawl_run(self.engine, [target], child.started_at)
        if outcome != DaemonOutcome.OK:
            child.close_idle()
            self._repair_after(child.pid)
        else:
            self._keep_or_close(child)
        return {"outcome": str(outcome), "run": done.run if done else None}

    def _wait(self, w: Worker) -> int | None:
        """Until the pass's final report or its child's exit; its deadline and the shutdown's
        grace enforced (SIGTERM, then SIGKILL)."""
        while True:
            rc = w.proc.poll()
            if w.final or rc is not None:
                return rc
            now = time.monotonic()
            if not w.kill_reason and now > w.deadline:
                event("run.timeout", logging.WARNING, worker=w.pid, targets=w.names())
                w.terminate("timeout")
            elif not w.kill_reason and now > self._stop_at:
                w.terminate("shutdown")
            if w.term_sent and now - w.term_sent > self.opts.kill_grace:
                w.kill()
            time.sleep(0.1)

    def _repair_after(self, pgid: int) -> None:
        deadline = time.monotonic() + GROUP_WAIT
        while group_alive(pgid) and time.monotonic() < deadline:
            time.sleep(0.1)
        repairs.repair_after_failure(self.engine, self.watchlist.config.archive.warcs)

    def after_dead_worker(self, target: str, scheduled_at: datetime, why: str) -> None:
        """The worker that had this pass died: close what its writer left `.open` (files live
        writers hold are left alone), and end the runs it left 'running'."""
        repairs.repair_after_failure(self.engine, self.watchlist.config.archive.warcs)
        close_dead_attempts(self.engine, target, scheduled_at, why)


def close_dead_attempts(engine: Engine, target: str, scheduled_at: datetime, why: str) -> None:
    """The `daemon_runs` rows (and crawl runs) a dead worker left 'running' for this slot."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from storage.models import DaemonRun
    from storage.timestamps import naive_utc, utcnow

    with records.bookkeeping("run.retry"), Session(engine) as s, s.begin():
        rows = s.scalars(
            select(DaemonRun).where(
                DaemonRun.target == target,
                DaemonRun.scheduled_at == naive_utc(scheduled_at),
                DaemonRun.outcome == DaemonOutcome.RUNNING,
            )
        ).all()
        started = [r.started_at for r in rows]
        for r in rows:
            r.outcome = DaemonOutcome.INTERRUPTED
            r.finished_at = utcnow()
            r.error = why
    for at in started:
        records.interrupt_crawl_run(engine, [target], at.replace(tzinfo=UTC))


_runner: PassRunner | None = None  # the running worker's, for the task function


def run_pass(context: Any, target: str, scheduled_at: str) -> dict[str, Any]:
    """The task: one pass of `target` (procrastinate calls it in a thread of the worker)."""
    assert _runner is not None, "run_pass runs in `warcwatch worker`"
    return _runner.run(target, datetime.fromisoformat(scheduled_at), context.job.attempts)


def worker_main(config_path: Path, opts: WorkerOptions) -> int:
    """`warcwatch worker`: run passes until SIGTERM/SIGINT."""
    global _runner
    import procrastinate
    from procrastinate.worker import Worker as QueueWorker

    from storage.catalog import open_catalog

    config_path = config_path.resolve()
    watchlist = watchlists.read(config_path)
    config = watchlist.config
    engine = open_catalog(config.archive.database_url)
    dsn = queue.conninfo(config.archive.database_url)
    queue.ensure_schema(dsn)
    # what this machine's last worker left `.open` (a crash, a power cut): files that live
    # writers hold, here or on other machines sharing the folder (their flock), are left alone
    repairs.repair_after_failure(engine, config.archive.warcs)
    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=dsn))
    app.task(name=queue.TASK, pass_context=True, queue=queue.QUEUE)(run_pass)
    _runner = PassRunner(config_path, watchlist, engine, opts)
    settings = config.cluster

    async def main() -> None:
        async with app.open_async():
            worker = QueueWorker(
                app,
                queues=[queue.QUEUE],
                name="warcwatch",
                concurrency=opts.concurrency,
                delete_jobs="successful",
                install_signal_handlers=False,
                update_heartbeat_interval=settings.heartbeat,
                stalled_worker_timeout=settings.stalled_after,
                fetch_job_polling_interval=settings.heartbeat,
            )
            loop = asyncio.get_running_loop()

            def stop() -> None:
                assert _runner is not None
                _runner.stop()
                worker.stop()

            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, stop)
            assert _runner is not None
            retrying = asyncio.create_task(
                _retry_stalled(_runner, app, settings.heartbeat, settings.stalled_after)
            )
            event("cluster.worker-start", concurrency=opts.concurrency)
            with contextlib.suppress(OSError):
                print(f"warcwatch: worker on {config_path}, {opts.concurrency} at once", flush=True)
            try:
                await worker.run()
            finally:
                retrying.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await retrying

    try:
        asyncio.run(main())
    finally:
        _runner.close()
        engine.dispose()
    event("cluster.worker-stop")
    return 0


async def _retry_stalled(runner: PassRunner, app: Any, every: float, stalled_after: float) -> None:
    while True:
        try:
            stalled = await queue.retry_stalled(app, stalled_after)
        except Exception as exc:  # noqa: BLE001 - the queue may be briefly away; look again
            event("cluster.retry-failed", logging.ERROR, error=str(exc).splitlines()[0])
            stalled = []
        for st in stalled:
            event(
                "run.stalled",
                logging.WARNING,
                job=st.job.id,
                target=st.target,
                then="retried" if st.retried else "dropped: its next pass was queued already",
            )
            if not st.retried:  # no worker takes it up: its runs and files are dealt with here
                why = "its worker died; the target's next pass was queued already"
                await asyncio.to_thread(runner.after_dead_worker, st.target, st.scheduled_at, why)
        await asyncio.sleep(every)
