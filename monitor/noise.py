"""Template noise a page's owner never meant as content: learning it and masking it.

When a version differs from the last one, the page is fetched again at once. Whatever differs
between those two back-to-back fetches is volatile (a timestamp, a view counter, a rotating box,
a token) and becomes a pattern masked for that URL from then on. A line pattern keeps the words
the two fetches share around the part that moved, so `Page generated 13:01:02 UTC` and
`Page generated 13:01:04 UTC` teach `^Page generated .*UTC$`, and digits alone vary as `\\d+`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from monitor.diff import diff_lines

MAX_PATTERNS = 200

# Boxes that templates fill with rotating content. A single confirmation fetch cannot learn a
# rotation that happens to show the same item twice, so these labelled lines are masked from the
# start ([monitor] builtin_noise = false turns this off). Whole lines only, label first.
BUILTIN = [
    r"^(?:most (?:read|popular|viewed|shared)|popular(?: now| this week| today)?|trending(?: now| topics)?|"
    r"read (?:more|next|also)|related(?: coverage| articles| stories)?|latest(?: news| stories)?|top stories|"
    r"recommended for you|you may also like|advertisement|sponsored(?: content)?)\b.*$",
]
_MIN_ANCHOR = 4  # characters of shared text needed to anchor a pattern


def _digits_pattern(a: str, b: str) -> str | None:
    shape_a, shape_b = re.sub(r"\d+", "0", a), re.sub(r"\d+", "0", b)
    if shape_a == shape_b and shape_a != a:
        return "^" + re.escape(shape_a).replace("0", r"\d+") + "$"
    return None


def _anchored_pattern(a: str, b: str) -> str | None:
    prefix = 0
    while prefix < min(len(a), len(b)) and a[prefix] == b[prefix]:
        prefix += 1
    suffix = 0
    while suffix < min(len(a), len(b)) - prefix and a[-1 - suffix] == b[-1 - suffix]:
        suffix += 1
    # cut back to word boundaries so "Views: 1234" and "Views: 1299" anchor on "Views: "
    head = a[:prefix]
    head = head[: head.rfind(" ") + 1] if " " in head else head
    tail = a[len(a) - suffix:] if suffix else ""
    tail = tail[tail.find(" "):] if " " in tail else ""  # a shared word ending ("tim|e", "prob|e") is no anchor
    if len(head.strip()) + len(tail.strip()) < _MIN_ANCHOR:
        return None
    return "^" + re.escape(head) + ".*" + re.escape(tail) + "$"


def learn(first: Sequence[str], second: Sequence[str]) -> list[str]:
    """Patterns for the lines that differ between two back-to-back fetches of one page."""
    patterns: list[str] = []
    for step in diff_lines(first, second).steps:
        if step.tag == "equal":
            continue
        pairs = list(zip(step.old, step.new, strict=False)) if step.tag == "replace" else []
        for a, b in pairs:
            pattern = _digits_pattern(a, b) or _anchored_pattern(a, b)
            patterns.extend([pattern] if pattern else ["^" + re.escape(a) + "$", "^" + re.escape(b) + "$"])
        for line in step.old[len(pairs):] + step.new[len(pairs):]:
            patterns.append("^" + re.escape(line) + "$")
    return list(dict.fromkeys(patterns))


def merge(known: Iterable[str], learned: Iterable[str]) -> list[str]:
    out = list(dict.fromkeys([*known, *learned]))
    return out[-MAX_PATTERNS:]


def patterns_for(learned: Sequence[str], builtin: bool = True) -> list[str]:
    """The patterns masked for a URL: the built-in template boxes and what it has taught us."""
    return [*BUILTIN, *learned] if builtin else list(learned)


def mask(lines: Sequence[str], patterns: Sequence[str]) -> list[str]:
    """The lines that match no volatile pattern."""
    if not patterns:
        return list(lines)
    rx = re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)
    return [line for line in lines if not rx.match(line)]
