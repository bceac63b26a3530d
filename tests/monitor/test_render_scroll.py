"""`render_scroll`: a rendered page scrolled down before it is taken, so that what it loads as it
is scrolled is in the DOM, the archive and the screenshot (issue 13, item 2: "configurable
wait/scroll"). The page, on 127.0.0.1, is taller than the browser's window; an
IntersectionObserver on a marker at its end fetches the next chunk of articles (a JSON file) and
appends it, with a lazy image in the last, and a new marker after it: three chunks in all, as an
endless feed loads. Targets over the same page (each at its own URL), crawled by `warcwatch
crawl` in Debian's Chromium:

| target | render_scroll | what the DOM holds                                  |
|--------|---------------|-----------------------------------------------------|
| still  | (none)        | the first screen only: no chunk                     |
| one    | 1             | one screen down: the marker is not yet in view      |
| auto   | "auto"        | every chunk (the page grew twice), the lazy image   |
"""

from __future__ import annotations

import json
import shutil
import struct

import pytest
from warcio.archiveiterator import ArchiveIterator

from tests.conftest import crawl, write_config
from tests.httpserver import SiteServer, page

pytestmark = pytest.mark.skipif(
    shutil.which("chromium") is None, reason="Debian's chromium is not installed"
)

FEED = """<!doctype html><html><head><title>Feed</title></head><body style="margin:0">
<main id="feed"><h1>Latest statements</h1><div style="height:2000px">The first screen.</div>
<p id="more">More below</p></main>
<script>
var loaded = 0;
var seen = new IntersectionObserver(function (entries) {
  if (!entries.some(function (e) { return e.isIntersecting; })) return;
  var marker = document.getElementById("more");
  seen.unobserve(marker);
  loaded += 1;
  fetch("/chunk-" + loaded + ".json").then(function (r) { return r.json(); }).then(function (d) {
    var s = document.createElement("section");
    s.innerHTML = "<p>" + d.text + "</p>" + (d.image ? '<img id="lazy" src="' + d.image + '">' : "")
      + '<div style="height:1500px"></div>';
    marker.before(s);
    if (loaded < 3) seen.observe(marker); else marker.remove();
  });
});
seen.observe(document.getElementById("more"));
</script></body></html>"""

CHUNKS = {
    1: {"text": "Statement one: the council met on Monday."},
    2: {"text": "Statement two: the budget was adopted."},
    3: {"text": "Statement three: the session closed.", "image": "/lazy.png"},
}
# a 1x1 PNG
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201a5f6b4"
    "c50000000049454e44ae426082"
)


@pytest.fixture(scope="module")
def crawled(tmp_path_factory):
    site = SiteServer().start()
    try:
        site.routes["/robots.txt"] = page("User-agent: *\nAllow: /\n", content_type="text/plain")
        for name in ("still", "one", "auto"):
            site.routes[f"/{name}"] = page(FEED)
        for n, chunk in CHUNKS.items():
            site.routes[f"/chunk-{n}.json"] = page(
                json.dumps(chunk), content_type="application/json"
            )
        site.routes["/lazy.png"] = page(PNG, content_type="image/png")
        tmp = tmp_path_factory.mktemp("scroll")
        targets = [
            {"name": "still", "urls": [site.url("/still")], "render": True, "render_wait": 5},
            {"name": "one", "urls": [site.url("/one")], "render": True, "render_scroll": 1},
            {"name": "auto", "urls": [site.url("/auto")], "render": True, "render_scroll": "auto"},
        ]
        config = write_config(tmp, targets)
        crawl(config)
        records = {}
        for path in sorted((tmp / "archive" / "warcs").glob("*.warc.gz")):
            with open(path, "rb") as f:
                for rec in ArchiveIterator(f):
                    uri = rec.rec_headers.get_header("WARC-Target-URI")
                    records.setdefault((rec.rec_type, uri), rec.content_stream().read())
        yield site, records, [p for p, _ in site.requests]
    finally:
        site.stop()


def _dom(records, site, name) -> str:
    return records[("resource", "urn:dom:" + site.url(f"/{name}"))].decode()


def _png_height(png: bytes) -> int:
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    return struct.unpack(">I", png[20:24])[0]  # IHDR: width, then height


def test_without_a_scroll_only_the_first_screen_is_loaded(crawled):
    site, records, _ = crawled
    dom = _dom(records, site, "still")
    assert "The first screen." in dom
    assert not any(c["text"] in dom for c in CHUNKS.values())


def test_one_screen_down_does_not_reach_the_marker(crawled):
    site, records, _ = crawled
    dom = _dom(records, site, "one")
    assert not any(c["text"] in dom for c in CHUNKS.values())


def test_auto_scrolls_to_the_bottom_as_the_page_grows(crawled):
    site, records, asked = crawled
    dom = _dom(records, site, "auto")
    for chunk in CHUNKS.values():
        assert chunk["text"] in dom
    assert 'id="lazy"' in dom and "More below" not in dom  # the feed's end reached
    # what the scroll made the page fetch crossed the wire through the crawl, and is archived
    for path in ("/chunk-1.json", "/chunk-2.json", "/chunk-3.json", "/lazy.png"):
        assert path in asked
        assert ("response", site.url(path)) in records, path
    # the screenshot is the whole grown page (2000 + 3 x 1500 px), taken from the top
    shot = records[("resource", "urn:screenshot:" + site.url("/auto"))]
    still = records[("resource", "urn:screenshot:" + site.url("/still"))]
    assert _png_height(shot) >= 6500 > _png_height(still)
