"""A markup-only redesign is quiet; an edit after it is not. A real article (Deutsche Welle, from
trafilatura's test corpus) over real passes (`warcwatch crawl`) on 127.0.0.1:

| pass | the page                                                         | events            |
|------|------------------------------------------------------------------|-------------------|
| 1    | first template, UTF-8                                            | none (baseline)   |
| 2    | redesign: new markup, windows-1252, the `<h1>` now extracted too | none              |
| 3    | "has launched" → "has not launched"                              | changed           |
| 4    | "despite opposition" → "despite support"                         | changed           |
| 5    | the headline rewritten                                           | changed           |
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from monitor.extract import extract
from tests.conftest import crawl, write_config
from tests.httpserver import SiteServer, page
from tests.monitor.pages import events_of
from tests.monitor.realpage import dw_article, original, redesigned

CP1252 = "text/html; charset=windows-1252"


@pytest.fixture(scope="module")
def passes(tmp_path_factory):
    site = SiteServer().start()
    try:
        article = dw_article()
        launched = article.edited("has launched", "has not launched")
        support = launched.edited("despite opposition", "despite support")
        retitled = replace(
            support,
            title=support.title.replace("confronts", "debates"),
            headline=support.headline.replace("confronts", "debates"),
        )
        served = {
            1: page(original(article)),
            2: page(redesigned(article), content_type=CP1252),
            3: page(redesigned(launched), content_type=CP1252),
            4: page(redesigned(support), content_type=CP1252),
            5: page(redesigned(retitled), content_type=CP1252),
        }
        site.routes["/robots.txt"] = page("User-agent: *\nAllow: /\n", content_type="text/plain")
        config = write_config(
            tmp_path_factory.mktemp("redesign"), [{"name": "dw", "urls": [site.url("/colonial")]}]
        )
        runs, seen = {}, 0
        for n, responder in served.items():
            site.routes["/colonial"] = responder
            crawl(config)
            events = events_of(config)
            runs[n] = events[seen:]
            seen = len(events)
        yield article, runs
    finally:
        site.stop()


def test_the_redesign_shifts_what_the_extractor_returns():
    # the case is real: the new template's text differs line by line from the old one's
    article = dw_article()
    old = extract(original(article), "text/html", "text/html; charset=utf-8").lines
    new = extract(redesigned(article), "text/html", CP1252).lines
    assert old != new
    assert article.headline in new and article.headline not in old


def test_a_markup_only_redesign_in_windows_1252_raises_nothing(passes):
    _, runs = passes
    assert runs[1] == [] and runs[2] == []


def test_an_inserted_not_after_the_redesign_is_a_change(passes):
    _, runs = passes
    assert [e["kind"] for e in runs[3]] == ["changed"]
    summary = runs[3][0]["summary"]
    assert any("has not launched" in line for line in summary["added"])
    assert summary["words_added"] == 1 and summary["words_removed"] == 0


def test_a_one_word_reversal_after_the_redesign_is_a_change(passes):
    _, runs = passes
    assert [e["kind"] for e in runs[4]] == ["changed"]
    assert any("despite support" in line for line in runs[4][0]["summary"]["added"])


def test_a_retitled_article_after_the_redesign_is_a_change(passes):
    _, runs = passes
    assert [e["kind"] for e in runs[5]] == ["changed"]
    assert any("debates" in line for line in runs[5][0]["summary"]["added"])
