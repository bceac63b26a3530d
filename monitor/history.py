"""Noise learned from a URL's history: lines that come and go from pass to pass.

A box of related headlines without a label draws a few items from a small pool; two fetches
seconds apart often show the same ones, so the confirmation fetch learns nothing, but over the
URL's versions its items are seen, gone, and back. Such a line is masked from then on, with the
captures that showed it (`noise.flickering`). Only short lines are taken: a box's items are
headlines, and a paragraph that comes back is an edit undone, which the flip-flop rule already
keeps quiet without masking the paragraph for good.
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
    s: Session, new_v: Version, patterns: Sequence[str], old: Sequence[str], new: Sequence[str]
) -> list[dict]:
    """Entries for the lines that differ between the masked versions `old` and `new` and that
    came and went in the URL's versions up to `new_v`."""
    diff = diff_lines(old, new)
    candidates = [line for line in (*diff.added, *diff.removed) if len(line) <= MAX_CHARS]
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
    return [
        e
        for line, ids in found.items()
        for e in noise.entries(["^" + re.escape(line) + "$"], "history", ids)
    ]
