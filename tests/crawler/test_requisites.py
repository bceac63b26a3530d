"""Page requisites (issue 13, item 1): the stylesheets, images and fonts an archived page embeds are
fetched with it, through the same wire-recording downloader, and archived as response records of
the target, obeying robots.txt; once per pass however many pages share them; on the next pass of an
unchanged site as revisits; never read for text, never an event.

Two real servers on loopback: the site on 127.0.0.1 and its "CDN" on 127.0.0.2 (another host to
the crawl), the pages and CSS on the first, the image and the font on the second.
"""

from __future__ import annotations

import json
import zipfile

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from monitor.config import load_config
from storage.models import ChangeEvent, Version
from tests.conftest import crawl, warcwatch, write_config
from tests.httpserver import SiteServer, page
from tests.requisite_site import PNG, serve, style
from tests.warcs import all_records, catalog_rows, iter_records, reason_of, warc_dir_of


def targets(site: SiteServer) -> list[dict]:
    return [
        {"name": "ministry", "kind": "page", "urls": [site.url("/statement"), site.url("/other")]}
    ]


@pytest.fixture(scope="module")
def two_passes(tmp_path_factory):
    site, cdn = SiteServer().start(), SiteServer("127.0.0.2").start()
    try:
        serve(site, cdn)
        config = write_config(tmp_path_factory.mktemp("requisites"), targets(site))
        first = crawl(config)
        rows1 = catalog_rows(config)
        # each file's size after the first pass: the second appends to the first's file
        files1 = {p.name: p.stat().st_size for p in warc_dir_of(config).glob("*.warc.gz")}
        hits1 = {path: len(site.hits(path)) for path in ("/style.css", "/print.css")}
        hits1["cdn"] = len(cdn.hits("/logo.png"))
        second = crawl(config)
        rows2 = catalog_rows(config)[len(rows1) :]
        yield site, cdn, config, (first, second), (rows1, rows2), hits1, files1
    finally:
        site.stop()
        cdn.stop()


def _requisites(rows, cdn: SiteServer, site: SiteServer) -> dict[str, str]:
    return {
        r.url.replace(cdn.base, "cdn:").replace(site.base, ""): r.kind
        for r in rows
        if r.purpose == "requisite"
    }


def test_embeds_are_archived_as_responses_of_the_target(two_passes):
    site, cdn, config, _, (rows1, _), _, _ = two_passes
    assert _requisites(rows1, cdn, site) == {
        "/style.css": "response",
        "/print.css": "response",  # @import'ed by the stylesheet
        "cdn:/font.ttf": "response",  # url() in the stylesheet, on another host
        "cdn:/logo.png": "response",
        "/private/secret.png": "failed",  # robots.txt forbids it: never fetched
        "/map.html": "response",  # an <object>'s document
    }
    assert all(r.target == "ministry" for r in rows1)
    denied = [r for r in rows1 if r.url.endswith("/secret.png")]
    assert reason_of(denied[0]) == "robots-denied" and not site.hits("/private/secret.png")
    # as they crossed the wire: request and response records, the bytes the servers sent
    records = all_records(warc_dir_of(config))
    logo = [r for r in records if r.uri == cdn.url("/logo.png") and r.type == "response"]
    assert len(logo) == 1 and logo[0].payload == PNG
    assert logo[0].http_header("Content-Type") == "image/png"
    assert logo[0].header("WARC-IP-Address") == "127.0.0.2"
    requests = [r for r in records if r.uri == cdn.url("/logo.png") and r.type == "request"]
    assert requests and requests[0].header("WARC-Concurrent-To") == logo[0].id
    assert requests[0].block.startswith(b"GET /logo.png HTTP/1.1\r\n")
    # the CDN's robots.txt was asked for before its embeds
    assert cdn.requests[0][0] == "/robots.txt"


def test_a_shared_stylesheet_is_fetched_once_per_pass(two_passes):
    site, cdn, *_, hits1, _ = two_passes
    assert hits1 == {"/style.css": 1, "/print.css": 1, "cdn": 1}


def test_requisites_are_counted_apart_from_pages(two_passes):
    _, _, _, (first, _), _, _, _ = two_passes
    # pages: two robots.txt and the two pages; the requisites on their own line
    assert first["fetched"] == 4, first
    assert first["failed"] == {}, first
    assert first["requisites"]["fetched"] == 5, first
    assert first["requisites"]["failed"] == {"robots-denied": 1}, first
    assert first["targets"]["ministry"]["requisites"] == 5


def test_an_unchanged_site_costs_requests_not_storage(two_passes):
    site, cdn, config, (_, second), (_, rows2), _, files1 = two_passes
    kinds = {
        r.url.replace(cdn.base, "cdn:").replace(site.base, ""): (r.kind, r.revisit_profile)
        for r in rows2
        if r.purpose == "requisite" and r.kind != "failed"
    }
    assert kinds == {
        # asked for whole, though they have ETags (a 304 would hide what a stylesheet leads to,
        # and pywb replays a not-modified revisit as a 304): unchanged, stored as revisits
        "/style.css": ("revisit", "identical-payload"),
        "/print.css": ("revisit", "identical-payload"),
        "cdn:/font.ttf": ("revisit", "identical-payload"),
        "cdn:/logo.png": ("revisit", "identical-payload"),
        "/map.html": ("revisit", "identical-payload"),
    }
    assert second["requisites"]["revisits"] == 5 and second["requisites"]["not_modified"] == 0
    assert "If-None-Match" not in cdn.hits("/logo.png")[-1]
    assert "If-None-Match" not in site.hits("/style.css")[-1]
    # the second pass stored request and revisit records only (robots.txt apart)
    stored = {
        r.type
        for f in warc_dir_of(config).glob("*.warc.gz")
        for r in iter_records(f)
        if r.offset >= files1.get(f.name, 0) and not (r.uri or "").endswith("/robots.txt")
    }
    assert stored == {"warcinfo", "request", "revisit"}


def test_requisites_raise_no_event_and_have_no_text(tmp_path):
    site, cdn = SiteServer().start(), SiteServer("127.0.0.2").start()
    try:
        serve(site, cdn)
        config = write_config(tmp_path, targets(site))
        crawl(config)
        # the logo and the stylesheet change; the pages do not
        cdn.routes["/logo.png"] = page(PNG + b"\0", content_type="image/png")
        site.routes["/style.css"] = page(
            style(cdn.base) + "\np { margin: 0 }", content_type="text/css"
        )
        second = crawl(config)
        assert second["requisites"]["new"] == 2, second
        engine = create_engine(load_config(config).archive.database_url)
        with Session(engine) as s:
            assert list(s.scalars(select(ChangeEvent))) == []
            versions = {v.url for v in s.scalars(select(Version))}
        engine.dispose()
        assert versions <= {site.url("/statement"), site.url("/other")}  # no text of a requisite
        # and the page's edit is still seen: requisites do not hide the pages
        serve(site, cdn, text="The river rose three metres.")
        third = crawl(config)
        assert third["events"].get("changed") == 1, third
    finally:
        site.stop()
        cdn.stop()


@pytest.mark.parametrize(
    "policy,expected",
    [
        ("same-host", {"/style.css", "/print.css", "/private/secret.png", "/map.html"}),
        ("none", set()),
    ],
)
def test_the_requisites_policy(tmp_path, policy, expected):
    site, cdn = SiteServer().start(), SiteServer("127.0.0.2").start()
    try:
        serve(site, cdn)
        config = write_config(tmp_path, targets(site), crawl={"requisites": policy})
        crawl(config)
        assert set(_requisites(catalog_rows(config), cdn, site)) == expected
        assert not cdn.requests  # not even its robots.txt
    finally:
        site.stop()
        cdn.stop()


def test_an_unknown_policy_is_one_line_naming_the_field(tmp_path):
    config = write_config(
        tmp_path, [{"name": "t", "url": "http://127.0.0.1:9/"}], crawl={"requisites": "some"}
    )
    proc = warcwatch("crawl", "--config", str(config), check=False)
    assert proc.returncode != 0
    assert proc.stderr.strip().splitlines() == [
        f"warcwatch: error: {config}:8: field 'requisites': "
        "'some' is not one of all, same-host, none"
    ]


def test_a_wacz_lists_pages_not_requisites(two_passes, tmp_path):
    site, _, config, *_ = two_passes
    wacz = tmp_path / "site.wacz"
    warcwatch("export", "--out", str(wacz), "--config", str(config))
    with zipfile.ZipFile(wacz) as z:
        lines = z.read("pages/pages.jsonl").decode().splitlines()[1:]
    # the embedded document is HTML, archived, and no entry point of its own (robots.txt, plain
    # text, is listed as ever)
    urls = {json.loads(line)["url"] for line in lines}
    assert {u for u in urls if not u.endswith("/robots.txt")} == {
        site.url("/statement"),
        site.url("/other"),
    }


def test_status_counts_the_pages_not_their_requisites(two_passes):
    _, _, config, *_ = two_passes
    status = json.loads(warcwatch("status", "--json", "--config", str(config)).stdout)
    (ministry,) = [t["last_run"] for t in status["targets"] if t["name"] == "ministry"]
    # the last pass: two pages and two robots.txt; not the 5 requisites, nor the one denied
    assert (ministry["pages"], ministry["failures"]) == (4, 0), ministry
