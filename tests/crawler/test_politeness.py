"""Politeness and conditional GET, over two passes of one watchlist: robots.txt is obeyed (for our
user agent) and a denial is a failed capture; the configured user agent is what servers see; the
second pass sends the stored validators and archives each 304 as a server-not-modified revisit."""

from __future__ import annotations

import time
from email.utils import formatdate

import pytest

from storage.records import SERVER_NOT_MODIFIED
from tests.conftest import crawl, write_config
from tests.httpserver import SiteServer, page
from tests.warcs import all_records, catalog_rows, reason_of, warc_dir_of

UA = "wwtest/2.0 (+https://example.org/our-crawler)"
ROBOTS = "User-agent: otherbot\nDisallow: /\n\nUser-agent: wwtest\nDisallow: /private/\n"
LAST_MODIFIED = time.time() - 86400
PRIVATE = ["/private/1", "/private/2", "/private/3", "/private/4"]


@pytest.fixture(scope="module")
def two_passes(tmp_path_factory):
    s = SiteServer().start()
    # robots.txt has an ETag too: it must still be fetched whole (a 304 would read as "allow all")
    s.routes["/robots.txt"] = page(ROBOTS, content_type="text/plain", etag='"r1"')
    s.routes["/open"] = page("<html><body>open</body></html>")
    s.routes["/etag"] = page("<html><body>etag</body></html>", etag='"v1"')
    s.routes["/lm"] = page("<html><body>last-modified</body></html>", last_modified=LAST_MODIFIED)
    for p in PRIVATE:
        s.routes[p] = page("<html><body>secret</body></html>")
    # denied pages first and last: all of them wait for robots.txt together with the others
    urls = [
        s.url(p) for p in (PRIVATE[0], "/open", PRIVATE[1], "/etag", "/lm", PRIVATE[2], PRIVATE[3])
    ]
    config = write_config(
        tmp_path_factory.mktemp("politeness"),
        [{"name": "polite", "urls": urls}],
        crawl={"user_agent": UA},
    )
    first = crawl(config)
    requests_first = list(s.requests)
    second = crawl(config)
    yield s, config, first, second, requests_first
    s.stop()


def test_robots_denial_is_a_failed_capture(two_passes):
    s, config, first, second, _ = two_passes
    assert [p for p, _ in s.requests if p.startswith("/private/")] == []
    rows = catalog_rows(config)
    for path in PRIVATE:
        denied = [r for r in rows if r.url == s.url(path)]
        assert [(r.kind, reason_of(r), r.warc_file) for r in denied] == [
            ("failed", "robots-denied", None)
        ] * 2
    assert first["failed"] == second["failed"] == {"robots-denied": len(PRIVATE)}


def test_allowed_pages_are_archived(two_passes):
    s, config, *_ = two_passes
    rows = catalog_rows(config)
    assert [r.kind for r in rows if r.url == s.url("/open")] == ["response", "revisit"]


def test_configured_user_agent_is_sent(two_passes):
    s, config, *_ = two_passes
    assert s.requests, "nothing was fetched"
    assert {h.get("User-Agent") for _, h in s.requests} == {UA}
    requests = [r for r in all_records(warc_dir_of(config)) if r.type == "request"]
    assert requests and {r.http_header("User-Agent") for r in requests} == {UA}
    infos = [r for r in all_records(warc_dir_of(config)) if r.type == "warcinfo"]
    assert infos and all(f"http-header-user-agent: {UA}".encode() in r.block for r in infos)


def test_robots_txt_is_fetched_unconditionally(two_passes):
    s, *_ = two_passes
    robots = s.hits("/robots.txt")
    assert len(robots) == 2
    assert not any("If-None-Match" in h or "If-Modified-Since" in h for h in robots)


def test_first_pass_sends_no_validators(two_passes):
    *_, requests_first = two_passes
    assert not [p for p, h in requests_first if "If-None-Match" in h or "If-Modified-Since" in h]


def test_second_pass_sends_stored_validators(two_passes):
    s, *_ = two_passes
    assert s.hits("/etag")[-1].get("If-None-Match") == '"v1"'
    assert s.hits("/lm")[-1].get("If-Modified-Since") == formatdate(LAST_MODIFIED, usegmt=True)


def test_304_is_a_server_not_modified_revisit(two_passes):
    s, config, first, second, _ = two_passes
    assert first["not_modified"] == 0
    assert second["not_modified"] == 2
    rows = {r.url: r for r in catalog_rows(config) if r.run_id == second["run"]}
    records = all_records(warc_dir_of(config))
    for path in ("/etag", "/lm"):
        url = s.url(path)
        row = rows[url]
        assert (row.kind, row.status, row.revisit_profile) == (
            "revisit",
            304,
            "server-not-modified",
        )
        original = next(r for r in records if r.type == "response" and r.uri == url)
        revisit = next(r for r in records if r.type == "revisit" and r.uri == url)
        assert revisit.id == row.record_id
        assert revisit.header("WARC-Profile") == SERVER_NOT_MODIFIED
        assert revisit.first_line == b"HTTP/1.1 304 Not Modified"
        assert revisit.payload == b""
        assert revisit.header("WARC-Refers-To-Target-URI") == url
        assert revisit.header("WARC-Refers-To-Date") == original.header("WARC-Date")
        assert revisit.header("WARC-Payload-Digest") == original.header("WARC-Payload-Digest")
        assert row.revisit_of == next(
            r.id for r in catalog_rows(config) if r.record_id == original.id
        )


def test_validators_survive_a_304(two_passes):
    # a 304 carries no validators: the next pass must still be able to send them
    s, config, _, second, _ = two_passes
    rows = {r.url: r for r in catalog_rows(config) if r.run_id == second["run"]}
    assert rows[s.url("/etag")].etag == '"v1"'
    assert rows[s.url("/lm")].last_modified == formatdate(LAST_MODIFIED, usegmt=True)


def test_a_host_never_has_more_requests_in_flight_than_concurrency_per_host(tmp_path):
    # eight pages of one host queued at once (Scrapy 2.19's downloader let them all through
    # under the asyncio reactor: crawler.handler holds the limit)
    from tests.httpserver import InFlight

    site = SiteServer().start()
    slow = InFlight(b"<html><body><p>One of eight pages.</p></body></html>")
    try:
        site.routes["/robots.txt"] = page("User-agent: *\nAllow: /\n", content_type="text/plain")
        urls = [site.url(f"/p{n}") for n in range(8)]
        for n in range(8):
            site.routes[f"/p{n}"] = slow
        config = write_config(
            tmp_path, [{"name": "t", "urls": urls}], crawl={"concurrency_per_host": 2}
        )
        summary = crawl(config)
    finally:
        site.stop()
    assert summary["fetched"] == 9, summary
    assert slow.most == 2
