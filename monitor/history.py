"""Noise learned from a URL's history: lines that come and go from pass to pass.

A box of related headlines without a label draws a few items from a small pool; two fetches
seconds apart often show the same ones, so the confirmation fetch learns nothing, but over the
URL's versions its items are seen, gone, and back. Such a line is masked from then on, with the
captures that showed it (`noise.flickering`). Only short lines are taken: a box's items are
headlines, and a paragraph that comes back is an edit undone, which the flip-flop rule already
keeps quiet without masking the paragraph for good.

Where such lines came and went is remembered too (the unchanged lines before and after them:
the box's place, entries `{"slot": line, "side": "before" | "after"}`; either is enough, so an
edit of the paragraph next to the box does not lose it), so a box's next item, never seen before, is
masked in that place without having to come back first; a long line there (a paragraph) is still
text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor import noise
from monitor.diff import diff_lines
from storage.models import Version

VERSIONS = 30  # the URL's versions looked back on
MAX_CHARS = 120  # a box's item (a headline, a link text), not a paragraph


def learn(
    s: Session,
    new_v: Version,
    learned: Sequence[str | dict],
    patterns: Sequence[str],
    old: Sequence[str],
    new: Sequence[str],
) -> list[dict]:
    """Entries for what differs between the masked versions `old` and `new` as the URL's
    versions up to `new_v` explain it: the short lines that came and went, the place (the line
    before them, `{"slot": line}`) where they did, and the short lines that now change in a
    place known for it."""
    steps = diff_lines(old, new).steps
    candidates = [
        line
        for st in steps
        if st.tag != "equal"
        for line in (*st.old, *st.new)
        if len(line) <= MAX_CHARS
    ]
    if not candidates:
        return []
    rows = s.scalars(
        select(Version)
        .where(Version.url == new_v.url, Version.capture_id <= new_v.capture_id)
        .order_by(Version.capture_id.desc())
        .limit(VERSIONS)
    ).all()
    past = [
        (v.capture_id, noise.mask(v.text.split("\n") if v.text else [], patterns))
        for v in reversed(rows)
    ]
    found = noise.flickering(past, candidates)
    out = [
        e
        for line, ids in found.items()
        for e in noise.entries(["^" + re.escape(line) + "$"], "history", ids)
    ]
    places = {_place(e) for e in learned if isinstance(e, dict) and e.get("slot") is not None}
    for i, step in enumerate(steps):
        if step.tag == "equal":
            continue
        around = []  # the box's place: the unchanged line before it, and the one after it
        if i > 0 and steps[i - 1].tag == "equal":
            around.append(("before", steps[i - 1].new[-1]))
        if i + 1 < len(steps) and steps[i + 1].tag == "equal":
            around.append(("after", steps[i + 1].new[0]))
        lines = [x for x in (*step.old, *step.new) if len(x) <= MAX_CHARS]
        shown = sorted({cid for x in lines if x in found for cid in found[x]})
        if shown:  # a box's lines came and went here: this is its place
            out += [
                {"slot": line, "side": side, "learned": "history", "captures": shown}
                for side, line in around
            ]
        elif known := next((p for p in around if p in places), None):
            # a box's place (the line before or after it unchanged): what changes in it is its next
            # items
            out += [
                {
                    "pattern": "^" + re.escape(x) + "$",
                    "learned": "history",
                    "slot": known[1],
                    "side": known[0],
                    "captures": [new_v.capture_id],
                }
                for x in lines
            ]
    return out


def _place(entry: dict) -> tuple[str, str]:
    return entry.get("side", "before"), entry["slot"]
