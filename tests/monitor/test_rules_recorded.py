"""Rules stored with each version (issue 12 item 5): a change is diffed, after the rules have
changed, byte for byte as it was, because `warcwatch diff` compares under the rules recorded with
the version. The rules change both ways they do in practice: the URL learns a new mask (a third
pass brings the old paragraph back, so it is learned as a line that comes and goes) and the
watchlist is edited (`ignore`, `[monitor] builtin_noise`). With `--current-rules` (today's masks
and watchlist, the texts extracted again) the same two captures differ."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from monitor.rules import of_capture
from storage.models import Capture, ChangeEvent, RuleSet, UrlState, Version
from tests.conftest import crawl, warcwatch, write_config
from tests.httpserver import SiteServer
from tests.monitor.pages import article, noisy

ORIGINAL = "The harbour will reopen in 90 days, the authority said on Monday."
EDITED = "The harbour will reopen in 30 days, the authority said on Monday."


@pytest.fixture(scope="module")
def changed(tmp_path_factory):
    """Two passes over a noisy page, one paragraph edited between them (one `changed` event),
    then a third pass where it reads as before the edit."""
    site = SiteServer().start()
    tmp = tmp_path_factory.mktemp("rules")
    doc = article("harbour")
    doc.paragraphs[1] = ORIGINAL
    site.routes["/news/harbour"] = noisy(doc, seed=3)
    target = {"name": "news", "url": site.url("/news/harbour"), "ignore": [".byline"]}
    config = write_config(tmp, [target])
    try:
        crawl(config)
        doc.paragraphs[1] = EDITED
        crawl(config)
        doc.paragraphs[1] = ORIGINAL
        crawl(config)
        yield site, tmp, target, config
    finally:
        site.stop()


def _masks(learned: list, line: str) -> bool:
    return any(e.get("pattern") and re.fullmatch(e["pattern"], line) for e in learned)


def _diff(config, event: ChangeEvent, caps: dict[int, Capture], *extra: str) -> str:
    url = event.url
    return warcwatch(
        "diff", url, "--config", str(config),
        "--from", caps[event.from_capture].exact, "--to", caps[event.to_capture].exact, *extra,
    ).stdout  # fmt: skip


def test_an_old_diff_is_reproduced_after_the_rules_change(changed):
    site, tmp, target, config = changed
    engine = create_engine(f"sqlite:///{tmp / 'archive' / 'catalog.sqlite'}")
    with Session(engine) as s:
        (event,) = s.scalars(select(ChangeEvent).where(ChangeEvent.kind == "changed")).all()
        caps = {c.id: c for c in s.scalars(select(Capture))}
        s.expunge_all()
        new_v = s.scalars(select(Version).where(Version.capture_id == event.to_capture)).one()
        recorded = s.get(RuleSet, new_v.rules_id).rules
        assert of_capture(s, event.to_capture).as_json() == recorded  # what a receipt states
    # what was in force is what is stored: the watchlist's ignore, the built-in boxes, the masks
    # the confirmation fetch taught
    assert recorded["ignore"] == [".byline"] and recorded["select"] is None
    assert recorded["builtin"] and recorded["learned"]
    assert any(e.get("learned") == "confirmation" for e in recorded["learned"])

    before = _diff(config, event, caps)
    assert "30 days" in before and "90 days" in before
    # the URL has since learned the old paragraph as a line that comes and goes
    with Session(engine) as s:
        (state,) = s.scalars(select(UrlState)).all()
        assert _masks(state.volatile, ORIGINAL) and not _masks(recorded["learned"], ORIGINAL)
    engine.dispose()

    # and the watchlist's rules change: the edited paragraph is now ignored, the built-in boxes
    # are no longer masked
    write_config(
        tmp,
        [{**target, "ignore": [".byline", "regex:^The harbour will reopen.*"]}],
        extra="\n[monitor]\nbuiltin_noise = false\n",
    )
    after = _diff(config, event, caps)
    assert after == before  # byte for byte

    today = _diff(config, event, caps, "--current-rules")
    assert today != before
    assert "30 days" not in today  # today's ignore removes the edited paragraph


def test_stored_rule_sets_are_shared(changed):
    """A URL's versions under the same rules share one stored set."""
    _, tmp, _, _ = changed
    engine = create_engine(f"sqlite:///{tmp / 'archive' / 'catalog.sqlite'}")
    with Session(engine) as s:
        versions = s.scalars(select(Version)).all()
        sets = s.scalars(select(RuleSet)).all()
    engine.dispose()
    assert all(v.rules_id is not None for v in versions)
    assert len({json.dumps(r.rules, sort_keys=True) for r in sets}) == len(sets)
    assert len(sets) < len(versions)
