"""Soft removals: a removed page that answers 200 with the site's "page not found" template (in
any language), or with a page that only sends the reader home, is `removed` with its reason
(`soft-404`, `redirect-home`), whether or not its feed still lists it, and `restored` when the
page comes back. The host's template is learned from one probe of a URL that cannot exist, made
by the crawl (archived, robots.txt obeyed) only when a pass has changed pages on that host, and
kept for `not_found_probe_ttl`. Real passes (`warcwatch crawl`) over two servers on 127.0.0.1:
a German site whose every unknown path answers 200 "Seite nicht gefunden" with a clock and the
path in it, and a Japanese one that answers 404 "ページが見つかりません".

The passes (the feed is the German site's; /news is the Japanese site's page):

1. feed: all five; de pages: 200; /news: 200 — events: none (baseline).
2. feed: /kolonial, /umzug, /edited; de pages: /kolonial, /brief: not-found page; /umzug: meta
   refresh home; /lone: one link home; /blip: not-found once, then back; /edited: a word edited;
   /news: the 404 page, 200 — events: removed ×5 (soft-404 ×3, redirect-home ×2), changed /edited.
3. feed: all five; de pages: /kolonial back; /brief still not found; /edited again; /news: 404
   page, 200 — events: restored /kolonial, changed /edited.
"""

from __future__ import annotations

import html
import itertools

import pytest

from tests.conftest import crawl, write_config
from tests.httpserver import SiteServer, page
from tests.monitor.pages import article, events_of, noisy
from tests.monitor.realpage import dw_article, original
from tests.warcs import all_records, warc_dir_of

PROBE_PATH = "/warcwatch-probe-"  # the documented path of a probe, which robots.txt can disallow
ROBOTS = page("User-agent: *\nAllow: /\n", content_type="text/plain")
_clock = itertools.count(1)


def _not_found_de(status: int = 200):
    """The German site's not-found page: its chrome, the path asked for, a clock that moves."""

    def respond(h):
        minute = next(_clock)
        body = f"""<!doctype html><html lang="de"><head><meta charset="utf-8">
<title>Seite nicht gefunden | Stadtanzeiger</title></head><body>
<header><a href="/">Stadtanzeiger</a><nav><a href="/politik">Politik</a> <a href="/kultur">Kultur\
</a></nav></header>
<main><h1>Seite nicht gefunden</h1>
<p>Die Seite {html.escape(h.path)} gibt es leider nicht (mehr). Vielleicht wurde sie verschoben \
oder gelöscht.</p>
<p>Nutzen Sie die Suche oder kehren Sie zur Startseite zurück.</p>
<p>Stand: 2. Dezember 2026, 16:{minute % 60:02d} Uhr</p></main>
<footer><p>© 2026 Stadtanzeiger</p></footer></body></html>"""
        page(body, status=status)(h)

    return respond


NOT_FOUND_JA = """<!doctype html><html lang="ja"><head><meta charset="utf-8">\
<title>ページが見つかりません - 朝刊ニュース</title></head>
<body><header><a href="/">朝刊ニュース</a></header><main><h1>ページが見つかりません</h1>
<p>お探しのページは削除されたか、URLが変更された可能性があります。</p>\
<p>トップページから目的のページをお探しください。</p></main>
<footer>© 2026 朝刊ニュース</footer></body></html>"""

META_HOME = """<!doctype html><html><head><meta charset="utf-8"><meta http-equiv="refresh" \
content="0; url=/">
<title>Stadtanzeiger</title></head><body><p>Sie werden weitergeleitet …</p></body></html>"""
LONE_LINK = """<!doctype html><html><head><meta charset="utf-8"><title>Stadtanzeiger</title></head>\
<body>
<p>Dieser Artikel ist nicht mehr verfügbar.</p><p><a href="/">Zur Startseite</a></p></body>\
</html>"""


def _feed(site: SiteServer, *paths: str) -> str:
    items = "".join(f"<item><title>{p}</title><link>{site.url(p)}</link></item>" for p in paths)
    return (
        '<?xml version="1.0"?><rss '
        f'version="2.0"><channel><title>Stadtanzeiger</title>{items}</channel></rss>'
    )


def _first_then(first, then):
    calls = []

    def respond(h):
        calls.append(h.path)
        return (first if len(calls) == 1 else then)(h)

    return respond


PAGES = ("/kolonial", "/brief", "/umzug", "/lone", "/blip", "/edited")


@pytest.fixture(scope="module")
def passes(tmp_path_factory):
    de, ja = SiteServer().start(), SiteServer().start()
    try:
        de.fallback, ja.fallback = _not_found_de(200), page(NOT_FOUND_JA, status=404)
        de.routes["/robots.txt"] = ja.routes["/robots.txt"] = ROBOTS
        docs = {p: article(p.strip("/")) for p in PAGES}
        live = {p: noisy(docs[p], seed=i) for i, p in enumerate(PAGES)}
        live["/kolonial"] = page(original(dw_article()))
        de.routes.update(live)
        de.routes["/feed.xml"] = page(_feed(de, *PAGES), content_type="application/rss+xml")
        ja.routes["/news"] = page(original(dw_article()))
        config = write_config(
            tmp_path_factory.mktemp("soft"),
            [
                {"name": "stadt", "kind": "feed", "url": de.url("/feed.xml")},
                {"name": "asahi", "urls": [ja.url("/news")]},
            ],
            extra='\n[monitor]\nremoval_confirm_delay = "0.2s"\n',
        )
        runs, seen = {}, 0
        for n in (1, 2, 3):
            if n == 2:
                for p in ("/kolonial", "/brief"):
                    del de.routes[p]  # the site's not-found page answers, with 200
                de.routes["/umzug"] = page(META_HOME)
                de.routes["/lone"] = page(LONE_LINK)
                de.routes["/blip"] = _first_then(_not_found_de(200), live["/blip"])
                docs["/edited"].paragraphs[1] = (
                    docs["/edited"].paragraphs[1].replace("serious", "minor")
                )
                de.routes["/feed.xml"] = page(
                    _feed(de, "/kolonial", "/umzug", "/edited"), content_type="application/rss+xml"
                )
                ja.routes["/news"] = page(NOT_FOUND_JA)  # the site's 404 page, answered with 200
            if n == 3:
                de.routes["/kolonial"] = live["/kolonial"]
                docs["/edited"].paragraphs[2] = (
                    docs["/edited"].paragraphs[2].replace("months", "weeks")
                )
                de.routes["/feed.xml"] = page(_feed(de, *PAGES), content_type="application/rss+xml")
            start_de, start_ja = len(de.requests), len(ja.requests)
            summary = crawl(config)
            events = events_of(config)
            runs[n] = {
                "summary": summary,
                "events": events[seen:],
                "de": [p for p, _ in de.requests[start_de:]],
                "ja": [p for p, _ in ja.requests[start_ja:]],
            }
            seen = len(events)
        yield de, ja, config, runs
    finally:
        de.stop()
        ja.stop()


def _kinds(events, *sites):
    out = []
    for e in events:
        url = e["url"]
        for site in sites:
            url = url.removeprefix(site.base)
        out.append((e["kind"], url, e.get("reason")))
    return sorted(out)


def _probes(paths):
    return [p for p in paths if p.startswith(PROBE_PATH)]


def test_removed_pages_answering_200_are_removed_with_their_reason(passes):
    de, ja, _, runs = passes
    assert runs[1]["events"] == []
    assert _kinds(runs[2]["events"], de, ja) == [
        ("changed", "/edited", None),
        ("removed", "/brief", "soft-404"),  # no longer in the feed
        ("removed", "/kolonial", "soft-404"),  # still in the feed
        ("removed", "/lone", "redirect-home"),
        ("removed", "/news", "soft-404"),  # the Japanese site's 404 page, answered with 200
        ("removed", "/umzug", "redirect-home"),
    ]


def test_a_soft_removal_is_confirmed_by_a_second_fetch_and_a_blip_is_none(passes):
    de, _, _, runs = passes
    removed = {e["url"].removeprefix(de.base) for e in runs[2]["events"] if e["kind"] == "removed"}
    for path in ("/kolonial", "/brief", "/umzug", "/lone", "/blip"):
        assert runs[2]["de"].count(path) == 2, path
        assert (path in removed) == (path != "/blip"), path
    assert all(e["url"] != de.url("/blip") for n in runs for e in runs[n]["events"])


def test_each_host_is_probed_once_in_a_pass_with_changes_and_not_again_within_the_ttl(passes):
    _, _, _, runs = passes
    assert (
        _probes(runs[1]["de"]) == [] and _probes(runs[1]["ja"]) == []
    )  # the baseline changes nothing
    assert len(_probes(runs[2]["de"])) == 1 and len(_probes(runs[2]["ja"])) == 1
    assert _probes(runs[3]["de"]) == []  # /edited changed again, the probe of pass 2 stands


def test_the_probe_is_archived_and_raises_nothing(passes):
    de, ja, config, runs = passes
    probes = [
        r for r in all_records(warc_dir_of(config)) if r.type == "response" and PROBE_PATH in r.uri
    ]
    assert sorted(r.uri.split("/warcwatch")[0] for r in probes) == sorted([de.base, ja.base])
    assert all(PROBE_PATH not in e["url"] for n in runs for e in runs[n]["events"])
    # the Japanese probe's 404 is what was asked for, not a failure of the pass
    assert runs[2]["summary"]["failed"] == {}, runs[2]["summary"]


def test_a_soft_removed_page_is_restored_when_it_comes_back_and_only_then(passes):
    de, ja, _, runs = passes
    assert _kinds(runs[3]["events"], de, ja) == [
        ("changed", "/edited", None),
        ("restored", "/kolonial", None),
    ]


@pytest.fixture(scope="module")
def denied(tmp_path_factory):
    site = SiteServer().start()
    try:
        site.fallback = _not_found_de(200)
        site.routes["/robots.txt"] = page(
            f"User-agent: *\nDisallow: {PROBE_PATH}\n", content_type="text/plain"
        )
        site.routes["/a"] = page(original(dw_article()))
        config = write_config(
            tmp_path_factory.mktemp("denied"),
            [{"name": "a", "urls": [site.url("/a")]}],
            extra='\n[monitor]\nremoval_confirm_delay = "0.2s"\n',
        )
        crawl(config)
        del site.routes["/a"]
        summary = crawl(config)
        yield site, summary, events_of(config), _captures(config)
    finally:
        site.stop()


def _captures(config) -> list[dict]:
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from storage.catalog import open_catalog
    from storage.models import Capture

    engine = open_catalog(f"sqlite:///{config.parent / 'archive' / 'catalog.sqlite'}")
    try:
        with Session(engine) as s:
            return [c.as_json() for c in s.scalars(select(Capture).order_by(Capture.id))]
    finally:
        engine.dispose()


def test_robots_txt_applies_to_the_probe(denied):
    site, summary, events, captures = denied
    assert _probes([p for p, _ in site.requests]) == []
    # the attempt is in the catalog with its reason (and so not tried again within the TTL)
    probes = [c for c in captures if PROBE_PATH in c["url"]]
    assert [(c["kind"], c["reason"].split(":")[0]) for c in probes] == [("failed", "robots-denied")]
    assert summary["failed"] == {}, summary  # a probe robots.txt denies is no failure either
    # without the host's template the not-found page is a change, as it was before
    assert [(e["kind"], e.get("reason")) for e in events] == [("changed", None)]
