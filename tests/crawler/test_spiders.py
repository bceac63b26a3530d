"""Each target kind fetches exactly what it should: page, feed (RSS 2.0, Atom), sitemap (plain,
index, gzipped), site (same host, depth, allow/deny). One crawl pass covers every kind."""

from __future__ import annotations

import gzip

import pytest

from tests.conftest import crawl, write_config
from tests.httpserver import SiteServer, page
from tests.warcs import catalog_rows

HTML = "text/html; charset=utf-8"


def html(title: str, *links: str) -> str:
    anchors = "".join(f'<a href="{h}">{h}</a>' for h in links)
    return f"<html><head><title>{title}</title></head><body><h1>{title}</h1>{anchors}</body></html>"


def urlset(*locs: str) -> str:
    entries = "".join(f"<url><loc>{u}</loc></url>" for u in locs)
    return (
        '<?xml version="1.0" encoding="UTF-8"?><urlset '
        f'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{entries}</urlset>'
    )


def build_site(s: SiteServer) -> None:
    r, u = s.routes, s.url
    r["/robots.txt"] = page("User-agent: *\nAllow: /\n", content_type="text/plain")
    for path in (
        "/page/1",
        "/page/2",
        "/page/3",
        "/rss/1",
        "/rss/2",
        "/rss/home",
        "/atom/1",
        "/atom/2",
        "/atom/home",
        "/atom/2.mp3",
        "/sm/1",
        "/sm/2",
        "/smi/p1",
        "/smi/p2",
        "/docs/c",
        "/other",
    ):
        r[path] = page(html(path))
    # page: the URLs themselves; their links are not followed
    r["/page/1"] = page(html("p1", "/page/3"))
    # feed, RSS 2.0: item links (absolute and relative), not the channel's own link
    r["/rss.xml"] = page(
        '<?xml version="1.0"?><rss version="2.0"><channel><title>news</title>'
        f"<link>{u('/rss/home')}</link>"
        f"<item><title>one</title><link>{u('/rss/1')}</link></item>"
        "<item><title>two</title><link>/rss/2</link></item>"
        "</channel></rss>",
        content_type="application/rss+xml",
    )
    # feed, Atom: entries' alternate links, not the feed's links nor an entry's enclosure
    r["/atom.xml"] = page(
        '<?xml version="1.0" encoding="utf-8"?><feed '
        'xmlns="http://www.w3.org/2005/Atom"><title>statements</title>'
        '<link rel="self" href="/atom.xml"/><link '
        'href="/atom/home"/><id>urn:x</id><updated>2024-01-01T00:00:00Z</updated>'
        "<entry><title>a</title><link "
        'href="/atom/1"/><id>urn:1</id><updated>2024-01-01T00:00:00Z</updated></entry>'
        '<entry><title>b</title><link rel="alternate" type="text/html" href="/atom/2"/>'
        '<link rel="enclosure" '
        'href="/atom/2.mp3"/><id>urn:2</id><updated>2024-01-01T00:00:00Z</updated></entry>'
        "</feed>",
        content_type="application/atom+xml",
    )
    # sitemap: a urlset; sitemap index: two sitemaps, one of them a .xml.gz served as a file
    r["/sitemap.xml"] = page(urlset(u("/sm/1"), u("/sm/2")), content_type="application/xml")
    r["/index.xml"] = page(
        '<?xml version="1.0" encoding="UTF-8"?><sitemapindex '
        'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"<sitemap><loc>{u('/smi/a.xml')}</loc></sitemap><sitemap><loc>{u('/smi/b.xml.gz')}</loc><"
        "/sitemap>"
        "</sitemapindex>",
        content_type="application/xml",
    )
    r["/smi/a.xml"] = page(urlset(u("/smi/p1")), content_type="application/xml")
    r["/smi/b.xml.gz"] = page(
        gzip.compress(urlset(u("/smi/p2")).encode()), content_type="application/x-gzip"
    )
    # site: depth 2 from /docs/, inside allow, outside deny, same host only
    other_host = s.url("/docs/elsewhere").replace("127.0.0.1", "localhost")
    r["/docs/"] = page(html("docs", "/docs/a", "/docs/private/x", "/other", other_host))
    r["/docs/a"] = page(html("a", "/docs/b", "/docs/"))
    r["/docs/b"] = page(html("b", "/docs/c"))
    r["/docs/private/x"] = page(html("private"))


TARGETS = {
    "pages": {"kind": "page", "urls": ["/page/1", "/page/2"]},
    "rss": {"kind": "feed", "url": "/rss.xml"},
    "atom": {"kind": "feed", "url": "/atom.xml"},
    "sitemap": {"kind": "sitemap", "url": "/sitemap.xml"},
    "index": {"kind": "sitemap", "url": "/index.xml"},
    "site": {
        "kind": "site",
        "url": "/docs/",
        "depth": 2,
        "allow": ["/docs/"],
        "deny": ["/docs/private/"],
    },
}

# what each target must archive (robots.txt aside), and nothing else
EXPECTED = {
    "pages": {"/page/1", "/page/2"},
    "rss": {"/rss.xml", "/rss/1", "/rss/2"},
    "atom": {"/atom.xml", "/atom/1", "/atom/2"},
    "sitemap": {"/sitemap.xml", "/sm/1", "/sm/2"},
    "index": {"/index.xml", "/smi/a.xml", "/smi/b.xml.gz", "/smi/p1", "/smi/p2"},
    "site": {"/docs/", "/docs/a", "/docs/b"},
}


@pytest.fixture(scope="module")
def crawled(tmp_path_factory):
    s = SiteServer().start()
    build_site(s)
    targets = []
    for name, t in TARGETS.items():
        t = dict(t)
        if "url" in t:
            t["url"] = s.url(t["url"])
        else:
            t["urls"] = [s.url(p) for p in t["urls"]]
        targets.append({"name": name, **t})
    config = write_config(tmp_path_factory.mktemp("spiders"), targets)
    summary = crawl(config)
    yield s, config, summary, catalog_rows(config)
    s.stop()


def archived_paths(s: SiteServer, rows, target: str) -> set[str]:
    return {
        r.url.removeprefix(s.base)
        for r in rows
        if r.target == target
        and r.kind == "response"
        and r.status == 200
        and not r.url.endswith("/robots.txt")
    }


@pytest.mark.parametrize("target", list(EXPECTED))
def test_target_archives_exactly_its_pages(crawled, target):
    s, _, _, rows = crawled
    assert archived_paths(s, rows, target) == EXPECTED[target]
    assert not [r for r in rows if r.target == target and r.kind == "failed"]


def test_links_outside_the_target_are_not_fetched(crawled):
    s, _, summary, _ = crawled
    never = [
        "/page/3",
        "/rss/home",
        "/atom/home",
        "/atom/2.mp3",
        "/docs/c",
        "/docs/private/x",
        "/other",
        "/docs/elsewhere",
    ]
    fetched = {p for p, _ in s.requests}
    assert not fetched & set(never), sorted(fetched & set(never))
    assert summary["failed"] == {}


def test_pages_are_fetched_once_per_target(crawled):
    s, _, _, _ = crawled
    # /docs/a links back to /docs/: the site spider must not fetch a page twice in one pass
    assert len(s.hits("/docs/")) == 1
    assert len(s.hits("/docs/a")) == 1


def test_summary_counts_every_new_capture(crawled):
    _, _, summary, rows = crawled
    new = [r for r in rows if r.kind == "response" and r.status == 200]
    revisits = [r for r in rows if r.kind == "revisit"]
    pages = [r for r in new if not r.url.endswith("/robots.txt")]
    assert len(pages) == sum(len(v) for v in EXPECTED.values())
    # one crawler serves every target of the pass: the host's robots.txt is read once,
    # and archived with the first target on that host
    robots = [r for r in new if r.url.endswith("/robots.txt")]
    assert len(robots) == 1 and revisits == []
    assert (summary["new"], summary["revisits"]) == (len(new), 0) == (len(pages) + 1, 0)
    assert summary["fetched"] == len(new)
    assert {name: t["fetched"] for name, t in summary["targets"].items()} == {
        name: len(paths) + (name == robots[0].target) for name, paths in EXPECTED.items()
    }
