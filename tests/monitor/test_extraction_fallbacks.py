"""Text that the usual extraction would lose, from real pages served on 127.0.0.1 and crawled twice
(a baseline, then an edit): a text node over lxml's 10 MB limit (its default parser silently drops
it and everything after it) and a page whose charset label lies (says UTF-8, sends windows-1251,
which decodes to nothing but U+FFFD). Each edit is detected, and the version says which fallback
its extraction took; an ordinary page's version says none.
"""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.config import load_config
from storage.catalog import open_catalog
from storage.models import Version
from tests.conftest import crawl, warcwatch, write_config
from tests.httpserver import SiteServer, page
from tests.monitor.webarchive import Server

# one text node of 10.4 MB: past libxml2's 10,000,000-byte limit for a text node
FILLER = "The committee heard evidence from witnesses about the budget. " * 170_000


def huge_page(day: str) -> str:
    return (
        "<html><head><title>Inquiry transcript</title></head><body><article><h1>Inquiry</h1>"
        f"<p>{FILLER}The minister resigned on {day}. {FILLER}</p>"
        "<p>End of the transcript.</p></article></body></html>"
    )


def cyrillic_page(verb: str) -> bytes:
    return (
        "<html><head><title>Новости</title></head><body><article><h1>Заседание суда</h1>"
        f"<p>Суд {verb} слушание по делу одиннадцати журналистов до понедельника.</p>"
        "<p>Адвокаты обжаловали решение.</p></article></body></html>"
    ).encode("cp1251")


LYING = "text/html; charset=utf-8"  # the label; the bytes are windows-1251


@pytest.fixture(scope="module")
def fallbacks(tmp_path_factory):
    s = SiteServer().start()
    s.routes["/huge"] = page(huge_page("Monday"))
    s.routes["/cp1251"] = page(cyrillic_page("отложил"), content_type=LYING)
    s.routes["/plain"] = page(
        "<html><body><article><p>An ordinary page, version one.</p></article></body></html>"
    )
    config = write_config(
        tmp_path_factory.mktemp("fallbacks"),
        [{"name": "fallbacks", "urls": [s.url(p) for p in ("/huge", "/cp1251", "/plain")]}],
        crawl={"download_timeout": 30},
    )
    crawl(config, timeout=600)  # a 10 MB text node: slow to extract on a busy machine
    s.routes["/huge"] = page(huge_page("Tuesday"))
    s.routes["/cp1251"] = page(cyrillic_page("возобновил"), content_type=LYING)
    s.routes["/plain"] = page(
        "<html><body><article><p>An ordinary page, version two.</p></article></body></html>"
    )
    crawl(config, timeout=600)
    engine = open_catalog(load_config(config).archive.database_url)
    with Session(engine) as db:
        versions = {
            v.url.removeprefix(s.base): v for v in db.scalars(select(Version).order_by(Version.id))
        }
        db.expunge_all()
    engine.dispose()
    events = json.loads(warcwatch("changes", "--json", "--config", str(config)).stdout)
    yield (
        s,
        config,
        versions,
        {e["url"].removeprefix(s.base): e for e in events if e["kind"] == "changed"},
    )
    s.stop()


def test_an_edit_inside_a_text_node_over_10_mb_is_detected(fallbacks):
    _, _, _, changed = fallbacks
    summary = changed["/huge"]["summary"]
    assert any("The minister resigned on Tuesday." in line for line in summary["added"])
    assert any("The minister resigned on Monday." in line for line in summary["removed"])


def test_the_text_after_a_huge_node_is_kept_and_the_version_says_huge_tree(fallbacks):
    _, _, versions, _ = fallbacks
    version = versions["/huge"]
    assert "The minister resigned on" in version.text and version.text.endswith(
        "End of the transcript."
    )
    assert len(version.text) > 2 * len(FILLER)
    assert "huge_tree" in version.extraction


def test_a_page_whose_charset_label_lies_is_read_in_its_real_charset(fallbacks):
    s, config, versions, changed = fallbacks
    version = versions["/cp1251"]
    assert "\ufffd" not in version.text
    assert version.title == "Новости" and "Адвокаты обжаловали решение." in version.text
    assert "utf-8" in version.extraction and "cp1251" in version.extraction
    assert changed["/cp1251"]["summary"]["added"] == [
        "Суд возобновил слушание по делу одиннадцати журналистов до понедельника."
    ]
    shown = warcwatch("show", s.url("/cp1251"), "--text", "--config", str(config))
    assert "Суд возобновил слушание" in shown.stdout and "\ufffd" not in shown.stdout
    assert "extraction: charset" in shown.stderr


def test_the_web_uis_text_page_says_which_fallback_was_taken(fallbacks):
    s, config, *_ = fallbacks
    server = Server(config)
    try:
        shown = server.json("/api/show?url=" + quote(s.url("/cp1251"), safe=""))
        status, _, body = server.get(f"/text/{shown['timestamp']}/{s.url('/cp1251')}")
    finally:
        server.stop()
    html = body.decode()
    assert status == 200 and "Суд возобновил слушание" in html
    assert "Extraction: charset: the page is not valid utf-8 as declared; decoded as cp1251" in html


def test_an_ordinary_pages_version_records_no_fallback(fallbacks):
    _, _, versions, changed = fallbacks
    assert versions["/plain"].text == "An ordinary page, version two."
    assert versions["/plain"].extraction is None
    assert changed["/plain"]["summary"]["added"] == ["An ordinary page, version two."]
