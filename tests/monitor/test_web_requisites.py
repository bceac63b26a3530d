"""The web UI's snapshot view shows a page with its requisites, from the archive alone (issue 13,
item 4): the site of tests.requisite_site (pages and CSS on 127.0.0.1, the logo and the font on
127.0.0.2) is crawled and its servers stopped; `warcwatch serve` frames the snapshot in Chromium
(Playwright, Debian's /usr/bin/chromium): the headline has the colour only the archived stylesheet
sets, the logo and the font have loaded, the frame is still the sandbox's opaque origin, and no
request left for the live hosts: every URL of the page was rewritten to the archive's."""

from __future__ import annotations

import pytest

from tests.conftest import crawl, write_config
from tests.httpserver import SiteServer
from tests.monitor.test_web_browser import browser  # noqa: F401 - fixture
from tests.monitor.webarchive import Server
from tests.requisite_site import BRAND, serve
from tests.warcs import catalog_rows


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """(the UI server, the page's URL, its two captures' exact times, the stopped live hosts)."""
    site, cdn = SiteServer().start(), SiteServer("127.0.0.2").start()
    try:
        serve(site, cdn)
        config = write_config(
            tmp_path_factory.mktemp("ui"),
            [{"name": "ministry", "kind": "page", "urls": [site.url("/statement")]}],
        )
        crawl(config)
        crawl(config)  # the second pass: the page and its requisites as revisits
    finally:
        site.stop()
        cdn.stop()
    url = site.url("/statement")
    times = [r.exact for r in catalog_rows(config) if r.url == url]
    srv = Server(config)
    yield srv, url, times, (site.base, cdn.base)
    srv.stop()


@pytest.mark.parametrize("capture", [0, 1], ids=["first-pass", "second-pass-revisits"])
def test_the_snapshot_shows_the_page_styled_from_the_archive(browser, served, capture):  # noqa: F811
    srv, url, times, live = served
    context = browser.new_context()
    asked: list[str] = []
    context.on("request", lambda r: asked.append(r.url))
    page = context.new_page()
    try:
        page.goto(f"{srv.base}/snapshot/{times[capture]}/{url}", wait_until="load")
        frame = page.frame_locator("iframe.archived")
        headline = frame.locator(".brand")
        headline.wait_for()
        colour = headline.evaluate("e => getComputedStyle(e).color")
        logo = frame.locator("#logo")
        logo.evaluate("e => e.decode()")  # resolves once the image has loaded (rejects if not)
        width = logo.evaluate("e => e.naturalWidth")
        fonts = headline.evaluate(
            "async () => { await document.fonts.ready;"
            " return [...document.fonts].map(f => f.family + ' ' + f.status); }"
        )
        origin = headline.evaluate("() => String(self.origin)")
    finally:
        context.close()
    assert colour == BRAND  # only the archived stylesheet sets it
    assert width > 0 and fonts == ["Archived loaded"]  # both from the other host, archived
    assert origin == "null"  # still the sandbox's opaque origin
    assert not [u for u in asked if u.startswith(live)], asked
    assert all(u.startswith(srv.base + "/") for u in asked), asked
