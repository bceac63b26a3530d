"""Crawling targets into an archive, inside the asyncio reactor Scrapy runs on.

`RunCrawler` crawls the targets of one crawl run into its archive: all the targets of a crawl in
one Scrapy crawler (crawler.spiders.watchlist), every exchange sent to the run's WARC writer
process. A run may crawl several times (monitor confirms changes by fetching pages again); the
report counts all of its crawls. What a run is for, and what is done with what it archived, is
monitor's (monitor.pass_run). `run_in_reactor` runs a coroutine in the reactor, once per process.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, cast

from crawler.report import PassReport
from crawler.targets import CrawlSettings, CrawlTarget
from storage.writer_process import WriterClient

if TYPE_CHECKING:
    from scrapy.crawler import AsyncCrawlerRunner


class RunCrawler:
    """The crawls of one run (`run_id`) into one archive, counted in one report."""

    def __init__(
        self, crawl: CrawlSettings, run_id: int, archive: WriterClient, report: PassReport
    ):
        self.run_id = run_id
        self.archive = archive
        self.report = report
        self._runner = _runner(crawl)

    async def crawl(
        self,
        targets: Sequence[CrawlTarget],
        *,
        validators: Mapping[str, tuple] | None = None,
        recheck: Iterable[tuple[str, str]] = (),
        gone: Iterable[tuple[str, str]] = (),
        confirm: bool = False,
        probes: Iterable[tuple[str, str]] = (),
    ) -> PassReport:
        """Crawl `targets` into the archive and return the run's report.

        `validators`: url → (ETag, Last-Modified) of its last capture, for conditional GETs.
        `recheck`: (target, url) pages archived before, fetched again on their own.
        `gone`: (target, url) pages known to be removed; their 404 is no failure.
        `confirm`: fetch each target's urls again, whole and unconditionally, following nothing.
        `probes`: (target, url) URLs that cannot exist, fetched once to archive a host's not-found
        page; read by nothing, their 404 no failure.
        Raises the archive's error when a write it refused stopped the crawl; the captures are
        sent, not yet committed (`archive.flush()` commits them)."""
        from crawler.spiders import WatchlistSpider

        await self._runner.crawl(
            WatchlistSpider,
            targets=list(targets),
            run_id=self.run_id,
            archive=self.archive,
            report=self.report,
            validators=validators,
            recheck=recheck,
            gone=gone,
            confirm=confirm,
            probes=list(probes),
        )
        _check(self.archive)
        return self.report


@functools.lru_cache(maxsize=8)
def _runner(crawl: CrawlSettings) -> AsyncCrawlerRunner:
    """The Scrapy runner of `crawl`'s settings, one per process: making one builds the settings,
    copies them frozen and loads the spiders (~20 ms), which a daemon's worker need not redo pass
    after pass. Each crawl still gets a crawler of its own, with its own copy of the settings."""
    from scrapy.crawler import AsyncCrawlerRunner

    return AsyncCrawlerRunner(crawl.scrapy_settings())


def _check(archive: WriterClient) -> None:
    """A crawl stopped because the archive failed (crawler.outcomes) fails with the reason."""
    if archive.error is not None:
        raise archive.error


def run_in_reactor(main: Callable[[], Awaitable]):
    """Install the asyncio reactor, run `main()` to completion, stop. Once per process."""
    from scrapy.utils.log import configure_logging
    from scrapy.utils.reactor import install_reactor

    install_reactor("twisted.internet.asyncioreactor.AsyncioSelectorReactor")
    from twisted.internet import defer
    from twisted.internet import reactor as installed
    from twisted.internet.asyncioreactor import AsyncioSelectorReactor

    # `twisted.internet.reactor` types as the reactor interfaces, whatever is installed; the one
    # installed above is the asyncio reactor, whose run() takes installSignalHandlers
    reactor = cast(AsyncioSelectorReactor, installed)

    names = ("", "scrapy", "twisted")
    levels = {n: logging.getLogger(n).level for n in names}
    configure_logging({"LOG_INSTALL_ROOT_HANDLER": False})
    for n, level in levels.items():  # configure_logging resets these; the CLI has chosen them
        logging.getLogger(n).setLevel(level)
    outcome: dict = {}

    async def wrapped():
        try:
            outcome["value"] = await main()
        except BaseException as exc:  # noqa: BLE001 - re-raised below, outside the reactor
            outcome["error"] = exc

    d = defer.Deferred.fromFuture(asyncio.ensure_future(wrapped()))
    d.addBoth(lambda _: reactor.stop())
    reactor.run(installSignalHandlers=True)
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")
