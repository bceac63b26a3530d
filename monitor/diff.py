"""Differences between two versions' text: changed lines, with word-level detail inside them,
and the summary an event carries (lines added and removed, words added and removed)."""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass

_WORDS = re.compile(r"\w+(?:[\w'.,:-]*\w)?|[^\w\s]", re.UNICODE)
_MAX_MATCHED = 20_000  # words a side that word_diff aligns one by one


@dataclass(frozen=True)
class LineDiff:
    """One step of a line-level diff: 'equal', 'insert', 'delete' or 'replace'."""

    tag: str
    old: tuple[str, ...]
    new: tuple[str, ...]


@dataclass(frozen=True)
class TextDiff:
    steps: tuple[LineDiff, ...]

    @property
    def added(self) -> list[str]:
        return [line for s in self.steps if s.tag in ("insert", "replace") for line in s.new]

    @property
    def removed(self) -> list[str]:
        return [line for s in self.steps if s.tag in ("delete", "replace") for line in s.old]

    @property
    def changed(self) -> bool:
        return any(s.tag != "equal" for s in self.steps)

    def word_counts(self) -> tuple[int, int]:
        """(words added, words removed), counting inside replaced lines word by word."""
        plus = minus = 0
        for s in self.steps:
            if s.tag == "equal":
                continue
            for tag, old, new in word_diff(" ".join(s.old), " ".join(s.new)):
                if tag in ("insert", "replace"):
                    plus += len(_WORDS.findall(new))
                if tag in ("delete", "replace"):
                    minus += len(_WORDS.findall(old))
        return plus, minus

    def summary(self) -> dict:
        plus, minus = self.word_counts()
        return {
            "added": self.added,
            "removed": self.removed,
            "words_added": plus,
            "words_removed": minus,
        }


def diff_lines(old: Sequence[str], new: Sequence[str]) -> TextDiff:
    matcher = difflib.SequenceMatcher(None, list(old), list(new), autojunk=False)
    return TextDiff(
        tuple(
            LineDiff(tag, tuple(old[i1:i2]), tuple(new[j1:j2]))
            for tag, i1, i2, j1, j2 in matcher.get_opcodes()
        )
    )


def word_diff(old: str, new: str) -> list[tuple[str, str, str]]:
    """Word-level opcodes between two strings: (tag, old text, new text), white space kept.

    The words both share at the start and at the end are set aside first (linear), so a one-word
    edit in a paragraph of megabytes costs no more than in a short one; SequenceMatcher, quadratic
    on repetitive text, sees only the middle, and a middle still over _MAX_MATCHED words a side is
    one replacement."""
    a, b = re.findall(r"\s+|\S+", old), re.findall(r"\s+|\S+", new)
    head = 0
    while head < min(len(a), len(b)) and a[head] == b[head]:
        head += 1
    tail = 0
    while tail < min(len(a), len(b)) - head and a[-1 - tail] == b[-1 - tail]:
        tail += 1
    mid_a, mid_b = a[head : len(a) - tail], b[head : len(b) - tail]
    ops: list[tuple[str, str, str]] = []
    if head:
        ops.append(("equal", "".join(a[:head]), "".join(b[:head])))
    if max(len(mid_a), len(mid_b)) > _MAX_MATCHED:
        ops.append(("replace", "".join(mid_a), "".join(mid_b)))
    elif mid_a or mid_b:
        matcher = difflib.SequenceMatcher(None, mid_a, mid_b, autojunk=False)
        ops += [
            (tag, "".join(mid_a[i1:i2]), "".join(mid_b[j1:j2]))
            for tag, i1, i2, j1, j2 in matcher.get_opcodes()
        ]
    if tail:
        ops.append(("equal", "".join(a[len(a) - tail :]), "".join(b[len(b) - tail :])))
    return ops


def similarity(old: Sequence[str], new: Sequence[str]) -> float:
    return difflib.SequenceMatcher(None, "\n".join(old), "\n".join(new), autojunk=False).ratio()
