"""Site template: the lines a page shares with its host's other pages, which are not its own text.

A box of related headlines without a label rotates once per pass; in the pass where it first
moves on, every fetch shows the new items, so neither the confirmation fetch nor the URL's
history (`monitor.history`) has seen them come and go. But such a box lists the site's other
articles, and their headlines are on those pages too (their title, their heading, their boxes).
As boilerplate removal across a site's pages does (a block repeated on many pages of a site is
template), a line that differs between two versions of a page and is also in the visible text
(`monitor.visible`) of another page of the same host is the site's, not the page's. A headline
cut short by the box (`… | News and in-d`, `Headline…`) counts as the line it was cut from.

What keeps a real edit visible:
- all or nothing: template lines are masked only when they are *all* the difference; an edit
  leaves a sentence only this page has, and then nothing is masked and the summary is whole;
- the page's own title and its parts are never template (a home page lists the headline, and a
  retitle is a change);
- a box's item is a headline: a line of fewer than three words (a figure, a table's cell, a
  label) is the page's, and so is a line whose figures alone changed in place ("Cases: 1,203" →
  "Cases: 1,215"), even when a front page repeats it;
- a page that shares most of this page's lines is a copy of it (a print or AMP version, the same
  article under a second address), not another page: an edit shows on both;
- another page does not count where the line made the same move on it: a line this page gained
  that the other page gained too (its newest payload shows it, an older one does not), or one
  this page lost that the other lost too, is one edit made to both (a notice added to a
  ministry's statements), not their template. A headline whose own page was removed or edited
  meanwhile still counts: it did not move the same way there.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from monitor.diff import diff_lines
from monitor.sametext import cut_form, repeats_title, title_forms

SIBLINGS = 40  # other pages of a host whose visible text is read, the newest captures first
PAYLOADS = 2  # of each, its newest different payloads
SCAN = 2000  # the host's newest captures looked through for more, when a pass has few
COPY = 0.5  # a page holding this share of the page's lines is a copy of it, not another page
NAMED = 4  # pages named in an entry (and in `diff --explain`)
MIN_WORDS = 3  # a headline's, at the least
_DIGITS = re.compile(r"\d+")
_LETTER = re.compile(r"[^\W\d_]")


@dataclass(frozen=True)
class Sibling:
    """Another page of the host, as one of its newest captures shows it."""

    url: str
    capture_id: int
    lines: frozenset[str]


class HostText:
    """The visible lines of a host's other pages, indexed to find a line whole or cut short."""

    def __init__(self, host: str, siblings: Sequence[Sibling]):
        self.host = host
        self.siblings = list(siblings)
        self._sorted = sorted(
            (line, i) for i, sib in enumerate(self.siblings) for line in sib.lines
        )

    def pages_with(self, line: str, among: set[int]) -> set[int]:
        """The siblings (indexes, of `among`) that show `line`, or the line it was cut from."""
        cut = cut_form(line)
        key = cut if cut is not None else line
        found = set()
        at = bisect_left(self._sorted, (key, -1))
        while at < len(self._sorted) and self._sorted[at][0].startswith(key):
            text, i = self._sorted[at]
            if i in among and (text == line or cut is not None):
                found.add(i)
            at += 1
        return found

    def moved_alike(self, i: int, line: str, gained: bool) -> bool:
        """Whether sibling `i`'s page gained `line` (or, `gained` false, lost it) between its
        older payloads and its newest, as this page did."""
        url = self.siblings[i].url
        same = {j for j, sib in enumerate(self.siblings) if sib.url == url}
        newest = max(same, key=lambda j: self.siblings[j].capture_id)
        has = self.pages_with(line, same)
        return (newest in has and has != same) if gained else (newest not in has and bool(has))


def host_name(url: str) -> str:
    return urlsplit(url).netloc.lower()


def _others(url: str, own: set[str], index: HostText) -> set[int]:
    """The siblings that are other pages of the host, not `url` nor a copy of it."""
    return {
        i
        for i, sib in enumerate(index.siblings)
        if sib.url != url and len(own & sib.lines) < COPY * max(len(own), 1)
    }


def learn(
    url: str,
    titles: Iterable[str | None],
    old: Sequence[str],
    new: Sequence[str],
    index: HostText,
) -> list[dict]:
    """Entries masking every line that differs between the masked versions `old` and `new` when
    each is on another page of the host; none when one of them is only this page's."""
    steps = [st for st in diff_lines(old, new).steps if st.tag != "equal"]
    changed = [line for st in steps for x in (st.old, st.new) for line in x]
    gained = {line for st in steps for line in st.new} - {line for st in steps for line in st.old}
    if not changed or not all(_headline_like(line) for line in changed):
        return []
    for st in steps:
        for a, b in zip(st.old, st.new, strict=False):
            if _DIGITS.sub("0", a) == _DIGITS.sub("0", b):
                return []  # a figure changed in place: the page's, whoever repeats it
    forms: set[str] = set()
    for title in titles:
        if title:
            forms |= title_forms(title)
    own = set(new[1:]) or set(new)  # the title line aside: every page of a site has one
    among = _others(url, own, index)
    found: dict[str, set[int]] = {}
    for line in dict.fromkeys(changed):
        pages = set() if repeats_title(line, forms) else index.pages_with(line, among)
        pages = {i for i in pages if not index.moved_alike(i, line, line in gained)}
        if not pages:
            return []  # a line only this page has: a change, shown whole
        found[line] = pages
    return [entry(line, pages, index) for line, pages in found.items()]


def _headline_like(line: str) -> bool:
    return len(line.split()) >= MIN_WORDS and _LETTER.search(line) is not None


def entry(line: str, pages: set[int], index: HostText) -> dict:
    by_url: dict[str, Sibling] = {}  # a page by its newest capture that shows the line
    for i in sorted(pages, key=lambda i: -index.siblings[i].capture_id):
        by_url.setdefault(index.siblings[i].url, index.siblings[i])
    sibs = sorted(by_url.values(), key=lambda sib: sib.url)
    return {
        "pattern": "^" + re.escape(line) + "$",
        "learned": "template",
        "host": index.host,
        "pages": len(sibs),
        "urls": [sib.url for sib in sibs[:NAMED]],
        "captures": sorted(sib.capture_id for sib in sibs[:NAMED]),
    }


def why(e: dict) -> str:
    """`diff --explain`'s words for a template entry."""
    n = e.get("pages", len(e.get("urls", [])))
    pages = "page" if n == 1 else "pages"
    urls = ", ".join(e.get("urls", []))
    more = f", and {n - len(e.get('urls', []))} more" if n > len(e.get("urls", [])) else ""
    ids = ", ".join(str(i) for i in e.get("captures", []))
    return (
        f"site template: also on {n} other {pages} of {e.get('host')} ({urls}{more}; "
        f"captures {ids}), not this page's own text"
    )
