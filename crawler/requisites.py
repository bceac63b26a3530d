"""Page requisites: which resources an archived page needs to replay as it was seen.

An HTML page embeds stylesheets, images (`src`, `srcset`, `<picture>` sources), scripts, icons,
video and audio (and their posters); a stylesheet pulls in fonts, images and other stylesheets
through `url(...)` and `@import`. This module finds those URLs in a response and says which of them
the crawl's `[crawl] requisites` policy lets it fetch; the spider (crawler.spiders.watchlist)
fetches them through the same downloader as the pages, so robots.txt, politeness, the size limit
and the timeouts apply, and every exchange is archived as it crossed the wire.

CSS is read with tinycss2 (a maintained CSS tokenizer, WeasyPrint's): url() tokens, url("…")
functions and @import preludes, wherever they are nested (@font-face, @media, image-set()).
`srcset` has no parser in the libraries we use; its grammar is small and written out below as the
HTML standard gives it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

if TYPE_CHECKING:  # Scrapy is imported where responses are read: the watchlist reads POLICIES
    from scrapy.http import HtmlResponse, Response


class Policy(StrEnum):
    """`[crawl] requisites`: which embeds a page's capture fetches."""

    ALL = "all"  # every host: an embed on a CDN is part of the page as seen
    SAME_HOST = "same-host"  # only those on the page's own host
    NONE = "none"


POLICIES = tuple(p.value for p in Policy)

# One response's requisites at most (a page, or a stylesheet): a gallery of thousands of images or
# a generated stylesheet cannot turn one page into thousands of fetches. Requisites are not pages:
# they do not count toward a target's max_pages.
MAX_PER_RESPONSE = 200
# Stylesheets importing stylesheets: a loop is stopped by the pass's once-per-URL rule, a long
# chain here.
MAX_IMPORT_DEPTH = 5

_REL_FETCHED = {"stylesheet", "icon", "apple-touch-icon", "apple-touch-icon-precomposed"}
_PRELOAD_AS = {"style", "font", "image", "script", "fetch", "audio", "video", "track"}
# The embeds a browser fetches itself, as XPath would say them: //img/@src, //img/@srcset,
# //picture/source/@srcset, //source/@src, //video/@src, //video/@poster, //audio/@src,
# //track/@src, //script/@src, //input[@type='image']/@src, //embed/@src, //object/@data,
# //*[@background]/@background, //*[local-name()='image' or local-name()='use']/@href (and
# @*[local-name()='href']). One walk of the page's elements of these names finds them all
# (`_of_html`): 15 XPath walks of every page cost ten times as much.
# (group, attribute, whether it holds a srcset) by element name; a group's URLs come in document
# order, the groups in this order.
_EMBEDS: dict[str, tuple[tuple[int, str, bool], ...]] = {
    "img": ((0, "src", False), (1, "srcset", True)),
    "source": ((2, "srcset", True), (3, "src", False)),  # srcset: in a <picture> only
    "video": ((4, "src", False), (5, "poster", False)),
    "audio": ((6, "src", False),),
    "track": ((7, "src", False),),
    "script": ((8, "src", False),),
    "input": ((9, "src", False),),  # type="image" only
    "embed": ((10, "src", False),),
    "object": ((11, "data", False),),
}
_GROUPS = 12
_SVG_HREF = ("image", "use")  # their @href, then any attribute whose local name is href


@dataclass(frozen=True)
class Requisite:
    """One resource to fetch: its absolute URL, and whether it is to be read as a stylesheet."""

    url: str
    stylesheet: bool = False


def allowed(policy: Policy, page_url: str, url: str) -> bool:
    """May a page at `page_url` fetch its embed at `url` under `policy`?"""
    if policy is Policy.NONE:
        return False
    if urlsplit(url).scheme not in ("http", "https"):
        return False
    return policy is Policy.ALL or urlsplit(url).hostname == urlsplit(page_url).hostname


def of_response(response: Response) -> list[Requisite]:
    """The requisites of an HTML page or a stylesheet (nothing for anything else), each URL once,
    in document order, at most MAX_PER_RESPONSE."""
    from scrapy.http import HtmlResponse
    from w3lib.url import safe_url_string

    if isinstance(response, HtmlResponse):
        found: Iterable[Requisite] = _of_html(response)
    elif is_stylesheet(response):
        found = (Requisite(u, stylesheet=s) for u, s in css_urls(response.body, response.url))
    else:
        return []
    out: dict[str, Requisite] = {}
    for r in found:
        url = safe_url_string(r.url.split("#", 1)[0])
        if url not in out and urlsplit(url).scheme in ("http", "https"):
            out[url] = Requisite(url, r.stylesheet)
            if len(out) >= MAX_PER_RESPONSE:
                break
    return list(out.values())


def is_stylesheet(response: Response) -> bool:
    ctype = (response.headers.get(b"Content-Type") or b"").split(b";")[0].strip().lower()
    return ctype == b"text/css"


def _of_html(response: HtmlResponse) -> Iterator[Requisite]:
    from scrapy.utils.response import get_base_url

    base = get_base_url(response)
    root = response.selector.root  # the page as Scrapy's selector parsed it (shared with others)
    embeds: list[list[tuple[str, bool]]] = [[] for _ in range(_GROUPS)]
    svg: list[str] = []
    svg_any: list[str] = []
    styles: list[str] = []
    for el in root.iter("link", "style", *_EMBEDS, *_SVG_HREF):
        tag, attrib = el.tag, el.attrib
        if tag == "link":
            if "href" in attrib:
                yield from _of_link(base, attrib)
        elif tag == "style":
            styles.extend(el.xpath("text()"))
        elif tag in _SVG_HREF:
            svg.extend(el.xpath("@href"))
            svg_any.extend(el.xpath("@*[local-name()='href']"))
        else:
            for slot, name, is_srcset in _EMBEDS[tag]:
                value = attrib.get(name)
                if value is None:
                    continue
                if tag == "source" and name == "srcset":
                    parent = el.getparent()
                    if parent is None or parent.tag != "picture":
                        continue
                if tag == "input" and attrib.get("type") != "image":
                    continue
                embeds[slot].append((value, is_srcset))
    backgrounds: list[str] = []
    inline: list[str] = []
    for attr in root.xpath("//@background|//@style"):  # one walk, C's: any element has them
        (backgrounds if attr.attrname == "background" else inline).append(str(attr))
    found = [*embeds, *([(v, False) for v in vs] for vs in (backgrounds, svg, svg_any))]
    for values in found:
        for value, is_srcset in values:
            urls = srcset_urls(value) if is_srcset else [value.strip()]
            yield from (Requisite(urljoin(base, u)) for u in urls if u)
    for css in styles:
        for u, sheet in css_urls(css, base):
            yield Requisite(u, sheet)
    for css in inline:
        for u, sheet in css_urls(css, base, declarations=True):
            yield Requisite(u, sheet)


def _of_link(base: str, attrib) -> Iterator[Requisite]:
    rel = set((attrib.get("rel") or "").lower().split())
    as_ = (attrib.get("as") or "").lower()
    href = attrib["href"].strip()
    if "stylesheet" in rel or ("preload" in rel and as_ == "style"):
        yield Requisite(urljoin(base, href), stylesheet=True)
    elif rel & _REL_FETCHED or "modulepreload" in rel or ("preload" in rel and as_ in _PRELOAD_AS):
        yield Requisite(urljoin(base, href))
    if "preload" in rel and attrib.get("imagesrcset"):
        yield from (Requisite(urljoin(base, u)) for u in srcset_urls(attrib["imagesrcset"]))


def srcset_urls(srcset: str) -> list[str]:
    """The URLs of a `srcset` attribute (HTML standard, "parse a srcset attribute"): each
    candidate is a URL (non-space characters, trailing commas not its own) and descriptors up to
    the next comma."""
    urls, pos, n = [], 0, len(srcset)
    while pos < n:
        while pos < n and (srcset[pos].isspace() or srcset[pos] == ","):
            pos += 1
        start = pos
        while pos < n and not srcset[pos].isspace():
            pos += 1
        url = srcset[start:pos]
        if url.endswith(","):
            url = url.rstrip(",")
        else:  # descriptors ("2x", "640w") run to the next comma outside parentheses
            depth = 0
            while pos < n and (srcset[pos] != "," or depth):
                depth += {"(": 1, ")": -1}.get(srcset[pos], 0)
                pos += 1
        if url:
            urls.append(url)
    return urls


def css_urls(css: str | bytes, base: str, declarations: bool = False) -> list[tuple[str, bool]]:
    """(absolute URL, is a stylesheet) for every url(...) and @import of a stylesheet (bytes, with
    its @charset), a <style> block or, with `declarations`, a style="" attribute."""
    return [
        (urljoin(base, token.value.strip()), sheet)
        for token, sheet in url_tokens(parse_css(css, declarations))
    ]


def parse_css(css: str | bytes, declarations: bool = False) -> list:
    """tinycss2's nodes of a stylesheet (bytes: decoded by its @charset, else UTF-8) or of a
    style="" attribute, comments and white space kept (serialised back, they are the same CSS)."""
    import tinycss2

    if isinstance(css, bytes):
        nodes, _ = tinycss2.parse_stylesheet_bytes(css)
        return list(nodes)
    if declarations:
        return list(tinycss2.parse_component_value_list(css))
    return list(tinycss2.parse_stylesheet(css))


def url_tokens(nodes) -> Iterator[tuple[Any, bool]]:
    """The tokens of tinycss2 `nodes` that hold a URL (a url() token, or the string of url("…"),
    of @import "…" or in image-set()), each with whether it names a stylesheet (@import). The
    token's `value` is the URL as written; monitor.web.replay rewrites it in place."""
    for node in nodes or ():
        kind = getattr(node, "type", None)
        if kind == "url":
            yield node, False
            continue
        if kind == "function" and node.lower_name in ("url", "src"):
            yield from ((t, False) for t in _strings(node.arguments)[:1])
            continue
        if kind == "function" and node.lower_name in ("image-set", "-webkit-image-set"):
            # image-set("a.png" 1x, url(b.png) 2x): a bare string is a URL here
            yield from ((t, False) for t in _strings(node.arguments))
        elif kind == "at-rule" and node.lower_at_keyword == "import":
            for t in node.prelude:
                if getattr(t, "type", None) in ("string", "url"):
                    yield t, True
                    break
                if getattr(t, "type", None) == "function" and t.lower_name == "url":
                    yield from ((a, True) for a in _strings(t.arguments)[:1])
                    break
            continue
        # rules, blocks and functions hold their tokens in one of these (tinycss2.ast)
        for child in ("prelude", "content", "arguments"):
            sub = getattr(node, child, None)
            if isinstance(sub, list):
                yield from url_tokens(sub)


def _strings(tokens) -> list:
    return [t for t in tokens if getattr(t, "type", None) == "string"]
