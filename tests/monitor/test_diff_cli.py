"""`warcwatch changes` and `warcwatch diff` on a real archive: two passes over noisy pages, one
edited in between, one new item in a feed. `changes --json` has the contract's shape and filters;
`diff URL` shows the changed words (and not the template noise); `--html FILE` writes a standalone
report with both versions' capture times."""

from __future__ import annotations

import json
import re
from datetime import datetime

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from monitor.config import load_config
from storage.models import Capture
from tests.conftest import crawl, warcwatch, write_config
from tests.httpserver import SiteServer, page
from tests.monitor.pages import article, noisy
from tests.pg import BACKENDS, archive_settings, database_for

EVENT_KEYS = {"id", "url", "kind", "detected_at", "target", "from_capture", "to_capture", "summary"}
KINDS = {"added", "changed", "removed", "restored", "moved"}
EDITED = "The harbour will reopen in 30 days, the authority said on Monday."


@pytest.fixture(scope="module", params=BACKENDS)
def archive(request, tmp_path_factory):
    """Two crawl passes, with the catalog on each backend (SQLite, PostgreSQL)."""
    database = database_for(request, request.param)
    site = SiteServer().start()
    tmp = tmp_path_factory.mktemp("diff")
    doc = article("harbour")
    doc.paragraphs[1] = "The harbour will reopen in 90 days, the authority said on Monday."
    site.routes["/news/harbour"] = noisy(doc, seed=1)
    for i in (1, 2):
        site.routes[f"/wire/{i}"] = noisy(article(f"wire{i}"), seed=10 + i)

    def feed(*items: int) -> str:
        links = "".join(
            f"<item><title>{i}</title><link>{site.url(f'/wire/{i}')}</link></item>" for i in items
        )
        return (
            '<?xml version="1.0"?><rss '
            f'version="2.0"><channel><title>w</title>{links}</channel></rss>'
        )

    site.routes["/wire.xml"] = page(feed(1), content_type="application/rss+xml")
    config = write_config(
        tmp,
        [
            {"name": "news", "url": site.url("/news/harbour")},
            {"name": "wire", "kind": "feed", "url": site.url("/wire.xml")},
        ],
        archive=archive_settings(database),
    )
    try:
        crawl(config)
        doc.paragraphs[1] = EDITED
        doc.headline = "Harbour to reopen within a month"
        site.routes["/wire.xml"] = page(feed(1, 2), content_type="application/rss+xml")
        crawl(config)
        yield site, config, tmp
    finally:
        site.stop()


def cli(config, *args: str, check: bool = True):
    return warcwatch(*args, "--config", str(config), check=check)


def test_changes_json_matches_the_contract(archive):
    site, config, _ = archive
    proc = cli(config, "changes", "--json")
    events = json.loads(proc.stdout)  # nothing but the JSON array on stdout
    assert isinstance(events, list)
    assert sorted((e["kind"], e["url"]) for e in events) == [
        ("added", site.url("/wire/2")),
        ("changed", site.url("/news/harbour")),
    ]
    for e in events:
        assert EVENT_KEYS <= set(e) <= EVENT_KEYS | {"new_url", "reason"}, e
        assert e["kind"] in KINDS
        assert isinstance(e["id"], int)
        assert re.fullmatch(r"\d{14}", e["detected_at"])
        datetime.strptime(e["detected_at"], "%Y%m%d%H%M%S")
        assert isinstance(e["summary"]["added"], list) and isinstance(e["summary"]["removed"], list)
        assert all(
            isinstance(line, str) for line in e["summary"]["added"] + e["summary"]["removed"]
        )
        assert isinstance(e["to_capture"], int)
    changed = next(e for e in events if e["kind"] == "changed")
    assert changed["target"] == "news" and isinstance(changed["from_capture"], int)
    assert EDITED in changed["summary"]["added"]
    assert "Harbour to reopen within a month" in changed["summary"]["added"]


def test_changes_filters(archive):
    site, config, _ = archive
    by_target = json.loads(cli(config, "changes", "--json", "--target", "wire").stdout)
    assert [e["url"] for e in by_target] == [site.url("/wire/2")]
    assert json.loads(cli(config, "changes", "--json", "--since", "2999").stdout) == []
    assert (
        len(json.loads(cli(config, "changes", "--json", "--since", "2000-01-01T00:00:00Z").stdout))
        == 2
    )
    human = cli(config, "changes").stdout
    assert "changed" in human and site.url("/news/harbour") in human and "added" in human


def test_diff_shows_the_changed_words(archive):
    site, config, _ = archive
    out = cli(config, "diff", site.url("/news/harbour")).stdout
    assert "\x1b[" not in out, "no colour codes when stdout is not a terminal"
    minus = [line for line in out.splitlines() if line.startswith("- ")]
    plus = [line for line in out.splitlines() if line.startswith("+ ")]
    assert any("reopen in 90 days" in line for line in minus), out
    assert any("reopen in 30 days" in line for line in plus), out
    assert any("Harbour to reopen within a month" in line for line in plus), out
    assert not any("Last updated" in line or "Reference ad-" in line for line in minus + plus), out
    assert re.search(r"\d+ words added, \d+ removed", out)


def _capture_times(config, event: dict) -> list[str]:
    """The times of the event's old capture and of the URL's newest capture (the default pair)."""
    engine = create_engine(load_config(config).archive.database_url)
    with Session(engine) as s:
        old = s.get(Capture, event["from_capture"]).timestamp
        newest = s.scalars(
            select(Capture.timestamp)
            .where(Capture.url == event["url"], Capture.status == 200)
            .order_by(Capture.id.desc())
        ).first()
    return [
        datetime.strptime(t, "%Y%m%d%H%M%S").strftime("%Y-%m-%d %H:%M:%S") for t in (old, newest)
    ]


def test_diff_html_is_a_standalone_report_with_both_times(archive):
    site, config, tmp = archive
    report = tmp / "report.html"
    cli(config, "diff", site.url("/news/harbour"), "--html", str(report))
    doc = report.read_text(encoding="utf-8")
    assert doc.startswith("<!doctype html>") and "</html>" in doc
    assert (
        "<style>" in doc and '<link rel="stylesheet"' not in doc and "<script" not in doc
    )  # standalone
    changed = next(
        e for e in json.loads(cli(config, "changes", "--json").stdout) if e["kind"] == "changed"
    )
    for when in _capture_times(config, changed):
        assert when in doc, f"{when} not in the report"
    assert "<del>90</del>" in doc and "<ins>30</ins>" in doc, doc
    assert site.url("/news/harbour") in doc


def test_diff_between_chosen_versions_and_errors(archive):
    site, config, _ = archive
    changed = next(
        e for e in json.loads(cli(config, "changes", "--json").stdout) if e["kind"] == "changed"
    )
    old, new = _capture_times(config, changed)
    ts = [re.sub(r"\D", "", t) for t in (old, new)]
    out = cli(config, "diff", site.url("/news/harbour"), "--from", ts[0], "--to", ts[1]).stdout
    assert "reopen in 30 days" in out
    missing = cli(config, "diff", site.url("/nowhere"), check=False)
    assert missing.returncode != 0 and "Traceback" not in missing.stderr
    assert missing.stderr.strip().count("\n") == 0, missing.stderr  # one line
