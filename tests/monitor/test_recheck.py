"""Pages a target archived keep being re-checked after they leave its feed, so a deletion or a
quiet edit of an older article is seen; the checks thin out with age (every pass while young,
then daily, then weekly) and stop at the target's re-check window."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from monitor.recheck import due_by_target, interval
from storage.catalog import open_catalog
from storage.models import UrlState
from tests.conftest import crawl, write_config
from tests.httpserver import not_found, page
from tests.monitor.pages import events_of

NOW = datetime(2026, 11, 25, 12, 0, 0)


def _ts(when: datetime) -> str:
    return f"{when:%Y%m%d%H%M%S}"


@pytest.mark.parametrize(
    ("age", "every"),
    [
        (timedelta(hours=1), timedelta(0)),
        (timedelta(days=1, hours=23), timedelta(0)),
        (timedelta(days=2), timedelta(days=1)),
        (timedelta(days=29), timedelta(days=1)),
        (timedelta(days=30), timedelta(days=7)),
        (timedelta(days=300), timedelta(days=7)),
    ],
    ids=["hour-old", "almost-two-days", "two-days", "four-weeks", "thirty-days", "ten-months"],
)
def test_checks_thin_out_with_age(age, every):
    assert interval(age) == every


def test_due_pages_follow_the_schedule_and_the_window(tmp_path):
    engine = open_catalog(f"sqlite:///{tmp_path / 'catalog.sqlite'}")
    rows = {  # url: (first seen, last checked)
        "young-checked-now": (NOW - timedelta(hours=5), NOW - timedelta(minutes=1)),
        "week-old-checked-today": (NOW - timedelta(days=7), NOW - timedelta(hours=3)),
        "week-old-checked-yesterday": (NOW - timedelta(days=7), NOW - timedelta(days=1, minutes=1)),
        "old-checked-last-week": (NOW - timedelta(days=90), NOW - timedelta(days=8)),
        "old-checked-3-days-ago": (NOW - timedelta(days=90), NOW - timedelta(days=3)),
        "past-the-window": (NOW - timedelta(days=400), NOW - timedelta(days=30)),
    }
    with Session(engine) as s, s.begin():
        for url, (first, last) in rows.items():
            s.add(
                UrlState(
                    target="t", url=url, first_seen=_ts(first), last_checked=_ts(last), volatile=[]
                )
            )
        s.add(UrlState(target="other", url="not-this-target", first_seen=_ts(NOW), volatile=[]))
    with Session(engine) as s:
        got = set(due_by_target(s, ["t"], NOW, timedelta(days=365))["t"])
    assert got == {"young-checked-now", "week-old-checked-yesterday", "old-checked-last-week"}


def _article(text: str) -> str:
    return (
        f"<html><head><title>{text}</title></head><body><article><h1>{text}</h1><p>{text} in "
        "full.</p></article></body></html>"
    )


def _feed(*paths: str) -> bytes:
    items = "".join(f"<item><title>{p}</title><link>{p}</link></item>" for p in paths)
    return (
        f"<?xml version='1.0'?><rss version='2.0'><channel><title>t</title>{items}</channel></rss>"
    ).encode()


def test_a_page_that_left_the_feed_is_still_checked_and_its_deletion_seen(tmp_path, site):
    site.routes["/robots.txt"] = page("User-agent: *\nAllow: /\n", content_type="text/plain")
    site.routes["/feed.xml"] = page(_feed("/old", "/new"), content_type="application/rss+xml")
    site.routes["/old"] = page(_article("Old statement"))
    site.routes["/new"] = page(_article("New statement"))
    config = write_config(
        tmp_path,
        [{"name": "press", "url": site.url("/feed.xml"), "kind": "feed"}],
        extra='\n[monitor]\nremoval_confirm_delay = "0.2s"\n',
    )
    crawl(config)  # baseline
    assert len(site.hits("/old")) == 1

    # /old leaves the feed and is quietly edited: the re-check still fetches it and sees the edit
    site.routes["/feed.xml"] = page(_feed("/new"), content_type="application/rss+xml")
    site.routes["/old"] = page(_article("Old statement, rewritten"))
    crawl(config)
    assert len(site.hits("/old")) >= 2
    assert [(e["kind"], e["url"]) for e in events_of(config)] == [("changed", site.url("/old"))]

    # then it is deleted: the check that finds it gone, confirmed by a re-fetch, raises `removed`
    site.routes["/old"] = not_found()
    crawl(config)
    kinds = [(e["kind"], e["url"], e.get("reason")) for e in events_of(config)]
    assert kinds[1:] == [("removed", site.url("/old"), "404")]
