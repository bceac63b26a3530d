"""A target that stops at its `max_pages` with links left says so: in the crawl summary (text and
JSON) and in `warcwatch status`. A target whose pages all fit (linking to each other and back to
their start) says nothing. A real site on 127.0.0.1, bigger than a small max_pages."""

from __future__ import annotations

import json

import pytest

from tests.conftest import crawl, warcwatch, write_config
from tests.httpserver import SiteServer, page

LIMIT_LINE = "ministry: stopped at max_pages 10 (more links found)"


def _html(*links: str) -> str:
    return "<html><body>" + "".join(f'<a href="{h}">{h}</a>' for h in links) + "</body></html>"


@pytest.fixture(scope="module")
def limited(tmp_path_factory):
    site = SiteServer().start()
    try:
        r = site.routes
        r["/robots.txt"] = page("User-agent: *\nAllow: /\n", content_type="text/plain")
        r["/"] = page(_html(*(f"/p/{i}" for i in range(30))))  # 30 pages behind the home page
        for i in range(30):
            r[f"/p/{i}"] = page(_html("/", f"/p/{(i + 1) % 30}"))
        small = [f"/small/{i}" for i in range(4)]
        r["/small/"] = page(_html(*small))
        for p in small:
            r[p] = page(_html("/small/", *small))  # 4 pages, each linking to all: exactly max_pages
        config = write_config(
            tmp_path_factory.mktemp("limits"),
            [
                {
                    "name": "ministry",
                    "kind": "site",
                    "url": site.url("/"),
                    "depth": 1,
                    "max_pages": 10,
                },
                {
                    "name": "small",
                    "kind": "site",
                    "url": site.url("/small/"),
                    "depth": 2,
                    "max_pages": 4,
                    "allow": ["/small/"],
                },
            ],
        )
        summary = crawl(config)
        requests = [p for p, _ in site.requests]
        text = warcwatch("crawl", "--config", str(config), "--quiet").stdout
        yield site, config, summary, requests, text
    finally:
        site.stop()


def test_the_summary_names_a_target_that_stopped_at_max_pages(limited):
    _, _, summary, requests, _ = limited
    assert len({p for p in requests if p.startswith("/p/")}) == 10
    assert summary["limits"] == {"ministry": 10}, summary
    assert summary["targets"]["ministry"]["max_pages_reached"] == 10
    assert "max_pages_reached" not in summary["targets"]["small"]
    assert len({p for p in requests if p.startswith("/small/")}) == 5  # all of it


def test_the_text_summary_says_it_in_words(limited):
    _, _, _, _, text = limited
    assert LIMIT_LINE in text.splitlines(), text
    assert "small:" not in text


def test_status_says_which_target_hit_its_limit(limited):
    _, config, _, _, _ = limited
    out = warcwatch("status", "--config", str(config)).stdout
    assert [line.strip() for line in out.splitlines() if "max_pages" in line] == [LIMIT_LINE], out
    status = json.loads(warcwatch("status", "--config", str(config), "--json").stdout)
    last = {t["name"]: t["last_run"] for t in status["targets"]}
    assert last["ministry"]["max_pages_reached"] == 10
    assert "max_pages_reached" not in last["small"]
