"""Soft removals: a removed page that still answers 200, with the site's "page not found" template
(`soft-404`), or with a page that only sends the reader home (`redirect-home`).

A site's not-found page is learned by asking the host once for a URL that cannot exist (a random
path under `/warcwatch-probe-`, as Heritrix and others probe): whatever the host answers there, in
whatever language, is its not-found template. The probe is fetched by the crawl like any page
(robots.txt obeyed, archived as a WARC record, the evidence of the template) only when a pass has a
changed page on a host whose last probe is older than `[monitor] not_found_probe_ttl`; its capture
is found again by its URL, so the catalog is the cache. A changed page whose text is that template's
(compared as word shingles, with digits and the page's own address set aside, so that a clock or
the requested path in the message do not count) is gone.

A page that sends the reader home without a redirect status is recognised from its markup: a
`<meta http-equiv="refresh">` to the site root, a script that only sets `location` to it, or a
short page whose one link goes there. No script is run. Either way, a page counts as gone only
when its previous version was not already like that (a short article whose one link is "Home").
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from urllib.parse import unquote, urljoin, urlsplit

PROBE_PATH = "/warcwatch-probe-"
SIMILAR = 0.5  # shingle overlap (Jaccard) from which a page's text is the not-found template's
_SHINGLE = 3
# words; in scripts written without spaces (Chinese, Japanese, Korean) each character is one
_WORD = re.compile(
    r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]|[^\W\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]+"
)
_DIGITS = re.compile(r"\d+")
HOME_PATHS = {"", "/", "/index.html", "/index.htm", "/index.php", "/home", "/en", "/en/"}
_REFRESH_URL = re.compile(
    r"^\s*\d+(?:\.\d+)?\s*[;,]\s*(?:url\s*=\s*)?['\"]?([^'\"\s]+)['\"]?\s*$", re.I
)
_JS_HOME = re.compile(
    r"""^\s*(?:window\.|document\.|top\.|self\.)?location(?:\.href)?\s*=\s*['"]([^'"]*)['"]\s*;?\s*$"""
    r"""|^\s*(?:window\.|document\.)?location\.(?:replace|assign)\(\s*['"]([^'"]*)['"]\s*\)\s*;?\s*$""",
    re.I,
)
_LONE_LINK_WORDS = 40  # a page that says more than this is a page, whatever its links
_MAX_HOME_PAGE = 256 * 1024  # bytes: a page that only sends its reader home is small


def origin(url: str) -> str:
    """scheme://host[:port] of `url`: what a probe is made for."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def probe_url(url: str) -> str:
    """A URL on `url`'s host that cannot exist."""
    return f"{origin(url)}{PROBE_PATH}{secrets.token_hex(8)}"


def _site(url: str) -> str:
    return urlsplit(url).netloc.lower().removeprefix("www.")


def is_home(dest: str, page_url: str, home_urls: Sequence[str] = ()) -> bool:
    """Is `dest` (as linked from `page_url`) its site's home page (or one of the target's start
    URLs)? A link to another site's home page is not."""
    absolute = urljoin(page_url, dest.strip())
    if absolute in home_urls:
        return True
    return _site(absolute) == _site(page_url) and urlsplit(absolute).path in HOME_PATHS


def home_redirect(
    payload: bytes, content_type: str | None, url: str, home_urls: Sequence[str] = ()
) -> str | None:
    """The home page this HTML page does nothing but send its reader to, or None."""
    import lxml.html
    from lxml import etree
    from w3lib.encoding import html_to_unicode

    if len(payload) > _MAX_HOME_PAGE:
        return None
    _, text = html_to_unicode(content_type, payload)
    try:
        root = lxml.html.document_fromstring(text)
    except (etree.ParserError, ValueError):
        return None
    for meta in root.xpath("//meta[@http-equiv]"):
        if meta.get("http-equiv", "").strip().lower() == "refresh":
            m = _REFRESH_URL.match(meta.get("content", ""))
            if m is not None and is_home(m.group(1), url, home_urls):
                return urljoin(url, m.group(1))
    for script in root.xpath("//script[not(@src)]"):
        m = _JS_HOME.match(script.text_content() or "")
        dest = m.group(1) or m.group(2) if m is not None else None
        if dest and is_home(dest, url, home_urls):
            return urljoin(url, dest)
    for bad in root.xpath("//script|//style|//noscript|//template"):
        bad.drop_tree()
    body = root.find("body")
    if body is None:
        return None
    links = {
        urljoin(url, a.get("href", "").strip())
        for a in body.iter("a")
        if a.get("href", "").strip()[:1] not in ("", "#")
    }
    if len(links) != 1 or len(_WORD.findall(body.text_content())) > _LONE_LINK_WORDS:
        return None
    dest = links.pop()
    return dest if is_home(dest, url, home_urls) else None


def _shingles(lines: Sequence[str], url: str) -> set[tuple[str, ...]]:
    text = " ".join(lines).casefold()
    path = urlsplit(url).path
    for form in {url, unquote(url), path, unquote(path)} - {"", "/"}:
        text = text.replace(form.casefold(), " ")  # "the page /a/b was not found" names the page
    words = _WORD.findall(_DIGITS.sub("0", text))
    if len(words) < _SHINGLE:
        return {tuple(words)} if words else set()
    return {tuple(words[i : i + _SHINGLE]) for i in range(len(words) - _SHINGLE + 1)}


def likeness(
    page: Sequence[str], page_url: str, template: Sequence[str], template_url: str
) -> float:
    """How much of a page's text is the not-found template's (Jaccard of word shingles, 0–1)."""
    size_a, size_b = sum(map(len, page)), sum(map(len, template))
    # far longer or shorter than the template is not it (and a huge page is not shingled)
    if min(size_a, size_b) * 4 < max(size_a, size_b) - 200:
        return 0.0
    a, b = _shingles(page, page_url), _shingles(template, template_url)
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


def is_template(
    page: Sequence[str], page_url: str, template: Sequence[str], template_url: str
) -> bool:
    return likeness(page, page_url, template, template_url) >= SIMILAR
