"""Pages with template noise that changes on every request, the way real news and press sites
change: a clock in the header, "last updated" and view counters in the article, a rotating
"trending" box, ad ids, CSRF tokens and a server-timing footer. Only `Doc`'s fields are content;
tests edit them between passes to make real changes."""

from __future__ import annotations

import html
import itertools
import random
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler

from tests.httpserver import Responder, page

TRENDING = (
    "Storm batters the northern coast",
    "Central bank holds rates",
    "Cup final goes to extra time",
    "New rail line opens next spring",
    "Museum returns looted bronzes",
    "Heatwave warning for the south",
    "Tech giant faces antitrust probe",
    "Elections set for late autumn",
    "Wildfire season starts early",
)

_counter = itertools.count(1)
_lock = threading.Lock()
_EPOCH = datetime(2024, 5, 1, 9, 0, 0)


def _tick() -> int:
    with _lock:
        return next(_counter)


@dataclass
class Doc:
    """The content of one page: what a reader and the monitor care about."""

    headline: str
    paragraphs: list[str]
    kind: str = "article"  # article | statement
    editors_pick: str | None = None  # an in-article rotating block controlled by the test
    extra: dict = field(default_factory=dict)


def render(doc: Doc, n: int, rng: random.Random) -> str:
    """`doc` in a site template whose noise depends on the request number `n`."""
    e = html.escape
    now = _EPOCH + timedelta(seconds=37 * n)
    token = f"{rng.getrandbits(128):032x}"
    trending = "".join(
        f"<li><a href='/t/{i}'>{e(TRENDING[(n + i) % len(TRENDING)])}</a></li>" for i in range(3)
    )
    pick = f"<p class='pick'>Editor's pick: {e(doc.editors_pick)}</p>" if doc.editors_pick else ""
    paras = "".join(f"<p>{e(p)}</p>" for p in doc.paragraphs)
    site = "Daily Ledger" if doc.kind == "article" else "Ministry of Foreign Affairs"
    byline = "By Staff Reporter" if doc.kind == "article" else "Press Office"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{e(doc.headline)} | {site}</title>
<meta name="csrf-token" content="{token}"><script>window.__render={{"n":{n},"t":"{now:%H:%M:%S}"}}\
</script>
<style>.ad{{min-height:{90 + n % 7}px}}</style></head>
<body class="v{n % 5}">
<header><a href="/">{site}</a>
<nav><a href="/world">World</a> <a href="/politics">Politics</a> <a href="/business">Business</a> \
<a href="/press">Press</a></nav>
<div class="clock">Page generated {now:%Y-%m-%d %H:%M:%S} UTC</div></header>
<main>
<article>
<h1>{e(doc.headline)}</h1>
<p class="byline">{byline}</p>
<p class="updated">Last updated {now:%d %B %Y at %H:%M:%S}. This page has been \
viewed {1000 + rng.randrange(90000)} times.</p>
{paras}
{pick}
<p class="related">Most read today: {e(TRENDING[n % len(TRENDING)])}</p>
<p class="ref">Reference ad-{rng.getrandbits(32):08x} · session {token[:12]}</p>
</article>
<aside class="trending"><h2>Trending now</h2><ul>{trending}</ul></aside>
<div class="ad" data-ad-id="ad-{rng.getrandbits(40):x}">Advertisement</div>
<form action="/subscribe" method="post"><input type="hidden" name="csrf" value="{token}">\
<button>Subscribe</button></form>
</main>
<footer><p>© 2024 {site}. All rights reserved.</p><p>Served by node-{n % 4} \
in {rng.randrange(5, 400)} ms · request {n}</p></footer>
</body></html>
"""


def noisy(doc: Doc, seed: int = 0) -> Responder:
    """Serves `doc` (read at request time, so edits show on the next fetch) with fresh noise."""
    rng = random.Random(seed)

    def respond(h: BaseHTTPRequestHandler) -> None:
        page(render(doc, _tick(), rng))(h)

    return respond


def article(slug: str, paragraphs: int = 4, **kw) -> Doc:
    words = (
        "The committee met on Tuesday to review the {s} findings, and members said the evidence "
        "gathered over {n} months pointed to serious shortcomings in oversight."
    )
    paras = [
        words.format(s=slug, n=i + 3)
        + f" Paragraph {i + 1} of the {slug} report adds context for readers."
        for i in range(paragraphs)
    ]
    return Doc(headline=f"Inquiry into {slug} publishes its findings", paragraphs=paras, **kw)


def pdf(lines: list[str]) -> bytes:
    """A minimal one-page PDF (Helvetica, one text line per entry) that pypdf can read back."""

    def esc(text: str) -> str:
        return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    ops = (
        "BT /F1 11 Tf 14 TL 50 780 Td " + " ".join(f"({esc(line)}) Tj T*" for line in lines) + " ET"
    )
    content = ops.encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << "
        b"/Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (i, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def events_of(config) -> list[dict]:
    """Every change event of a watchlist's catalog, oldest first, in the contract's JSON shape
    (what `warcwatch changes --json` prints; read in process to keep the tests fast)."""
    from monitor.changes import list_events
    from storage.catalog import open_catalog

    engine = open_catalog(f"sqlite:///{config.parent / 'archive' / 'catalog.sqlite'}")
    try:
        return [e.as_json() for e in list_events(engine)]
    finally:
        engine.dispose()
