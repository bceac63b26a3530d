"""The daemon (`warcwatch run`): APScheduler decides when each target is due; the daemon runs due
targets in worker processes, records every run, reconciles its jobs with the watchlist, and stops
or recovers without leaving a half-written WARC behind.

Decision: every run happens in a worker process, not in one long-lived in-process reactor.
- Isolation: a run that hangs (a server that drips one byte a minute, a parser stuck on a page) can
  be killed at its deadline without touching the others; an in-process crawl can only be asked to
  stop, and Scrapy waits for its in-flight downloads.
- Memory stays flat: everything a pass allocates (Scrapy's crawlers, lxml trees, trafilatura's
  caches, the monitor's analysis) goes away with its process. Over months, a single reactor would
  carry every leak of every library it ever ran.
- Simple failure model: a worker crash is a failed run, recorded and logged; the daemon itself does
  no crawling and imports neither Scrapy nor Twisted.
- Cost: a process per pass (~1 s of interpreter and Scrapy import, plus the WARC writer process
  each pass spawns). Two things pay it back: an idle worker is started ahead of time (it has
  imported Scrapy and waits on stdin for its targets), and targets due together are batched into
  one pass (one worker crawls every target due in the same short window, `batch_window`), so
  1,000 targets every 10 s are ~100 passes a minute, not 6,000. Batching happens only under
  pressure: while workers are free, due targets are spread one per worker, so a slow target shares
  its pass with as few others as possible; a target that was slow or timed out last time always
  runs alone (`slow_after`); and a worker that has run past `stall_after` stops counting against
  the worker limit, so hanging targets cannot starve the rest.

Scheduling: one APScheduler job per target in a SQLAlchemyJobStore inside the catalog database,
stored as the importable function `monitor.daemon:run_target` with the target's name (nothing
pickled that a change in our code could break). `every` targets use an IntervalTrigger with a
small jitter and a random phase, `cron` targets a CronTrigger. Jobs are submitted to our own
executor, which only queues the target for the dispatcher; APScheduler's max_instances=1 then holds
until the target's run has ended, and coalesce=True folds missed runs into one. After downtime the
overdue jobs are spread over min(interval, `spread`) instead of all firing at start.

Shutdown (SIGTERM/SIGINT): scheduling stops, running workers get `grace` seconds to finish, then
SIGTERM (they cancel their pass: the WARC files are closed and the run marked interrupted), then
SIGKILL; the daemon waits for their writer processes and repairs anything left `.open`.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import queue
import random
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from monitor import reload as watchlist
from monitor.config import Config, Target, loads_config
from monitor.errors import WarcwatchError
from monitor.jobstore import catalog_job_store
from monitor.logfile import BoundedFileHandler
from monitor.status import PIDFILE, daemon_info

log = logging.getLogger(__name__)
worker_log = logging.getLogger("monitor.worker")

JOB_FUNC = "monitor.daemon:run_target"
JOB_PREFIX = "target:"
LOGFILE = "warcwatch.log"
DAEMON_RUNS_KEPT = timedelta(days=30)  # rows of `daemon_runs` older than this are pruned
PRUNE_EVERY = 3600.0  # seconds between prunes
# Passes a worker process runs before it is replaced: reusing a warm worker saves ~1 s of CPU
# (interpreter, Scrapy, the writer's fork server) per pass; replacing it now and then keeps a
# slow leak in any library from growing for months.
WORKER_PASSES = 50


def _default_workers() -> int:
    return max(2, os.cpu_count() or 2)


@dataclass(frozen=True)
class DaemonOptions:
    workers: int = field(default_factory=_default_workers)  # passes that may run at once
    run_timeout: float = 3600.0  # a pass still running after this is terminated
    grace: float = 30.0  # on SIGTERM: how long running passes may take to finish
    kill_grace: float = 5.0  # after SIGTERM to a worker, before SIGKILL
    batch_window: float = 0.2  # due targets gathered this long go into the same pass
    batch_max: int = 500  # at most this many targets in one pass
    stall_after: float = 60.0  # a worker running longer no longer holds a worker slot
    slow_after: float = 60.0  # a target whose run took longer runs alone next time
    spread: float = 300.0  # missed runs after downtime are spread over min(interval, this)
    jitter: float = 0.05  # of the interval (at most 60 s), added to each `every` run
    prewarm: bool = True  # keep one worker started ahead, Scrapy imported
    log_file: Path | None = None  # default: ARCHIVE_DIR/warcwatch.log
    log_max_bytes: int = 10 * 1024 * 1024
    log_backups: int = 5


# --- structured log lines -----------------------------------------------------------------------


def _fmt(value) -> str:
    if isinstance(value, float):
        value = f"{value:.3f}"
    elif isinstance(value, datetime):
        value = value.isoformat(timespec="milliseconds")
    elif isinstance(value, (dict, list, tuple)):
        value = json.dumps(value, separators=(",", ":"), default=str)
    s = str(value)
    return json.dumps(s) if not s or any(c in s for c in ' "=\n') else s


def event(name: str, level: int = logging.INFO, **fields) -> None:
    """One log line per event: `name key=value …` (logfmt), always with the target where there is one."""
    log.log(level, "%s %s", name, " ".join(f"{k}={_fmt(v)}" for k, v in fields.items()))


def setup_logging(path: Path, max_bytes: int, backups: int) -> logging.Handler:
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = BoundedFileHandler(path, max_bytes, backups)  # a full disk must not turn it into a flood
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    handler.setLevel(logging.INFO)
    root = logging.getLogger()
    for h in root.handlers:  # stderr keeps the verbosity the user chose
        if h.level == logging.NOTSET:
            h.setLevel(root.level)
    root.addHandler(handler)
    root.setLevel(min(root.level, logging.INFO))
    logging.getLogger("apscheduler").setLevel(logging.ERROR)  # its lines repeat ours (run.skip)
    return handler


# --- jobs ---------------------------------------------------------------------------------------


def job_id(name: str) -> str:
    return JOB_PREFIX + name


def make_trigger(t: Target, now: datetime, rng: random.Random, options: DaemonOptions):
    from apscheduler.triggers.cron import CronTrigger
    from apscheduler.triggers.interval import IntervalTrigger

    if t.cron is not None:
        return CronTrigger.from_crontab(t.cron)
    # A random phase spreads targets with the same interval over it; the jitter keeps them from
    # falling back into step. (APScheduler adds the jitter to each run, so the mean period grows
    # by jitter/2: 2.5 % by default, at most 30 s.)
    phase = rng.uniform(0, min(t.every, options.spread))
    jitter = min(t.every * options.jitter, 60.0) or None
    return IntervalTrigger(seconds=t.every, start_date=now + timedelta(seconds=phase), timezone=UTC, jitter=jitter)


def _period(trigger, default: float) -> float:
    return getattr(trigger, "interval_length", None) or default


@dataclass
class Reconciled:
    added: list[str] = field(default_factory=list)
    rescheduled: list[str] = field(default_factory=list)  # their schedule changed: a new next run
    removed: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    unscheduled: list[str] = field(default_factory=list)  # targets with neither every nor cron


def reconcile(scheduler, config: Config, now: datetime, rng: random.Random, options: DaemonOptions) -> Reconciled:
    """Make the scheduler's jobs match the watchlist: the watchlist is the source of truth. A job
    whose schedule is unchanged keeps its next run time; run history is in the catalog either way.
    Every new trigger is built before any job is touched: one that cannot be built leaves them all."""
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
            scheduler.add_job(JOB_FUNC, trigger=trigger, args=[t.name], id=jid, name=label,
                              max_instances=1, coalesce=True, misfire_grace_time=None, replace_existing=True)
            out.added.append(t.name)
        else:
            scheduler.modify_job(jid, name=label, args=[t.name])
            scheduler.reschedule_job(jid, trigger=trigger)
            out.rescheduled.append(t.name)
    return out


def spread_missed(scheduler, now: datetime, options: DaemonOptions) -> int:
    """Jobs that came due while the daemon was down run once each (coalesced), spread out over
    min(their interval, `spread`) in the order they were due, not all in the first second."""
    late = sorted((j for j in scheduler.get_jobs() if j.next_run_time is not None and j.next_run_time <= now),
                  key=lambda j: j.next_run_time)
    for i, job in enumerate(late):
        window = min(_period(job.trigger, options.spread), options.spread)
        scheduler.modify_job(job.id, next_run_time=now + timedelta(seconds=window * i / len(late)))
    return len(late)


_ACTIVE: Daemon | None = None


def run_target(name: str, scheduled_at: datetime | None = None) -> None:
    """The job function of every target (stored by its path, with the target's name): queue the
    target for the running daemon's dispatcher."""
    if _ACTIVE is None:
        raise RuntimeError("run_target is called by the scheduler of `warcwatch run`")
    _ACTIVE.enqueue(name, scheduled_at or datetime.now(UTC))


def _executor_class():
    from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, JobExecutionEvent
    from apscheduler.executors.base import BaseExecutor

    class DispatchExecutor(BaseExecutor):
        """Submitting a job calls its function with the time it was due; the function only queues
        the target, so the scheduler never waits and no thread is held per target. The job's
        instance stays counted until `finished` is called at the end of its run, which is how
        max_instances=1 holds for the whole run."""

        def _do_submit_job(self, job, run_times):
            job.func(*job.args, scheduled_at=run_times[-1], **job.kwargs)

        def finished(self, jid: str, run_time: datetime, ok: bool) -> None:
            code = EVENT_JOB_EXECUTED if ok else EVENT_JOB_ERROR
            if self._instances.get(jid):
                self._run_job_success(jid, [JobExecutionEvent(code, jid, "default", run_time)])

    return DispatchExecutor


# --- workers ------------------------------------------------------------------------------------


@dataclass
class Due:
    name: str
    scheduled_at: datetime
    queued: float  # monotonic
    row_id: int | None = None


class Worker:
    """One worker process, `python -m monitor.cli _worker`: a pass per line it is sent, up to
    WORKER_PASSES, in one reactor; then (or at EOF) it exits."""

    def __init__(self, config_path: Path):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "monitor.cli", "-v", "_worker", "--config", str(config_path)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1,
            process_group=0,  # its writer process shares the group: the daemon can wait for both
        )
        self.pid = self.proc.pid
        self.batch: list[Due] = []
        self.started = 0.0
        self.started_at: datetime | None = None
        self.deadline = float("inf")
        self.kill_reason: str | None = None
        self.term_sent = 0.0
        self.result: dict | None = None  # its last report: done | interrupted | error
        self.final = False  # the report that ends its pass has arrived
        self.spent = False  # its run is recorded; the process may still be exiting
        self.ready = False
        self.passes = 0
        self.tail: deque[str] = deque(maxlen=20)  # last stderr lines, for the failure report
        self._threads = [
            threading.Thread(target=self._read_stdout, daemon=True, name=f"worker-{self.pid}-out"),
            threading.Thread(target=self._read_stderr, daemon=True, name=f"worker-{self.pid}-err"),
        ]
        for t in self._threads:
            t.start()

    @property
    def busy(self) -> bool:
        """It has been given a pass (it may have finished it)."""
        return bool(self.batch)

    @property
    def running(self) -> bool:
        return bool(self.batch) and not self.spent

    def names(self) -> list[str]:
        return [d.name for d in self.batch]

    def _read_stdout(self) -> None:
        for line in self.proc.stdout:
            try:
                msg = json.loads(line)
            except ValueError:
                continue
            if msg.get("event") == "ready":
                self.ready = True
            else:
                self.result = msg
                self.final = True

    def _read_stderr(self) -> None:
        for line in self.proc.stderr:
            line = line.rstrip()
            if not line:
                continue
            self.tail.append(line)
            level = logging.INFO
            for name in ("WARNING", "ERROR", "CRITICAL"):
                if line.startswith(name) or f" {name} " in line[:40]:
                    level = getattr(logging, name)
            worker_log.log(level, "worker pid=%d targets=%s %s", self.pid, _fmt(",".join(self.names())[:200]), line)

    def start(self, batch: list[Due], run_timeout: float, watchlist_text: str) -> None:
        self.batch = batch
        self.started = time.monotonic()
        self.started_at = datetime.now(UTC)
        self.deadline = self.started + run_timeout
        try:
            self.proc.stdin.write(json.dumps({"targets": self.names(), "watchlist": watchlist_text}) + "\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            pass  # it died while waiting: reaped as a failed run

    def recycle(self) -> bool:
        """After a pass's run is recorded: make the worker idle for the next pass, if it ended well
        and has passes left (else it is left to exit)."""
        self.passes += 1
        if (self.kill_reason or self.term_sent or self.passes >= WORKER_PASSES
                or (self.result or {}).get("event") != "done"):
            return False
        self.batch, self.spent, self.final, self.result = [], False, False, None
        self.started_at, self.deadline = None, float("inf")
        return True

    def terminate(self, reason: str) -> None:
        if self.kill_reason is None:
            self.kill_reason = reason
        if not self.term_sent:
            self.term_sent = time.monotonic()
            with contextlib.suppress(ProcessLookupError):
                self.proc.terminate()

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.proc.kill()

    def close_idle(self) -> None:
        with contextlib.suppress(OSError):
            self.proc.stdin.close()  # an idle worker reads EOF and exits

    def join(self) -> None:
        for t in self._threads:
            t.join(timeout=2)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# --- the daemon ---------------------------------------------------------------------------------


class Daemon:
    def __init__(self, config_path: Path, options: DaemonOptions | None = None, rng: random.Random | None = None):
        self.config_path = config_path.resolve()
        self.options = options or DaemonOptions()
        self.rng = rng or random.Random()
        self.watchlist: watchlist.Watchlist | None = None  # the last good one
        self.config: Config | None = None  # its configuration
        self.engine = None
        self.scheduler = None
        self.executor = None
        self._pending: deque[Due] = deque()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._pruned_at = 0.0
        self._workers: list[Worker] = []
        self._groups: list[int] = []  # process groups of exited workers (their writers may linger)
        self._slow: set[str] = set()
        self._stop_requested = False
        self._reload_requested = False
        self._repair_due = False  # a pass failed: its writer may have died with files `.open`
        # the process groups of failed passes, until every process in them is gone
        self._repair_groups: set[int] = set()
        self._stopping_since: float | None = None
        self._pidfile = None

    # -- queueing (scheduler thread) --

    def enqueue(self, name: str, scheduled_at: datetime) -> None:
        with self._lock:
            self._pending.append(Due(name, scheduled_at, time.monotonic()))
        self._wake.set()

    # -- life cycle (main thread) --

    def run(self) -> int:
        global _ACTIVE
        self.watchlist = watchlist.read(self.config_path)
        self.config = self.watchlist.config
        archive_dir = self.config.archive.dir
        archive_dir.mkdir(parents=True, exist_ok=True)
        self._acquire_pidfile(archive_dir / PIDFILE)
        self.log_path = (self.options.log_file or archive_dir / LOGFILE).resolve()
        setup_logging(self.log_path, self.options.log_max_bytes, self.options.log_backups)
        handlers = self._install_signals()
        _ACTIVE = self
        try:
            self._start()
            self._loop()
            self._finish_shutdown()
        finally:
            _ACTIVE = None
            for sig, old in handlers.items():
                signal.signal(sig, old)
            self._release_pidfile(archive_dir / PIDFILE)
        event("daemon.stop", pid=os.getpid())
        return 0

    def _acquire_pidfile(self, path: Path) -> None:
        f = open(path, "a+")
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.close()
            info = daemon_info(path.parent)
            raise WarcwatchError(f"a daemon already runs on {path.parent} (pid {info.get('pid')})") from None
        f.seek(0)
        f.truncate()
        json.dump({"pid": os.getpid(), "started_at": datetime.now(UTC).isoformat(), "config": str(self.config_path)}, f)
        f.flush()
        self._pidfile = f

    def _release_pidfile(self, path: Path) -> None:
        if self._pidfile is not None:
            with contextlib.suppress(OSError):
                path.unlink()
            self._pidfile.close()
            self._pidfile = None

    def _install_signals(self) -> dict:
        def stop(signum, _frame):
            self._stop_requested = True
            self._wake.set()

        def reload(_signum, _frame):
            self._reload_requested = True
            self._wake.set()

        old = {}
        for sig, handler in ((signal.SIGTERM, stop), (signal.SIGINT, stop), (signal.SIGHUP, reload)):
            old[sig] = signal.signal(sig, handler)
        return old

    def _start(self) -> None:
        from apscheduler.events import EVENT_JOB_MAX_INSTANCES
        from apscheduler.schedulers.background import BackgroundScheduler

        from storage.catalog import open_catalog

        self.engine = open_catalog(self.config.archive.database_url)
        self._repair()
        self.executor = _executor_class()()
        self.scheduler = BackgroundScheduler(
            jobstores={"default": catalog_job_store(self.engine)},
            executors={"default": self.executor},
            job_defaults={"max_instances": 1, "coalesce": True, "misfire_grace_time": None},
            timezone=UTC,
        )
        self.scheduler.add_listener(self._on_skipped, EVENT_JOB_MAX_INSTANCES)
        self.scheduler.start(paused=True)
        now = datetime.now(UTC)
        missed = spread_missed(self.scheduler, now, self.options)
        self._reconcile(now, "start")
        self.scheduler.resume()
        event("daemon.start", pid=os.getpid(), config=self.config_path, targets=len(self.config.targets),
              missed=missed, workers=self.options.workers)
        with contextlib.suppress(OSError):  # no terminal (or a full disk behind stdout) is no reason to stop
            print(self._start_line(), flush=True)

    def _start_line(self) -> str:
        """What `warcwatch run` prints once it runs: what it watches, where it logs, how to look."""
        targets = self.config.targets
        scheduled = sum(t.schedule is not None for t in targets)
        serve = self.config.serve
        return (f"warcwatch: watching {len(targets)} target{'s' * (len(targets) != 1)} ({scheduled} scheduled) "
                f"from {self.config_path}, {self.options.workers} workers, pid {os.getpid()}; "
                f"log: {self.log_path}; web UI: warcwatch serve --config {self.config_path} "
                f"(http://{serve.host}:{serve.port}/); stop with Ctrl-C or SIGTERM")

    def _prune(self) -> None:
        """Forget daemon run rows older than DAEMON_RUNS_KEPT: at a thousand targets every ten
        seconds they would grow by millions a day. Crawl runs and captures are kept."""
        from sqlalchemy import delete
        from sqlalchemy.orm import Session

        from storage.models import DaemonRun

        self._pruned_at = time.monotonic()
        cutoff = _naive(datetime.now(UTC)) - DAEMON_RUNS_KEPT
        gone = 0
        with _bookkeeping("daemon.prune"), Session(self.engine) as s, s.begin():
            gone = s.execute(delete(DaemonRun).where(DaemonRun.finished_at < cutoff)).rowcount
        if gone:
            event("daemon.prune", rows=gone, older_than=cutoff.isoformat())

    def _repair(self) -> None:
        from sqlalchemy import func, select, update
        from sqlalchemy.orm import Session

        from storage.models import DaemonRun
        from storage.repair import repair_archive

        report = repair_archive(self.engine, self.config.archive.warc_dir)
        with Session(self.engine) as s, s.begin():
            stale = list(s.scalars(select(DaemonRun.id).where(DaemonRun.outcome == "running")))
            if stale:
                s.execute(update(DaemonRun).where(DaemonRun.id.in_(stale))
                          .values(outcome="interrupted", finished_at=_naive(datetime.now(UTC)), error="daemon stopped"))
            # targets that were slow or timed out last time start alone
            newest = select(func.max(DaemonRun.id)).group_by(DaemonRun.target)
            self._slow = {
                target for target, outcome, started, finished in s.execute(
                    select(DaemonRun.target, DaemonRun.outcome, DaemonRun.started_at, DaemonRun.finished_at)
                    .where(DaemonRun.id.in_(newest)))
                if outcome == "timeout" or (finished is not None and (finished - started).total_seconds() > self.options.slow_after)
            }
        if not report.clean or stale:
            event("daemon.repair", logging.WARNING, files=len(report.files), orphans=len(report.orphans),
                  recatalogued=report.records_recatalogued, runs=len(report.interrupted_runs),
                  daemon_runs=len(stale), skipped=len(report.skipped))

    def _reconcile(self, now: datetime, why: str) -> Reconciled:
        r = reconcile(self.scheduler, self.config, now, self.rng, self.options)
        event("jobs.reconcile", why=why, added=r.added, rescheduled=r.rescheduled, removed=r.removed, kept=len(r.kept))
        for name in r.unscheduled:
            event("jobs.unscheduled", logging.WARNING, target=name, reason="neither every nor cron")
        return r

    def _on_skipped(self, ev) -> None:
        event("run.skip", logging.WARNING, target=ev.job_id.removeprefix(JOB_PREFIX), reason="previous run still going")

    def _reload(self) -> None:
        """SIGHUP: the watchlist on disk replaces the last good one, if it loads; else one line
        in the log, and the daemon and its workers go on with the last good one."""
        self._reload_requested = False
        old = self.watchlist
        try:
            new = watchlist.reread(self.config_path, old)
            self.watchlist, self.config = new, new.config
            r = self._reconcile(datetime.now(UTC), "reload")
        except Exception as exc:  # noqa: BLE001 - nothing a watchlist holds may stop the daemon
            self.watchlist, self.config = old, old.config
            error = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            event("jobs.reload-failed", logging.ERROR, error=error, keeping="the last good watchlist")
            watchlist.write_outcome(self.config.archive.dir, {"ok": False, "error": error})
            return
        changed = watchlist.edited(old.config, new.config)
        unchanged = [n for n in r.kept if n not in changed]
        watchlist.write_outcome(self.config.archive.dir, {
            "ok": True, "added": r.added, "changed": sorted(set(changed) | set(r.rescheduled)),
            "rescheduled": r.rescheduled, "removed": r.removed, "unchanged": unchanged,
            "unscheduled": r.unscheduled})

    def _loop(self) -> None:
        while True:
            self._wake.wait(0.1)
            self._wake.clear()
            if self._reload_requested and self._stopping_since is None:
                self._reload()
            if self._stop_requested and self._stopping_since is None:
                self._begin_shutdown()
            self._poll()
            if self._stopping_since is None:
                self._repair_dead_writers()
            if self._stopping_since is not None:
                if not self._workers:
                    return
                continue
            self._dispatch()
            self._keep_warm()
            if time.monotonic() - self._pruned_at > PRUNE_EVERY:
                self._prune()

    # -- dispatching --

    def _dispatch(self) -> None:
        o = self.options
        now = time.monotonic()
        with self._lock:
            if not self._pending:
                return
            if len(self._pending) < o.batch_max and now - self._pending[0].queued < o.batch_window:
                return  # let the targets due in the same tick gather
            busy = [w for w in self._workers if w.running]
            holding = [w for w in busy if now - w.started < o.stall_after]
            free = o.workers - len(holding)
            if free <= 0 or len(busy) >= o.workers * 4:
                return
            items = list(self._pending)
            self._pending.clear()
            solo = [d for d in items if d.name in self._slow]
            rest = [d for d in items if d.name not in self._slow]
            batches = [[d] for d in solo[:free]]
            back = solo[free:]
            left = free - len(batches)
            if rest and left > 0:
                n = min(left, len(rest))
                take = rest[:n * o.batch_max]
                back += rest[n * o.batch_max:]
                batches += [take[i::n] for i in range(n)]
            else:
                back += rest
            self._pending.extendleft(reversed(back))
        for batch in batches:
            self._launch(batch)

    def _launch(self, batch: list[Due]) -> None:
        from sqlalchemy.orm import Session

        from storage.models import DaemonRun

        idle = [w for w in self._workers if not w.busy and w.proc.poll() is None and not w.term_sent]
        worker = idle[0] if idle else self._spawn()
        now = datetime.now(UTC)
        recorded = False
        with _bookkeeping("run.start"):
            with Session(self.engine) as s, s.begin():
                rows = [DaemonRun(target=d.name, scheduled_at=_naive(d.scheduled_at), started_at=_naive(now), outcome="running",
                                  fetched=0, failed=0, failures={}, worker_pid=worker.pid) for d in batch]
                s.add_all(rows)
                s.flush()
                ids = [row.id for row in rows]
            for d, row_id in zip(batch, ids, strict=True):  # committed
                d.row_id = row_id
            recorded = True
        if not recorded:  # not recorded, not run: it comes due again
            for d in batch:
                self.executor.finished(job_id(d.name), d.scheduled_at, False)
            return
        worker.start(batch, self.options.run_timeout, self.watchlist.text)
        urls = {t.name: t.urls for t in self.config.targets}
        for d in batch:
            event("run.start", target=d.name, url=" ".join(urls.get(d.name, ()))[:300], worker=worker.pid,
                  batch=len(batch), late=(now - d.scheduled_at).total_seconds())

    def _spawn(self) -> Worker:
        w = Worker(self.config_path)
        self._workers.append(w)
        return w

    def _keep_warm(self) -> None:
        if self.options.prewarm and not any(not w.busy for w in self._workers):
            self._spawn()

    # -- reaping --

    def _poll(self) -> None:
        now = time.monotonic()
        for w in list(self._workers):
            rc = w.proc.poll()
            if w.running and (rc is not None or w.final):
                # a final report ends the run: the pass has closed its files; exiting can take its time
                self._finished(w, rc)
                if rc is None and not (self._stopping_since is None and w.recycle()):
                    w.close_idle()  # not to be reused: at EOF after its pass, it exits
            if rc is not None:
                self._workers.remove(w)
                w.join()
                self._groups.append(w.pid)
                if not w.busy and rc != 0 and self._stopping_since is None:
                    event("worker.failed", logging.ERROR, worker=w.pid, code=rc, error=" | ".join(w.tail)[-500:])
                    time.sleep(0.5)  # do not respawn a broken worker in a tight loop
                continue
            if w.running and not w.kill_reason and now > w.deadline:
                event("run.timeout", logging.WARNING, worker=w.pid, targets=w.names(), after=now - w.started)
                w.terminate("timeout")
            if w.term_sent and now - w.term_sent > self.options.kill_grace:
                w.kill()
        self._groups = [g for g in self._groups if _group_alive(g)]

    def _finished(self, w: Worker, rc: int | None) -> None:
        from sqlalchemy.orm import Session

        from storage.models import DaemonRun

        w.spent = True
        result = w.result if w.result and w.result.get("event") == "done" else None
        per_target = (result or {}).get("targets", {})
        gone = set((result or {}).get("gone", []))
        finished_at = datetime.now(UTC)
        duration = time.monotonic() - w.started
        error = None
        if w.kill_reason == "timeout":
            outcome, error = "timeout", f"terminated after {duration:.1f}s (run timeout {self.options.run_timeout:g}s)"
        elif w.kill_reason == "shutdown":
            outcome, error = "interrupted", "daemon shutting down"
        elif result is None:
            outcome = "failed"
            error = (w.result or {}).get("error") or f"worker exited {rc}: " + " | ".join(list(w.tail)[-3:])
            if (w.result or {}).get("event") == "interrupted":
                outcome, error = "interrupted", "the pass was cancelled"
        else:
            outcome = "ok"
        if outcome != "ok":
            self._repair_due = True
            self._repair_groups.add(w.pid)
        with _bookkeeping("run.end"), Session(self.engine) as s, s.begin():
            for d in w.batch:
                row = s.get(DaemonRun, d.row_id)
                if row is None:  # pruned meanwhile: nothing to record it in
                    continue
                per = per_target.get(d.name, {})
                failures = per.get("failed", {})
                row.finished_at = _naive(finished_at)
                row.outcome = "failed" if d.name in gone else outcome
                row.error = "target is no longer in the watchlist" if d.name in gone else error
                row.run_id = (result or {}).get("run") or (w.result or {}).get("run")
                row.fetched = per.get("fetched", 0)
                row.failures = failures
                row.failed = sum(failures.values())
                level = logging.INFO if row.outcome == "ok" else logging.WARNING
                event("run.end", level, target=d.name, outcome=row.outcome, run=row.run_id, worker=w.pid,
                      seconds=duration, fetched=row.fetched, failed=row.failed, failures=failures,
                      **({"error": error} if row.error else {}))
        if result is None:
            self._interrupt_crawl_run(w)
        for d in w.batch:
            if outcome == "timeout" or duration > self.options.slow_after:
                self._slow.add(d.name)
            else:
                self._slow.discard(d.name)
            self.executor.finished(job_id(d.name), d.scheduled_at, outcome == "ok")

    def _interrupt_crawl_run(self, w: Worker) -> None:
        """A worker killed before it could finish its pass leaves its crawl run 'running'."""
        from sqlalchemy import select
        from sqlalchemy.orm import Session

        from storage.models import CrawlRun

        since = _naive(w.started_at - timedelta(seconds=1))
        with _bookkeeping("run.interrupted"), Session(self.engine) as s, s.begin():
            for run in s.scalars(select(CrawlRun).where(CrawlRun.status == "running", CrawlRun.started_at >= since)):
                if list(run.targets) == w.names():
                    run.status = "interrupted"
                    run.finished_at = _naive(datetime.now(UTC))

    def _repair_dead_writers(self) -> None:
        """After a failed pass (its worker or writer killed, a timeout): close the `.open` files no
        live process holds, cut after their last whole record, as the next start would, and now.

        Once when the pass is reported failed (a killed writer is gone by then), and once more when
        every process of that pass has exited (a writer can outlive its killed worker, finishing its
        file): only then can what it leaves be repaired. Files that live writers hold (other passes,
        a `warcwatch crawl` beside the daemon) are left alone with their rows: storage.repair knows
        them by the processes holding them open."""
        gone = {g for g in self._repair_groups if not _group_alive(g)}
        if not (self._repair_due or gone):
            return
        self._repair_due = False
        self._repair_groups -= gone
        from storage.repair import repair_archive

        try:
            report = repair_archive(self.engine, self.config.archive.warc_dir, mark_runs=False)
        except (WarcwatchError, OSError, SQLAlchemyError) as exc:
            event("daemon.repair-failed", logging.ERROR, error=str(exc).splitlines()[0])
            return
        done = {part: len(items) for part, items in report.as_json().items() if isinstance(items, list) and items}
        if report.recatalogued:
            done["recatalogued"] = report.records_recatalogued  # records, not files
        if set(done) - {"skipped"}:
            event("daemon.repair", logging.WARNING, why="a pass failed", **done,
                  closed=" ".join(f.name for f in report.files))

    # -- shutdown --

    def _begin_shutdown(self) -> None:
        self._stopping_since = time.monotonic()
        self.scheduler.shutdown(wait=False)
        with self._lock:
            dropped = list(self._pending)
            self._pending.clear()
        for d in dropped:
            self.executor.finished(job_id(d.name), d.scheduled_at, False)
        running = [w for w in self._workers if w.running]
        event("daemon.stopping", running=sum(len(w.batch) for w in running), dropped=len(dropped), grace=self.options.grace)
        for w in self._workers:
            if not w.busy:
                w.close_idle()
        threading.Thread(target=self._shutdown_timer, daemon=True).start()

    def _shutdown_timer(self) -> None:
        time.sleep(self.options.grace)
        for w in list(self._workers):
            if w.running and w.proc.poll() is None:
                event("run.terminate", logging.WARNING, worker=w.pid, targets=w.names(), reason="shutdown grace over")
                w.terminate("shutdown")
        self._wake.set()

    def _finish_shutdown(self) -> None:
        """Wait for the writer processes of the workers, then close anything a kill left open."""
        deadline = time.monotonic() + 15
        while self._groups and time.monotonic() < deadline:
            time.sleep(0.1)
            self._groups = [g for g in self._groups if _group_alive(g)]
        for g in self._groups:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(g, signal.SIGKILL)
        if self._groups:
            time.sleep(0.5)
        from storage.repair import repair_archive

        report = repair_archive(self.engine, self.config.archive.warc_dir, mark_runs=False)
        if report.files:
            event("daemon.repair", logging.WARNING, files=len(report.files), orphans=len(report.orphans))
        self.engine.dispose()


@contextlib.contextmanager
def _bookkeeping(what: str):
    """A write of the daemon's own records to the catalog. One that fails (a full disk) is one
    log line and is skipped: the daemon outlives a full disk and goes on once there is room."""
    from sqlalchemy.exc import SQLAlchemyError

    from storage.errors import write_error

    try:
        yield
    except SQLAlchemyError as exc:
        error = str(write_error(exc) or exc).splitlines()[0]
        event("catalog.write-failed", logging.ERROR, what=what, error=error)


def _naive(dt: datetime) -> datetime:
    """The catalog stores naive UTC (storage.catalog.utcnow)."""
    return dt.astimezone(UTC).replace(tzinfo=None)


# --- the worker side ----------------------------------------------------------------------------


def _emit(msg: dict) -> None:
    sys.stdout.write(json.dumps(msg) + "\n")
    sys.stdout.flush()


def worker_main(config_path: str) -> int:
    """One worker: import Scrapy, say ready, read the targets of its pass from stdin, run the pass,
    report on stdout (one JSON object a line), exit. SIGTERM, or the daemon going away (stdin at
    EOF), cancels the pass: its WARC files are closed and its run is marked interrupted."""
    import asyncio

    for h in logging.getLogger().handlers:  # the daemon adds the time and the worker's pid
        h.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    # imported before the targets arrive, so that a warm worker starts crawling at once
    import scrapy.crawler  # noqa: F401

    import crawler.spiders  # noqa: F401
    import storage.writer_process  # noqa: F401
    with contextlib.suppress(ImportError):  # what crawl_pass imports for the analysis and the alerts
        import monitor.alerts  # noqa: F401
        import monitor.analysis  # noqa: F401
    from crawler.report import PassReport
    from crawler.runner import run_in_reactor
    from monitor.pass_run import crawl_pass

    storage.writer_process.warm_up()  # the pass's WARC writer then starts in milliseconds
    _emit({"event": "ready"})
    inbox: queue.Queue[str | None] = queue.Queue()
    in_pass = threading.Event()
    threading.Thread(target=_read_stdin, args=(inbox, in_pass), daemon=True).start()
    line = inbox.get()
    if line is None:
        return 0

    loaded: dict[str, Config] = {}

    def prepare(line: str):
        msg = json.loads(line)
        names, text = msg["targets"], msg["watchlist"]
        # the daemon's last good watchlist, never the file (which may be half-edited or broken)
        config = loaded.get(text) or loads_config(text, Path(config_path))
        loaded.clear()
        loaded[text] = config
        known = {t.name: t for t in config.targets}
        return config, [known[n] for n in names if n in known], [n for n in names if n not in known]

    async def main():
        from twisted.internet import defer, reactor

        current: dict = {}

        async def settle(task):
            with contextlib.suppress(BaseException):
                await task

        def on_shutdown():  # SIGTERM/SIGINT stop the reactor; first let the pass close its files
            task = current.get("task")
            if task is None or task.done():
                return None
            task.cancel()
            return defer.Deferred.fromFuture(asyncio.ensure_future(settle(task)))

        reactor.addSystemEventTrigger("before", "shutdown", on_shutdown)
        next_line = line
        for _ in range(WORKER_PASSES):
            try:
                config, targets, gone = prepare(next_line)
            except WarcwatchError as exc:
                _emit({"event": "error", "error": str(exc)})
                return 2
            if targets:
                in_pass.set()
                task = current["task"] = asyncio.ensure_future(crawl_pass(config, targets, PassReport()))
                try:
                    result = await asyncio.shield(task)
                except asyncio.CancelledError:
                    # cancelled by on_shutdown: the reactor is stopping already, so stay pending
                    # rather than return (run_in_reactor would stop it a second time)
                    await asyncio.get_running_loop().create_future()
                finally:
                    in_pass.clear()
                _emit({"event": "done", "run": result.run_id, "summary": result.summary,
                       "targets": result.per_target, "gone": gone})
            else:
                _emit({"event": "done", "run": None, "summary": {}, "targets": {}, "gone": gone})
            next_line = await asyncio.to_thread(inbox.get)  # the next pass, or None: the daemon is done with us
            if next_line is None:
                break
        return 0

    try:
        code = run_in_reactor(main)
    except asyncio.CancelledError:
        _emit({"event": "interrupted"})
        return 3
    except WarcwatchError as exc:
        _emit({"event": "error", "error": str(exc)})
        return 1
    if code is None:  # the reactor was stopped before the pass returned
        _emit({"event": "interrupted"})
        return 3
    return code


def _read_stdin(inbox: queue.Queue, in_pass: threading.Event) -> None:
    """The daemon's orders, one pass a line. EOF means the daemon is gone or done with this worker:
    an idle worker exits, a worker in a pass cancels it (which closes its WARC files)."""
    for line in sys.stdin:
        inbox.put(line)
    if in_pass.is_set():
        os.kill(os.getpid(), signal.SIGTERM)
    inbox.put(None)

