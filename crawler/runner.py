"""Running crawl passes: one Scrapy crawler per target, all in one reactor, feeding one writer
process; a pass is recorded as a crawl run in the catalog with its summary."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace

from sqlalchemy.exc import SQLAlchemyError

from monitor.config import Config, Target
from storage import catalog
from storage.errors import ArchiveError, write_error
from storage.writer import WriterSettings
from storage.writer_process import WriterClient

log = logging.getLogger(__name__)


@dataclass
class PassResult:
    run_id: int
    summary: dict
    per_target: dict


def settings_for(config: Config) -> dict:
    """crawler.settings with the watchlist's [crawl] section applied."""
    from scrapy.settings import Settings

    c = config.crawl
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    settings.update(
        {
            "USER_AGENT": c.user_agent,
            "ROBOTSTXT_OBEY": c.obey_robots,
            "DOWNLOAD_TIMEOUT": c.download_timeout,
            "DOWNLOAD_MAXSIZE": c.max_size,
            "REDIRECT_MAX_TIMES": c.max_redirects,
            "CONCURRENT_REQUESTS": c.concurrency,
            "CONCURRENT_REQUESTS_PER_DOMAIN": c.concurrency_per_host,
            "AUTOTHROTTLE_ENABLED": c.autothrottle,
            "RETRY_TIMES": c.retries,
        },
        priority="cmdline",
    )
    return settings


def writer_settings(config: Config, targets: list[Target] | None = None) -> WriterSettings:
    a = config.archive
    return WriterSettings(
        warc_dir=a.warc_dir, prefix=a.prefix, max_size=a.warc_max_size, gzip_level=a.gzip_level,
        robots_policy="obey" if config.crawl.obey_robots else "ignore", user_agent=config.crawl.user_agent,
        targets=tuple(t.name for t in targets) if targets is not None else None,
    )


async def crawl_pass(config: Config, targets: list[Target], report, engine=None) -> PassResult:
    """One pass over `targets`, inside a running asyncio reactor: crawl, archive, analyse the
    changes, fetch changed pages again to confirm them, raise events, deliver alerts."""
    from datetime import timedelta

    from scrapy.crawler import AsyncCrawlerRunner
    from sqlalchemy.orm import Session

    from crawler.spiders import WatchlistSpider
    from monitor.alerts import deliver
    from monitor.analysis import Analyser
    from monitor.recheck import due_by_target, removed_by_target

    own_engine = engine is None  # a daemon worker runs many passes: close what each one opens
    engine = engine or catalog.open_catalog(config.archive.database_url)
    try:
        run_id = catalog.start_run(engine, [t.name for t in targets], {t.name: t.kind for t in targets})
    except SQLAlchemyError as exc:
        raise (write_error(exc, config.archive.database_url) or exc) from None
    archive = WriterClient(config.archive.database_url, writer_settings(config, targets))
    runner = AsyncCrawlerRunner(settings_for(config))
    analyser = Analyser(engine, config)
    status = "interrupted"
    events = 0
    common = {"run_id": run_id, "archive": archive, "report": report}
    error: BaseException | None = None
    try:
        with Session(engine) as s:
            now = catalog.utcnow()
            window = timedelta(seconds=config.monitor.recheck_window)
            validators = catalog.latest_validators(s, [t.name for t in targets])
            due = due_by_target(s, [t.name for t in targets], now, window)
            recheck = [(name, url) for name, urls in due.items() for url in urls]
            gone = removed_by_target(s, [t.name for t in targets])
        await runner.crawl(WatchlistSpider, targets=targets, validators=validators, recheck=recheck, gone=gone, **common)
        _check(archive)
        archive.flush()  # the run's captures are committed: the monitor reads them
        pending = await asyncio.to_thread(analyser.inspect, run_id, targets)
        inspected = time.monotonic()
        named = {t.name: t for t in targets}
        probes = await asyncio.to_thread(analyser.probes_needed, pending)
        if probes:
            # a URL that cannot exist, once per host with changed pages: its answer is the host's
            # not-found page, which a changed page may now be (monitor.softremoval)
            await runner.crawl(WatchlistSpider, probes=probes, gone=gone, **common,
                               targets=[replace(named[name], urls=()) for name in dict.fromkeys(n for n, _ in probes)])
            archive.flush()
        pending = await asyncio.to_thread(analyser.soft_removals, run_id, pending)

        async def confirm(todo) -> None:
            """Fetch the pages of `todo` again (each URL once, whichever targets it belongs to)."""
            by_target: dict[str, list[str]] = {}
            for p in todo:
                by_target.setdefault(p.target, []).append(p.url)
            await runner.crawl(WatchlistSpider, confirm=True, gone=gone, **common,
                               targets=[replace(named[name], urls=tuple(urls)) for name, urls in by_target.items()])
            _check(archive)
            archive.flush()

        changes = [p for p in pending if p.kind == "changed"]
        removals = [p for p in pending if p.kind == "removed"]
        todo = changes if config.monitor.confirm else []
        for _ in range(config.monitor.confirm_fetches):
            if not todo:
                break
            await confirm(todo)
            todo = await asyncio.to_thread(analyser.unexplained, run_id, todo)
        if removals and config.monitor.confirm:
            # a page that answers 404 is fetched again after a short delay: still gone, it is removed
            # in this pass; answering again, it was a blip (a deploy, a cache miss)
            await asyncio.sleep(max(0.0, config.monitor.removal_confirm_delay - (time.monotonic() - inspected)))
            await confirm(removals)
        events = await asyncio.to_thread(analyser.settle, run_id, pending)
        status = "finished"
    except BaseException as exc:  # noqa: BLE001 - re-raised below, once the run is recorded
        error = write_error(exc, config.archive.database_url) or exc
        # a write the archive refused (a full disk) fails the run; a writer killed interrupts it, and
        # what it had not committed is repair's to catalog
        status = "failed" if isinstance(error, ArchiveError) and not archive.died else "interrupted"
    report.archive = archive.close()
    if error is None and archive.error is not None:
        error, status = archive.error, "interrupted" if archive.died else "failed"
    summary = report.summary()
    try:
        summary["events"] = catalog.event_counts(engine, run_id)
        catalog.finish_run(engine, run_id, summary, status=status)
    except SQLAlchemyError as exc:  # a full disk may not even take the run's last word
        failure = write_error(exc, config.archive.database_url)
        if failure is None:
            raise
        error = failure if error is None else ArchiveError(
            f"{error} (run {run_id} is left 'running': `warcwatch repair` marks it interrupted)")
    if error is not None:
        if own_engine:
            engine.dispose()
        raise error
    try:
        delivery = await asyncio.to_thread(deliver, engine, config.alerts.retry_for, config.alerts.max_attempts,
                                           timeout=config.alerts.timeout)
    finally:
        if own_engine:
            engine.dispose()
    summary["alerts"] = delivery.as_summary()
    log.info("run %s: %s changes confirmed, alerts %s", run_id, events, summary["alerts"])
    return PassResult(run_id=run_id, summary=summary, per_target=report.per_target([t.name for t in targets]))


def _check(archive: WriterClient) -> None:
    """A crawl stopped because the archive failed (crawler.outcomes) fails its pass with the reason."""
    if archive.error is not None:
        raise archive.error


def run_in_reactor(main: Callable[[], Awaitable]):
    """Install the asyncio reactor, run `main()` to completion, stop. Once per process."""
    from scrapy.utils.log import configure_logging
    from scrapy.utils.reactor import install_reactor

    install_reactor("twisted.internet.asyncioreactor.AsyncioSelectorReactor")
    from twisted.internet import defer, reactor

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
