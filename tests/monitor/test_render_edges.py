"""Two sentences of issue 13 on real passes in Debian's Chromium, a server on 127.0.0.1:

* `screenshot = true` without `render` (item 3: "optionally for all HTML captures"): the page is
  loaded in the browser for its screenshot, stored as a resource record with its DOM, but what
  is monitored is its HTML as served: a script's line is in no version, an edit of the HTML is a
  change, and the web UI shows the snapshot as served, the screenshot beside it.
* The load settles "with a cap" (item 2): a page whose script keeps a request open longer than
  `render_wait` is taken as it is when the cap is reached: its DOM holds what the script wrote
  before, and the pass goes on (the hung request fails as a requisite, at the download timeout).
"""

from __future__ import annotations

import shutil

import pytest

from tests.conftest import crawl, write_config
from tests.httpserver import SiteServer, hang, page
from tests.monitor.pages import events_of
from tests.warcs import all_records, catalog_rows, reason_of, warc_dir_of

pytestmark = pytest.mark.skipif(
    shutil.which("chromium") is None, reason="Debian's chromium is not installed"
)

STATIC = """<!doctype html><html><head><title>Notice</title></head><body><article id="a">
<h1>Office hours</h1><p>The registry is open from nine to five on weekdays.</p>
<p>Appointments are made by telephone.</p></article>
<script>var p = document.createElement('p'); p.textContent = 'A scripted greeting line.';
document.getElementById('a').append(p);</script></body></html>"""

BUSY = """<!doctype html><html><head><title>Live</title></head><body><article id="a">
<h1>Live results</h1><p id="status">Waiting.</p></article>
<script>document.getElementById('status').textContent = 'Results are being counted.';
fetch('/hang').then(function () { document.getElementById('status').textContent = 'Done.'; });
</script></body></html>"""


@pytest.fixture(scope="module")
def passes(tmp_path_factory):
    site = SiteServer().start()
    try:
        site.routes["/robots.txt"] = page("User-agent: *\nAllow: /\n", content_type="text/plain")
        site.routes["/notice"] = page(STATIC)
        site.routes["/live"] = page(BUSY)
        site.routes["/hang"] = hang(8)
        tmp = tmp_path_factory.mktemp("edges")
        config = write_config(
            tmp,
            [
                {"name": "shots", "urls": [site.url("/notice")], "screenshot": True},
                {"name": "busy", "urls": [site.url("/live")], "render": True, "render_wait": 1},
            ],
        )
        first = crawl(config)
        site.routes["/notice"] = page(STATIC.replace("nine to five", "ten to four"))
        crawl(config, "shots")
        yield site, config, first
    finally:
        site.stop()


def _resources(config, uri):
    return [r for r in all_records(warc_dir_of(config)) if r.type == "resource" and r.uri == uri]


def test_a_screenshot_only_target_stores_the_screenshot_and_monitors_the_html(passes):
    site, config, _ = passes
    url = site.url("/notice")
    shots = _resources(config, "urn:screenshot:" + url)
    doms = _resources(config, "urn:dom:" + url)
    # a fetch per pass, and the second pass's confirmation fetches of its change
    assert len(shots) == len(doms) >= 2
    assert all(s.payload.startswith(b"\x89PNG") for s in shots)
    assert b"A scripted greeting line." in doms[0].payload
    events = [e for e in events_of(config) if e["target"] == "shots"]
    assert [e["kind"] for e in events] == ["changed"]
    summary = events[0]["summary"]
    assert any("ten to four" in line for line in summary["added"])
    assert not any("scripted" in line for line in summary["added"] + summary["removed"])
    from sqlalchemy import create_engine, select
    from sqlalchemy.orm import Session

    from monitor.config import load_config
    from storage.models import Version

    engine = create_engine(load_config(config).archive.database_url)
    with Session(engine) as s:
        texts = [v.text for v in s.scalars(select(Version).where(Version.url == url))]
    engine.dispose()
    assert texts and all("scripted greeting" not in t for t in texts)  # the HTML's text


def test_the_ui_shows_a_screenshot_only_capture_as_served(passes):
    from tests.monitor.webarchive import Server

    site, config, _ = passes
    page_row = next(
        r for r in catalog_rows(config) if r.url == site.url("/notice") and r.purpose is None
    )
    srv = Server(config)
    try:
        status, _, html = srv.get(f"/capture/{page_row.id}")
        _, _, rendered = srv.get(f"/capture/{page_row.id}?view=rendered")
        _, _, text = srv.get(f"/capture/{page_row.id}/text")
    finally:
        srv.stop()
    assert status == 200
    assert f'src="/raw/capture/{page_row.id}"'.encode() in html  # as served, by default
    assert f'<img src="/capture/{page_row.id}/screenshot"'.encode() in html
    assert f'src="/raw/dom/{page_row.id}"'.encode() in rendered  # the DOM, when asked for
    assert b"scripted greeting" not in text


def test_a_page_that_never_settles_is_taken_at_the_cap(passes):
    site, config, first = passes
    url = site.url("/live")
    doms = _resources(config, "urn:dom:" + url)
    assert len(doms) == 1
    assert b'<p id="status">Results are being counted.</p>' in doms[0].payload
    hung = [r for r in catalog_rows(config) if r.url == site.url("/hang")]
    assert [(r.kind, r.purpose, reason_of(r)) for r in hung] == [("failed", "requisite", "timeout")]
    assert first["requisites"]["failed"] == {"timeout": 1} and first["failed"] == {}, first
