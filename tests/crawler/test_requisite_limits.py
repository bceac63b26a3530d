"""Page requisites obey the crawl's limits as pages do (issue 13, item 1: "obeying robots.txt and
politeness, the size limit and the timeouts"): a page on 127.0.0.1 embeds an image larger than
`max_size`, a stylesheet whose server never answers within `download_timeout`, and eight images
that each take a moment to serve; with `concurrency_per_host = 2` the server never has more than
two of them in flight. The oversized and the hung requisites are failed captures with their
reason, no record stored, and the page is archived whatever became of its embeds."""

from __future__ import annotations

import pytest

from tests.conftest import crawl, write_config
from tests.httpserver import InFlight, SiteServer, hang, huge, page
from tests.requisite_site import PNG
from tests.warcs import all_records, catalog_rows, reason_of, warc_dir_of

IMAGES = [f"/img/{n}.png" for n in range(8)]
PAGE = (
    '<!doctype html><html><head><title>Limits</title><link rel="stylesheet" href="/slow.css">'
    "</head><body><article><h1>Requisites under the crawl's limits</h1>"
    '<img src="/huge.png">'
    + "".join(f'<img src="{p}">' for p in IMAGES)
    + "</article></body></html>"
)


@pytest.fixture(scope="module")
def limited(tmp_path_factory):
    site = SiteServer().start()
    slow = InFlight(PNG, content_type="image/png")
    try:
        site.routes["/robots.txt"] = page("User-agent: *\nAllow: /\n", content_type="text/plain")
        site.routes["/limits"] = page(PAGE)
        site.routes["/huge.png"] = huge(3 * 1024 * 1024)
        site.routes["/slow.css"] = hang(10)
        for path in IMAGES:
            site.routes[path] = slow
        config = write_config(
            tmp_path_factory.mktemp("limits"),
            [{"name": "limits", "urls": [site.url("/limits")]}],
            crawl={"max_size": "1MB", "download_timeout": 2, "concurrency_per_host": 2},
        )
        summary = crawl(config)
        yield site, config, summary, slow
    finally:
        site.stop()


def test_an_oversized_requisite_is_a_failed_capture_not_stored(limited):
    site, config, summary, _ = limited
    rows = {r.url: r for r in catalog_rows(config)}
    huge_row = rows[site.url("/huge.png")]
    assert huge_row.kind == "failed" and huge_row.purpose == "requisite"
    assert reason_of(huge_row) == "too-large"
    assert not [
        r
        for r in all_records(warc_dir_of(config))
        if r.uri == site.url("/huge.png") and r.type == "response"
    ]
    assert summary["requisites"]["failed"].get("too-large") == 1, summary


def test_a_hung_requisite_is_cut_off_at_the_download_timeout(limited):
    site, config, summary, _ = limited
    row = {r.url: r for r in catalog_rows(config)}[site.url("/slow.css")]
    assert row.kind == "failed" and reason_of(row) == "timeout"
    assert summary["requisites"]["failed"].get("timeout") == 1, summary


def test_requisites_keep_to_the_per_host_concurrency(limited):
    site, config, summary, slow = limited
    rows = {r.url: r for r in catalog_rows(config)}
    assert all(rows[site.url(p)].kind == "response" for p in IMAGES)
    assert slow.most <= 2


def test_the_page_is_archived_whatever_became_of_its_embeds(limited):
    site, config, summary, _ = limited
    rows = {r.url: r for r in catalog_rows(config)}
    assert rows[site.url("/limits")].kind == "response" and rows[site.url("/limits")].status == 200
    assert summary["fetched"] == 2 and summary["failed"] == {}, summary  # robots.txt and the page
