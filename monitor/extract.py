"""A capture's meaningful text: title and main text as lines, normalised, from HTML (trafilatura,
or the target's `select` CSS selector), PDF (pypdf), JSON and plain text. The target's `ignore`
rules (CSS selectors, `regex:` patterns) are applied here, before anything is compared.

Two fallbacks keep text that the usual path would lose, and say so in `PageText.notes` (stored
with the version): a page whose declared charset does not fit its bytes (most non-ASCII characters
undecodable) is decoded as charset_normalizer detects it; a text node over libxml2's 10 MB limit,
which lxml's default parser silently cuts, is parsed again with `huge_tree`.
"""

from __future__ import annotations

import codecs
import copy
import hashlib
import json
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from io import BytesIO

_QUOTES = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u2032": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u201f": '"',
        "\u2033": '"',
        "\u00a0": " ",
        "\u202f": " ",
        "\u2009": " ",
        "\u200b": "",
    }
)
_SPACE = re.compile(r"\s+")
_BLOCK = {
    "p",
    "div",
    "li",
    "ul",
    "ol",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "br",
    "tr",
    "td",
    "th",
    "blockquote",
    "pre",
    "section",
    "article",
    "header",
    "footer",
    "aside",
    "nav",
    "main",
    "figure",
    "figcaption",
    "dt",
    "dd",
    "table",
    "hr",
    "title",
    "address",
}


# most of the non-ASCII characters undecodable: the declared charset is not the page's
_MOSTLY_UNDECODABLE = 0.5


@dataclass(frozen=True)
class PageText:
    title: str | None
    lines: tuple[str, ...]
    notes: tuple[str, ...] = ()  # the fallbacks extraction took (charset detected, huge text)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    @property
    def hash(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()


def normalise(line: str) -> str:
    """NFC, typographic quotes and odd spaces made plain, runs of white space folded."""
    return _SPACE.sub(" ", unicodedata.normalize("NFC", line).translate(_QUOTES)).strip()


def _lines(text: str, regexes: Sequence[re.Pattern]) -> list[str]:
    out = []
    for raw in text.splitlines():
        line = normalise(raw)
        for rx in regexes:
            line = normalise(rx.sub("", line))
        if line:
            out.append(line)
    return out


def split_rules(ignore: Sequence[str]) -> tuple[list[str], list[re.Pattern]]:
    css = [r for r in ignore if not r.startswith("regex:")]
    regexes = [re.compile(r[6:]) for r in ignore if r.startswith("regex:")]
    return css, regexes


def extract(
    payload: bytes,
    mime: str | None,
    content_type: str | None = None,
    url: str = "",
    select: str | None = None,
    ignore: Sequence[str] = (),
) -> PageText:
    css, regexes = split_rules(ignore)
    mime = (mime or "").lower()
    if mime == "application/pdf" or payload[:5] == b"%PDF-":
        return PageText(None, tuple(_lines(_pdf_text(payload), regexes)))
    if "json" in mime:
        try:
            text = json.dumps(json.loads(payload), sort_keys=True, indent=1, ensure_ascii=False)
            return PageText(None, tuple(_lines(text, regexes)))
        except ValueError:
            pass
    if mime.startswith("text/plain"):
        text, note = decode_html(payload, content_type)
        return PageText(None, tuple(_lines(text, regexes)), (note,) if note else ())
    return _html_text(payload, content_type, url, select, css, regexes)


def decode_html(payload: bytes, content_type: str | None) -> tuple[str, str | None]:
    """The page as text, and a note when its declared charset had to be set aside."""
    from w3lib.encoding import html_to_unicode

    # w3lib: the header's charset, then BOM / <meta>, then a guess; bad bytes become U+FFFD
    encoding, text = html_to_unicode(content_type, payload)
    bad = text.count("\ufffd")
    if not bad or bad < _MOSTLY_UNDECODABLE * sum(1 for ch in text if ch > "\x7f"):
        return text, None  # valid, or a few bad bytes in a page that is what it says
    guess = _detected(payload)
    if guess is None or codecs.lookup(guess).name == codecs.lookup(encoding).name:
        return text, None
    better = payload.decode(guess, "replace")
    if better.count("\ufffd") >= bad:
        return text, None
    return (
        better,
        f"charset: the page is not valid {encoding} as declared; decoded as {guess} (detected)",
    )


def _detected(payload: bytes) -> str | None:
    from charset_normalizer import from_bytes

    best = from_bytes(payload).best()
    return best.encoding if best is not None else None


def _pdf_text(payload: bytes) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(BytesIO(payload))
        return "\n".join(page.extract_text() or "" for page in reader.pages)
    except (PyPdfError, ValueError, KeyError, OSError) as exc:
        return f"[unreadable PDF: {exc.__class__.__name__}]"


def _block_text(element) -> str:
    """Text of an element with each block-level element on its own line."""
    for el in element.iter():
        if isinstance(el.tag, str) and el.tag.lower() in _BLOCK:
            el.tail = "\n" + (el.tail or "")
            if el.text:
                el.text = "\n" + el.text
    return element.text_content()


def _parse(html: str):
    """The document, and whether a text node over libxml2's 10 MB limit needed `huge_tree`
    (without it lxml keeps the text before that node and drops the rest, with no exception)."""
    import lxml.html

    parser = lxml.html.HTMLParser()
    root = lxml.html.document_fromstring(html, parser=parser)
    if not any(e.type_name == "ERR_RESOURCE_LIMIT" for e in parser.error_log):
        return root, False
    return lxml.html.document_fromstring(html, parser=lxml.html.HTMLParser(huge_tree=True)), True


def _html_text(
    payload: bytes,
    content_type: str | None,
    url: str,
    select: str | None,
    css: list[str],
    regexes: list[re.Pattern],
) -> PageText:
    import lxml.html
    from lxml import etree

    html, charset_note = decode_html(payload, content_type)
    notes = [charset_note] if charset_note else []
    try:
        root, huge = _parse(html)
    except (etree.ParserError, ValueError):
        return PageText(None, tuple(_lines(html, regexes)), tuple(notes))
    if huge:
        notes.append("huge text: a text node over lxml's 10 MB limit, parsed with huge_tree")
    title_el = root.find(".//title")
    title = normalise(title_el.text_content()) if title_el is not None else None
    for bad in root.xpath("//script|//style|//noscript|//template"):
        bad.drop_tree()
    for rule in css:
        for el in root.cssselect(rule):
            if el.getparent() is not None:
                el.drop_tree()
    lines: list[str] = []
    if select:
        for el in root.cssselect(select):
            lines.extend(_lines(_block_text(el), regexes))
    else:
        # trafilatura parses a string again with its own parser, which has no huge_tree: a huge
        # page is given as the tree (a copy: trafilatura prunes it), any other page as before
        source = copy.deepcopy(root) if huge else lxml.html.tostring(root, encoding="unicode")
        main = _trafilatura(source, url)
        lines = (
            _lines(main, regexes)
            if main
            else _lines(
                _block_text(root.find("body") if root.find("body") is not None else root), regexes
            )
        )
    if title:
        title = normalise(" ".join(_lines(title, regexes))) or None
    return PageText(title, tuple(([title] if title else []) + lines), tuple(notes))


def _trafilatura(html, url: str) -> str | None:
    import trafilatura

    return trafilatura.extract(
        html,
        url=url or None,
        output_format="txt",
        include_comments=False,
        include_tables=True,
        include_images=False,
        include_links=False,
        favor_precision=True,
        deduplicate=False,
    )
