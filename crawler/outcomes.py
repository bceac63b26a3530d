"""What became of each request: an archived exchange or a failure with a reason.

The one place that turns Scrapy's responses and exceptions into `Exchange` / `FailedFetch` values,
sends them to the archive and counts them for the pass report.
"""

from __future__ import annotations

import logging

from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadFailedError,
    DownloadTimeoutError,
    IgnoreRequest,
    ResponseDataLossError,
)
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet import error as tx_error

from storage.errors import ArchiveError
from storage.exchange import Exchange, FailedFetch, Rendered
from storage.timestamps import utcnow

log = logging.getLogger(__name__)


def archive_item(spider, item: Exchange | FailedFetch | Rendered) -> bool:
    """Hand `item` to the archive. When the archive cannot take it (a full disk, a dead writer),
    the crawl stops at once, and the pass then fails with the archive's one-line reason
    (`spider.archive.error`), instead of every later page failing with a traceback of its own."""
    try:
        spider.archive.send(item)
        return True
    except ArchiveError:
        if not getattr(spider, "archive_failed", False):
            spider.archive_failed = True
            from scrapy.utils.defer import deferred_from_coro

            deferred_from_coro(spider.crawler.engine.close_spider_async(reason="archive-failed"))
        return False


def _meta(request) -> dict:
    """What the archive keeps of a request's meta: whether it was a confirmation fetch, or a
    page requisite's (crawler.requisites)."""
    return {k: request.meta[k] for k in ("confirm", "requisite") if k in request.meta}


def record_exchange(spider, request, response, request_head: bytes, response_head: bytes) -> None:
    ip = str(response.ip_address) if response.ip_address else None
    started = request.meta.get("fetch_started") or utcnow()
    target = spider.target_name(request)
    archived = archive_item(
        spider,
        Exchange(
            url=response.url,
            target=target,
            run_id=spider.run_id,
            fetched_at=started,
            request_head=request_head,
            response_head=response_head,
            body=response.body,
            status=response.status,
            ip=ip,
            meta=_meta(request),
        ),
    )
    if not archived:
        return
    fetch = spider.fetch_of(request)
    if fetch is not None:
        fetch.urls.append(response.url)
        fetch.outcomes.append((response.url, response.status, None))
    # a probe for the host's not-found page is meant to fail: its 404 is no failure of the pass
    spider.report.on_response(
        target,
        response.status,
        is_robots=bool(request.meta.get("dont_obey_robotstxt")),
        gone=(target, response.url) in spider.gone,
        confirm=bool(request.meta.get("confirm") or request.meta.get("probe")),
        requisite=bool(request.meta.get("requisite")),
    )


def record_failure(
    spider, request, reason: str, detail: str = "", status: int | None = None
) -> None:
    target = spider.target_name(request)
    log.info("failed %s [%s] %s: %s", request.url, target, reason, detail)
    if not archive_item(
        spider,
        FailedFetch(
            url=request.url,
            target=target,
            run_id=spider.run_id,
            fetched_at=utcnow(),
            reason=reason,
            detail=detail,
            status=status,
            meta=_meta(request),
        ),
    ):
        return
    fetch = spider.fetch_of(request)
    if fetch is not None:
        fetch.urls.append(request.url)
        fetch.outcomes.append((request.url, None, reason))
    if not request.meta.get(
        "probe"
    ):  # archived as evidence, but a probe robots.txt denies is no failure
        spider.report.on_failure(target, reason, requisite=bool(request.meta.get("requisite")))


def classify(exc: BaseException) -> str | None:
    """A short, stable reason for a failed fetch; None when it is already recorded."""
    from crawler.middlewares.archive import ResponseRejected

    if isinstance(exc, (ResponseRejected, HttpError)):
        return None  # the response itself is archived (and counted) already
    text = str(exc)
    if isinstance(exc, IgnoreRequest):
        if "robots.txt" in text:
            return "robots-denied"
        if "redirections" in text:
            return "redirect-loop"
        if "max size" in text or "DOWNLOAD_MAXSIZE" in text:
            return "too-large"
        return "ignored"
    if isinstance(exc, (DownloadTimeoutError, tx_error.TimeoutError)):
        return "timeout"
    if isinstance(exc, DownloadCancelledError):
        return "too-large" if "max size" in text else "cancelled"
    if isinstance(exc, (CannotResolveHostError, tx_error.DNSLookupError)):
        return "dns"
    if isinstance(exc, (DownloadConnectionRefusedError, tx_error.ConnectionRefusedError)):
        return "refused"
    if isinstance(exc, ResponseDataLossError) or "DataLoss" in text or "data loss" in text.lower():
        return "truncated"
    if isinstance(exc, (DownloadFailedError, tx_error.ConnectionLost, tx_error.ConnectionDone)):
        return "connection-lost"
    return type(exc).__name__


def on_request_error(spider, failure) -> None:
    """Errback of every warcwatch request: record why it failed, keep the pass going."""
    exc = failure.value
    reason = classify(exc)
    if reason is None:
        return  # already recorded: the response was archived, or rejected with its reason
    record_failure(spider, failure.request, reason, str(exc)[:300])
