"""A crawl pass, the monitor's unit of work: crawl the targets into the archive, find what changed,
make sure of it, record the events and deliver their alerts. One pass is one crawl run in the
catalog, finished with its summary and status whatever happens.

`crawl_pass` reads top to bottom as the steps of a pass; the crawling itself is the crawler's
(crawler.runner.RunCrawler), the analysis monitor.analysis's, the delivery monitor.alerts'.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, replace
from datetime import timedelta

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from crawler.report import PassReport
from crawler.runner import RunCrawler
from monitor.alerts import deliver
from monitor.analysis import Analyser
from monitor.config import Config, Target
from monitor.events import stamp_alerts
from monitor.recheck import due_by_target, removed_by_target
from monitor.trusted_time import deliver_after_pass
from monitor.versions import PendingChange
from storage import catalog
from storage.enums import EventKind, RunStatus
from storage.errors import ArchiveError, write_error
from storage.evidence.checkpoint import SignedCheckpoint, make_checkpoint
from storage.evidence.tsa import queue_timestamp
from storage.timestamps import utcnow
from storage.writer import WriterSettings
from storage.writer_process import WriterClient

log = logging.getLogger(__name__)


@dataclass
class PassResult:
    run_id: int
    summary: dict
    per_target: dict


def writer_settings(config: Config, targets: list[Target] | None = None) -> WriterSettings:
    """What the pass's WARC writer is told: the [archive] section, and what the warcinfo record
    says of the crawl (robots policy, user agent, targets)."""
    a = config.archive
    return WriterSettings(
        warc_dir=a.warc_dir,
        objects=a.objects,
        prefix=a.prefix,
        max_size=a.warc_max_size,
        max_age=a.warc_max_age,
        gzip_level=a.gzip_level,
        digest=a.digest,
        robots_policy="obey" if config.crawl.obey_robots else "ignore",
        user_agent=config.crawl.user_agent,
        targets=tuple(t.name for t in targets) if targets is not None else None,
    )


async def crawl_pass(
    config: Config, targets: list[Target], report: PassReport, engine: Engine | None = None
) -> PassResult:
    """One pass over `targets`, inside a running asyncio reactor (crawler.runner.run_in_reactor).

    1. start a crawl run in the catalog;
    2. crawl, analyse, confirm, settle (`_crawl_and_detect`); a failure there is kept, not raised
    yet;
    3. close the archive writer, whose own failure counts too; sign the evidence log's checkpoint;
    4. finish the run: its summary and status ('finished', 'failed' or 'interrupted');
    5. raise the failure, if any, now that the run is recorded;
    6. deliver the alerts of the events raised;
    7. send the time-stamp requests waiting (monitor.trusted_time).
    """
    url = config.archive.database_url
    own_engine = engine is None  # a daemon worker runs many passes: close what each one opens
    engine = engine or catalog.open_catalog(url)

    # 1. the run
    try:
        run_id = catalog.start_run(
            engine, [t.name for t in targets], {t.name: t.kind for t in targets}
        )
    except SQLAlchemyError as exc:
        raise (write_error(exc, url) or exc) from None
    archive = WriterClient(url, writer_settings(config, targets))
    crawler = RunCrawler(config.crawl, run_id, archive, report)
    analyser = Analyser(engine, config)

    # 2. crawl and detect
    status = RunStatus.INTERRUPTED
    error: BaseException | None = None
    events = 0
    try:
        events = await _crawl_and_detect(
            config, engine, crawler, archive, analyser, run_id, targets
        )
        status = RunStatus.FINISHED
    except BaseException as exc:  # noqa: BLE001 - re-raised below, once the run is recorded
        error = write_error(exc, url) or exc
        # a write the archive refused (a full disk) fails the run; a writer killed interrupts it,
        # and what it had not committed is repair's to catalog
        failed = isinstance(error, ArchiveError) and not archive.died
        status = RunStatus.FAILED if failed else RunStatus.INTERRUPTED

    # 3. the archive
    report.archive = archive.close()
    if error is None and archive.error is not None:
        error = archive.error
        status = RunStatus.INTERRUPTED if archive.died else RunStatus.FAILED

    # 3b. the evidence log's signed checkpoint, named in the alerts of the pass's events
    checkpoint = _checkpoint(config, engine, run_id) if error is None else None

    # 4. the run's last word
    summary = report.summary()
    if checkpoint is not None:
        summary["checkpoint"] = {"size": checkpoint.size, "root_hash": checkpoint.root_hash}
    try:
        summary["events"] = catalog.event_counts(engine, run_id)
        catalog.finish_run(engine, run_id, summary, status=status)
    except SQLAlchemyError as exc:  # a full disk may not even take the run's last word
        failure = write_error(exc, url)
        if failure is None:
            raise
        error = (
            failure
            if error is None
            else ArchiveError(
                f"{error} (run {run_id} is left 'running': `warcwatch repair` marks it interrupted)"
            )
        )

    # 5. the failure
    if error is not None:
        if own_engine:
            engine.dispose()
        raise error

    # 6. the alerts, 7. the time-stamps
    try:
        delivery = await asyncio.to_thread(
            deliver,
            engine,
            config.alerts.retry_for,
            config.alerts.max_attempts,
            timeout=config.alerts.timeout,
        )
        stamps = await asyncio.to_thread(deliver_after_pass, engine, config)
    finally:
        if own_engine:
            engine.dispose()
    summary["alerts"] = delivery.as_summary()
    if stamps is not None:
        summary["timestamps"] = stamps
    log.info("run %s: %s changes confirmed, alerts %s", run_id, events, summary["alerts"])
    return PassResult(
        run_id=run_id, summary=summary, per_target=report.per_target([t.name for t in targets])
    )


def _checkpoint(config: Config, engine: Engine, run_id: int) -> SignedCheckpoint | None:
    """Sign the evidence log's head after the pass, and add to each alert of the pass's events
    the receipt that proves it (`warcwatch receipt EVENT_ID`) and the checkpoint it is under.
    A checkpoint that cannot be made is logged, not fatal: the entries are in the log, and the
    next pass's checkpoint covers them."""
    try:
        checkpoint = make_checkpoint(engine, config.archive.dir)
        if checkpoint is not None:
            with Session(engine) as s, s.begin():
                stamp_alerts(s, run_id, checkpoint.size, checkpoint.root_hash)
                if config.evidence.tsa:  # trusted time: the signed note, to each TSA
                    queue_timestamp(
                        s,
                        "checkpoint",
                        str(checkpoint.id),
                        checkpoint.note.encode(),
                        tsa=config.evidence.tsa,
                    )
        return checkpoint
    except (ArchiveError, SQLAlchemyError, OSError) as exc:
        log.error("run %s: no evidence checkpoint: %s", run_id, exc)
        return None


async def _crawl_and_detect(
    config: Config,
    engine: Engine,
    crawler: RunCrawler,
    archive: WriterClient,
    analyser: Analyser,
    run_id: int,
    targets: list[Target],
) -> int:
    """Step 2 of a pass: crawl, analyse what changed, fetch changed and removed pages again to be
    sure of it, settle the events. Returns the number of changes confirmed."""
    names = [t.name for t in targets]
    to_crawl = [t.crawl_target() for t in targets]
    named = {t.name: t for t in to_crawl}

    # what the catalog knows before the crawl: validators for conditional GETs, the archived
    # pages due for a re-check, the pages known to be removed
    with Session(engine) as s:
        now = utcnow()
        window = timedelta(seconds=config.monitor.recheck_window)
        validators = catalog.latest_validators(s, names)
        due = due_by_target(s, names, now, window)
        recheck = [(name, url) for name, urls in due.items() for url in urls]
        gone = removed_by_target(s, names)

    async def fetch_again(todo: list[PendingChange]) -> None:
        """Fetch the pages of `todo` again (each URL once, whichever targets it belongs to)."""
        by_target: dict[str, list[str]] = {}
        for p in todo:
            by_target.setdefault(p.target, []).append(p.url)
        await crawler.crawl(
            [replace(named[name], urls=tuple(urls)) for name, urls in by_target.items()],
            confirm=True,
            gone=gone,
        )
        archive.flush()

    # the crawl; flushed, its captures are committed and the analysis reads them
    await crawler.crawl(to_crawl, validators=validators, recheck=recheck, gone=gone)
    archive.flush()

    # the analysis: what changed, appeared or went since the previous captures
    pending = await asyncio.to_thread(analyser.inspect, run_id, targets)
    inspected = time.monotonic()

    # soft removals: a URL that cannot exist, fetched once per host with changed pages, answers
    # with the host's not-found page, which a changed page may now be (monitor.softremoval)
    probes = await asyncio.to_thread(analyser.probes_needed, pending)
    if probes:
        await crawler.crawl(
            [replace(named[name], urls=()) for name in dict.fromkeys(n for n, _ in probes)],
            probes=probes,
            gone=gone,
        )
        archive.flush()
    pending = await asyncio.to_thread(analyser.soft_removals, run_id, pending)
    changes = [p for p in pending if p.kind == EventKind.CHANGED]
    removals = [p for p in pending if p.kind == EventKind.REMOVED]

    # changes confirmed: a changed page is fetched again, to learn the parts that change on
    # every fetch; a second time only when the first taught nothing
    todo = changes if config.monitor.confirm else []
    for _ in range(config.monitor.confirm_fetches):
        if not todo:
            break
        await fetch_again(todo)
        todo = await asyncio.to_thread(analyser.unexplained, run_id, todo)

    # removals confirmed: a page that answers 404 is fetched again after a short delay: still
    # gone, it is removed in this pass; answering again, it was a blip (a deploy, a cache miss)
    if removals and config.monitor.confirm:
        await asyncio.sleep(
            max(0.0, config.monitor.removal_confirm_delay - (time.monotonic() - inspected))
        )
        await fetch_again(removals)

    # the events, from what the pass has seen
    return await asyncio.to_thread(analyser.settle, run_id, pending)
