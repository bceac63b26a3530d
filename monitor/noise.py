"""Template noise a page's owner never meant as content: learning it, masking it, explaining it.

When a version differs from the last one, the page is fetched again at once. Whatever differs
between those two back-to-back fetches is volatile (a timestamp, a view counter, a rotating box,
a token) and becomes a pattern masked for that URL from then on. A pattern covers the sentence
that moved, not its whole line, so a counter at the end of a paragraph ("Police detained 14
protesters on Friday. Read 48213 times") masks "Read … times" and leaves the figure in the
paragraph's other sentence visible. It keeps the words the two fetches share around the part that
moved, so `Page generated 13:01:02 UTC` and `Page generated 13:01:04 UTC` teach
`^Page generated .*UTC$`, and digits alone vary as `\\d+`.

Two more sources, for noise a confirmation fetch cannot see: a stamp that reads as the capture's
own fetch time (`monitor.clocks`: "Updated 16:42 UTC", the same seconds apart), and lines that
come and go in the URL's history (a rotating box without a label drawing from a small pool:
a line seen, then gone, then back), and a difference that is all site template, lines the host's
other pages show too (`monitor.template`: a rotating box's first new items). Each learned pattern
is stored with where it came from (`UrlState.volatile` entries `{"pattern", "learned",
"captures"}`; a plain string is a pattern learned before that was recorded), so `warcwatch diff
--explain` can say why a span was masked.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from monitor import clocks, template
from monitor.diff import diff_lines

MAX_PATTERNS = 200

# Boxes that templates fill with rotating content. A single confirmation fetch cannot learn a
# rotation that happens to show the same item twice, so these labelled lines are masked from the
# start ([monitor] builtin_noise = false turns this off). Whole lines only, label first.
BUILTIN = [
    r"^(?:most (?:read|popular|viewed|shared)|popular(?: now| this week| today)?|"
    r"trending(?: now| topics)?|read (?:more|next|also)|related(?: coverage| articles| stories)?|"
    r"latest(?: news| stories)?|top stories|recommended for you|you may also like|advertisement|"
    r"sponsored(?: content)?)\b.*$",
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
    tail = a[len(a) - suffix :] if suffix else ""
    tail = (
        tail[tail.find(" ") :] if " " in tail else ""
    )  # a shared word ending ("tim|e", "prob|e") is no anchor
    if len(head.strip()) + len(tail.strip()) < _MIN_ANCHOR:
        return None
    return "^" + re.escape(head) + ".*" + re.escape(tail) + "$"


CLOCK = "\u27e8clock\u27e9"  # what a masked clock reads as, in both versions
# a sentence ends at . ! ? after a letter (not "2." in "2. Dezember", not "3.5"), before a space
_SENTENCE_END = re.compile(r"(?<=[^\W\d_][.!?])\s+|(?<=[)\"'][.!?])\s+")


def sentences(line: str) -> list[str]:
    return _SENTENCE_END.split(line)


def _pair_patterns(a: str, b: str) -> list[str]:
    pattern = _digits_pattern(a, b) or _anchored_pattern(a, b)
    return [pattern] if pattern else ["^" + re.escape(a) + "$", "^" + re.escape(b) + "$"]


def _line_patterns(a: str, b: str) -> list[str]:
    """Patterns for the sentences that differ between two versions of one line."""
    sa, sb = sentences(a), sentences(b)
    if len(sa) == 1 and len(sb) == 1:
        return _pair_patterns(a, b)
    patterns: list[str] = []
    for step in diff_lines(sa, sb).steps:
        if step.tag == "equal":
            continue
        pairs = list(zip(step.old, step.new, strict=False)) if step.tag == "replace" else []
        for x, y in pairs:
            patterns.extend(_pair_patterns(x, y))
        patterns.extend(
            "^" + re.escape(s) + "$" for s in step.old[len(pairs) :] + step.new[len(pairs) :]
        )
    return patterns


def learn(first: Sequence[str], second: Sequence[str]) -> list[str]:
    """Patterns for the sentences that differ between two back-to-back fetches of one page."""
    patterns: list[str] = []
    for step in diff_lines(first, second).steps:
        if step.tag == "equal":
            continue
        pairs = list(zip(step.old, step.new, strict=False)) if step.tag == "replace" else []
        for a, b in pairs:
            patterns.extend(_line_patterns(a, b))
        for line in step.old[len(pairs) :] + step.new[len(pairs) :]:
            patterns.append("^" + re.escape(line) + "$")
    return list(dict.fromkeys(patterns))


def entries(patterns: Iterable[str], learned: str, captures: Iterable[int]) -> list[dict]:
    """Patterns as stored, with how they were learned ("confirmation", "history"; "template" entries
    are made by `monitor.template`) and from which captures."""
    ids = sorted(set(captures))
    return [{"pattern": p, "learned": learned, "captures": ids} for p in patterns]


def pattern_of(entry: str | dict) -> str | None:
    """The entry's pattern; None for a box's place (`{"slot": line}`, see `monitor.history`)."""
    return entry if isinstance(entry, str) else entry.get("pattern")


def _key(entry: str | dict) -> str:
    if isinstance(entry, str):
        return entry
    pattern = entry.get("pattern")
    return (
        pattern
        if pattern is not None
        else f"slot:{entry.get('side', 'before')}:{entry.get('slot', '')}"
    )


def merge(known: Iterable[str | dict], learned: Iterable[str | dict]) -> list[str | dict]:
    """Known entries first (the first source of a pattern is the one kept), bounded."""
    out: dict[str, str | dict] = {}
    for entry in [*known, *learned]:
        out.setdefault(_key(entry), entry)
    return list(out.values())[-MAX_PATTERNS:]


def patterns_for(learned: Sequence[str | dict], builtin: bool = True) -> list[str]:
    """The patterns masked for a URL: the built-in template boxes and what it has taught us."""
    own = [p for p in map(pattern_of, learned) if p is not None]
    return [*BUILTIN, *own] if builtin else own


def _compiled(patterns: Sequence[str]) -> tuple[re.Pattern | None, re.Pattern | None]:
    """Whole-line patterns (all) and sentence patterns (the learned ones: a built-in box is
    recognised by its label at the start of a line, and "Latest figures show …" is a sentence)."""
    if not patterns:
        return None, None
    line_rx = re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)
    own = [p for p in patterns if p not in BUILTIN]
    return line_rx, (re.compile("|".join(f"(?:{p})" for p in own), re.IGNORECASE) if own else None)


def _mask_line(line: str, line_rx: re.Pattern, sentence_rx: re.Pattern | None) -> str:
    if line_rx.match(line):  # patterns are anchored at both ends
        return ""
    if sentence_rx is None:
        return line
    parts = sentences(line)
    if len(parts) == 1:
        return line
    return " ".join(p for p in parts if not sentence_rx.fullmatch(p))


def mask(lines: Sequence[str], patterns: Sequence[str]) -> list[str]:
    """The lines without their volatile sentences (and without the lines that are nothing else)."""
    line_rx, sentence_rx = _compiled(patterns)
    if line_rx is None:
        return list(lines)
    out = []
    for line in lines:
        kept = _mask_line(line, line_rx, sentence_rx)
        if kept:
            out.append(kept)
    return out


def mask_clocks(line: str, fetched_at: str) -> str:
    """`line` with each stamp that reads as its fetch time (a 14-digit timestamp) as CLOCK."""
    return _masked_clocks(line, clocks.clocks_in(line, clocks.fetch_time(fetched_at)))


def _masked_clocks(line: str, found: Sequence[clocks.Clock]) -> str:
    for c in reversed(found):
        line = line[: c.start] + CLOCK + line[c.end :]
    return line


def clocks_of(
    sides: Sequence[tuple[Iterable[str], str]],
) -> list[dict[str, list[clocks.Clock]]]:
    """The clocks in each side's lines ((lines, fetched at) per version), by line. A page's
    offset from UTC read from one version's stamps is the page's in the other too: a whole hour
    without a zone is looked for at those offsets (`clocks.clocks_in`)."""
    found = [
        {x: clocks.clocks_in(x, clocks.fetch_time(at)) for x in dict.fromkeys(lines)}
        for lines, at in sides
    ]
    offsets = {
        c.offset_hours
        for side in found
        for cs in side.values()
        for c in cs
        if c.offset_hours is not None
    }
    if offsets:
        for side, (_, at) in zip(found, sides, strict=True):
            for x, cs in side.items():
                if not cs:
                    side[x] = clocks.clocks_in(x, clocks.fetch_time(at), offsets)
    return found


def mask_pair(
    old: Sequence[str], old_at: str, new: Sequence[str], new_at: str, patterns: Sequence[str]
) -> tuple[list[str], list[str]]:
    """Two versions' lines masked for comparison: the patterns, then the clocks. A clock is looked
    for only in lines that are not in both versions: a shared line compares equal anyway, and the
    date parser is the costly part."""
    a, b = mask(old, patterns), mask(new, patterns)
    if a == b:
        return a, b
    shared = set(a) & set(b)
    in_a, in_b = clocks_of(
        [([x for x in a if x not in shared], old_at), ([y for y in b if y not in shared], new_at)]
    )
    return (
        [x if x in shared else _masked_clocks(x, in_a[x]) for x in a],
        [y if y in shared else _masked_clocks(y, in_b[y]) for y in b],
    )


# --- the URL's history ---------------------------------------------------------------------------


def flickering(
    history: Sequence[tuple[int, Sequence[str]]], lines: Iterable[str]
) -> dict[str, list[int]]:
    """Of `lines`, those that came and went in the URL's history (versions oldest first, as
    (capture id, masked lines)): seen, then missing, then seen again. A rotating box draws its
    items from a small pool; a real edit seldom brings back the very line it replaced. Returns
    each such line with the captures that showed it."""
    out: dict[str, list[int]] = {}
    present = [(cid, set(ls)) for cid, ls in history]
    for line in set(lines):
        seen = [line in ls for _, ls in present]
        first = seen.index(True) if True in seen else None
        if first is None:
            continue
        gone = next((i for i in range(first + 1, len(seen)) if not seen[i]), None)
        if gone is not None and True in seen[gone + 1 :]:
            out[line] = [cid for (cid, _), s in zip(present, seen, strict=True) if s]
    return out


# --- why a span is masked -------------------------------------------------------------------------


@dataclass(frozen=True)
class Masked:
    """A span of a version's line masked as noise, and the rule that did it."""

    line: str
    span: str  # the whole line, a sentence of it, or a clock stamp
    rule: str  # "built-in", "learned", "clock"
    why: str


def _why(entry: str | dict) -> str:
    if isinstance(entry, str):
        return f"learned pattern {entry} (recorded before sources were kept)"
    if entry.get("learned") == "template":
        return template.why(entry)
    ids = ", ".join(str(i) for i in entry.get("captures", []))
    if entry.get("slot") is not None:
        # the place is named by the unchanged line next to it: "before" the box is a line it follows
        where = "after" if entry.get("side", "before") == "before" else "before"
        return (
            f"learned from the URL's history: a short line in the place {where} "
            f"{entry['slot'][:60]!r}, where a box's lines have come and gone (captures {ids})"
        )
    how = {
        "confirmation": "the differences between back-to-back fetches",
        "history": "lines that came and went in the URL's history",
    }.get(str(entry.get("learned")), entry.get("learned"))
    return f"learned pattern {entry['pattern']} from {how} (captures {ids})"


def explain(
    lines: Sequence[str],
    fetched_at: str,
    learned: Sequence[str | dict],
    builtin: bool = True,
    other: Sequence[str] | None = None,
    other_at: str | None = None,
) -> list[Masked]:
    """Every span of a version's `lines` that masking leaves out, with its rule. Clocks are looked
    for in the lines `other` (the version compared with, fetched at `other_at`) does not share,
    as `mask_pair` does."""
    rules: list[tuple[str, str, str]] = [
        (
            p,
            "built-in",
            "built-in rule: a line that starts with a rotating box's label (Most read, Trending, "
            "Related, …)",
        )
        for p in (BUILTIN if builtin else [])
    ]
    rules += [(p, "learned", _why(e)) for e in learned if (p := pattern_of(e)) is not None]
    compiled = [(re.compile(p, re.IGNORECASE), rule, why) for p, rule, why in rules]
    out: list[Masked] = []
    kept: list[str] = []
    for line in lines:
        hit = next(((rule, why) for rx, rule, why in compiled if rx.match(line)), None)
        if hit is not None:
            out.append(Masked(line, line, *hit))
            continue
        parts, left = sentences(line), []
        for part in parts if len(parts) > 1 else []:
            hit = next(
                (
                    (rule, why)
                    for rx, rule, why in compiled
                    if rule == "learned" and rx.fullmatch(part)
                ),
                None,
            )
            if hit is not None:
                out.append(Masked(line, part, *hit))
            else:
                left.append(part)
        kept.append(" ".join(left) if len(parts) > 1 else line)
    theirs = mask(other, patterns_for(learned, builtin)) if other is not None else []
    shared = set(theirs)
    sides = [([x for x in kept if x and x not in shared], fetched_at)]
    if other_at is not None:
        sides.append(([y for y in theirs if y not in set(kept)], other_at))
    found = clocks_of(sides)[0]
    for line in kept:
        if line and line not in shared:
            out += [Masked(line, c.text, "clock", "built-in rule: " + c.why) for c in found[line]]
    return out
