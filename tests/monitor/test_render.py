"""A page whose article text a script writes, monitored by what Chromium shows (`render = true`),
over real passes (`warcwatch crawl`) of a server on 127.0.0.1, with Debian's Chromium:

| pass | the site                                                         | events  |
|------|------------------------------------------------------------------|---------|
| 1    | the page's script fetches /story.json and writes the article     | none    |
| 2    | the script rewritten (other code, the same text written)         | none    |
| 3    | a sentence of /story.json edited (the page's HTML unchanged)     | changed |

The page's HTML is the same in every pass (a revisit after the first, and its server would answer
a conditional GET with 304): only the rendered DOM can tell. Every request the browser made is in
the WARC, as a response record; the DOM and the screenshot are resource records WARC-Concurrent-To
the page's record, and the web UI shows the screenshots beside the snapshot and the diff.
"""

from __future__ import annotations

import json
import shutil

import pytest
from warcio.archiveiterator import ArchiveIterator

from tests.conftest import crawl, write_config
from tests.httpserver import SiteServer, page
from tests.monitor.pages import events_of

pytestmark = pytest.mark.skipif(
    shutil.which("chromium") is None, reason="Debian's chromium is not installed"
)

SHELL = """<!doctype html><html><head><title>Portal</title>
<link rel="stylesheet" href="/style.css"></head>
<body><nav>Ministry portal</nav><main><article id="story">Loading…</article></main>
<script src="/app.js"></script>
<script>try { new WebSocket("ws://" + location.host + "/live"); } catch (e) {}</script>
</body></html>"""

APP_V1 = """fetch('/story.json').then(function (r) { return r.json(); }).then(function (d) {
  var a = document.getElementById('story');
  a.innerHTML = '<h1>' + d.title + '</h1>' + d.paragraphs.map(function (p) {
    return '<p>' + p + '</p>'; }).join('');
});"""
# the same text written by other code: a cosmetic change of the script
APP_V2 = """// v2: rewritten with async/await
(async () => {
  const data = await (await fetch('/story.json')).json();
  const article = document.querySelector('#story');
  article.replaceChildren();
  const h = document.createElement('h1'); h.textContent = data.title; article.append(h);
  for (const text of data.paragraphs) {
    const p = document.createElement('p'); p.textContent = text; article.append(p);
  }
})();"""

STORY = {
    "title": "New water rules for the northern districts",
    "paragraphs": [
        "The ministry announced on Tuesday that irrigation quotas will be cut by 20 percent.",
        "Farmers will be compensated from a regional fund.",
        "The rules take effect on the first of June.",
    ],
}
EDITED = {
    **STORY,
    "paragraphs": [
        STORY["paragraphs"][0].replace("20 percent", "35 percent"),
        *STORY["paragraphs"][1:],
    ],
}


def _json(data) -> bytes:
    return json.dumps(data).encode()


@pytest.fixture(scope="module")
def passes(tmp_path_factory):
    site = SiteServer().start()
    try:
        site.routes["/robots.txt"] = page("User-agent: *\nAllow: /\n", content_type="text/plain")
        # the shell answers If-None-Match with 304: a rendered page must still be fetched whole
        site.routes["/portal"] = page(SHELL, etag='"shell-1"')
        site.routes["/style.css"] = page("article { color: #123456 }", content_type="text/css")
        tmp = tmp_path_factory.mktemp("render")
        config = write_config(
            tmp,
            [
                # listed first, a target reading the HTML fetches the page for both: the DOM and
                # screenshot reach the rendered target by attribution
                {"name": "mirror", "urls": [site.url("/portal")]},
                {"name": "portal", "urls": [site.url("/portal")], "render": True, "render_wait": 5},
            ],
        )
        served = {
            1: (APP_V1, STORY),
            2: (APP_V2, STORY),
            3: (APP_V2, EDITED),
        }
        runs, seen, requests = {}, 0, {}
        for n, (app, story) in served.items():
            site.routes["/app.js"] = page(app, content_type="application/javascript")
            site.routes["/story.json"] = page(
                _json(story).decode(), content_type="application/json"
            )
            before = len(site.requests)
            crawl(config)
            requests[n] = [path for path, _ in site.requests[before:]]
            events = events_of(config)
            runs[n] = events[seen:]
            seen = len(events)
        yield site, tmp / "archive", runs, requests, config
    finally:
        site.stop()


def _records(archive_dir):
    out = []
    for path in sorted((archive_dir / "warcs").glob("*.warc.gz")):
        with open(path, "rb") as f:
            for rec in ArchiveIterator(f):
                body = rec.content_stream().read()
                out.append((rec.rec_type, rec.rec_headers, body))
    return out


def test_a_cosmetic_script_change_raises_nothing(passes):
    _, _, runs, _, _ = passes
    assert runs[1] == []
    assert runs[2] == []


def test_an_edit_inside_the_scripted_text_is_a_change(passes):
    _, _, runs, _, _ = passes
    assert [e["kind"] for e in runs[3]] == ["changed"]
    summary = runs[3][0]["summary"]
    assert any("35 percent" in line for line in summary["added"])
    assert any("20 percent" in line for line in summary["removed"])


def test_every_request_the_browser_made_is_archived(passes):
    site, archive_dir, _, requests, _ = passes
    # the script's own fetch: only a browser running the page asks for it
    assert "/story.json" in requests[1] and "/app.js" in requests[1]
    archived = {
        h.get_header("WARC-Target-URI")
        for kind, h, _ in _records(archive_dir)
        if kind == "response"
    }
    for n in (1, 2, 3):
        for path in requests[n]:
            assert site.url(path) in archived, path
    # a WebSocket is no HTTP exchange the crawl can archive: the browser never opens it
    assert all("/live" not in path for n in requests for path in requests[n])
    # the page is fetched once per fetch (by Scrapy), not again by the browser
    assert requests[1].count("/portal") == 1


def test_the_dom_and_screenshot_are_resource_records_concurrent_to_the_page(passes):
    site, archive_dir, _, _, _ = passes
    records = _records(archive_dir)
    pages = {
        h.get_header("WARC-Record-ID")
        for kind, h, _ in records
        if kind in ("response", "revisit")
        and h.get_header("WARC-Target-URI") == site.url("/portal")
    }
    doms = [
        (h, b)
        for k, h, b in records
        if k == "resource" and h.get_header("WARC-Target-URI") == "urn:dom:" + site.url("/portal")
    ]
    shots = [
        (h, b)
        for k, h, b in records
        if k == "resource"
        and h.get_header("WARC-Target-URI") == "urn:screenshot:" + site.url("/portal")
    ]
    assert len(doms) >= 3 and len(shots) == len(doms)
    for h, _ in doms + shots:
        assert h.get_header("WARC-Concurrent-To") in pages
        assert h.get_header("WARC-Payload-Digest") or h.get_header("WARC-Block-Digest")
    assert all(h.get_header("Content-Type").startswith("text/html") for h, _ in doms)
    assert STORY["paragraphs"][1].encode() in doms[0][1]  # the script's text, not "Loading…"
    assert b"Loading" not in doms[0][1]
    for h, body in shots:
        assert h.get_header("Content-Type") == "image/png"
        assert body.startswith(b"\x89PNG\r\n\x1a\n")


@pytest.mark.parametrize("current_rules", [False, True])
def test_diff_compares_the_rendered_texts(passes, current_rules):
    # by URL (the page's HTML is one payload throughout: its fetches are the versions) and by the
    # event's captures, with the recorded rules and re-extracted under today's
    from monitor.config import load_config
    from monitor.diffview import version_pair
    from storage.catalog import open_catalog

    site, _, runs, _, config_path = passes
    config = load_config(config_path)
    engine = open_catalog(config.archive.database_url)
    event = runs[3][0]
    try:
        for pair in (
            version_pair(engine, config, site.url("/portal"), current_rules=current_rules),
            version_pair(
                engine,
                config,
                from_id=event["from_capture"],
                to_id=event["to_capture"],
                current_rules=current_rules,
            ),
        ):
            assert any("35 percent" in line for line in pair.diff.added)
            assert any("20 percent" in line for line in pair.diff.removed)
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def ui(passes):
    from tests.monitor.webarchive import Server

    srv = Server(passes[4])
    yield srv
    srv.stop()


def test_the_snapshot_shows_the_screenshot_beside_it(passes, ui):
    site, archive_dir, runs, _, _ = passes
    to = runs[3][0]["to_capture"]
    status, _, html = ui.get(f"/capture/{to}")
    assert status == 200
    assert f'<img src="/capture/{to}/screenshot"'.encode() in html
    status, headers, png = ui.get(f"/capture/{to}/screenshot")
    assert status == 200 and headers["Content-Type"] == "image/png"
    assert headers["X-Content-Type-Options"] == "nosniff"
    shots = [
        body
        for kind, h, body in _records(archive_dir)
        if kind == "resource" and h.get_header("WARC-Target-URI").startswith("urn:screenshot:")
    ]
    assert png in shots


def test_the_diff_of_a_change_shows_the_screenshots_before_and_after(passes, ui):
    _, _, runs, _, _ = passes
    event = runs[3][0]
    old, new = event["from_capture"], event["to_capture"]
    status, _, html = ui.get(f"/diff?from_id={old}&to_id={new}")
    assert status == 200
    assert html.index(f'src="/capture/{old}/screenshot"'.encode()) < html.index(
        f'src="/capture/{new}/screenshot"'.encode()
    )
    for c in (old, new):
        status, headers, png = ui.get(f"/capture/{c}/screenshot")
        assert status == 200 and png.startswith(b"\x89PNG")


def test_a_capture_without_a_screenshot_has_none(passes, ui):
    site, _, _, _, config = passes
    status, _, html = ui.get("/capture/1/screenshot")  # robots.txt, fetched first
    assert status == 404 and b"no screenshot" in html


def test_a_rendered_targets_page_that_is_no_html_is_read_from_its_payload(tmp_path):
    # no browser loads a plain-text notice: its own text is compared, as without `render`
    site = SiteServer().start()
    try:
        site.routes["/robots.txt"] = page("User-agent: *\nAllow: /\n", content_type="text/plain")
        notice = "Notice 12/2026\nThe office is closed on Friday.\nAppointments move to Monday.\n"
        site.routes["/notice.txt"] = page(notice, content_type="text/plain; charset=utf-8")
        config = write_config(
            tmp_path, [{"name": "notices", "urls": [site.url("/notice.txt")], "render": True}]
        )
        crawl(config)
        site.routes["/notice.txt"] = page(
            notice.replace("Friday", "Thursday"), content_type="text/plain; charset=utf-8"
        )
        crawl(config)
        assert [e["kind"] for e in events_of(config)] == ["changed"]
    finally:
        site.stop()


def _page_fetches(config_path, url):
    """The rendered target's fetches of `url` (one per pass, oldest first): (exact time, id)."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from monitor.config import load_config
    from storage.catalog import open_catalog
    from storage.models import Capture

    engine = open_catalog(load_config(config_path).archive.database_url)
    try:
        with Session(engine) as s:
            rows = s.scalars(
                select(Capture)
                .where(Capture.url == url, Capture.target == "portal", Capture.purpose.is_(None))
                .order_by(Capture.id)
            ).all()
            return [(c.exact, c.id) for c in rows]
    finally:
        engine.dispose()


def test_diff_by_time_compares_the_doms_of_the_captures_at_those_times(passes):
    # passes 2 and 3 fetched the same HTML (revisits of pass 1's response): by time, each pass's
    # own DOM is compared, never pass 1's DOM (the revisit's origin) nor the HTML's empty text
    from tests.conftest import warcwatch

    site, _, _, _, config = passes
    url = site.url("/portal")
    (t1, _), (t2, _), (t3, _) = _page_fetches(config, url)[:3]
    edit = ("35 percent", "20 percent")
    for old, new, changed in ((t1, t3, True), (t2, t3, True), (t1, t2, False)):
        out = warcwatch("diff", url, "--config", str(config), "--from", old, "--to", new).stdout
        out = " ".join(out.split())  # rich wraps long lines at the terminal's width
        if changed:
            assert "+ " in out and edit[0] in out and edit[1] in out, out
        else:
            assert "(no difference in the text)" in out, out
        assert "Loading" not in out
    # --to alone: the newest capture at or before it, compared with the version before
    out = warcwatch("diff", url, "--config", str(config), "--to", t2).stdout
    assert edit[0] not in out


def test_the_snapshot_shows_the_rendered_dom_styled_from_the_archive(passes, ui):
    # in Chromium: the snapshot of a rendered fetch is its DOM (the script's text, which the HTML
    # has not), its stylesheet from the archive, no script of it running again, still sandboxed;
    # "as served" is the HTML; the screenshot beside it and both in the change's diff load
    from tests.monitor.test_web_browser import ARGS, CHROMIUM

    site, _, runs, _, _ = passes
    event = runs[3][0]
    old, new = event["from_capture"], event["to_capture"]
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context()
        asked: list[str] = []
        context.on("request", lambda r: asked.append(r.url))
        page = context.new_page()
        try:
            page.goto(f"{ui.base}/capture/{new}", wait_until="load")
            assert page.locator(".snap-view b").text_content() == "As rendered"
            frame = page.frame_locator("iframe.archived")
            story = frame.locator("#story")
            story.locator("h1").wait_for()
            text = story.text_content()
            colour = story.evaluate("e => getComputedStyle(e).color")
            headlines = story.locator("h1").count()
            origin = story.evaluate("() => String(self.origin)")
            shot = page.locator("figure.screenshot img")
            shot.evaluate("e => e.decode()")  # rejects unless the PNG loaded
            shot_width = shot.evaluate("e => e.naturalWidth")

            page.click(".snap-view a")  # as served: the HTML, whose article says "Loading…"
            page.wait_for_url(f"{ui.base}/capture/{new}?view=served")
            served = page.frame_locator("iframe.archived").locator("#story")
            served.wait_for()
            served_text = served.text_content()

            page.goto(f"{ui.base}/capture/{new}/text")
            extracted = page.locator("article.text").text_content()

            page.goto(f"{ui.base}/capture/{new}")
            page.click("text=Diff with previous version")
            page.wait_for_url("**/diff?**")
            diff_text = " ".join(page.locator("main").text_content().split())
            shots = page.locator("figure.screenshot img")
            widths = [
                shots.nth(i).evaluate("e => e.decode().then(() => e.naturalWidth)") for i in (0, 1)
            ]
            srcs = [shots.nth(i).get_attribute("src") for i in (0, 1)]
        finally:
            context.close()
            browser.close()
    assert "35 percent" in text and "Loading" not in text
    assert headlines == 1  # the DOM as taken: no script ran again to write it twice
    assert colour == "rgb(18, 52, 86)"  # #123456: only the archived style.css sets it
    assert origin == "null"  # the sandbox's opaque origin
    assert shot_width > 0
    assert "Loading" in served_text and "35 percent" not in served_text
    assert "35 percent" in extracted  # the text page reads the DOM, as the monitor does
    assert "35 percent" in diff_text and "20 percent" in diff_text
    assert srcs == [f"/capture/{old}/screenshot", f"/capture/{new}/screenshot"]
    assert all(w > 0 for w in widths)
    assert all(u.startswith(ui.base + "/") for u in asked), [
        u for u in asked if not u.startswith(ui.base)
    ]
    assert not [u for u in asked if u.startswith(site.base)]  # never the live site


@pytest.mark.parametrize("how", ["url", "target", "wacz"])
def test_export_carries_the_dom_and_screenshot_with_their_page(passes, tmp_path, how):
    import zipfile

    from tests.conftest import warcwatch

    site, _, _, _, config = passes
    url = site.url("/portal")
    out = tmp_path / ("portal.wacz" if how == "wacz" else "portal.warc.gz")
    args = ["--url", url] if how != "target" else ["--target", "portal"]
    warcwatch("export", "--config", str(config), "--out", str(out), *args)
    if how == "wacz":
        with zipfile.ZipFile(out) as z:
            warcs = [n for n in z.namelist() if n.endswith(".warc.gz")]
            (tmp_path / "data.warc.gz").write_bytes(b"".join(z.read(n) for n in warcs))
            pages = [
                json.loads(line)["url"] for line in z.read("pages/pages.jsonl").splitlines()[1:]
            ]
        assert pages and all(not p.startswith("urn:") for p in pages)  # entry points: the page
        out = tmp_path / "data.warc.gz"
    with open(out, "rb") as f:
        recs = [
            (r.rec_type, r.rec_headers.get_header("WARC-Target-URI"), r.rec_headers)
            for r in ArchiveIterator(f)
        ]
    pages = {h.get_header("WARC-Record-ID") for k, u, h in recs if u == url and k != "request"}
    for prefix in ("urn:dom:", "urn:screenshot:"):
        rendered = [h for k, u, h in recs if k == "resource" and u == prefix + url]
        assert len(rendered) >= 3, (prefix, how)  # one per pass
        assert all(h.get_header("WARC-Concurrent-To") in pages for h in rendered)


def test_the_ui_diff_by_time_compares_the_doms_at_those_times(passes, ui):
    from urllib.parse import urlencode

    site, _, _, _, config = passes
    url = site.url("/portal")
    (t1, id1), (t2, id2), (t3, id3) = _page_fetches(config, url)[:3]
    status, _, html = ui.get("/diff?" + urlencode({"url": url, "from": t2, "to": t3}))
    assert status == 200
    assert b"35" in html and b"20" in html and b"Loading" not in html
    # the fetches at those times, each with its own screenshot
    assert f'src="/capture/{id2}/screenshot"'.encode() in html
    assert f'src="/capture/{id3}/screenshot"'.encode() in html
    status, _, html = ui.get("/diff?" + urlencode({"url": url, "from": t1, "to": t2}))
    assert status == 200 and b"No difference in the text" in html
