"""A `monitor.diffview.VersionPair` laid out as rows for the diff templates: side by side, or inline
(one column, removed words struck through next to the words that replaced them). The web UI's
diff page and the standalone report (`monitor.web.report`) render the same rows.

The diff itself (lines, then words inside changed lines, with unchanged runs cut to context)
comes from `monitor.diffview` and `monitor.diff`; this module only arranges it for HTML.
"""

from __future__ import annotations

from dataclasses import dataclass

from monitor.diff import word_diff
from monitor.diffview import VersionPair, context_steps

Segment = tuple[str, str]  # (style, text): style "" for plain text, "del" or "ins" for a highlight


@dataclass(frozen=True)
class SideRow:
    kind: str  # equal | change | skip
    left: tuple[Segment, ...] | None = None  # None: no line on this side
    right: tuple[Segment, ...] | None = None
    skipped: int = 0


@dataclass(frozen=True)
class InlineRow:
    kind: str  # equal | del | ins | mixed | skip
    segments: tuple[Segment, ...] = ()
    skipped: int = 0


def _joined(segments: list[Segment]) -> tuple[Segment, ...]:
    """Neighbouring highlights of one style read as one phrase: a lone space between two deleted
    (or two inserted) words joins them, so "local monitors." is one mark, not two."""
    out: list[Segment] = []
    for style, text in segments:
        if (
            len(out) >= 2
            and style
            and out[-2][0] == style
            and not out[-1][0]
            and out[-1][1].isspace()
        ):
            space = out.pop()[1]
            out[-1] = (style, out[-1][1] + space + text)
        elif out and style and out[-1][0] == style:
            out[-1] = (style, out[-1][1] + text)
        else:
            out.append((style, text))
    return tuple(out)


def _words(a: str, b: str) -> list[tuple[str, str, str]]:
    """`monitor.diff.word_diff`, with changes separated only by a space merged into one, so
    "local monitors." → "government sources." reads as one replacement in the inline view."""
    out: list[tuple[str, str, str]] = []
    for tag, wa, wb in word_diff(a, b):
        if (
            tag == "replace"
            and len(out) >= 2
            and out[-1][0] == "equal"
            and out[-1][1].isspace()
            and out[-2][0] == "replace"
        ):
            space = out.pop()[1]
            _, pa, pb = out.pop()
            out.append(("replace", pa + space + wa, pb + space + wb))
        else:
            out.append((tag, wa, wb))
    return out


def _equal_lines(step, cut):
    if cut is None:
        return [(line, 0) for line in step.old]
    head, skipped, tail = cut
    return [*((line, 0) for line in head), (None, skipped), *((line, 0) for line in tail)]


def side_by_side(pair: VersionPair) -> list[SideRow]:
    rows: list[SideRow] = []
    for step, cut in context_steps(pair):
        if step.tag == "equal":
            for line, skipped in _equal_lines(step, cut):
                rows.append(
                    SideRow("skip", skipped=skipped)
                    if line is None
                    else SideRow("equal", (("", line),), (("", line),))
                )
            continue
        for i in range(max(len(step.old), len(step.new))):
            a = step.old[i] if i < len(step.old) else None
            b = step.new[i] if i < len(step.new) else None
            if a is not None and b is not None:
                left, right = [], []
                for tag, wa, wb in _words(a, b):
                    if tag == "equal":
                        left.append(("", wa))
                        right.append(("", wb))
                    else:
                        if wa:
                            left.append(("del", wa))
                        if wb:
                            right.append(("ins", wb))
                rows.append(SideRow("change", _joined(left), _joined(right)))
            else:
                rows.append(
                    SideRow(
                        "change",
                        (("", a),) if a is not None else None,
                        (("", b),) if b is not None else None,
                    )
                )
    return rows


def inline(pair: VersionPair) -> list[InlineRow]:
    rows: list[InlineRow] = []
    for step, cut in context_steps(pair):
        if step.tag == "equal":
            for line, skipped in _equal_lines(step, cut):
                rows.append(
                    InlineRow("skip", skipped=skipped)
                    if line is None
                    else InlineRow("equal", (("", line),))
                )
            continue
        paired = min(len(step.old), len(step.new)) if step.tag == "replace" else 0
        for a, b in zip(step.old[:paired], step.new[:paired], strict=True):
            segments: list[Segment] = []
            for tag, wa, wb in _words(a, b):
                if tag == "equal":
                    segments.append(("", wa))
                    continue
                if wa:
                    segments.append(("del", wa))
                if wb:
                    segments.append(("ins", wb))
            rows.append(InlineRow("mixed", _joined(segments)))
        rows.extend(InlineRow("del", (("del", line),)) for line in step.old[paired:])
        rows.extend(InlineRow("ins", (("ins", line),)) for line in step.new[paired:])
    return rows
