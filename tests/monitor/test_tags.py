"""Target tags (docs/watchlist.md `tags`): `crawl --tag` and `status --tag` select the targets
with a tag, `status --json` shows each target's tags, and an alert names them. Real passes over
a local server, a real catalog."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.events import record_event
from storage.catalog import open_catalog
from storage.models import OutboxMessage
from tests.conftest import warcwatch, write_config
from tests.httpserver import page


def _watchlist(tmp_path, site):
    for path in ("/un/a", "/un/b", "/other"):
        site.routes[path] = page(f"<html><body><p>{path}</p></body></html>")
    return write_config(
        tmp_path,
        [
            {"name": "un-a", "url": site.url("/un/a"), "tags": ["un"]},
            {"name": "other", "url": site.url("/other")},
            {"name": "un-b", "url": site.url("/un/b"), "tags": ["un", "statements"]},
        ],
    )


def test_crawl_and_status_select_the_targets_with_a_tag(tmp_path, site):
    config = _watchlist(tmp_path, site)
    out = warcwatch("crawl", "--config", str(config), "--tag", "un", "--json").stdout
    assert set(json.loads(out.strip().splitlines()[-1])["targets"]) == {"un-a", "un-b"}

    status = warcwatch("status", "--config", str(config), "--tag", "statements", "--json")
    targets = json.loads(status.stdout)["targets"]
    assert [(t["name"], t["tags"]) for t in targets] == [("un-b", ["un", "statements"])]
    everything = json.loads(warcwatch("status", "--config", str(config), "--json").stdout)
    assert [t["name"] for t in everything["targets"]] == ["un-a", "other", "un-b"]


def test_a_tag_no_target_has_is_one_line_and_exit_2(tmp_path, site):
    config = _watchlist(tmp_path, site)
    done = warcwatch("crawl", "--config", str(config), "--tag", "nope", check=False)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.strip().splitlines() == [
        f"warcwatch: error: {config}: no target tagged 'nope' (tags: statements, un)"
    ]


def test_an_alert_names_the_target_s_tags(tmp_path):
    engine = open_catalog(f"sqlite:///{tmp_path / 'catalog.sqlite'}")
    now = datetime(2026, 12, 3, 17, 0, tzinfo=UTC).replace(tzinfo=None)
    with Session(engine) as s, s.begin():
        for target, tags in (("un-b", ("un", "statements")), ("other", ())):
            record_event(
                s,
                kind="changed",
                url=f"https://example.org/{target}",
                target=target,
                detected_at="20261203170000",
                run_id=None,
                channels=("json://127.0.0.1:9/hook",),
                now=now,
                tags=tags,
            )
    with Session(engine) as s:
        bodies = [m.body.splitlines()[1] for m in s.scalars(select(OutboxMessage))]
    assert bodies == [
        "target: un-b (tags: un, statements)  detected: 2026-12-03T17:00:00Z",
        "target: other  detected: 2026-12-03T17:00:00Z",
    ]
