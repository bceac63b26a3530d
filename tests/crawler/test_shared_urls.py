"""A URL that several targets list is fetched once per pass, archived once, catalogued for every
target that lists it, and alerted once per event: three targets (a feed, a page target and a site)
share one article on a real server on 127.0.0.1 that counts its requests."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from storage.cdxj import archive_lines
from storage.models import ChangeEvent, OutboxMessage
from tests.conftest import crawl, warcwatch, write_config
from tests.httpserver import SiteServer, not_found, page
from tests.monitor.pages import article, events_of, noisy
from tests.monitor.test_alerts import HookServer
from tests.warcs import all_records, catalog_rows, iter_records, warc_dir_of

TARGETS = {"front", "ministry", "press"}


def _feed(site: SiteServer, *paths: str) -> str:
    items = "".join(f"<item><title>{p}</title><link>{site.url(p)}</link></item>" for p in paths)
    return (
        '<?xml version="1.0"?><rss '
        f'version="2.0"><channel><title>press</title>{items}</channel></rss>'
    )


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """Pass 1 (baseline) and pass 2 (the article is deleted, and has left the feed)."""
    site = SiteServer().start()
    hook = HookServer()
    try:
        r = site.routes
        r["/robots.txt"] = page("User-agent: *\nAllow: /\n", content_type="text/plain")
        r["/feed.xml"] = page(_feed(site, "/article", "/brief"), content_type="application/rss+xml")
        r["/brief"] = noisy(article("brief"), seed=2)
        r["/"] = page(
            '<html><body><h1>Ministry</h1><a href="/article">the article</a></body></html>'
        )
        r["/article"] = noisy(article("shared"), seed=1)
        config = write_config(
            tmp_path_factory.mktemp("shared"),
            [
                {"name": "press", "kind": "feed", "url": site.url("/feed.xml")},
                {"name": "front", "kind": "page", "urls": [site.url("/article")]},
                {"name": "ministry", "kind": "site", "url": site.url("/"), "depth": 1},
            ],
            extra=f'\n[monitor]\nremoval_confirm_delay = "0.2s"\n\n[alerts]\nnotify = '
            f'["{hook.url}"]\n',
        )
        first = crawl(config)
        rows1 = catalog_rows(config)
        hits1 = len(site.hits("/article"))
        r["/article"] = not_found()
        r["/feed.xml"] = page(_feed(site, "/brief"), content_type="application/rss+xml")
        second = crawl(config)
        yield site, hook, config, (first, second), rows1, hits1
    finally:
        hook.shutdown()
        hook.server_close()
        site.stop()


def test_a_url_listed_by_three_targets_is_fetched_once_per_pass(shared):
    site, _, _, (first, _), _, hits1 = shared
    assert hits1 == 1
    # each fetch counts once in the totals: robots.txt, the feed, its brief, the home page, the
    # article
    assert first["fetched"] == 5, first
    # and once for each target that has it (robots.txt goes with the host's first target)
    assert {name: t["fetched"] for name, t in first["targets"].items()} == {
        "press": 4,
        "front": 1,
        "ministry": 2,
    }


def test_it_is_archived_once_and_catalogued_for_every_target(shared):
    site, _, config, _, rows1, _ = shared
    responses = [
        r
        for r in all_records(warc_dir_of(config))
        if r.type == "response" and r.uri == site.url("/article")
    ]
    assert len([r for r in responses if b" 200 " in r.http_head.split(b"\r\n", 1)[0]]) == 1
    rows = [r for r in rows1 if r.url == site.url("/article")]
    assert {r.target for r in rows} == TARGETS
    assert len({(r.warc_file, r.offset, r.record_id) for r in rows}) == 1, (
        "one record, a catalog row per target"
    )


def test_its_removal_is_raised_for_every_target_and_alerted_once(shared):
    site, hook, config, (_, second), _, _ = shared
    # the second pass: fetched once, then once more to confirm the removal, for all three targets
    assert len(site.hits("/article")) == 3
    removed = [e for e in events_of(config) if e["kind"] == "removed"]
    assert {e["target"] for e in removed} == TARGETS
    assert {e["url"] for e in removed} == {site.url("/article")}
    assert second["alerts"] == {"sent": 1, "pending": 0}, second
    assert len(hook.accepted) == 1
    message = hook.accepted[0]["message"]
    assert site.url("/article") in message
    assert all(name in message for name in TARGETS), message
    engine = create_engine(f"sqlite:///{config.parent / 'archive' / 'catalog.sqlite'}")
    with Session(engine) as s:
        n = s.scalars(
            select(OutboxMessage).join(ChangeEvent, ChangeEvent.id == OutboxMessage.event_id)
        ).all()
    engine.dispose()
    assert len(n) == 1


def test_an_export_and_the_index_list_the_shared_record_once(shared, tmp_path):
    site, _, config, _, _, _ = shared
    out = tmp_path / "article.warc.gz"
    warcwatch("export", "--config", str(config), "--out", str(out), "--url", site.url("/article"))
    exported = [r for r in iter_records(out) if r.type in ("response", "revisit")]
    assert [r.http_head.split(b"\r\n", 1)[0].split(b" ")[1] for r in exported] == [
        b"200",
        b"404",
        b"404",
    ]
    engine = create_engine(f"sqlite:///{config.parent / 'archive' / 'catalog.sqlite'}")
    with Session(engine) as s:
        lines = [line for line in archive_lines(s) if f'"{site.url("/article")}"' in line]
    engine.dispose()
    assert len(lines) == 3, lines  # the 200, the 404 and its confirmation (a revisit): once each
