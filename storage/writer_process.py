"""The writer process: the crawl hands exchanges through a pipe to an ArchiveWriter in a process of
its own.

Why a process: gzip, SHA-1 digests and SQLite inserts cost as much CPU as Scrapy's own work per
page, and under the GIL a writer thread keeps the crawl near one core (0.28–0.69× a bare Scrapy
crawl in a prototype); a process fed through a pipe reaches ~1.0×. The pipe also gives
back-pressure: when the disk is slow, sends block and the crawl slows instead of buffering pages.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
from multiprocessing.connection import Connection

from storage.errors import ArchiveError
from storage.exchange import Exchange, FailedFetch
from storage.writer import WriterSettings

log = logging.getLogger(__name__)


def _serve(conn: Connection, database_url: str, settings: WriterSettings, log_level: int) -> None:
    logging.basicConfig(level=log_level, format="%(asctime)s %(levelname)s writer %(name)s: %(message)s")
    from storage.catalog import open_catalog
    from storage.writer import ArchiveWriter

    engine = open_catalog(database_url, migrate=False)
    writer = ArchiveWriter(engine, settings)
    stats: dict[str, int] = {}
    try:
        while True:
            try:
                msg = conn.recv()
            except EOFError:  # the crawl died: close what we have, cleanly
                break
            if isinstance(msg, Exchange):
                writer.write(msg)
            elif isinstance(msg, FailedFetch):
                writer.fail(msg)
            elif msg == "flush":
                writer.flush()
                conn.send(("flushed", dict(writer.stats)))
            elif msg == "close":
                break
    finally:
        stats = writer.close()
        engine.dispose()
        try:
            conn.send(("closed", stats))
        except (BrokenPipeError, OSError):
            pass
        conn.close()


class WriterClient:
    """The crawl's end of the pipe. `send` an Exchange or FailedFetch; `close()` returns the stats."""

    def __init__(self, database_url: str, settings: WriterSettings):
        ctx = mp.get_context("spawn")  # no inherited reactor, threads or sockets
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(
            target=_serve, args=(child, database_url, settings, logging.getLogger().level),
            name="warcwatch-writer", daemon=True,
        )
        self._proc.start()
        child.close()
        self.closed = False

    def send(self, item: Exchange | FailedFetch) -> None:
        try:
            self._conn.send(item)
        except (BrokenPipeError, OSError) as exc:
            raise ArchiveError(f"the WARC writer process died ({exc}); see its log") from None

    def flush(self) -> dict[str, int]:
        self.send("flush")
        return self._reply("flushed")

    def _reply(self, expected: str) -> dict[str, int]:
        try:
            kind, stats = self._conn.recv()
        except (EOFError, OSError):
            raise ArchiveError("the WARC writer process died; see its log") from None
        assert kind == expected, kind
        return stats

    def close(self, timeout: float = 120) -> dict[str, int]:
        if self.closed:
            return {}
        self.closed = True
        try:
            self._conn.send("close")
            stats = self._reply("closed")
        finally:
            self._proc.join(timeout)
            self._conn.close()
        return stats
