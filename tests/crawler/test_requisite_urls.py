"""Which URLs a page or a stylesheet needs (crawler.requisites), case by case: the HTML embeds a
browser fetches itself, srcset's grammar, the url()s and @imports of CSS wherever they are nested,
and the bounds. Responses are Scrapy's own, built from bytes; the crawl tests fetch them for
real."""

from __future__ import annotations

import random
from urllib.parse import urljoin

import pytest
from scrapy.http import HtmlResponse, TextResponse

from crawler import requisites
from crawler.requisites import (
    MAX_PER_RESPONSE,
    Policy,
    Requisite,
    allowed,
    of_response,
    srcset_urls,
)

PAGE = "http://site.test/news/article"


def html(body: str, head: str = "") -> HtmlResponse:
    doc = f"<!doctype html><html><head>{head}</head><body>{body}</body></html>"
    return HtmlResponse(PAGE, body=doc.encode(), headers={"Content-Type": "text/html"})


def css(text: str, url: str = "http://site.test/css/main.css") -> TextResponse:
    return TextResponse(
        url, body=text.encode(), headers={"Content-Type": "text/css; charset=utf-8"}
    )


CASES = [
    (
        "stylesheet",
        html("", '<link rel="stylesheet" href="/s.css">'),
        [("http://site.test/s.css", True)],
    ),
    (
        "preload-style",
        html("", '<link rel="preload" as="style" href="p.css">'),
        [("http://site.test/news/p.css", True)],
    ),
    (
        "preload-font",
        html("", '<link rel="preload" as="font" href="/f.woff2" crossorigin>'),
        [("http://site.test/f.woff2", False)],
    ),
    (
        "icon",
        html("", '<link rel="shortcut icon" href="/favicon.ico">'),
        [("http://site.test/favicon.ico", False)],
    ),
    (
        "not-fetched-links",
        html("", '<link rel="canonical" href="/x"><link rel="alternate" href="/feed">'),
        [],
    ),
    ("img-src", html('<img src="a.png">'), [("http://site.test/news/a.png", False)]),
    (
        "picture",
        html(
            '<picture><source srcset="w.webp 1x, w2.webp 2x" type="image/webp">'
            '<img src="f.jpg"></picture>'
        ),
        [
            ("http://site.test/news/f.jpg", False),
            ("http://site.test/news/w.webp", False),
            ("http://site.test/news/w2.webp", False),
        ],
    ),
    (
        "script",
        html('<script src="//cdn.test/app.js"></script>'),
        [("http://cdn.test/app.js", False)],
    ),
    (
        "video",
        html(
            '<video poster="p.jpg"><source src="v.mp4"><track src="c.vtt"></video>'
            '<audio src="a.mp3"></audio>'
        ),
        [
            ("http://site.test/news/v.mp4", False),
            ("http://site.test/news/p.jpg", False),
            ("http://site.test/news/a.mp3", False),
            ("http://site.test/news/c.vtt", False),
        ],
    ),
    (
        "base-href",
        html('<img src="i.png">', '<base href="http://other.test/dir/">'),
        [("http://other.test/dir/i.png", False)],
    ),
    (
        "inline-style",
        html("<div style=\"background:url('bg.png')\"></div>"),
        [("http://site.test/news/bg.png", False)],
    ),
    (
        "style-block",
        html(
            "",
            '<style>@import url("i.css"); @media screen { .a { background: url(m.png) } }</style>',
        ),
        [("http://site.test/news/i.css", True), ("http://site.test/news/m.png", False)],
    ),
    (
        "data-and-fragments",
        html('<img src="data:image/png;base64,AAAA"><img src="x.png#frag"><img src="x.png">'),
        [("http://site.test/news/x.png", False)],
    ),
    (
        "svg-image",
        html('<svg><image href="s.png"/></svg>'),
        [("http://site.test/news/s.png", False)],
    ),
    (
        "css-nested",
        css(
            '@charset "utf-8"; @import "reset.css" screen;'
            ' @font-face { src: url(../f/a.woff2) format("woff2"), url("../f/a.woff") }'
            " .h { background: image-set('h1.png' 1x, url(h2.png) 2x) }"
        ),
        [
            ("http://site.test/css/reset.css", True),
            ("http://site.test/f/a.woff2", False),
            ("http://site.test/f/a.woff", False),
            ("http://site.test/css/h1.png", False),
            ("http://site.test/css/h2.png", False),
        ],
    ),
    ("css-comment", css("/* url(no.png) */ .a { color: red }"), []),
    (
        "an-image-leads-nowhere",
        TextResponse(
            "http://site.test/a.png", body=b"url(x)", headers={"Content-Type": "image/png"}
        ),
        [],
    ),
]


@pytest.mark.parametrize("response,expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_requisites_of(response, expected):
    assert of_response(response) == [Requisite(u, s) for u, s in expected]


@pytest.mark.parametrize(
    "srcset,urls",
    [
        ("a.png", ["a.png"]),
        ("a.png 1x, b.png 2x", ["a.png", "b.png"]),
        ("a.png 480w,b.png 800w", ["a.png", "b.png"]),
        ("image,with,commas.png 2x, c.png", ["image,with,commas.png", "c.png"]),
        ("a.png,, b.png", ["a.png", "b.png"]),
        ("  ", []),
    ],
)
def test_srcset_candidates(srcset, urls):
    assert srcset_urls(srcset) == urls


def test_one_page_leads_to_a_bounded_number_of_requisites():
    many = html("".join(f'<img src="/i/{n}.png">' for n in range(MAX_PER_RESPONSE + 50)))
    assert len(of_response(many)) == MAX_PER_RESPONSE


@pytest.mark.parametrize(
    "policy,url,ok",
    [
        (Policy.ALL, "https://cdn.test/x.png", True),
        (Policy.SAME_HOST, "https://cdn.test/x.png", False),
        (Policy.SAME_HOST, "https://site.test/x.png", True),  # another scheme, the same host
        (Policy.NONE, "http://site.test/x.png", False),
        (Policy.ALL, "ftp://site.test/x.png", False),
    ],
)
def test_policies(policy, url, ok):
    assert allowed(policy, PAGE, url) is ok


# What the page's embeds are, said in XPath, one query per kind (as crawler.requisites read them
# before one walk of the elements replaced 15 walks of the page): the walk must find the same URLs
# in the same order, whatever the markup.
_XPATHS = (
    ("//img/@src", False),
    ("//img/@srcset", True),
    ("//picture/source/@srcset", True),
    ("//source/@src", False),
    ("//video/@src", False),
    ("//video/@poster", False),
    ("//audio/@src", False),
    ("//track/@src", False),
    ("//script/@src", False),
    ("//input[@type='image']/@src", False),
    ("//embed/@src", False),
    ("//object/@data", False),
    ("//*[@background]/@background", False),
    ("//*[local-name()='image' or local-name()='use']/@href", False),
    ("//*[local-name()='image' or local-name()='use']/@*[local-name()='href']", False),
)


def _by_xpath(response) -> list[Requisite]:
    from scrapy.utils.response import get_base_url

    base, out = get_base_url(response), []
    for link in response.xpath("//link[@href]"):
        out.extend(requisites._of_link(base, link.attrib))
    for xpath, is_srcset in _XPATHS:
        for value in response.xpath(xpath).getall():
            urls = srcset_urls(value) if is_srcset else [value.strip()]
            out.extend(Requisite(urljoin(base, u)) for u in urls if u)
    for text in response.xpath("//style/text()").getall():
        out.extend(Requisite(u, s) for u, s in requisites.css_urls(text, base))
    for text in response.xpath("//@style").getall():
        out.extend(Requisite(u, s) for u, s in requisites.css_urls(text, base, declarations=True))
    return out


_PIECES = [
    '<img src="{u}">',
    '<IMG SRC="{u}" srcset="{u}2 2x, {u}3 3x">',
    '<img srcset=" {u}a 1x,{u}b 2x ">',
    '<picture><source srcset="{u}p 1x" src="{u}s"><img src="{u}i"></picture>',
    '<source srcset="{u}lone" src="{u}src">',
    '<video src="{u}v" poster="{u}poster"><source src="{u}vs"><track src="{u}t"></video>',
    '<audio src="{u}a"></audio>',
    '<script src="{u}.js"></script>',
    "<script>var s = \"<img src='{u}no'>\";</script>",
    '<!-- <img src="{u}comment"> -->',
    '<input type="image" src="{u}in"><input type="IMAGE" src="{u}no2"><input src="{u}no3">',
    '<embed src="{u}e"><object data="{u}o"></object>',
    '<table background="{u}bg"><tr><td background="{u}td">x</td></tr></table>',
    '<svg><image href="{u}svg"/><use xlink:href="{u}use"/><image xlink:href="{u}x"/></svg>',
    '<div style="background: url({u}div)">t</div>',
    '<p style="color: red">no url</p>',
    "<style>.a {{ background: url({u}css) }} @import '{u}imp.css';</style>",
    '<link rel="stylesheet" href="{u}.css"><link rel="icon" href="{u}.ico">',
    '<link rel="preload" as="image" href="{u}pre" imagesrcset="{u}pre1 1x, {u}pre2 2x">',
    '<link rel="canonical" href="{u}canon"><link rel="modulepreload" href="{u}mod">',
    '<img src="   ">',
    '<img src="{u}#frag">',
    "<p>text with &lt;img src=x&gt; and a <a href='{u}a'>link</a></p>",
]


def test_one_walk_finds_what_the_xpaths_find():
    rng = random.Random(15)
    for n in range(300):
        pieces = rng.choices(_PIECES, k=rng.randint(1, 25))
        body = "".join(p.format(u=f"/r/{n}-{i}") for i, p in enumerate(pieces))
        head = '<base href="http://other.test/b/">' if rng.random() < 0.2 else ""
        response = html(body, head)
        assert list(requisites._of_html(response)) == _by_xpath(response), body
