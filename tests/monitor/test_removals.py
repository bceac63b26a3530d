"""Removals, seen promptly and exactly: a page that answers 404 is fetched again after
`removal_confirm_delay` and, still gone, is `removed` in that same pass; one that answers again
was a blip. A page deleted for one pass and back at the next is `removed`, then `restored`. A page
known to be removed is no failure in later summaries, and its unchanged 404 page is archived as a
revisit, not as a new response. Real passes (`warcwatch crawl`) over a server on 127.0.0.1.

| pass | /a        | /b   | /blip                      | events            |
|------|-----------|------|----------------------------|-------------------|
| 1    | 200       | 200  | 200                        | none (baseline)   |
| 2    | 404       | 404  | 404, then 200 on re-fetch  | removed /a, /b    |
| 3    | 200 again | 404  | 200                        | restored /a       |
| 4    | 200       | 404  | 200                        | none              |
"""

from __future__ import annotations

import pytest

from monitor.config import load_config
from tests.conftest import crawl, warcwatch, write_config
from tests.httpserver import SiteServer, not_found, page
from tests.monitor.pages import article, events_of, noisy
from tests.warcs import all_records, warc_dir_of

GONE_PAGE = (
    "<html><body><h1>Page not found</h1><p>The page you asked for is not here.</p></body></html>"
)


def _404_once_then(responder):
    """A 404 for the first request, then `responder`: a deploy's blip."""
    calls = []

    def respond(h):
        calls.append(h.path)
        return (not_found(GONE_PAGE) if len(calls) == 1 else responder)(h)

    return respond


@pytest.fixture(scope="module")
def passes(tmp_path_factory):
    site = SiteServer().start()
    try:
        docs = {
            p: noisy(article(p.strip("/")), seed=i) for i, p in enumerate(("/a", "/b", "/blip"))
        }
        site.routes.update(docs)
        site.routes["/robots.txt"] = page("User-agent: *\nAllow: /\n", content_type="text/plain")
        config = write_config(
            tmp_path_factory.mktemp("removals"),
            [{"name": "news", "urls": [site.url(p) for p in docs]}],
            extra='\n[monitor]\nremoval_confirm_delay = "0.5s"\n',
        )
        runs, seen = {}, 0
        for n in range(1, 5):
            if n == 2:
                site.routes["/a"] = not_found(GONE_PAGE)
                site.routes["/b"] = not_found(GONE_PAGE)
                site.routes["/blip"] = _404_once_then(docs["/blip"])
            if n == 3:
                site.routes["/a"] = docs["/a"]
            start = len(site.requests)
            if n == 4:  # as people read it
                out = warcwatch("crawl", "--config", str(config), "--quiet").stdout
                summary = {"text": out}
            else:
                summary = crawl(config)
            events = events_of(config)
            runs[n] = {
                "summary": summary,
                "events": events[seen:],
                "requests": [p for p, _ in site.requests[start:]],
            }
            seen = len(events)
        yield site, config, runs
    finally:
        site.stop()


def _kinds(events, site):
    return [(e["kind"], e["url"].removeprefix(site.base), e.get("reason")) for e in events]


def test_a_removed_page_is_confirmed_within_the_pass(passes):
    site, _, runs = passes
    assert runs[1]["events"] == []
    assert sorted(_kinds(runs[2]["events"], site)) == [
        ("removed", "/a", "404"),
        ("removed", "/b", "404"),
    ]
    # each answered 404 once, and again when fetched to confirm
    assert runs[2]["requests"].count("/a") == 2 and runs[2]["requests"].count("/b") == 2


def test_a_404_that_answers_again_when_refetched_is_no_removal(passes):
    site, _, runs = passes
    assert runs[2]["requests"].count("/blip") == 2
    assert all(e["url"] != site.url("/blip") for n in runs for e in runs[n]["events"])


def test_a_page_deleted_for_one_pass_and_back_at_the_next_is_removed_then_restored(passes):
    site, _, runs = passes
    assert _kinds(runs[3]["events"], site) == [("restored", "/a", None)]
    assert runs[4]["events"] == []


def test_a_known_removed_page_is_gone_not_failed_in_later_summaries(passes):
    _, _, runs = passes
    third = runs[3]["summary"]
    assert third["failed"] == {} and third["gone"] == 1, third
    assert third["targets"]["news"]["failed"] == {} and third["targets"]["news"]["gone"] == 1
    line = runs[4]["summary"]["text"].strip().splitlines()[-1]
    assert "failed 0" in line and line.endswith(", gone 1"), line


def test_repeated_identical_404_pages_are_revisits_of_the_first(passes):
    site, config, _ = passes
    records = [
        r
        for r in all_records(warc_dir_of(config))
        if r.uri == site.url("/b")
        and r.type in ("response", "revisit")
        and b" 404 " in r.http_head[:20]
    ]
    # pass 2 (and its confirmation), 3 and 4: the page is stored once, then referred to
    assert [r.type for r in records] == ["response", "revisit", "revisit", "revisit"]
    first = records[0]
    for r in records[1:]:
        assert r.headers.get_header("WARC-Profile").endswith("/revisit/identical-payload-digest")
        assert r.headers.get_header("WARC-Payload-Digest") == first.headers.get_header(
            "WARC-Payload-Digest"
        )
        assert r.headers.get_header("WARC-Refers-To") == first.id
        assert r.headers.get_header("WARC-Refers-To-Target-URI") == site.url("/b")


def test_the_confirmation_delay_is_a_monitor_setting(tmp_path):
    path = tmp_path / "warcwatch.toml"
    path.write_text('[monitor]\nremoval_confirm_delay = "2m"\n')
    assert load_config(path).monitor.removal_confirm_delay == 120
    path.write_text("")
    assert load_config(path).monitor.removal_confirm_delay == 5
