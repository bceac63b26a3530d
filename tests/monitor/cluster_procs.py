"""A cluster on one machine for the tests: the scheduler daemons (`warcwatch run` with
`[cluster] runner = "procrastinate"`) and `warcwatch worker` processes, each a real process in a
session of its own, their output in a file; and the server-side record of when each path was
being answered (to check that no two passes of one host overlap)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from pathlib import Path

from tests.conftest import ROOT
from tests.monitor.test_daemon import _descendants

CLUSTER = '\n[cluster]\nrunner = "procrastinate"\nheartbeat = "1s"\nstalled_after = "3s"\n'


class Proc:
    def __init__(self, name: str, config: Path, *args: str) -> None:
        self.name = name
        self.log = config.parent / f"{name}.out"
        self._out = open(self.log, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "monitor.cli", *args, "--config", str(config)],
            cwd=ROOT,
            stdout=self._out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.pid = self.proc.pid
        self.killed = False

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def kill_9(self) -> None:
        """kill -9 of the process and everything under it (its pass's child and writer)."""
        self.killed = True
        for pid in [self.pid, *_descendants(self.pid)]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait(10)

    def stop(self, timeout: float = 60) -> int | None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill_9()
        self._out.close()
        return self.proc.returncode


class Cluster:
    """The processes a test started; `close` stops what is left (kill -9 after a failure)."""

    def __init__(self, config: Path) -> None:
        self.config = config
        self.procs: list[Proc] = []

    def scheduler(self, name: str = "scheduler") -> Proc:
        p = Proc(name, self.config, "run")
        self.procs.append(p)
        return p

    def leader(self) -> Proc:
        """The first scheduler, once it leads (it has made the catalog's and the queue's tables:
        the others start on them)."""
        p = self.scheduler()

        def leads():
            return "cluster.leader" in p.output()

        self.wait_for(leads, timeout=60)
        return p

    def worker(self, name: str) -> Proc:
        p = Proc(name, self.config, "worker")
        self.procs.append(p)
        return p

    def outputs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.output()[-2500:]}" for p in self.procs)

    def wait_for(self, what: Callable[[], object], timeout: float, step: float = 0.25):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = what()
            if value:
                return value
            for p in self.procs:
                if p.proc.poll() is not None and not p.killed:
                    raise AssertionError(f"{p.name} exited {p.proc.returncode}\n{self.outputs()}")
            time.sleep(step)
        raise AssertionError(f"timed out waiting for {what.__name__}\n{self.outputs()}")

    def status(self) -> dict:
        from tests.conftest import warcwatch

        return json.loads(warcwatch("status", "--json", "--config", str(self.config)).stdout)

    def close(self) -> None:
        for p in self.procs:
            if p.proc.poll() is None:
                p.kill_9()
            if not p._out.closed:
                p._out.close()


class Intervals:
    """When the server was answering each path: [(path, start, end)], monotonic."""

    def __init__(self) -> None:
        self.spans: list[tuple[str, float, float]] = []
        self._lock = threading.Lock()

    def slow_page(self, body: str, seconds: float) -> Callable[[BaseHTTPRequestHandler], None]:
        def respond(h: BaseHTTPRequestHandler) -> None:
            start = time.monotonic()
            time.sleep(seconds)
            data = body.encode()
            h.send_response(200)
            h.send_header("Content-Type", "text/html; charset=utf-8")
            h.send_header("Content-Length", str(len(data)))
            h.end_headers()
            h.wfile.write(data)
            h.wfile.flush()
            with self._lock:
                self.spans.append((h.path, start, time.monotonic()))

        return respond

    def overlaps(self, paths: set[str]) -> list[tuple]:
        spans = sorted(s for s in self.spans if s[0] in paths)
        spans.sort(key=lambda s: s[1])
        return [(a, b) for a, b in zip(spans, spans[1:], strict=False) if b[1] < a[2]]
