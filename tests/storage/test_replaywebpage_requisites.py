"""A page archived with its requisites replays styled in ReplayWeb.page too (issue 13, item 1:
"pywb and ReplayWeb.page replay the page styled"): the site of tests.requisite_site (the page and
its CSS on 127.0.0.1, the logo and the font on 127.0.0.2) is crawled, both servers are stopped,
the target is exported as a WACZ (`warcwatch export --target`) and served beside ReplayWeb.page's
published bundles (tests.storage.test_replaywebpage) in Debian's Chromium: the headline has the
colour only the archived stylesheet sets, the logo and the font from the other host have loaded,
and no request went to the stopped hosts.
"""

from __future__ import annotations

import time

import pytest

from tests.conftest import crawl, warcwatch, write_config
from tests.httpserver import SiteServer
from tests.requisite_site import BRAND, serve
from tests.storage.test_replaywebpage import _serve, chromium, replaywebpage  # noqa: F401

PROBE = """() => { const h = document.querySelector('.brand');
  const logo = document.getElementById('logo');
  if (document.body && document.body.innerText.startsWith('Directory listing for /replay/'))
    return 'unserved';
  if (!h || !logo) return null;
  return {colour: getComputedStyle(h).color, logo: logo.complete ? logo.naturalWidth : -1,
          fonts: [...document.fonts].map(f => f.family + ' ' + f.status)}; }"""


@pytest.fixture(scope="module")
def exported(replaywebpage, tmp_path_factory):  # noqa: F811
    tmp = tmp_path_factory.mktemp("rwp-requisites")
    site, cdn = SiteServer().start(), SiteServer("127.0.0.2").start()
    try:
        serve(site, cdn)
        url = site.url("/statement")
        config = write_config(tmp, [{"name": "ministry", "kind": "page", "urls": [url]}])
        crawl(config)
    finally:
        site.stop()  # replay must not touch the live hosts
        cdn.stop()
    web = tmp / "web"
    (web / "replay").mkdir(parents=True)
    warcwatch(
        "export", "--config", str(config), "--out", str(web / "a.wacz"), "--target", "ministry"
    )
    (web / "ui.js").write_bytes((replaywebpage / "ui.js").read_bytes())
    (web / "replay" / "sw.js").write_bytes((replaywebpage / "sw.js").read_bytes())
    (web / "index.html").write_text(
        '<!doctype html><html><head><script src="/ui.js"></script></head><body>'
        f'<replay-web-page source="/a.wacz" url="{url}" replayBase="/replay/" embed="replayonly">'
        "</replay-web-page></body></html>"
    )
    server = _serve(web)
    yield f"http://127.0.0.1:{server.server_address[1]}", (site.base, cdn.base)
    server.shutdown()


def test_the_page_replays_styled_in_replaywebpage(exported):
    base, live = exported
    with chromium() as tab:
        asked: list[str] = []
        tab.context.on("request", lambda r: asked.append(r.url))
        tab.goto(base + "/index.html")
        seen, deadline = None, time.monotonic() + 60
        while time.monotonic() < deadline:
            for frame in tab.frames:
                try:
                    got = frame.evaluate(PROBE)
                except Exception:  # noqa: BLE001 - a frame navigating away; look again
                    continue
                if got == "unserved":
                    # the frame loaded before ReplayWeb.page's service worker took control (see
                    # test_replaywebpage.wait_for_sentence)
                    tab.reload()
                    break
                if got and got["logo"] > 0 and got["fonts"] == ["Archived loaded"]:
                    seen = got
            if seen and seen["colour"] == BRAND:
                break
            time.sleep(0.5)
    assert seen is not None, "the archived page never showed with its logo and font"
    assert seen["colour"] == BRAND  # only the archived stylesheet sets it
    assert not [u for u in asked if u.startswith(live)], asked
