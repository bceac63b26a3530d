"""A real article's visible text (from trafilatura's test corpus, tests/data/realpages/), and
the site templates tests serve it in: the page as a site first served it, and after a redesign."""

from __future__ import annotations

import html
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
