"""The worker process's side (`warcwatch _worker`, started by the daemon): import Scrapy, say
ready, then run one pass per order read from stdin and report each on stdout (monitor.daemon.
protocol), up to WORKER_PASSES, then exit. SIGTERM, or the daemon going away (stdin at EOF),
cancels the pass: its WARC files are closed and its run is marked interrupted."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import queue
import signal
import sys
import threading
from pathlib import Path
from typing import Any, cast

from monitor.config import Config, Target, loads_config
from monitor.daemon.options import WORKER_PASSES
from monitor.daemon.protocol import (
    Done,
    Error,
    Interrupted,
    Message,
    PassOrder,
    Ready,
    counts,
    encode,
)
from monitor.errors import WarcwatchError


def _emit(msg: Message) -> None:
    sys.stdout.write(encode(msg))
    sys.stdout.flush()


def worker_main(config_path: str) -> int:
    """One worker: its exit code is 0 when done, 1 when a pass failed, 2 when the watchlist it was
    handed does not load, 3 when its pass was interrupted."""
    for h in logging.getLogger().handlers:  # the daemon adds the time and the worker's pid
        h.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    # imported before the targets arrive, so that a warm worker starts crawling at once
    import scrapy.crawler  # noqa: F401

    import crawler.spiders  # noqa: F401
    import storage.writer_process

    with contextlib.suppress(ImportError):  # what crawl_pass imports for the analysis, the alerts
        import monitor.alerts  # noqa: F401
        import monitor.analysis  # noqa: F401
        import monitor.pass_run  # noqa: F401
    from crawler.runner import run_in_reactor

    storage.writer_process.warm_up()  # the pass's WARC writer then starts in milliseconds
    _emit(Ready())
    inbox: queue.Queue[str | None] = queue.Queue()
    in_pass = threading.Event()
    threading.Thread(target=_read_stdin, args=(inbox, in_pass), daemon=True).start()
    line = inbox.get()
    if line is None:
        return 0
    try:
        code = run_in_reactor(lambda: _passes(line, inbox, in_pass, Path(config_path)))
    except asyncio.CancelledError:
        _emit(Interrupted())
        return 3
    except WarcwatchError as exc:
        _emit(Error(str(exc)))
        return 1
    if code is None:  # the reactor was stopped before the pass returned
        _emit(Interrupted())
        return 3
    return int(code)


class _Watchlists:
    """The watchlist of the last order, parsed once for as long as the daemon sends the same."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._loaded: dict[str, Config] = {}

    def prepare(self, order: PassOrder) -> tuple[Config, list[Target], list[str]]:
        # the daemon's last good watchlist, never the file (which may be half-edited or broken)
        text = order.watchlist
        config = self._loaded.get(text) or loads_config(text, self.path)
        self._loaded.clear()
        self._loaded[text] = config
        known = {t.name: t for t in config.targets}
        targets = [known[n] for n in order.targets if n in known]
        return config, targets, [n for n in order.targets if n not in known]


async def _passes(
    line: str, inbox: queue.Queue[str | None], in_pass: threading.Event, path: Path
) -> int:
    from twisted.internet import defer, reactor

    from crawler.report import PassReport
    from monitor.pass_run import crawl_pass

    watchlists = _Watchlists(path)
    current: dict[str, asyncio.Future[Any]] = {}

    async def settle(task: asyncio.Future[Any]) -> None:
        with contextlib.suppress(BaseException):
            await task

    def on_shutdown() -> Any:  # SIGTERM/SIGINT stop the reactor; first let the pass close its files
        task = current.get("task")
        if task is None or task.done():
            return None
        task.cancel()
        return defer.Deferred.fromFuture(asyncio.ensure_future(settle(task)))

    # the reactor module stands for IReactorCore, whose zope methods mypy reads with a `self`
    cast(Any, reactor).addSystemEventTrigger("before", "shutdown", on_shutdown)
    next_line: str | None = line
    for _ in range(WORKER_PASSES):
        assert next_line is not None
        try:
            config, targets, gone = watchlists.prepare(PassOrder.decode(next_line))
        except WarcwatchError as exc:
            _emit(Error(str(exc)))
            return 2
        if targets:
            in_pass.set()
            task = current["task"] = asyncio.ensure_future(
                crawl_pass(config, targets, PassReport())
            )
            try:
                result = await asyncio.shield(task)
            except asyncio.CancelledError:
                # cancelled by on_shutdown: the reactor is stopping already, so stay pending
                # rather than return (run_in_reactor would stop it a second time)
                await asyncio.get_running_loop().create_future()
            finally:
                in_pass.clear()
            _emit(Done(result.run_id, result.summary, counts(result.per_target), gone))
        else:
            _emit(Done(None, {}, {}, gone))
        # the next pass, or None: the daemon is done with us
        next_line = await asyncio.to_thread(inbox.get)
        if next_line is None:
            break
    return 0


def _read_stdin(inbox: queue.Queue[str | None], in_pass: threading.Event) -> None:
    """The daemon's orders, one pass a line. EOF means the daemon is gone or done with this worker:
    an idle worker exits, a worker in a pass cancels it (which closes its WARC files)."""
    for line in sys.stdin:
        inbox.put(line)
    if in_pass.is_set():
        os.kill(os.getpid(), signal.SIGTERM)
    inbox.put(None)
