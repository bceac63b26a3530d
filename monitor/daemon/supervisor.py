"""The daemon's main loop (`Daemon`): it owns the scheduler, the queue of due targets and the
worker processes; it starts passes, reaps them, reloads the watchlist on SIGHUP and shuts down
on SIGTERM/SIGINT without leaving a half-written WARC behind.

Shutdown: scheduling stops, running workers get `grace` seconds to finish, then SIGTERM (they
cancel their pass: the WARC files are closed and the run marked interrupted), then SIGKILL; the
daemon waits for their writer processes and repairs anything left `.open`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import signal
import threading
import time
from collections import deque
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from monitor import reload as watchlists
from monitor.config import Config
from monitor.daemon import batches, jobs, records, repairs
from monitor.daemon.batches import Due
from monitor.daemon.eventlog import event, setup_logging
from monitor.daemon.options import LOGFILE, PRUNE_EVERY, DaemonOptions
from monitor.daemon.pidfile import PidFile
from monitor.daemon.pool import Pool
from monitor.daemon.protocol import Done
from monitor.daemon.schedule import Schedule
from monitor.daemon.worker import Worker, group_alive
from monitor.errors import WarcwatchError
from monitor.status import PIDFILE
from storage.enums import DaemonOutcome

Handler = Any  # what signal.signal returns: a callable, an int or None

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from storage.catalog import CatalogLock


class Daemon:
    """Built by `Daemon.open` (which takes the archive's pid file); `run` until a signal stops
    it."""

    def __init__(
        self,
        config_path: Path,
        options: DaemonOptions,
        rng: random.Random,
        watchlist: watchlists.Watchlist,
        engine: Engine,
        pidfile: PidFile,
        log_path: Path,
        catalog_lock: CatalogLock | None = None,
    ) -> None:
        self.config_path = config_path
        self.options = options
        self.watchlist = watchlist  # the last good one
        self.engine = engine
        self.log_path = log_path
        self.schedule = Schedule(engine, options, rng)
        self._pidfile = pidfile
        self._catalog_lock = catalog_lock
        self._pending: deque[Due] = deque()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._pruned_at = 0.0
        self._pool = Pool(config_path, options)
        self._slow: set[str] = set()  # read from the catalog when `run` starts
        self._stop_requested = False
        self._reload_requested = False
        self._repair_due = False  # a pass failed: its writer may have died with files `.open`
        # the process groups of failed passes, until every process in them is gone
        self._repair_groups: set[int] = set()
        self._stopping_since: float | None = None

    @classmethod
    def open(
        cls,
        config_path: Path,
        options: DaemonOptions | None = None,
        rng: random.Random | None = None,
    ) -> Daemon:
        """Read the watchlist, take the archive's pid file, open the log and the catalog, and
        take the catalog's daemon lock: one daemon per catalog, whichever machine or archive
        folder it runs from (two would both run every target)."""
        from storage.catalog import CatalogLock, open_catalog, shown

        config_path = config_path.resolve()
        options = options or DaemonOptions()
        watchlist = watchlists.read(config_path)
        archive_dir = watchlist.config.archive.dir
        archive_dir.mkdir(parents=True, exist_ok=True)
        pidfile = PidFile.acquire(archive_dir / PIDFILE, config_path)
        try:
            log_path = (options.log_file or archive_dir / LOGFILE).resolve()
            setup_logging(log_path, options.log_max_bytes, options.log_backups)
            url = watchlist.config.archive.database_url
            engine = open_catalog(url)
            catalog_lock = CatalogLock.try_acquire(engine, "daemon")
            if catalog_lock is None:
                engine.dispose()
                raise WarcwatchError(
                    f"a daemon already runs on the catalog {shown(url)} (from another machine "
                    "or archive folder): one daemon per catalog"
                )
        except BaseException:
            pidfile.release()
            raise
        return cls(
            config_path,
            options,
            rng or random.Random(),
            watchlist,
            engine,
            pidfile,
            log_path,
            catalog_lock,
        )

    @property
    def config(self) -> Config:
        return self.watchlist.config

    # -- queueing (scheduler thread) --

    def enqueue(self, name: str, scheduled_at: datetime) -> None:
        with self._lock:
            self._pending.append(Due(name, scheduled_at, time.monotonic()))
        self._wake.set()

    # -- life cycle (main thread) --

    def run(self) -> int:
        handlers = self._install_signals()
        try:
            with jobs.dispatching_to(self.enqueue):
                self._start()
                self._loop()
                self._finish_shutdown()
        finally:
            for sig, old in handlers.items():
                signal.signal(sig, old)
            if self._catalog_lock is not None:
                self._catalog_lock.release()
            self._pidfile.release()
        event("daemon.stop", pid=os.getpid())
        return 0

    def _install_signals(self) -> dict[signal.Signals, Handler]:
        def stop(_signum: int, _frame: FrameType | None) -> None:
            self._stop_requested = True
            self._wake.set()

        def reload(_signum: int, _frame: FrameType | None) -> None:
            self._reload_requested = True
            self._wake.set()

        old = {}
        for sig, handler in (
            (signal.SIGTERM, stop),
            (signal.SIGINT, stop),
            (signal.SIGHUP, reload),
        ):
            old[sig] = signal.signal(sig, handler)
        return old

    def _start(self) -> None:
        warc_dir = self.config.archive.warcs
        self._slow = repairs.repair_at_start(self.engine, warc_dir, self.options.slow_after)
        missed = self.schedule.start(self.config)
        event(
            "daemon.start",
            pid=os.getpid(),
            config=self.config_path,
            targets=len(self.config.targets),
            missed=missed,
            workers=self.options.workers,
        )
        # no terminal (or a full disk behind stdout) is no reason to stop
        with contextlib.suppress(OSError):
            print(self._start_line(), flush=True)

    def _start_line(self) -> str:
        """What `warcwatch run` prints once it runs: what it watches, where it logs, how to look."""
        targets = self.config.targets
        scheduled = sum(t.schedule is not None for t in targets)
        serve = self.config.serve
        return (
            f"warcwatch: watching {len(targets)} target{'s' * (len(targets) != 1)} ({scheduled} "
            "scheduled) "
            f"from {self.config_path}, {self.options.workers} workers, pid {os.getpid()}; "
            f"log: {self.log_path}; web UI: warcwatch serve --config {self.config_path} "
            f"(http://{serve.host}:{serve.port}/); stop with Ctrl-C or SIGTERM"
        )

    def _reload(self) -> None:
        """SIGHUP: the watchlist on disk replaces the last good one, if it loads; else one line
        in the log, and the daemon and its workers go on with the last good one."""
        self._reload_requested = False
        old = self.watchlist
        try:
            new = watchlists.reread(self.config_path, old)
            self.watchlist = new
            r = self.schedule.reconcile(new.config, datetime.now(UTC), "reload")
        except Exception as exc:  # noqa: BLE001 - nothing a watchlist holds may stop the daemon
            self.watchlist = old
            error = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            event(
                "jobs.reload-failed", logging.ERROR, error=error, keeping="the last good watchlist"
            )
            watchlists.write_outcome(self.config.archive.dir, {"ok": False, "error": error})
            return
        changed = watchlists.edited(old.config, new.config)
        unchanged = [n for n in r.kept if n not in changed]
        self._log_reload(r.added, sorted(set(changed) | set(r.rescheduled)), r.removed)
        watchlists.write_outcome(
            self.config.archive.dir,
            {
                "ok": True,
                "added": r.added,
                "changed": sorted(set(changed) | set(r.rescheduled)),
                "rescheduled": r.rescheduled,
                "removed": r.removed,
                "unchanged": unchanged,
                "unscheduled": r.unscheduled,
            },
        )

    def _log_reload(self, added: list[str], changed: list[str], removed: list[str]) -> None:
        """A watchlist reload is a custody action: the evidence log says which file, as which
        bytes (its SHA-256), changed which targets."""
        import hashlib

        from sqlalchemy.exc import SQLAlchemyError
        from sqlalchemy.orm import Session

        from storage.evidence.log import log_custody

        try:
            digest = hashlib.sha256(Path(self.config_path).read_bytes()).hexdigest()
            details = {
                "watchlist": str(self.config_path),
                "sha256": digest,
                "added": added,
                "changed": changed,
                "removed": removed,
            }
            with Session(self.engine) as s, s.begin():
                log_custody(s, "watchlist-reload", details)
        except (OSError, SQLAlchemyError) as exc:
            event("evidence.reload-not-logged", logging.ERROR, error=str(exc).splitlines()[0])

    def _loop(self) -> None:
        while True:
            self._wake.wait(0.1)
            self._wake.clear()
            if self._reload_requested and self._stopping_since is None:
                self._reload()
            if self._stop_requested and self._stopping_since is None:
                self._begin_shutdown()
            self._pool.poll(self._finished, stopping=self._stopping_since is not None)
            if self._stopping_since is None:
                self._repair_dead_writers()
            if self._stopping_since is not None:
                if not self._pool.workers:
                    return
                continue
            self._dispatch()
            self._pool.keep_warm()
            if time.monotonic() - self._pruned_at > PRUNE_EVERY:
                self._pruned_at = time.monotonic()
                records.prune(self.engine)

    # -- dispatching --

    def _dispatch(self) -> None:
        now = time.monotonic()
        with self._lock:
            running = [w.started for w in self._pool.running()]
            plan = batches.plan(self._pending, self._slow, running, now, self.options)
            if plan is None:
                return
            self._pending.clear()
            self._pending.extendleft(reversed(plan.back))
        for batch in plan.batches:
            self._launch(batch)

    def _launch(self, batch: list[Due]) -> None:
        worker = self._pool.take()
        now = datetime.now(UTC)
        if not records.record_start(self.engine, batch, worker.pid, now):
            for d in batch:  # not recorded, not run: it comes due again
                self.schedule.finished(d.name, d.scheduled_at, False)
            return
        worker.start(batch, self.options.run_timeout, self.watchlist.text)
        urls = {t.name: t.urls for t in self.config.targets}
        for d in batch:
            event(
                "run.start",
                target=d.name,
                url=" ".join(urls.get(d.name, ()))[:300],
                worker=worker.pid,
                batch=len(batch),
                late=(now - d.scheduled_at).total_seconds(),
            )

    def _finished(self, w: Worker, rc: int | None) -> None:
        w.spent = True
        done = w.result if isinstance(w.result, Done) else None
        duration = time.monotonic() - w.started
        outcome, error = records.outcome_of(
            w.kill_reason, w.result, rc, w.tail, duration, self.options.run_timeout
        )
        if outcome != DaemonOutcome.OK:
            self._repair_due = True
            self._repair_groups.add(w.pid)
        records.record_end(self.engine, w.batch, done, outcome, error, w.pid, duration)
        if done is None:
            records.interrupt_crawl_run(self.engine, w.names(), w.started_at)
        for d in w.batch:
            if outcome == DaemonOutcome.TIMEOUT or duration > self.options.slow_after:
                self._slow.add(d.name)
            else:
                self._slow.discard(d.name)
            self.schedule.finished(d.name, d.scheduled_at, outcome == DaemonOutcome.OK)

    def _repair_dead_writers(self) -> None:
        """After a failed pass: once when it is reported failed (a killed writer is gone by then),
        and once more when every process of that pass has exited (a writer can outlive its killed
        worker, finishing its file): only then can what it leaves be repaired."""
        gone = {g for g in self._repair_groups if not group_alive(g)}
        if not (self._repair_due or gone):
            return
        self._repair_due = False
        self._repair_groups -= gone
        repairs.repair_after_failure(self.engine, self.config.archive.warcs)

    # -- shutdown --

    def _begin_shutdown(self) -> None:
        self._stopping_since = time.monotonic()
        self.schedule.shutdown()
        with self._lock:
            dropped = list(self._pending)
            self._pending.clear()
        for d in dropped:
            self.schedule.finished(d.name, d.scheduled_at, False)
        running = self._pool.running()
        event(
            "daemon.stopping",
            running=sum(len(w.batch) for w in running),
            dropped=len(dropped),
            grace=self.options.grace,
        )
        self._pool.close_idle()
        threading.Thread(target=self._shutdown_timer, daemon=True).start()

    def _shutdown_timer(self) -> None:
        time.sleep(self.options.grace)
        self._pool.terminate_running("shutdown grace over")
        self._wake.set()

    def _finish_shutdown(self) -> None:
        """Wait for the writer processes of the workers, then close anything a kill left open."""
        self._pool.wait_for_groups(timeout=15)
        repairs.repair_at_shutdown(self.engine, self.config.archive.warcs)
        self.engine.dispose()
