"""A page archived with its requisites replays styled in pywb (issue 13, item 1).

The site of tests.requisite_site (pages and CSS on 127.0.0.1, the logo and the font on 127.0.0.2)
is crawled twice (the second pass stores its requisites as revisits), both servers are stopped,
and pywb (its own venv, tests/toolvenv.py) replays the
archive inside Debian's Chromium driven by Playwright: the headline has the colour only the
archived stylesheet sets, the logo and the font from the other host have loaded (naturalWidth >
0, document.fonts), and every
request the browser made went to pywb.
"""

from __future__ import annotations

import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import crawl, write_config
from tests.httpserver import SiteServer
from tests.requisite_site import BRAND, serve
from tests.storage.test_pywb import free_port, tool
from tests.toolvenv import tool_venv
from tests.warcs import catalog_rows, warc_dir_of

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture(scope="module")
def replayed(tmp_path_factory):
    """(pywb's base URL, the page's URL, the timestamps of its two captures)."""
    site, cdn = SiteServer().start(), SiteServer("127.0.0.2").start()
    try:
        serve(site, cdn)
        config = write_config(
            tmp_path_factory.mktemp("site"),
            [{"name": "ministry", "kind": "page", "urls": [site.url("/statement")]}],
        )
        crawl(config)
        second = crawl(config)
        assert second["requisites"]["revisits"] == 5, second
    finally:
        site.stop()
        cdn.stop()
    url = site.url("/statement")
    times = [r.timestamp for r in catalog_rows(config) if r.url == url]

    bin_dir = tool_venv("pywb", "pywb>=2.8")
    root = tmp_path_factory.mktemp("pywb")
    tool(bin_dir, "wb-manager", "init", "site", cwd=root)
    warcs = sorted(warc_dir_of(config).glob("*.warc.gz"))
    tool(bin_dir, "wb-manager", "add", "site", *map(str, warcs), cwd=root)
    (root / "config.yaml").write_text("framed_replay: false\n")
    port = free_port()
    log = open(root / "wayback.log", "wb")
    proc = subprocess.Popen(
        [str(bin_dir / "wayback"), "-p", str(port), "-b", "127.0.0.1"],
        cwd=root,
        stdout=log,
        stderr=log,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(base + "/", timeout=2).read()
            break
        except (urllib.error.URLError, ConnectionError, OSError):
            if proc.poll() is not None or time.monotonic() > deadline:
                log.close()
                raise AssertionError(
                    "wayback did not start:\n" + (root / "wayback.log").read_text()
                ) from None
            time.sleep(0.2)
    yield base, url, times
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@pytest.mark.parametrize("capture", [0, 1], ids=["first-pass", "second-pass-revisits"])
def test_the_page_replays_styled_from_the_archive(replayed, capture):
    from playwright.sync_api import sync_playwright

    base, url, times = replayed
    ts = times[capture]
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} missing: scripts/test installs Debian's chromium"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page()
            asked: list[str] = []
            page.on("request", lambda r: asked.append(r.url))
            page.goto(f"{base}/site/{ts}/{url}", wait_until="load")
            colour = page.eval_on_selector(".brand", "e => getComputedStyle(e).color")
            width = page.eval_on_selector("#logo", "e => e.complete ? e.naturalWidth : -1")
            fonts = page.evaluate(
                "async () => { await document.fonts.ready;"
                " return [...document.fonts].map(f => f.family + ' ' + f.status); }"
            )
        finally:
            browser.close()
    assert colour == BRAND  # only the archived stylesheet sets it
    assert width > 0  # the logo, archived from the other host, loaded
    assert fonts == ["Archived loaded"]  # and the font the archived stylesheet names
    assert asked and all(u.startswith(base + "/") for u in asked), [
        u for u in asked if not u.startswith(base)
    ]
