"""The daemon's worker processes as a pool: which are idle, running or gone, one kept warm, the
reaping of those that finished, hit their deadline or exited, and the wait for the process groups
(their WARC writers) that outlive them."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

from monitor.daemon.eventlog import event
from monitor.daemon.options import DaemonOptions
from monitor.daemon.worker import Worker, group_alive

Finished = Callable[[Worker, "int | None"], None]


class Pool:
    def __init__(self, config_path: Path, options: DaemonOptions) -> None:
        self.config_path = config_path
        self.options = options
        self.workers: list[Worker] = []
        self.groups: list[int] = []  # process groups of exited workers (their writers may linger)

    def running(self) -> list[Worker]:
        return [w for w in self.workers if w.running]

    def take(self) -> Worker:
        """An idle live worker for the next pass, or a new one."""
        idle = [w for w in self.workers if not w.busy and w.proc.poll() is None and not w.term_sent]
        return idle[0] if idle else self._spawn()

    def keep_warm(self) -> None:
        if self.options.prewarm and not any(not w.busy for w in self.workers):
            self._spawn()

    def _spawn(self) -> Worker:
        w = Worker(self.config_path)
        self.workers.append(w)
        return w

    def poll(self, finished: Finished, stopping: bool) -> None:
        """Reap: call `finished` for each pass that ended (a final report, or its worker exited),
        forget exited workers, terminate passes past their deadline, kill what ignores SIGTERM."""
        now = time.monotonic()
        for w in list(self.workers):
            rc = w.proc.poll()
            if w.running and (rc is not None or w.final):
                # a final report ends the run: the pass has closed its files; exiting can take its
                # time
                finished(w, rc)
                if rc is None and not (not stopping and w.recycle()):
                    w.close_idle()  # not to be reused: at EOF after its pass, it exits
            if rc is not None:
                self.workers.remove(w)
                w.join()
                self.groups.append(w.pid)
                if not w.busy and rc != 0 and not stopping:
                    error = " | ".join(w.tail)[-500:]
                    event("worker.failed", logging.ERROR, worker=w.pid, code=rc, error=error)
                    time.sleep(0.5)  # do not respawn a broken worker in a tight loop
                continue
            if w.running and not w.kill_reason and now > w.deadline:
                after = now - w.started
                event("run.timeout", logging.WARNING, worker=w.pid, targets=w.names(), after=after)
                w.terminate("timeout")
            if w.term_sent and now - w.term_sent > self.options.kill_grace:
                w.kill()
        self.groups = [g for g in self.groups if group_alive(g)]

    def close_idle(self) -> None:
        for w in self.workers:
            if not w.busy:
                w.close_idle()

    def terminate_running(self, why: str) -> None:
        for w in list(self.workers):
            if w.running and w.proc.poll() is None:
                event("run.terminate", logging.WARNING, worker=w.pid, targets=w.names(), reason=why)
                w.terminate("shutdown")

    def wait_for_groups(self, timeout: float) -> None:
        """Wait for the writer processes of exited workers; SIGKILL what is left after `timeout`."""
        deadline = time.monotonic() + timeout
        while self.groups and time.monotonic() < deadline:
            time.sleep(0.1)
            self.groups = [g for g in self.groups if group_alive(g)]
        for g in self.groups:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(g, signal.SIGKILL)
        if self.groups:
            time.sleep(0.5)
