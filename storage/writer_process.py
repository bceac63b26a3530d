"""The writer process: the crawl hands exchanges through a pipe to an ArchiveWriter in a process of
its own.

Why a process: gzip, digests and SQLite inserts cost as much CPU as Scrapy's own work per
page, and under the GIL a writer thread keeps the crawl near one core (0.28–0.69× a bare Scrapy
crawl in a prototype); a process fed through a pipe reaches ~1.0×. The pipe also gives
back-pressure: when the disk is slow, sends block and the crawl slows instead of buffering pages.

The pipe must not make the two processes take turns, though: see `_Inbox` and
`_enlarge_send_buffer` (benchmarks/crawl.py measures the difference).
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing as mp
import os
import socket
import threading
from collections import deque
from multiprocessing.connection import Connection
from typing import Literal

from storage.errors import ArchiveError, write_error
from storage.exchange import Attribution, Exchange, FailedFetch, Rendered
from storage.writer import WriterSettings

log = logging.getLogger(__name__)

# How many bytes of received exchanges may wait in the writer process for the ArchiveWriter.
_INBOX_BYTES = 32 * 1024 * 1024
_EOF = object()
_IDLE = object()  # no message within the wait (`_Inbox.get`)


class _Inbox:
    """Messages read off the pipe by a thread of their own, waiting for the ArchiveWriter.

    A pipe holds a page or two: read by the writer's loop itself, each send from the crawl waited
    until the writer had finished gzipping the previous record, so the crawl and the writer took
    turns instead of working at once (0.4–0.5× a bare Scrapy crawl on 2 cores). This thread keeps
    the pipe drained while the writer works. The inbox is bounded (in bytes; one message always
    fits), so a slow disk still fills the pipe and blocks the crawl's sends: back-pressure as
    before.
    """

    def __init__(self, conn: Connection, limit: int = _INBOX_BYTES):
        self._conn = conn
        self._limit = limit
        self._items: deque = deque()
        self._bytes = 0
        self._cond = threading.Condition()
        threading.Thread(target=self._read, name="warcwatch-writer-inbox", daemon=True).start()

    def _read(self) -> None:
        while True:
            try:
                msg = self._conn.recv()
            except (EOFError, OSError):  # the crawl died (or closed its end)
                msg = _EOF
            size = len(msg.body) if isinstance(msg, (Exchange, Rendered)) else 0
            with self._cond:
                while self._items and self._bytes + size > self._limit:
                    self._cond.wait()
                self._items.append((msg, size))
                self._bytes += size
                self._cond.notify_all()
            if msg is _EOF or msg == "close":
                return

    def get(self, timeout: float | None = None):
        """The next message, or _IDLE when none came within `timeout` seconds."""
        with self._cond:
            while not self._items:
                if not self._cond.wait(timeout) and not self._items:
                    return _IDLE
            msg, size = self._items.popleft()
            self._bytes -= size
            self._cond.notify_all()
        return msg


def _serve(conn: Connection, database_url: str, settings: WriterSettings, log_level: int) -> None:
    logging.basicConfig(
        level=log_level, format="%(asctime)s %(levelname)s writer %(name)s: %(message)s"
    )
    from storage.catalog import open_catalog
    from storage.writer import ArchiveWriter

    engine = open_catalog(database_url, migrate=False)
    writer = ArchiveWriter(engine, settings)
    inbox = _Inbox(conn)
    try:
        _write_all(inbox, writer, conn)
        reply: tuple[str, dict[str, int] | str] = ("closed", writer.close())
    except Exception as exc:  # noqa: BLE001 - said to the crawl in one line, and the files kept whole
        failure = write_error(exc, database_url)
        if failure is None:  # not the disk's fault: a bug, whose traceback belongs in the log
            log.exception("the WARC writer failed")
            failure = ArchiveError(f"the WARC writer failed: {type(exc).__name__}: {exc}")
        writer.abandon()
        reply = ("failed", str(failure))
    finally:
        engine.dispose()
    try:
        conn.send(reply)
    except (BrokenPipeError, OSError):
        pass
    conn.close()


def _write_all(inbox: _Inbox, writer, conn: Connection) -> None:
    while True:
        # a quiet spell (the crawl waiting on a slow server) still commits what was written:
        # rows are durable within `commit_every` of their record, not at the next record
        msg = inbox.get(timeout=writer.settings.commit_every)
        if msg is _IDLE:
            writer.commit_if_due()
            continue
        if msg is _EOF:  # the crawl died: close what we have, cleanly
            return
        if isinstance(msg, Exchange):
            writer.write(msg)
        elif isinstance(msg, FailedFetch):
            writer.fail(msg)
        elif isinstance(msg, Attribution):
            writer.attribute(msg)
        elif isinstance(msg, Rendered):
            writer.resource(msg)
        elif msg == "flush":
            writer.flush()
            conn.send(("flushed", dict(writer.stats)))
        elif msg == "close":
            return


def _enlarge_send_buffer(conn: Connection, size: int = 4 * 1024 * 1024) -> None:
    """Let the pipe (a socketpair) hold dozens of pages instead of two, so that a send rarely waits
    for the writer process's inbox thread to be scheduled. The kernel caps the size
    (net.core.wmem_max); where it cannot be set, sends just wait more often."""
    try:
        sock = socket.socket(fileno=os.dup(conn.fileno()))
    except OSError:
        return
    with sock:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, size)
        except OSError:
            pass


# What a writer process needs, made ready once by the fork server rather than by every writer;
# and the main module, which each child would otherwise import again (multiprocessing's spawn
# rule), unless its server has: the `warcwatch` script imports the CLI.
_PRELOAD = ["__main__", "storage.writer_preload"]


def _context():
    """forkserver: each writer forks from a server process that has already imported what it
    needs (a fresh interpreter per pass cost ~0.4 s of start-up), and like a spawned process it
    inherits nothing of the crawl (reactor, threads, sockets, database connections)."""
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(_PRELOAD)
    return ctx


def warm_up() -> None:
    """Start the fork server now, before a pass needs its writer (a daemon's warm worker does)."""
    from multiprocessing import forkserver

    _context()
    forkserver.ensure_running()


class WriterClient:
    """The crawl's end of the pipe. `send` an Exchange, FailedFetch, Rendered or Attribution;
    `close()` returns the stats."""

    def __init__(self, database_url: str, settings: WriterSettings):
        ctx = _context()
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(
            target=_serve,
            args=(child, database_url, settings, logging.getLogger().level),
            name="warcwatch-writer",
            daemon=True,
        )
        self._proc.start()
        child.close()
        _enlarge_send_buffer(self._conn)
        self.closed = False
        self.error: ArchiveError | None = None  # why the writer stopped, once it has
        self.died = False  # the writer process vanished without saying why (kill -9, OOM)

    def send(
        self, item: Exchange | FailedFetch | Attribution | Rendered | Literal["flush", "close"]
    ) -> None:
        if self.error is not None:
            raise self.error
        try:
            self._conn.send(item)
        except (BrokenPipeError, OSError) as exc:
            raise self._stopped(f"the WARC writer process died ({exc}); see its log") from None

    def flush(self) -> dict[str, int]:
        self.send("flush")
        return self._reply("flushed")

    def _stopped(self, fallback: str) -> ArchiveError:
        """The writer's own one-line reason for stopping (`disk full writing …`), if it left one."""
        reason = fallback
        with contextlib.suppress(EOFError, OSError, ValueError, TypeError):
            if self._conn.poll(2):
                kind, text = self._conn.recv()
                if kind == "failed":
                    reason = text
        self.error = ArchiveError(reason)
        self.died = reason == fallback  # killed (no reason of its own), not a write that failed
        return self.error

    def _reply(self, expected: str) -> dict[str, int]:
        try:
            kind, stats = self._conn.recv()
        except (EOFError, OSError):
            raise self._stopped("the WARC writer process died; see its log") from None
        if kind == "failed":
            self.error = ArchiveError(stats)
            raise self.error
        assert kind == expected, kind
        return stats

    def close(self, timeout: float = 120) -> dict[str, int]:
        """Close the writer and return its stats; never raises: after a failure, `error` says
        why."""
        if self.closed:
            return {}
        self.closed = True
        try:
            if self.error is not None:
                return {}
            self.send("close")
            return self._reply("closed")
        except ArchiveError:
            return {}
        finally:
            self._proc.join(timeout)
            self._conn.close()
