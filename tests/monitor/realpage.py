"""A real article's visible text (from trafilatura's test corpus, tests/data/realpages/), and
the site templates tests serve it in: the page as a site first served it, and after a redesign."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, replace
from pathlib import Path

HERE = Path(__file__).resolve().parents[1] / "data" / "realpages"


@dataclass(frozen=True)
class Article:
    title: str
    headline: str
    intro: str  # the standfirst's markup, as the site wrote it
    body: str  # the article body's markup, as the site wrote it

    def edited(self, old: str, new: str) -> Article:
        """The article with one edit to its text (a word replaced, a word inserted)."""
        assert old in self.body or old in self.intro, old
        return replace(
            self, intro=self.intro.replace(old, new, 1), body=self.body.replace(old, new, 1)
        )


def dw_article() -> Article:
    import lxml.html

    root = lxml.html.fromstring((HERE / "dw.com.colonial.html").read_bytes())

    def markup(css: str) -> str:
        return lxml.html.tostring(root.cssselect(css)[0], encoding="unicode")

    return Article(
        title=root.find(".//title").text_content().strip(),
        headline=root.cssselect("h1")[0].text_content().strip(),
        intro=markup("p.intro"),
        body=markup("div.longText"),
    )


def original(a: Article) -> bytes:
    """The site's first template: UTF-8, the headline above the text, where the extractor drops
    it."""
    e = html.escape
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>{e(a.title)}</title></head>\
<body>
<header><div class="logo"><a href="/">DW</a></div><nav><a href="/en/">Home</a> <a \
href="/en/germany">Germany</a></nav></header>
<div id="bodyContent"><div class="col3"><h1>{e(a.headline)}</h1>{a.intro}<div \
class="group">{a.body}</div></div></div>
<footer><p>© 2020 Deutsche Welle</p></footer></body></html>""".encode()


def redesigned(a: Article) -> bytes:
    """The same article after a redesign: new markup and white space, windows-1252 (declared in the
    header and in a <meta>), the headline inside the story, where the extractor now keeps it."""
    e = html.escape
    page = f"""<!DOCTYPE html>
<html lang="en">
  <head>
    <meta http-equiv="Content-Type" content="text/html; charset=windows-1252">
    <title>{e(a.title)}</title>
  </head>
  <body class="redesign">
    <div class="top-bar"><a href="/">DW</a></div>
    <main>
      <article class="story">
        <div class="story-body">
          <h1 class="headline">{e(a.headline)}</h1>
          {a.intro.replace("<p ", chr(10) + "          <p ")}
          {a.body.replace("<p>", chr(10) + "          <p>")}
        </div>
      </article>
    </main>
    <footer class="site-footer"><ul><li><a href="/imprint">Imprint</a></li></ul></footer>
  </body>
</html>
"""
    return page.encode("cp1252", "xmlcharrefreplace")


# --- whole real pages, as their sites served them ---------------------------------------------

_P = re.compile(r"<p\b[^>]*>(.*?)</p>", re.S | re.I)


def raw(name: str) -> str:
    """A page of tests/data/realpages, decoded as its bytes say."""
    from w3lib.encoding import html_to_unicode

    return html_to_unicode(None, (HERE / name).read_bytes())[1]


def title_of(doc: str) -> str:
    import lxml.html

    return lxml.html.document_fromstring(doc).find(".//title").text_content().strip()


def lead(doc: str) -> tuple[int, int]:
    """Where the inner markup of the page's first paragraph that `monitor.extract` keeps is."""
    from monitor.extract import extract, normalise

    kept = extract(doc.encode(), "text/html", "text/html; charset=utf-8").lines
    for m in _P.finditer(doc):
        inner = normalise(html.unescape(re.sub(r"<[^>]+>", " ", m.group(1))))
        if len(inner) > 80 and any(line.startswith(inner[:60]) for line in kept):
            return m.start(1), m.end(1)
    raise AssertionError("no kept paragraph")


def edit_lead(doc: str, old: str, new: str) -> str:
    """The page with one edit in its lead paragraph (the words may be in its <meta> too)."""
    a, b = lead(doc)
    assert old in doc[a:b], old
    return doc[:a] + doc[a:b].replace(old, new, 1) + doc[b:]


def with_box(doc: str, items: tuple[str, ...]) -> str:
    """The page with a box of headlines (no label) right after its lead paragraph."""
    _, b = lead(doc)
    close = doc.index(">", b) + 1  # the paragraph's </p>
    box = "".join(f"<p>{html.escape(i)}</p>" for i in items)
    return doc[:close] + f'<div class="more">{box}</div>' + doc[close:]


def renamed(doc: str) -> bytes:
    """The same page in a new template: the title as a heading over the lead paragraph, every
    class and id renamed, the body wrapped, re-encoded to windows-1252 (declared in a <meta>).
    The extractor knows blocks by their names and places: a block it dropped before (the
    comments' policy, under `id="comments"`) it may keep now, although a reader sees the same."""
    a, _ = lead(doc)
    at = doc.rfind("<p", 0, a)
    doc = doc[:at] + f'<h1 class="headline">{html.escape(title_of(doc))}</h1>' + doc[at:]
    doc = re.sub(
        r'class="([^"]*)"',
        lambda m: 'class="' + " ".join("v2-" + c for c in m.group(1).split()) + '"',
        doc,
    )
    doc = re.sub(r'\bid="([^"]*)"', r'id="v2-\1"', doc)
    doc = re.sub(r"<body([^>]*)>", r'<body\1><div class="v2-shell">', doc, count=1, flags=re.I)
    doc = re.sub(r"</body>", "</div></body>", doc, count=1, flags=re.I)
    doc = re.sub(r"<meta[^>]*charset[^>]*>", "", doc, flags=re.I)
    doc = re.sub(
        r"<head([^>]*)>", r'<head\1><meta charset="windows-1252">', doc, count=1, flags=re.I
    )
    return doc.encode("cp1252", "xmlcharrefreplace")
