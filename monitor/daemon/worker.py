"""The daemon's handle on one worker process (`python -m monitor.cli _worker`): start it, hand it
a pass, read its reports and relay its log lines, and stop it (politely, then not).

A worker runs a pass per order it is sent, up to WORKER_PASSES, in one reactor; then (or at EOF
on its stdin) it exits. Its process group holds its WARC writer too, so the daemon can wait for
both.
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import sys
import threading
import time
from collections import deque
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from monitor.daemon.batches import Due
from monitor.daemon.eventlog import fmt, worker_log
from monitor.daemon.options import WORKER_PASSES
from monitor.daemon.protocol import Done, PassOrder, Ready, Report, decode


class Worker:
    def __init__(self, config_path: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "monitor.cli", "-v", "_worker", "--config", str(config_path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
            process_group=0,  # its writer process shares the group: the daemon can wait for both
        )
        self.pid = self.proc.pid
        self.batch: list[Due] = []
        self.started = 0.0
        self.started_at = datetime.now(UTC)  # of its pass, set again by `start`
        self.deadline = float("inf")
        self.kill_reason: str | None = None
        self.term_sent = 0.0
        self.result: Report | None = None  # its last report: done | interrupted | error
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

    def _pipe(self, stream: IO[str] | None) -> IO[str]:
        assert stream is not None  # Popen was given PIPE for all three
        return stream

    def _read_stdout(self) -> None:
        for line in self._pipe(self.proc.stdout):
            msg = decode(line)
            if isinstance(msg, Ready):
                self.ready = True
            elif msg is not None:
                self.result = msg
                self.final = True

    def _read_stderr(self) -> None:
        for raw in self._pipe(self.proc.stderr):
            line = raw.rstrip()
            if not line:
                continue
            self.tail.append(line)
            level = logging.INFO
            for name in ("WARNING", "ERROR", "CRITICAL"):
                if line.startswith(name) or f" {name} " in line[:40]:
                    level = getattr(logging, name)
            targets = fmt(",".join(self.names())[:200])
            worker_log.log(level, "worker pid=%d targets=%s %s", self.pid, targets, line)

    def start(self, batch: list[Due], run_timeout: float, watchlist_text: str) -> None:
        self.batch = batch
        self.started = time.monotonic()
        self.started_at = datetime.now(UTC)
        self.deadline = self.started + run_timeout
        try:
            stdin = self._pipe(self.proc.stdin)
            stdin.write(PassOrder(self.names(), watchlist_text).encode())
            stdin.flush()
        except (BrokenPipeError, OSError):
            pass  # it died while waiting: reaped as a failed run

    def recycle(self) -> bool:
        """After a pass's run is recorded: make the worker idle for the next pass, if it ended well
        and has passes left (else it is left to exit)."""
        self.passes += 1
        if (
            self.kill_reason
            or self.term_sent
            or self.passes >= WORKER_PASSES
            or not isinstance(self.result, Done)
        ):
            return False
        self.batch, self.spent, self.final, self.result = [], False, False, None
        self.deadline = float("inf")
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
            self._pipe(self.proc.stdin).close()  # an idle worker reads EOF and exits

    def join(self) -> None:
        for t in self._threads:
            t.join(timeout=2)


def group_alive(pgid: int) -> bool:
    """Whether any process of this process group is still there."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
