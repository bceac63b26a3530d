"""Loading a page in Chromium, every request the browser makes fetched and archived by the crawl.

A target with `render = true` (or `screenshot = true`) has each of its HTML pages loaded in
Debian's Chromium through Playwright (`executable_path`, never a downloaded browser), in the
asyncio loop Scrapy's reactor runs on. The browser never reaches the network itself: every
request it makes is intercepted (`page.route`) and fulfilled from Scrapy's download of the same
request (`engine.download_async`), which passes our downloader middlewares and wire-recording
handler like any other fetch (crawler.handler, crawler.middlewares.archive): archived as it
crossed the wire, as a page requisite of the target, under robots.txt, politeness, the size limit
and the timeouts. The page's own document is fulfilled from the response already fetched (and
archived), so it is not fetched twice.

scrapy-playwright was not used: its download handler lets the browser fetch, so its archive would
hold what Playwright reports of the exchange (re-serialised headers), not the bytes received.

Once the load settles (the network idle, waited for `render_wait` seconds at most), the page is
scrolled down `render_scroll` screen-heights (stopping at its bottom), the network let settle
after each, so that what a page loads as it is scrolled (lazy images, the next articles) is in
the DOM and the screenshot; then the rendered DOM and a full-page PNG are handed to the archive
as `Rendered` values (resource records `urn:dom:<url>`, `urn:screenshot:<url>`,
WARC-Concurrent-To the page's record).
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from scrapy import Request

from storage.exchange import Rendered
from storage.models import DOM, SCREENSHOT, rendered_uri
from storage.timestamps import utcnow

if TYPE_CHECKING:
    from scrapy.http import Response

    from crawler.targets import CrawlTarget

log = logging.getLogger(__name__)

CHROMIUM = "/usr/bin/chromium"  # Debian's (apt install chromium)
# Chromium's own traffic (updates, sync, safe browsing) is not routed through a page: turned off,
# so the browser makes no request the archive does not see.
_ARGS = [
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--no-first-run",
]
# The browser's request headers Scrapy sends on (the user agent stays the crawl's own, and the
# cookies are none: an archive of public pages keeps no session between captures).
_FORWARDED = {"accept", "accept-language", "referer", "content-type", "origin", "range"}
# Response headers that describe the bytes on the wire, not the (decoded) body handed to Chromium.
_WIRE_ONLY = {"content-encoding", "content-length", "transfer-encoding", "connection"}
IDLE = 0.5  # seconds without a request in flight: the network is idle (as Playwright's networkidle)
SCROLL_CAP = 120.0  # seconds a page's scroll takes at most, however many screens it asked for
# One screen down, at once (a page's `scroll-behavior: smooth` would make it gradual); true when
# the page moved, false at its bottom.
_SCROLL_DOWN = """() => {
  const y = window.scrollY;
  window.scrollTo({top: y + window.innerHeight, behavior: "instant"});
  return window.scrollY > y;
}"""


class RenderError(Exception):
    """The browser cannot be started: the one line says why and what to install."""


@dataclass(frozen=True)
class Rendering:
    """What the browser made of a page: its DOM serialised, its screenshot (or None)."""

    dom: str
    screenshot: bytes | None
    taken_at: datetime  # UTC, naive
    settled: bool  # False when the network was still busy after `render_wait`


class Renderer:
    """One Chromium for a crawl, at most `contexts` pages loading at once, each in a fresh
    browser context (no cookies or cache carried from one capture to the next)."""

    def __init__(self, crawler, contexts: int = 1, executable: str = CHROMIUM):
        self.crawler = crawler
        self.executable = executable
        self._slots = asyncio.Semaphore(max(1, contexts))
        self._playwright: Any = None
        self._browser: Any = None
        self._starting: asyncio.Lock = asyncio.Lock()

    async def _browser_for(self):
        async with self._starting:
            if self._browser is None:
                import os

                try:
                    from playwright.async_api import async_playwright
                except ImportError:
                    raise RenderError(
                        "Playwright is not installed (pip install 'warcwatch[render]')"
                    ) from None
                if not os.access(self.executable, os.X_OK):
                    raise RenderError(f"no Chromium at {self.executable} (apt install chromium)")

                self._playwright = await async_playwright().start()
                self._browser = await self._playwright.chromium.launch(
                    executable_path=self.executable, args=_ARGS
                )
        return self._browser

    async def close(self) -> None:
        if self._browser is not None:
            await self._browser.close()
            self._browser = None
        if self._playwright is not None:
            await self._playwright.stop()
            self._playwright = None

    async def render(self, response: Response, target: CrawlTarget, meta: dict) -> Rendering:
        """Load `response`'s page as `target` sees it; its other requests are fetched with `meta`
        (the target, requisite) through the crawl."""
        async with self._slots:
            browser = await self._browser_for()
            context = await browser.new_context(
                user_agent=self.crawler.settings.get("USER_AGENT"),
                service_workers="block",  # a worker's fetches would bypass page.route
            )
            try:
                page = await context.new_page()
                traffic = _Traffic(page)
                await page.route("**/*", _Router(self.crawler, response, meta).handle)
                # WebSockets are not requests page.route sees: refused, never connected (a
                # handler that does not connect to the server keeps the socket in the browser)
                await page.route_web_socket(re.compile(".*"), _refuse_websocket)
                wait_ms = target.render_wait * 1000
                timeout_ms = self.crawler.settings.getfloat("DOWNLOAD_TIMEOUT") * 1000
                try:
                    await page.goto(response.url, wait_until="load", timeout=timeout_ms + wait_ms)
                except Exception as exc:  # noqa: BLE001 - a page that never loads is still shown
                    log.info("rendering %s: load did not finish: %s", response.url, exc)
                settled = True
                try:
                    await page.wait_for_load_state("networkidle", timeout=max(wait_ms, 1))
                except Exception:  # noqa: BLE001 - Playwright's TimeoutError: busy past the cap
                    settled = False
                    log.info(
                        "rendering %s: network still busy after %gs, taken as it is",
                        response.url,
                        target.render_wait,
                    )
                if target.render_scroll:
                    await _scroll(page, traffic, target.render_scroll, target.render_wait)
                dom = await page.content()
                shot = (
                    await page.screenshot(full_page=True, type="png", timeout=timeout_ms)
                    if target.screenshot
                    else None
                )
                return Rendering(dom=dom, screenshot=shot, taken_at=utcnow(), settled=settled)
            finally:
                await context.close()


class _Traffic:
    """The requests of a page in flight, to wait for its network to be idle after a scroll
    (Playwright's "networkidle" is a load state, reached once per navigation: asked again, it does
    not wait for what a scroll set off)."""

    def __init__(self, page):
        self._clock = asyncio.get_running_loop().time
        self.in_flight = 0
        self.last = self._clock()
        page.on("request", self._started)
        page.on("requestfinished", self._ended)
        page.on("requestfailed", self._ended)

    def _started(self, _request) -> None:
        self.in_flight += 1
        self.last = self._clock()

    def _ended(self, _request) -> None:
        self.in_flight = max(0, self.in_flight - 1)
        self.last = self._clock()

    async def idle(self, cap: float) -> bool:
        """Wait until no request has been in flight for IDLE seconds since now, `cap` at most;
        False when the network was still busy then."""
        start = self._clock()
        while True:
            now = self._clock()
            if self.in_flight == 0 and now - max(self.last, start) >= IDLE:
                return True
            if now - start >= cap:
                return False
            await asyncio.sleep(0.05)


async def _scroll(page, traffic: _Traffic, screens: int, wait: float) -> int:
    """Scroll `page` down one screen at a time, `screens` at most, until its bottom (a page that
    grew from what the last screen loaded goes on), the network let settle (`wait` at most) after
    each; then back to the top, where a reader starts and the screenshot begins. The screens
    scrolled."""
    clock = asyncio.get_running_loop().time
    deadline, done = clock() + SCROLL_CAP, 0
    try:
        while done < screens and clock() < deadline:
            if not await page.evaluate(_SCROLL_DOWN):
                break
            done += 1
            await traffic.idle(min(wait, max(0.0, deadline - clock())))
        await page.evaluate("() => window.scrollTo({top: 0, behavior: 'instant'})")
        await traffic.idle(min(wait, IDLE * 2))
    except Exception as exc:  # noqa: BLE001 - a page gone mid-scroll is taken as it is
        log.info("scrolling %s: %s", page.url, str(exc).splitlines()[0])
    return done


async def _refuse_websocket(ws) -> None:
    await ws.close(code=1008, reason="warcwatch archives HTTP only")


class _Router:
    """Fulfils each request of one page load: the page itself from its fetched response, every
    other one from the crawl's download of it."""

    def __init__(self, crawler, response: Response, meta: dict):
        self.crawler = crawler
        self.response = response
        self.meta = meta
        self._page_served = False

    async def handle(self, route, request) -> None:
        url = request.url
        if not url.startswith(("http://", "https://")):
            await route.abort()  # nothing but HTTP leaves the browser
            return
        if not self._page_served and request.is_navigation_request() and url == self.response.url:
            self._page_served = True
            await _fulfil(route, self.response)
            return
        sent = await request.all_headers()
        headers = {k: v for k, v in sent.items() if k.lower() in _FORWARDED}
        fetch = Request(
            url,
            method=request.method,
            headers=headers,
            body=request.post_data_buffer or b"",
            dont_filter=True,
            meta={**self.meta, "rendered": True, "unconditional": True},
        )
        try:
            got = await self.crawler.engine.download_async(fetch)
        except Exception as exc:  # noqa: BLE001 - archived as failed by the downloader; the page goes on
            from crawler.outcomes import classify

            reason = classify(exc)
            if reason is not None:
                from crawler.outcomes import record_failure

                record_failure(self.crawler.spider, fetch, reason, str(exc)[:300])
            await route.abort()
            return
        await _fulfil(route, got)


async def _fulfil(route, response: Response) -> None:
    headers = {}
    for name, values in response.headers.items():
        key = name.decode("latin-1")
        if key.lower() not in _WIRE_ONLY:
            headers[key] = ", ".join(v.decode("latin-1") for v in values)
    await route.fulfill(status=response.status, headers=headers, body=response.body)


def is_html(response: Response) -> bool:
    from scrapy.http import HtmlResponse

    return isinstance(response, HtmlResponse) and response.status == 200


def renderings(spider, response: Response, rendering: Rendering, target: str) -> list[Rendered]:
    """The archive's values of `rendering`: the DOM, and the screenshot when one was taken."""
    meta = {k: response.meta[k] for k in ("confirm",) if k in response.meta}
    out = [
        Rendered(
            uri=rendered_uri(DOM, response.url),
            page=response.url,
            target=target,
            run_id=spider.run_id,
            fetched_at=rendering.taken_at,
            content_type="text/html; charset=utf-8",
            body=rendering.dom.encode("utf-8"),
            meta=meta,
        )
    ]
    if rendering.screenshot is not None:
        out.append(
            Rendered(
                uri=rendered_uri(SCREENSHOT, response.url),
                page=response.url,
                target=target,
                run_id=spider.run_id,
                fetched_at=rendering.taken_at,
                content_type="image/png",
                body=rendering.screenshot,
                meta=meta,
            )
        )
    return out
