"""Archived pages as the snapshot view shows them: every URL a page or stylesheet names, rewritten
to the archive's own address for it (`/raw/[KEY/]TS/URL`), so that its stylesheets, images,
fonts and scripts load from the archive (each the capture nearest the page's time, as pywb
resolves them), and its links lead to the archived pages. Nothing is ever loaded from the live
web: what is not rewritten is blocked by the sandbox's CSP (monitor.web.security.RAW_CSP).

HTML is rewritten with lxml (`rewrite_links`: attributes, inline <style> and style="", meta
refresh), srcset candidates one by one (crawler.requisites.srcset_urls); stylesheets with tinycss2,
token by token (crawler.requisites.url_tokens), so the CSS is otherwise unchanged. The record
itself is never altered: this is a view of it (the record's own bytes: `/record/…`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import urljoin, urlsplit

from crawler.requisites import parse_css, srcset_urls, url_tokens
from monitor.web.links import in_path

_DOCTYPE = re.compile(r"\ufeff?\s*(?:<!--.*?-->\s*)*(<!doctype[^>]*>)", re.I | re.S)
_KEEP = ("#", "data:", "javascript:", "mailto:", "tel:", "about:", "blob:")


def archive_address(prefix: str, ts: str) -> Callable[[str], str | None]:
    """The archive's address of an absolute URL at time `ts` (None for what is not http(s))."""

    def address(url: str) -> str | None:
        if urlsplit(url).scheme not in ("http", "https"):
            return None
        return f"{prefix}/{ts}/{in_path(url)}"

    return address


def rewrite(
    body: bytes, content_type: str, url: str, address: Callable[[str], str | None]
) -> tuple[bytes, str] | None:
    """The payload rewritten for the snapshot view and its new Content-Type, or None when it is
    neither HTML nor CSS (served as archived)."""
    mime = content_type.split(";", 1)[0].strip().lower()
    if mime in ("text/html", "application/xhtml+xml"):
        html = rewrite_html(body, content_type, url, address)
        return None if html is body else (html, "text/html; charset=utf-8")
    if mime == "text/css":
        css = rewrite_css(body, url, address)
        return None if css is body else (css, "text/css; charset=utf-8")
    return None


class _Relink:
    """Relinks one document's URLs against its base; counts what it changed (a document with
    nothing to rewrite is served as archived, byte for byte)."""

    def __init__(self, base: str, address: Callable[[str], str | None]):
        self.base, self.address, self.changed = base, address, 0

    def __call__(self, link: str) -> str:
        stripped = link.strip()
        if not stripped or stripped.lower().startswith(_KEEP):
            return link
        new = self.address(urljoin(self.base, stripped))
        if new is None:
            return link
        self.changed += 1
        return new


def rewrite_html(
    body: bytes, content_type: str, url: str, address: Callable[[str], str | None]
) -> bytes:
    import lxml.html

    from monitor.extract import decode_html

    text, _ = decode_html(body, content_type)
    if not text.strip():
        return body
    doc = lxml.html.document_fromstring(text)
    base = url
    for el in doc.iter("base"):  # the page's own base, resolved here; the view has none
        if el.get("href"):
            base = urljoin(url, el.get("href").strip())
        el.drop_tree()
    relink = _Relink(base, address)
    doc.rewrite_links(relink, resolve_base_href=False)
    for attr in ("srcset", "imagesrcset"):  # not among the links lxml knows
        for el in doc.xpath(f"//*[@{attr}]"):
            el.set(attr, _relink_srcset(el.get(attr), relink))
    if not relink.changed:
        return body
    # the page's own doctype, as written (libxml2 reports an HTML 4 one for a page without any,
    # which would take it out of quirks mode)
    declared = _DOCTYPE.match(text)
    doctype = declared.group(1).encode("utf-8") if declared else b""
    return doctype + lxml.html.tostring(doc, encoding="utf-8")


def _relink_srcset(value: str, relink: _Relink) -> str:
    """`value` with each candidate's URL relinked, its descriptors and separators as they were."""
    out, pos = [], 0
    for candidate in srcset_urls(value):
        at = value.find(candidate, pos)
        out += [value[pos:at], relink(candidate)]
        pos = at + len(candidate)
    return "".join(out) + value[pos:]


def rewrite_css(body: bytes, url: str, address: Callable[[str], str | None]) -> bytes:
    import tinycss2

    nodes = parse_css(body)
    relink = _Relink(url, address)
    _relink_tokens(nodes, relink)
    return tinycss2.serialize(nodes).encode("utf-8") if relink.changed else body


def _relink_tokens(nodes, relink: _Relink) -> None:
    from tinycss2.serializer import serialize_string_value, serialize_url

    for token, _ in url_tokens(nodes):
        new = relink(token.value)
        token.value = new
        # tinycss2 serialises a token from its representation: write the new one
        if token.type == "url":
            token.representation = f"url({serialize_url(new)})"
        else:
            token.representation = f'"{serialize_string_value(new)}"'
