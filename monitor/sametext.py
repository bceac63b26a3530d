"""Whether two versions of a page say the same to a reader although their extracted lines differ.

A site's redesign (a new template, the same article, perhaps re-encoded to windows-1252 with a
correct charset) shifts what the extractor returns without changing a word a reader sees: a
headline `<h1>` it kept out before and now keeps, the title repeated at the top, a paragraph
cut into lines differently, compatibility characters (`…`, ligatures, a soft hyphen) where the
old template had their plain forms. Two texts are the same when, after

- Unicode NFKC and the extractor's normalisation (quotes, odd spaces, white space folded),
- dropping a line near the top that repeats the title or one of its parts (`Headline | Site`),
  whole or cut short (`Headline | Si`, `Headline…`: a template that shortens its headings),
- dropping a sentence-long line that repeats an earlier line of the same text,

their words and punctuation come in the same order. Everything a reader would call an edit still
differs: a word replaced (`confirmed` → `denied`), a word inserted (`not`), a figure or a date,
a list item, the title itself.

`same_for_reader` compares two versions' visible text (`monitor.visible`) the same way, with the
title's repeats dropped wherever they are: in a whole page the headline comes after the menus.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from monitor.extract import normalise

# how a title joins its parts: "Headline | Section | Site", "Headline - Site", "Site: Headline"
_TITLE_PARTS = re.compile(r"\s+[|·•–—-]+\s+|\s*\|\s*|:\s+")
_TOKENS = re.compile(r"\w+|[^\w\s]")
_INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u200c\u200d\u2060\ufeff"))
_TITLE_MAX = 500  # characters: no title is longer
HEADLINE_LINES = 3  # a repeated title counts as markup only among the first lines after it
# a repeated line counts as markup only when it is a sentence: short lines ("Yes", "0", a name)
# repeat in lists and tables as content
REPEATED_WORDS = 5
# a heading cut short counts as the title from this many characters and words (not "Berlin")
_CUT_CHARS, _CUT_WORDS = 20, 3
_ELLIPSIS = " .…"


def _plain(line: str) -> str:
    if line.isascii():
        return line.strip()  # extracted lines are normalised already; NFKC leaves ASCII alone
    plain = unicodedata.normalize("NFKC", line).translate(_INVISIBLE)
    return line.strip() if plain == line else normalise(plain)


def title_forms(title: str) -> set[str]:
    forms = {title.casefold()}
    forms.update(p.strip().casefold() for p in _TITLE_PARTS.split(title) if len(p.strip()) > 3)
    return forms


def cut_form(line: str) -> str | None:
    """`line` without a trailing ellipsis, when it is long enough to be a heading cut short."""
    cut = line.rstrip(_ELLIPSIS)
    return cut if len(cut) >= _CUT_CHARS and len(cut.split()) >= _CUT_WORDS else None


def repeats_title(line: str, forms: set[str]) -> bool:
    """Whether `line` is the title or one of its parts (`title_forms`), whole or cut short."""
    if len(line) > _TITLE_MAX:
        return False
    folded = line.casefold()
    if folded in forms:
        return True
    cut = cut_form(folded)
    return cut is not None and any(form.startswith(cut) for form in forms)


def comparable(lines: Sequence[str], headline_lines: int = HEADLINE_LINES) -> list[str]:
    """`lines` (a version's, title first) reduced to what a reader sees, in order; a repeat of the
    title counts as markup among the first `headline_lines` lines after it."""
    plain = [p for p in map(_plain, lines) if p]
    if not plain:
        return []
    title = title_forms(plain[0])
    out = [plain[0]]
    seen = {plain[0]}
    for i, line in enumerate(plain[1:], 1):
        if i <= headline_lines and repeats_title(line, title):
            continue  # the headline (or the whole title) shown again at the top
        if line in seen and len(line.split()) >= REPEATED_WORDS:
            continue  # a line the text holds already (a teaser repeated, a block kept twice)
        seen.add(line)
        out.append(line)
    return out


def same_text(old: Sequence[str], new: Sequence[str], headline_lines: int = HEADLINE_LINES) -> bool:
    """True when `old` and `new` (masked version lines) differ only by markup, as above."""
    if list(old) == list(new):
        return True
    a = " ".join(comparable(old, headline_lines))
    b = " ".join(comparable(new, headline_lines))
    # the tokens are every character but white space: without it the texts must be equal, which
    # is cheap to see on a page of megabytes; only then are they tokenised
    if a.replace(" ", "") != b.replace(
        " ", ""
    ):  # normalised: a single space is all the white space
        return False
    return _TOKENS.findall(a) == _TOKENS.findall(b)


def same_for_reader(old: Sequence[str], new: Sequence[str]) -> bool:
    """True when two versions' visible text (masked, title first) reads the same: the extracted
    text may differ because the extractor now keeps a block, but the page shows the same words."""
    return same_text(old, new, headline_lines=max(len(old), len(new)))
