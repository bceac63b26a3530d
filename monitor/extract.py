"""A capture's meaningful text: title and main text as lines, normalised, from HTML (trafilatura,
or the target's `select` CSS selector), PDF (pypdf), JSON and plain text. The target's `ignore`
rules (CSS selectors, `regex:` patterns) are applied here, before anything is compared.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from io import BytesIO

_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
                         "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
                         "\u00a0": " ", "\u202f": " ", "\u2009": " ", "\u200b": ""})
_SPACE = re.compile(r"\s+")
_BLOCK = {"p", "div", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "br", "tr", "td", "th",
          "blockquote", "pre", "section", "article", "header", "footer", "aside", "nav", "main",
          "figure", "figcaption", "dt", "dd", "table", "hr", "title", "address"}


@dataclass(frozen=True)
class PageText:
    title: str | None
    lines: tuple[str, ...]

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


def extract(payload: bytes, mime: str | None, content_type: str | None = None, url: str = "",
            select: str | None = None, ignore: Sequence[str] = ()) -> PageText:
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
        return PageText(None, tuple(_lines(_decode(payload, content_type), regexes)))
    return _html_text(payload, content_type, url, select, css, regexes)


def _decode(payload: bytes, content_type: str | None) -> str:
    from w3lib.encoding import html_to_unicode

    # w3lib: the header's charset, then BOM / <meta>, then a guess; bad bytes become U+FFFD
    return html_to_unicode(content_type, payload)[1]


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


def _html_text(payload: bytes, content_type: str | None, url: str, select: str | None,
               css: list[str], regexes: list[re.Pattern]) -> PageText:
    import lxml.html
    from lxml import etree

    html = _decode(payload, content_type)
    try:
        root = lxml.html.document_fromstring(html)
    except (etree.ParserError, ValueError):
        return PageText(None, tuple(_lines(html, regexes)))
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
        main = _trafilatura(lxml.html.tostring(root, encoding="unicode"), url)
        lines = _lines(main, regexes) if main else _lines(_block_text(root.find("body") if root.find("body") is not None else root), regexes)
    if title:
        title = normalise(" ".join(_lines(title, regexes))) or None
    return PageText(title, tuple(([title] if title else []) + lines))


def _trafilatura(html: str, url: str) -> str | None:
    import trafilatura

    return trafilatura.extract(
        html, url=url or None, output_format="txt", include_comments=False, include_tables=True,
        include_images=False, include_links=False, favor_precision=True, deduplicate=False,
    )
