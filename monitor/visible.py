"""What a reader sees of an HTML page: its title, then every rendered text node, a line per block.

`monitor.extract` keeps a page's main text, and the extractor decides what is main by markup
(classes, ids, the shape of the tree): a redesign that renames `id="comments"` makes it keep a
block the old template had too, which is a difference in extracted text although a reader sees
the same page. The visible text is the second opinion, read without an extractor: all the text
of the document minus what a browser does not render (`<script>`, `<style>`, `<noscript>`,
`<template>`, the `<head>` but its title, elements `hidden` or styled `display: none` /
`visibility: hidden` inline). A stylesheet's rules are not evaluated: that needs a browser, and
what a page hides by class it hides in both versions alike. The same text serves
`monitor.template` as a host's other pages, where a site's boxes and headlines are found.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from monitor.extract import _block_text, _lines, _parse, decode_html, normalise, split_rules

_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)
_UNRENDERED = "//script|//style|//noscript|//template|//head"  # the title is read first


def visible_lines(
    payload: bytes, content_type: str | None, ignore: Sequence[str] = ()
) -> list[str]:
    """The page's title, then its visible text as normalised lines; a target's `ignore` rules are
    applied as `monitor.extract` applies them. Empty when the payload is no HTML document."""
    from lxml import etree

    css, regexes = split_rules(ignore)
    html, _ = decode_html(payload, content_type)
    try:
        root, _ = _parse(html)
    except (etree.ParserError, ValueError):
        return []
    title_el = root.find(".//title")
    title = normalise(title_el.text_content()) if title_el is not None else ""
    for el in root.xpath(_UNRENDERED):
        el.drop_tree()
    hidden = [
        el
        for el in root.iter()
        if isinstance(el.tag, str)
        and (el.get("hidden") is not None or _HIDDEN_STYLE.search(el.get("style") or ""))
    ]
    for el in hidden:
        if el.getparent() is not None:
            el.drop_tree()
    for rule in css:
        for el in root.cssselect(rule):
            if el.getparent() is not None:
                el.drop_tree()
    body = root.find("body")
    lines = _lines(_block_text(body if body is not None else root), regexes)
    if title:
        title = normalise(" ".join(_lines(title, regexes)))
    return ([title] if title else []) + lines
