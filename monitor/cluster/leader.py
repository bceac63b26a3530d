"""`warcwatch run` under `[cluster] runner = "procrastinate"`: a scheduler that defers passes to
the task queue instead of running them, and the leader lock that makes one of the daemons
sharing the catalog the scheduler while the others stand by.

The lock: `pg_try_advisory_lock` on a connection of its own, held for as long as that connection
lives. A leader killed (even with kill -9) or cut off loses its connection, PostgreSQL ends its
session and frees the lock, and the first standby to look (every `heartbeat`) takes it and starts
scheduling from the job store the old leader left in the catalog (APScheduler's, as the local
daemon's): nothing is lost but the pass that was being deferred, which comes due again. The
leader checks its connection as often; when it fails, it stops scheduling at once (another
daemon may hold the lock by then) and stands by again. Every scheduler's connection carries its
role in `application_name`, which is how `warcwatch status` names the leader and its standbys.

Decision: one APScheduler 3 leader, not a scheduler per machine: APScheduler 3 cannot share a
job store between schedulers (its FAQ), and one scheduler copes with about a million hourly
targets (issue 14's measurements); the work is in the passes, which spread over the workers.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import signal
import socket
import threading
from collections import deque
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from monitor import reload as watchlists
from monitor.cluster import queue
from monitor.daemon import jobs, records
from monitor.daemon.eventlog import event
from monitor.daemon.options import PRUNE_EVERY, DaemonOptions
from monitor.daemon.schedule import Schedule

if TYPE_CHECKING:
    import psycopg
    from sqlalchemy import Engine

APP_NAME = "warcwatch scheduler"  # application_name prefix of every scheduler's lock connection


def node_name() -> str:
    return f"{socket.gethostname()} pid {os.getpid()}"


class LeaderLock:
    """The leader's advisory lock on a dedicated connection."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.conn: psycopg.Connection[Any] | None = None
        self.held = False

    def _connect(self) -> psycopg.Connection[Any]:
        import psycopg

        if self.conn is None or self.conn.closed:
            self.held = False
            self.conn = psycopg.connect(
                self.dsn, autocommit=True, application_name=f"{APP_NAME} {node_name()}"
            )
        return self.conn

    def try_take(self) -> bool:
        """Take the lock if no one holds it; False (standing by) if another daemon does or the
        server cannot be reached."""
        import psycopg

        try:
            row = (
                self._connect()
                .execute("SELECT pg_try_advisory_lock(%s)", (queue.LEADER_KEY,))
                .fetchone()
            )
        except psycopg.Error as exc:
            self._drop(exc)
            return False
        self.held = bool(row and row[0])
        return self.held

    def alive(self) -> bool:
        """Whether the lock is still ours: its connection still answers."""
        import psycopg

        if not self.held or self.conn is None:
            return False
        try:
            self.conn.execute("SELECT 1")
        except psycopg.Error as exc:
            self._drop(exc)
            return False
        return True

    def _drop(self, exc: Exception) -> None:
        if self.held:
            event("cluster.leader-lost", logging.ERROR, error=str(exc).splitlines()[0])
        self.held = False
        if self.conn is not None:
            with contextlib.suppress(Exception):
                self.conn.close()
        self.conn = None

    def release(self) -> None:
        if self.conn is not None:
            with contextlib.suppress(Exception):
                self.conn.close()  # the session ends: the lock goes with it
        self.conn, self.held = None, False


class ClusterScheduler:
    """Built by `open`; `run` until SIGTERM/SIGINT; SIGHUP re-reads the watchlist."""

    def __init__(
        self,
        config_path: Path,
        options: DaemonOptions,
        watchlist: watchlists.Watchlist,
        engine: Engine,
    ) -> None:
        self.config_path = config_path
        self.options = options
        self.watchlist = watchlist
        self.engine = engine
        settings = watchlist.config.cluster
        self.heartbeat = settings.heartbeat
        self.dsn = queue.conninfo(watchlist.config.archive.database_url)
        self.lock = LeaderLock(self.dsn)
        self.schedule: Schedule | None = None
        self._pending: deque[tuple[str, datetime]] = deque()
        self._guard = threading.Lock()
        self._wake = threading.Event()
        self._stop = False
        self._reload = False

    @classmethod
    def open(cls, config_path: Path, options: DaemonOptions | None = None) -> ClusterScheduler:
        from storage.catalog import open_catalog

        config_path = config_path.resolve()
        watchlist = watchlists.read(config_path)
        engine = open_catalog(watchlist.config.archive.database_url)
        return cls(config_path, options or DaemonOptions(), watchlist, engine)

    def enqueue(self, name: str, scheduled_at: datetime) -> None:
        """A job fired (scheduler thread): deferred by the main loop, which then ends its run."""
        with self._guard:
            self._pending.append((name, scheduled_at))
        self._wake.set()

    def run(self) -> int:
        queue.ensure_schema(self.dsn)
        app = queue.sync_app(self.dsn)
        handlers = self._install_signals()
        event("cluster.scheduler-start", node=node_name(), config=self.config_path)
        with contextlib.suppress(OSError):
            print(
                f"warcwatch: scheduling {len(self.watchlist.config.targets)} targets from "
                f"{self.config_path} on the task queue (leader or standby), pid {os.getpid()}; "
                "passes run in `warcwatch worker` processes; stop with Ctrl-C or SIGTERM",
                flush=True,
            )
        last_look = 0.0
        pruned_at = _monotonic()
        try:
            with jobs.dispatching_to(self.enqueue):
                while not self._stop:
                    self._wake.wait(0.1)
                    self._wake.clear()
                    now = _monotonic()
                    if now - last_look >= self.heartbeat:
                        last_look = now
                        self._look()
                    if self._reload:
                        self._reread()
                    self._defer_due(app)
                    if self.schedule is not None and now - pruned_at > PRUNE_EVERY:
                        pruned_at = now  # the leader keeps `daemon_runs` bounded, as a daemon does
                        records.prune(self.engine)
        finally:
            self._step_down("stopping")
            self.lock.release()
            app.close()
            for sig, old in handlers.items():
                signal.signal(sig, old)
            self.engine.dispose()
        event("cluster.scheduler-stop", node=node_name())
        return 0

    def _look(self) -> None:
        """Leader: is the lock still ours? Standby: is it free?"""
        if self.schedule is not None:
            if not self.lock.alive():
                self._step_down("lost the leader lock")
            return
        if self.lock.try_take():
            self.schedule = Schedule(self.engine, self.options, random.Random())
            missed = self.schedule.start(self.watchlist.config)
            event("cluster.leader", node=node_name(), missed=missed)

    def _step_down(self, why: str) -> None:
        if self.schedule is None:
            return
        self.schedule.shutdown()
        self.schedule = None
        with self._guard:
            self._pending.clear()  # due again under the next leader
        event("cluster.standby", node=node_name(), why=why)

    def _defer_due(self, app: Any) -> None:
        with self._guard:
            due = list(self._pending)
            self._pending.clear()
        if self.schedule is None:
            return
        targets = {t.name: t for t in self.watchlist.config.targets}
        for name, at in due:
            ok = False
            try:
                target = targets.get(name)
                if target is None:
                    continue
                d = queue.defer_pass(app, target, at)
                ok = True
                if d.job is None:
                    event("run.skip", logging.WARNING, target=name, reason="already queued")
                else:
                    late = (datetime.now(UTC) - at).total_seconds()
                    event("run.queued", target=name, job=d.job, late=late)
            except Exception as exc:  # noqa: BLE001 - a queue that fails is logged; due again
                event("run.defer-failed", logging.ERROR, target=name, error=str(exc)[:300])
            finally:
                # the job's run ends once it is queued: APScheduler fires it again on time,
                # and the queueing lock keeps a second one from waiting beside the first
                self.schedule.finished(name, at, ok)

    def _reread(self) -> None:
        self._reload = False
        try:
            new = watchlists.reread(self.config_path, self.watchlist)
            if self.schedule is not None:
                self.schedule.reconcile(new.config, datetime.now(UTC), "reload")
            self.watchlist = new
        except Exception as exc:  # noqa: BLE001 - nothing a watchlist holds may stop it
            event("jobs.reload-failed", logging.ERROR, error=str(exc).splitlines()[0])

    def _install_signals(self) -> dict[signal.Signals, Any]:
        def stop(_signum: int, _frame: FrameType | None) -> None:
            self._stop = True
            self._wake.set()

        def reload(_signum: int, _frame: FrameType | None) -> None:
            self._reload = True
            self._wake.set()

        return {
            sig: signal.signal(sig, handler)
            for sig, handler in (
                (signal.SIGTERM, stop),
                (signal.SIGINT, stop),
                (signal.SIGHUP, reload),
            )
        }


def _monotonic() -> float:
    import time

    return time.monotonic()
