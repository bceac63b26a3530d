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
  1,000 targets every 10 s are ~100 passes a minute, not 6,000 (see batches).

Where each part lives:
- options     `DaemonOptions` and the daemon's constants
- eventlog    the logfmt event lines and the log file that stays bounded on a full disk
- jobs        APScheduler: a job per target, triggers, reconcile, missed runs, executor, job store
- batches     which due targets go into which pass (a pure function)
- protocol    the typed messages between the daemon and its workers
- worker      the daemon's handle on a worker process
- child       the worker process's loop (`warcwatch _worker`)
- records     the daemon's rows in the catalog (`daemon_runs`)
- repairs     the archive repairs at start, after a failed pass and at shutdown
- pidfile     the locked pid file in the archive folder
- supervisor  `Daemon`: the main loop that ties them together

`monitor.daemon:run_target` is the function every stored job refers to: it must stay importable
at that path.
"""

from __future__ import annotations

from monitor.daemon.child import worker_main
from monitor.daemon.jobs import JOB_FUNC, run_target
from monitor.daemon.options import DaemonOptions
from monitor.daemon.supervisor import Daemon

__all__ = ["JOB_FUNC", "Daemon", "DaemonOptions", "run_target", "worker_main"]
