"""Every Content-Encoding the crawl accepts (gzip, deflate, br, zstd), in the environment users
install: a page in each is archived once (no failed capture beside it), as it came over the wire,
and reads back decoded through `show`, `show --text`, change detection and the web UI; a br or
zstd bomb is refused as a failed capture while the rest of the pass goes on.
"""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest

from tests.conftest import crawl, warcwatch, write_config
from tests.httpserver import SiteServer, bomb, encode, encoded, page
from tests.monitor.webarchive import Server
from tests.warcs import all_records, catalog_rows, reason_of, warc_dir_of

CODINGS = ["gzip", "deflate", "br", "zstd"]
MAX_SIZE = 1024 * 1024  # [crawl] max_size
BOMBS = ["/br-bomb", "/zstd-bomb"]


def sentence(coding: str, verb: str = "upheld") -> str:
    return f"The {coding} edition reports that the court {verb} the {coding} appeal."


def article(coding: str, verb: str = "upheld") -> str:
    return (
        f"<html><head><title>{coding} page</title></head><body><article><h1>Ruling</h1>"
        f"<p>{sentence(coding, verb)}</p></article></body></html>"
    )


@pytest.fixture(scope="module")
def passes(tmp_path_factory):
    """Two passes: the pages in each coding, then the same pages edited."""
    s = SiteServer().start()
    for coding in CODINGS:
        s.routes[f"/{coding}"] = encoded(article(coding), coding)
    s.routes["/br-bomb"] = bomb("br", 64 * MAX_SIZE)  # 64 MB of zeros in a few dozen bytes
    s.routes["/zstd-bomb"] = bomb("zstd", 64 * MAX_SIZE)
    s.routes["/after"] = page("<html><body><p>a page after the bombs</p></body></html>")
    paths = [*(f"/{c}" for c in CODINGS), *BOMBS, "/after"]
    config = write_config(
        tmp_path_factory.mktemp("encodings"),
        [{"name": "encodings", "urls": [s.url(p) for p in paths]}],
        crawl={"max_size": "1MB"},
    )
    first = crawl(config)  # raises unless the pass exits 0
    for coding in CODINGS:
        s.routes[f"/{coding}"] = encoded(article(coding, "overturned"), coding)
    second = crawl(config)
    yield s, config, first, second
    s.stop()


def test_the_crawl_asks_for_every_coding(passes):
    s, *_ = passes
    accepted = {c.strip() for c in s.hits("/br")[0]["Accept-Encoding"].split(",")}
    assert accepted >= set(CODINGS)


@pytest.mark.parametrize("coding", CODINGS)
def test_a_page_in_each_coding_is_archived_once_as_received(passes, coding):
    s, config, first, _ = passes
    url = s.url(f"/{coding}")
    rows = [r for r in catalog_rows(config) if r.url == url and r.run_id == first["run"]]
    assert [(r.kind, r.status) for r in rows] == [("response", 200)], [
        (r.kind, r.reason) for r in rows
    ]
    sent = encode(article(coding).encode(), coding)
    records = [r for r in all_records(warc_dir_of(config)) if r.type == "response" and r.uri == url]
    assert [r.payload for r in records].count(sent) == 1
    assert all(r.http_header("Content-Encoding") == coding for r in records)


@pytest.mark.parametrize("coding", CODINGS)
def test_show_decodes_each_coding(passes, coding):
    s, config, *_ = passes
    url = s.url(f"/{coding}")
    assert warcwatch("show", url, "--config", str(config)).stdout == article(coding, "overturned")
    text = warcwatch("show", url, "--text", "--config", str(config)).stdout
    assert sentence(coding, "overturned") in text


@pytest.mark.parametrize("coding", CODINGS)
def test_an_edit_in_each_coding_is_detected(passes, coding):
    s, config, *_ = passes
    events = json.loads(warcwatch("changes", "--json", "--config", str(config)).stdout)
    changed = [e for e in events if e["url"] == s.url(f"/{coding}") and e["kind"] == "changed"]
    assert len(changed) == 1, events
    assert changed[0]["summary"]["added"] == [sentence(coding, "overturned")]
    assert changed[0]["summary"]["removed"] == [sentence(coding)]


def test_the_web_ui_shows_each_coding_decoded(passes):
    s, config, *_ = passes
    server = Server(config)
    try:
        for coding in CODINGS:
            url = s.url(f"/{coding}")
            shown = server.json("/api/show?url=" + quote(url, safe=""))
            status, _, body = server.get(f"/raw/{shown['timestamp']}/{url}")
            assert status == 200 and body.decode() == article(coding, "overturned"), coding
            status, _, body = server.get(f"/text/{shown['timestamp']}/{url}")
            assert status == 200 and sentence(coding, "overturned") in body.decode(), coding
    finally:
        server.stop()


@pytest.mark.parametrize("path", BOMBS)
def test_a_bomb_is_a_failed_capture_and_the_pass_goes_on(passes, path):
    s, config, first, second = passes
    url = s.url(path)
    rows = [r for r in catalog_rows(config) if r.url == url]
    assert [(r.kind, reason_of(r)) for r in rows] == [("failed", "gzip-bomb")] * 2
    assert all(f"expand past {MAX_SIZE} B" in r.reason for r in rows)
    assert not [
        r for r in all_records(warc_dir_of(config)) if r.uri == url and r.type == "response"
    ]
    assert first["failed"] == second["failed"] == {"gzip-bomb": len(BOMBS)}
    after = [r for r in catalog_rows(config) if r.url == s.url("/after")]
    assert [r.kind for r in after] == ["response", "revisit"]


def test_repair_verifies_a_warc_holding_every_coding(passes):
    """Repair reads a WARC through warcio to check it (here as it checks a cut `.open` file)."""
    from storage.repair import verify_warc
    from tests.warcs import warc_files

    _, config, *_ = passes
    files = warc_files(warc_dir_of(config))
    assert sum(verify_warc(f) for f in files) == len(all_records(warc_dir_of(config)))
