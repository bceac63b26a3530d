"""One rendering of a change event (`monitor.event_text.render_event`): the alert's title and
body, the feed entry's summary and the event list's snippet all come from it, from one event."""

from __future__ import annotations

from monitor.event_text import Links, render_event
from storage.models import ChangeEvent


def _changed() -> ChangeEvent:
    return ChangeEvent(
        id=7,
        url="https://example.org/news",
        target="site",
        kind="changed",
        detected_at="20261203074001",
        summary={
            "added": ["At least 12 civilians were hurt."],
            "removed": ["At least 41 civilians were hurt."],
            "words_added": 1,
            "words_removed": 1,
        },
    )


def test_an_alert_reads_its_title_and_body_with_the_changed_words_marked():
    text = render_event(_changed(), "Harbour news", Links(diff="https://w.example/diff?x"))
    assert text.title == "[warcwatch] Page changed: Harbour news"
    body = text.body.splitlines()
    assert body[:3] == [
        "CHANGED https://example.org/news",
        "target: site  detected: 2026-12-03T07:40:01Z",
        "event: 7",
    ]
    assert "diff: https://w.example/diff?x" in body
    assert "At least [-41-]{+12+} civilians were hurt." in body
    assert body[-1] == "(1 words added, 1 removed)"


def test_a_feed_entry_quotes_the_lines_added_then_removed_under_a_headline():
    event = _changed()
    event.reason, event.new_url = None, None
    assert render_event(event).summary.splitlines() == [
        "changed https://example.org/news",
        "+ At least 12 civilians were hurt.",
        "- At least 41 civilians were hurt.",
    ]


def test_an_event_list_shows_the_first_line_added_else_removed_and_the_word_counts():
    text = render_event(_changed())
    assert text.snippet == ("added", "At least 12 civilians were hurt.")
    assert (text.words_added, text.words_removed) == (1, 1)
    gone = ChangeEvent(url="https://example.org/old", kind="removed", summary={"removed": ["Old"]})
    assert render_event(gone).snippet == ("removed", "Old")
    assert render_event(ChangeEvent(url="u", kind="added", summary={})).snippet is None
