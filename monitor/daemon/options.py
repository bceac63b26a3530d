"""The daemon's knobs (`DaemonOptions`, what `warcwatch run` passes in) and its fixed constants."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

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
