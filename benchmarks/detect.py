#!/usr/bin/env python
"""Change detection quality and speed: precision and recall of `changed` on a labelled set of
version pairs, and versions/s of extract + diff.

    python benchmarks/detect.py     # 240 pairs per label set, writes benchmarks/RESULTS-detect.md
    python benchmarks/detect.py --pairs 600 --seed 7 --no-write

What it does:
1. generates documents (news articles and official statements: headline, dateline, 4-9 paragraphs
   of prose with names, places, figures and dates) and renders them through six site templates
   (three news sites, three ministries), each with a header, nav, footer and the noise such sites
   carry on every request: a "page generated" clock, "last updated" stamps, view and share counters,
   a rotating "trending"/"most read" box, ad slot ids, CSRF tokens, cache-busting asset ids,
   request ids in the footer;
2. builds labelled pairs (old render, new render) of the same URL:
   NOISE — the same document re-rendered with fresh noise, optionally with markup-only edits
   (wrappers, attributes, classes) or white-space-only edits (reflowed lines, indentation, nbsp);
   REAL — the document edited, then re-rendered with fresh noise: a sentence added, a paragraph
   rewritten, a number changed inside a sentence, the headline changed, a paragraph deleted;
3. runs each pair through the monitor's own pipeline (no re-implementation):
   `monitor.extract.extract` of the old and the new render; if the texts' hashes differ, a
   confirmation fetch (the new document rendered once more with fresh noise) whose differences
   `monitor.noise.learn` turns into patterns; `monitor.noise.mask` on both versions;
   `monitor.diff.diff_lines(...).changed` decides — the same steps and order as `Analyser.inspect` →
   confirmation fetch → `Analyser.settle`;
4. reports precision and recall of `changed` (positive = REAL), per edit and noise kind, and the
   speed of extract + diff in versions/s (every extraction counted, confirmation renders included).

Also reported, outside the headline figures: "slow" noise, a stamp that changes between passes but
not between two back-to-back fetches (minute-resolution "last updated"), which a confirmation fetch
cannot learn by design: it needs a target's `ignore` rule, and is shown to say so.
"""

from __future__ import annotations

import argparse
import html
import random
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.machine import describe  # noqa: E402
from monitor import noise  # noqa: E402
from monitor.config import MonitorSettings  # noqa: E402
from monitor.diff import diff_lines  # noqa: E402
from monitor.extract import extract  # noqa: E402

OUT = Path(__file__).with_name("RESULTS-detect.md")
FLIP_FLOP = MonitorSettings().flip_flop_versions
CONFIRM_FETCHES = MonitorSettings().confirm_fetches

# --- documents ------------------------------------------------------------------------------------

PEOPLE = (
    "Amina Diallo",
    "Jonas Weber",
    "Li Na",
    "Carlos Mendes",
    "Priya Raman",
    "Olga Ivanova",
    "Tomás Ruiz",
    "Fatima Zahra",
    "Kenji Sato",
    "Grace Mwangi",
    "Henrik Larsen",
    "Sofia Rossi",
)
ROLES = (
    "the foreign minister",
    "a government spokesperson",
    "the mayor",
    "the central bank governor",
    "a senior UN official",
    "the opposition leader",
    "the health minister",
    "the police chief",
)
PLACES = (
    "Geneva",
    "Nairobi",
    "the northern province",
    "the capital",
    "the border region",
    "Lisbon",
    "the coastal districts",
    "Brussels",
    "the river delta",
    "Jakarta",
)
TOPICS = (
    "the ceasefire",
    "the budget",
    "the flood response",
    "the trade agreement",
    "the inquiry",
    "the vaccination campaign",
    "the election timetable",
    "the harbour project",
    "the court ruling",
)
VERBS = ("said", "told reporters", "confirmed", "warned", "announced", "insisted", "acknowledged")
TRENDING = (
    "Storm batters the northern coast",
    "Central bank holds rates",
    "Cup final goes to extra time",
    "New rail line opens next spring",
    "Museum returns looted bronzes",
    "Heatwave warning issued",
    "Tech giant faces antitrust probe",
    "Elections set for late autumn",
    "Wildfire season starts early",
    "Strike halts port traffic",
    "Scientists map deep-sea vents",
    "Teachers win pay deal",
)
MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def sentence(rng: random.Random) -> str:
    p, r, place, topic, v = (
        rng.choice(PEOPLE),
        rng.choice(ROLES),
        rng.choice(PLACES),
        rng.choice(TOPICS),
        rng.choice(VERBS),
    )
    n, m = rng.randrange(2, 950), rng.choice(MONTHS)
    return rng.choice(
        (
            f"{p}, {r}, {v} that {topic} would be reviewed in {place} "
            f"before {rng.randrange(1, 28)} {m}.",
            f"At least {n} people were affected in {place}, according to figures released "
            f"on {rng.randrange(1, 28)} {m}.",
            f"The cost of {topic} has risen to {rng.randrange(2, 90)}.{rng.randrange(10)} million "
            f"dollars, {p} {v}.",
            f"Talks on {topic} resumed in {place} after a pause of {rng.randrange(2, 20)} weeks.",
            f"{p} {v} that no decision on {topic} had been taken and that consultations "
            f"in {place} would continue.",
            f"Critics in {place} {v} the plan lacked detail, while {r} defended {topic} as "
            "necessary.",
            f"Under the proposal, {n} officials would be assigned to {topic} by the end of {m}.",
            f"The statement, issued in {place}, called on all parties to respect {topic} and to "
            "avoid escalation.",
        )
    )


def paragraph(rng: random.Random) -> str:
    return " ".join(sentence(rng) for _ in range(rng.randrange(2, 5)))


@dataclass
class Doc:
    kind: str  # article | statement
    headline: str
    dateline: str
    paragraphs: list[str]
    author: str


def new_doc(rng: random.Random, kind: str) -> Doc:
    topic = rng.choice(TOPICS)
    headline = (
        f"{rng.choice(PLACES).capitalize()}: {rng.choice(ROLES)} vows action on {topic}"
        if kind == "article"
        else f"Statement on {topic} following the meeting in {rng.choice(PLACES)}"
    )
    return Doc(
        kind,
        headline,
        f"{rng.randrange(1, 28)} {rng.choice(MONTHS)} 2024",
        [paragraph(rng) for _ in range(rng.randrange(4, 10))],
        rng.choice(PEOPLE),
    )


# --- edits: REAL ----------------------------------------------------------------------------------


def add_sentence(doc: Doc, rng: random.Random) -> Doc:
    paras = list(doc.paragraphs)
    i = rng.randrange(len(paras))
    paras[i] = paras[i] + " " + sentence(rng)
    return replace(doc, paragraphs=paras)


def rewrite_paragraph(doc: Doc, rng: random.Random) -> Doc:
    paras = list(doc.paragraphs)
    paras[rng.randrange(len(paras))] = paragraph(rng)
    return replace(doc, paragraphs=paras)


def change_number(doc: Doc, rng: random.Random) -> Doc:
    paras = list(doc.paragraphs)
    candidates = [(i, m) for i, p in enumerate(paras) for m in re.finditer(r"\d+", p)]
    i, m = rng.choice(candidates)
    old = int(m.group())
    new = old + rng.choice((1, 2, 10, 100, -1)) if old > 1 else old + 1
    paras[i] = paras[i][: m.start()] + str(new) + paras[i][m.end() :]
    return replace(doc, paragraphs=paras)


def change_headline(doc: Doc, rng: random.Random) -> Doc:
    words = doc.headline.split()
    words[-1] = rng.choice(("talks", "plans", "reforms", "aid", "measures", "delays"))
    headline = " ".join(words) if " ".join(words) != doc.headline else doc.headline + " (updated)"
    return replace(doc, headline=headline)


def delete_paragraph(doc: Doc, rng: random.Random) -> Doc:
    paras = list(doc.paragraphs)
    del paras[rng.randrange(len(paras))]
    return replace(doc, paragraphs=paras)


REAL_EDITS: dict[str, Callable[[Doc, random.Random], Doc]] = {
    "sentence-added": add_sentence,
    "paragraph-rewritten": rewrite_paragraph,
    "number-changed": change_number,
    "headline-changed": change_headline,
    "paragraph-deleted": delete_paragraph,
}

# --- rendering: site templates with noise ---------------------------------------------------------


@dataclass
class Noise:
    """What changes on every request. `markup` and `spacing` vary the markup/white space only."""

    rng: random.Random
    now: datetime
    markup: int = 0
    spacing: int = 0
    slow_stamp: bool = False
    extra: dict = field(default_factory=dict)

    def token(self, bits: int = 128) -> str:
        return f"{self.rng.getrandbits(bits):0{bits // 4}x}"


def _para(text: str, n: Noise, i: int) -> str:
    e = html.escape(text)
    if n.spacing:
        words = e.split(" ")
        cut = 1 + (i * 7 + n.spacing) % max(1, len(words) - 1)
        e = (
            " ".join(words[:cut])
            + ("\n      " if n.spacing % 2 else "&nbsp; ")
            + " ".join(words[cut:])
        )
    if n.markup:
        style = n.markup % 3
        if style == 0:
            return f'<p class="para p{i} v{n.markup}" data-idx="{i}">{e}</p>'
        if style == 1:
            return f"<div class='text-block'><p id='para-{i}-{n.markup}'>{e}</p></div>"
        first, _, rest = e.partition(" ")
        return f"<p><span class='lead'>{first}</span> {rest}</p>"
    return f"<p>{e}</p>"


def _trending(n: Noise, k: int = 4) -> list[str]:
    return n.rng.sample(TRENDING, k)


def _updated(n: Noise) -> str:
    stamp = n.now.replace(second=0) if n.slow_stamp else n.now
    fmt = "%d %B %Y, %H:%M" if n.slow_stamp else "%d %B %Y, %H:%M:%S"
    return stamp.strftime(fmt)


def news_ledger(doc: Doc, n: Noise) -> str:
    e = html.escape
    paras = "\n".join(_para(p, n, i) for i, p in enumerate(doc.paragraphs))
    trend = "".join(f"<li><a href='/t/{n.token(16)}'>{e(t)}</a></li>" for t in _trending(n))
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{e(doc.headline)} \
| The Daily Ledger</title>
<meta name="csrf-token" content="{n.token()}"><link rel="stylesheet" \
href="/static/site.css?v={n.token(32)}">
<script>window.dataLayer=[{{"pv":"{n.token(64)}","ts":{int(n.now.timestamp())}}}]</script></head>
<body><header class="masthead"><a href="/" class="logo">The Daily Ledger</a>
<nav><ul><li><a href="/world">World</a></li><li><a href="/politics">Politics</a></li><li><a \
href="/business">Business</a></li>
<li><a href="/climate">Climate</a></li><li><a href="/opinion">Opinion</a></li></ul></nav>
<div class="ticker">Markets: FTSE {7000 + n.rng.randrange(900)} · \
Dow {38000 + n.rng.randrange(2000)}</div>
<p class="clock">{n.now:%A %d %B %Y %H:%M:%S} GMT</p></header>
<main><article>
<h1>{e(doc.headline)}</h1>
<p class="byline">By {e(doc.author)} · {e(doc.dateline)}</p>
<p>Last updated {_updated(n)} · {n.rng.randrange(1000, 250000):,} views \
· {n.rng.randrange(0, 3000)} comments</p>
{paras}
<p>Most read now: {e(_trending(n, 1)[0])}</p>
<p>Advertisement · ref {n.token(24)}</p>
<div class="ad-slot" id="div-gpt-ad-{n.token(40)}" data-ad-id="{n.token(24)}">Advertisement</div>
</article>
<aside class="trending"><h2>Trending</h2><ol>{trend}</ol></aside></main>
<form class="newsletter" method="post"><input type="hidden" name="csrfmiddlewaretoken" \
value="{n.token()}">
<input name="email" placeholder="Your email"><button>Sign up</button></form>
<footer><p>© 2024 The Daily Ledger Ltd. All rights reserved.</p>
<p class="debug">Rendered by web-{n.rng.randrange(1, 40)} in {n.rng.randrange(8, 600)} ms · \
req {n.token(48)}</p></footer>
</body></html>"""


def news_courier(doc: Doc, n: Noise) -> str:
    e = html.escape
    paras = "\n".join(_para(p, n, i) for i, p in enumerate(doc.paragraphs))
    most = "".join(
        f"<li>{e(t)} <span class='count'>{n.rng.randrange(100, 9000)} reading</span></li>"
        for t in _trending(n, 5)
    )
    return f"""<!DOCTYPE html>
<html><head><title>{e(doc.headline)} - Evening Courier</title>
<meta property="og:title" content="{e(doc.headline)}"><meta name="request-id" \
content="{n.token(64)}"></head>
<body class="article-page theme-{n.rng.randrange(3)}">
<div id="top"><a href="/">Evening Courier</a> | <a href="/subscribe">Subscribe</a> | <a \
href="/login">Log in</a></div>
<div class="container"><div class="col-main">
<h1 class="headline">{e(doc.headline)}</h1>
<div class="article-meta"><span>{e(doc.author)}</span> <time>{e(doc.dateline)}</time>
<span class="updated">Updated {_updated(n)}</span></div>
<div class="share">Shared {n.rng.randrange(10, 9999)} times</div>
<div class="article-body">
<p>Updated {_updated(n)}. Shared {n.rng.randrange(10, 9999)} times.</p>
{paras}
</div>
<div class="promo" data-campaign="{n.token(32)}">Read more with a subscription \
for {n.rng.randrange(1, 9)} euros a month</div>
</div>
<div class="col-side"><h3>Most read</h3><ul>{most}</ul>
<div class="ad" id="ad-{n.rng.randrange(10**9)}">Sponsored</div></div></div>
<div id="footer">Evening Courier · Page served {n.now:%Y-%m-%dT%H:%M:%SZ} · build {n.token(28)}\
</div>
</body></html>"""


def news_wire(doc: Doc, n: Noise) -> str:
    e = html.escape
    paras = "\n".join(_para(p, n, i) for i, p in enumerate(doc.paragraphs))
    return f"""<html><head><meta charset="utf-8"><title>{e(doc.headline)}</title></head><body>
<header><nav><a href="/">Wire Service</a> <a href="/latest">Latest</a> <a href="/regions">Regions\
</a></nav>
<span class="live">LIVE · {n.rng.randrange(2, 60)} updates in the last hour</span></header>
<section class="story"><h1>{e(doc.headline)}</h1>
<p class="dateline">{e(doc.dateline)} (Wire) — filed by {e(doc.author)}</p>
{paras}
<p class="stamp">Last updated {_updated(n)} UTC</p>
</section>
<section class="related"><h4>Related coverage\
</h4>{"".join(f"<a href='/r/{n.token(12)}'>{e(t)}</a><br>" for t in _trending(n, 3))}</section>
<input type="hidden" id="__RequestVerificationToken" value="{n.token()}">
<footer>Wire Service © 2024 · node {n.rng.randrange(100)} · {n.rng.randrange(3, 300)}ms</footer>\
</body></html>"""


def ministry_press(doc: Doc, n: Noise) -> str:
    e = html.escape
    paras = "\n".join(_para(p, n, i) for i, p in enumerate(doc.paragraphs))
    return f"""<!doctype html><html lang="en"><head><title>{e(doc.headline)} — Ministry of Foreign \
Affairs</title>
<meta name="_csrf" content="{n.token()}"><script src="/js/app.js?cb={n.token(20)}"></script></head>
<body><div class="govbar">An official website of the government · <a href="/en">EN</a> <a \
href="/fr">FR</a></div>
<header><h2>Ministry of Foreign Affairs</h2><nav><a href="/press">Press</a> <a \
href="/travel">Travel advice</a>
<a href="/embassies">Embassies</a> <a href="/contact">Contact</a></nav></header>
<main id="content"><div class="breadcrumb"><a href="/">Home</a> › <a href="/press">Press releases\
</a></div>
<h1>{e(doc.headline)}</h1>
<p class="press-meta">Press release · {e(doc.dateline)} · Reference \
MFA/{n.rng.randrange(100, 999)}/{n.token(16)}</p>
{paras}
<p class="contact">Press office: +41 22 {n.rng.randrange(100, 999)} {n.rng.randrange(1000, 9999)}\
</p>
<p class="updated">Page last reviewed {_updated(n)}</p>
</main>
<aside><h3>Latest news</h3><ul>{"".join(f"<li>{e(t)}</li>" for t in _trending(n, 3))}</ul></aside>
<footer><a href="/privacy">Privacy</a> · <a href="/accessibility">Accessibility</a> · Visitors \
today: {n.rng.randrange(100, 99999)}</footer>
</body></html>"""


def un_statement(doc: Doc, n: Noise) -> str:
    e = html.escape
    paras = "\n".join(_para(p, n, i) for i, p in enumerate(doc.paragraphs))
    return f"""<html><head><title>{e(doc.headline)} | Office of the High Commissioner</title>
<link href="/css/main.css?{n.token(24)}" rel="stylesheet"></head><body>
<div id="skip"><a href="#main">Skip to main content</a></div>
<div id="header"><img src="/logo.svg" alt="Office of the High Commissioner"><div id="search"><form>\
<input type="hidden" name="t" value="{n.token()}"><input name="q"></form></div></div>
<div id="main"><div class="doc-type">Statements and speeches</div>
<h1 class="title">{e(doc.headline)}</h1>
<div class="date">{e(doc.dateline)} · Geneva</div>
<div class="body">
{paras}
<p>This page was viewed {n.rng.randrange(10, 90000)} times. Page generated at {n.now:%H:%M:%S}.</p>
</div>
<div class="views">This page was viewed {n.rng.randrange(10, 90000)} times · \
generated {n.now:%H:%M:%S}</div></div>
<div id="sidebar"><h4>Trending topics</h4>{"".join(f"<p>{e(t)}</p>" for t in _trending(n, 3))}</div>
<div id="footer">© United Nations · <span id="sess">{n.token(32)}</span></div></body></html>"""


def _views_rows(n: Noise) -> str:
    """The embassy's block of trending links, drawn from `n` where the template shows it."""
    e = html.escape
    row = "<div class='views-row'><a href='/n/{}'>{}</a></div>"
    return "".join(row.format(n.rng.randrange(10**6), e(t)) for t in _trending(n, 4))


def embassy_notice(doc: Doc, n: Noise) -> str:
    e = html.escape
    paras = "\n".join(_para(p, n, i) for i, p in enumerate(doc.paragraphs))
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>{e(doc.headline)}</title>\
</head>
<body><div class="top-nav"><a href="/">Embassy</a> · <a href="/consular">Consular services</a> · \
<a href="/visa">Visas</a></div>
<div class="alert-banner">Service status checked {n.now:%H:%M:%S} — all systems normal</div>
<div class="page"><article class="node">
<h1>{e(doc.headline)}</h1>
<div class="submitted">Submitted by {e(doc.author)} on {e(doc.dateline)}</div>
{paras}
<p>Popular this week: {e(_trending(n, 1)[0])} · printed {n.rng.randrange(0, 500)} times</p>
<div class="node-links">Printed {n.rng.randrange(0, 500)} times · Share ID {n.token(40)}</div>
</article></div>
<div class="block-views">{_views_rows(n)}</div>
<footer>Embassy · Last sync {_updated(n)} · <!-- cache {n.token(32)} --></footer></body></html>"""


TEMPLATES = {
    "article": (news_ledger, news_courier, news_wire),
    "statement": (ministry_press, un_statement, embassy_notice),
}

# --- pairs ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pair:
    label: str  # REAL | NOISE
    case: str  # the edit or noise kind
    template: str
    old: bytes
    new: bytes
    confirm: bytes  # the new document fetched again at once (fresh noise)
    confirm2: bytes  # a second confirmation fetch, made only when the first taught nothing
    history: tuple[
        tuple[bytes, bytes], ...
    ] = ()  # earlier passes of the old document: (fetch, confirmation)


HISTORY = 3  # passes of a URL before the pair's old version, for the steady-state figures
NOISE_KINDS = ("fresh-noise", "markup-only", "whitespace-only", "markup+whitespace")


def make_pairs(count: int, seed: int, slow: bool = False) -> list[Pair]:
    """`count` REAL and `count` NOISE pairs (or, with `slow`, `count` NOISE pairs with slow
    stamps)."""
    rng = random.Random(seed)
    start = datetime(2024, 5, 3, 9, 0, 0, tzinfo=UTC)
    pairs = []
    kinds = (
        [("NOISE", k) for k in NOISE_KINDS]
        if slow
        else [("REAL", k) for k in REAL_EDITS] + [("NOISE", k) for k in NOISE_KINDS]
    )
    real = len(REAL_EDITS)
    for i in range(count if slow else 2 * count):
        # alternate REAL and NOISE, cycling through the kinds of each
        if slow:
            label, case = kinds[i % len(kinds)]
        elif i % 2 == 0:
            label, case = kinds[(i // 2) % real]
        else:
            label, case = kinds[real + (i // 2) % len(NOISE_KINDS)]
        kind = rng.choice(("article", "statement"))
        template = rng.choice(TEMPLATES[kind])
        doc = new_doc(rng, kind)
        t_old = start + timedelta(minutes=rng.randrange(0, 10_000), seconds=rng.randrange(60))
        t_new = t_old + timedelta(hours=rng.choice((1, 6, 24)), seconds=rng.randrange(60))
        new_doc_ = REAL_EDITS[case](doc, rng) if label == "REAL" else doc
        markup = rng.randrange(1, 9) if "markup" in case else 0
        spacing = rng.randrange(1, 9) if "whitespace" in case else 0
        old_html = template(doc, Noise(random.Random(rng.random()), t_old, slow_stamp=slow))
        new_noise = dict(markup=markup, spacing=spacing, slow_stamp=slow)
        new_html = template(new_doc_, Noise(random.Random(rng.random()), t_new, **new_noise))
        confirm_html = template(
            new_doc_,
            Noise(
                random.Random(rng.random()),
                t_new + timedelta(seconds=rng.randrange(1, 4)),
                **new_noise,
            ),
        )
        confirm2_html = template(
            new_doc_,
            Noise(
                random.Random(rng.random()),
                t_new + timedelta(seconds=rng.randrange(4, 8)),
                **new_noise,
            ),
        )
        history = []
        for k in range(
            HISTORY, 0, -1
        ):  # earlier passes, every 6 h, each with its confirmation fetch
            t = t_old - timedelta(hours=6 * k, seconds=rng.randrange(60))
            fetch = template(doc, Noise(random.Random(rng.random()), t, slow_stamp=slow))
            again = template(
                doc, Noise(random.Random(rng.random()), t + timedelta(seconds=2), slow_stamp=slow)
            )
            history.append((fetch.encode(), again.encode()))
        old_confirm = template(
            doc, Noise(random.Random(rng.random()), t_old + timedelta(seconds=2), slow_stamp=slow)
        )
        history.append((old_html.encode(), old_confirm.encode()))
        pairs.append(
            Pair(
                label,
                case,
                template.__name__,
                old_html.encode(),
                new_html.encode(),
                confirm_html.encode(),
                confirm2_html.encode(),
                tuple(history),
            )
        )
    return pairs


# --- the monitor's pipeline -----------------------------------------------------------------------


@dataclass
class Stats:
    extractions: int = 0
    seconds: float = 0.0


def _text(payload: bytes, url: str):
    return extract(payload, "text/html", "text/html; charset=utf-8", url)


def detect(pair: Pair, stats: Stats, url: str = "https://example.org/news/1") -> bool:
    """`changed` as the monitor decides it the first time a URL's text moves after its baseline:
    extract both versions; if their text differs, learn the volatile lines from the confirmation
    fetch, mask, diff."""
    t0 = time.perf_counter()
    old, new = _text(pair.old, url), _text(pair.new, url)
    stats.extractions += 2
    changed = False
    if old.hash != new.hash:
        patterns: list[str] = []
        # up to MonitorSettings.confirm_fetches confirmation fetches, the second only when the first
        # matched the new text (Analyser.unexplained)
        for payload in (pair.confirm, pair.confirm2)[:CONFIRM_FETCHES]:
            confirm = _text(payload, url)
            stats.extractions += 1
            if confirm.hash != new.hash:
                patterns = noise.learn(new.lines, confirm.lines)
                break
        changed = diff_lines(
            noise.mask(old.lines, noise.patterns_for(patterns)),
            noise.mask(new.lines, noise.patterns_for(patterns)),
        ).changed
    stats.seconds += time.perf_counter() - t0
    return changed


def detect_steady(pair: Pair, stats: Stats, url: str = "https://example.org/news/1") -> bool:
    """`changed` for a URL watched for a few passes already, as `Analyser.inspect`/`settle` keep
    it: every pass whose text moved had a confirmation fetch whose differences were merged into
    the URL's volatile patterns (`UrlState.volatile`); a change must survive those patterns and
    differ from each of the last `flip_flop_versions` versions."""
    t0 = time.perf_counter()
    patterns: list[str] = []
    versions: list = []  # every fetch's text, oldest first (the catalog's versions of the URL)
    previous = None
    for fetch, again in pair.history:
        text = _text(fetch, url)
        stats.extractions += 1
        versions.append(text)
        if previous is not None and text.hash != previous.hash:
            confirm = _text(again, url)
            stats.extractions += 1
            versions.append(confirm)
            patterns = noise.merge(patterns, noise.learn(text.lines, confirm.lines))
        previous = text
    new = _text(pair.new, url)
    stats.extractions += 1
    changed = False
    if new.hash != previous.hash and noise.mask(
        new.lines, noise.patterns_for(patterns)
    ) != noise.mask(previous.lines, noise.patterns_for(patterns)):
        confirm = _text(pair.confirm, url)
        stats.extractions += 1
        patterns = noise.merge(patterns, noise.learn(new.lines, confirm.lines))
        masked = noise.mask(new.lines, noise.patterns_for(patterns))
        recent = versions[-FLIP_FLOP:]
        changed = diff_lines(
            noise.mask(previous.lines, noise.patterns_for(patterns)), masked
        ).changed and all(
            noise.mask(v.lines, noise.patterns_for(patterns)) != masked for v in recent
        )
    stats.seconds += time.perf_counter() - t0
    return changed


@dataclass
class Result:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0
    per_case: Counter = field(default_factory=Counter)
    totals: Counter = field(default_factory=Counter)
    misses: list = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0


def evaluate(
    pairs: list[Pair], stats: Stats, decide: Callable[[Pair, Stats], bool] = detect
) -> Result:
    r = Result()
    for p in pairs:
        got = decide(p, stats)
        right = got == (p.label == "REAL")
        r.totals[(p.label, p.case)] += 1
        r.per_case[(p.label, p.case)] += right
        if p.label == "REAL":
            r.tp += got
            r.fn += not got
        else:
            r.fp += got
            r.tn += not got
        if not right and len(r.misses) < 10:
            r.misses.append((p.label, p.case, p.template))
    return r


def _rows(label: str, r: Result) -> list[str]:
    return [f"| {label} | {r.precision:.4f} ({r.tp} TP, {r.fp} FP) | {r.recall:.4f} ({r.fn} FN) |"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--pairs",
        type=int,
        default=150,
        help="REAL pairs and as many NOISE pairs (default 150 + 150)",
    )
    ap.add_argument("--seed", type=int, default=20240503)
    ap.add_argument("--no-write", action="store_true", help=f"do not write {OUT.name}")
    args = ap.parse_args()

    import trafilatura  # noqa: F401 - imported before timing: a one-off cost, not per version

    pairs = make_pairs(args.pairs, args.seed)
    extract(pairs[0].old, "text/html")  # warm up lxml / trafilatura
    stats, steady_stats = Stats(), Stats()
    cold = evaluate(pairs, stats)
    steady = evaluate(pairs, steady_stats, detect_steady)
    slow_pairs = make_pairs(max(30, args.pairs // 3), args.seed + 1, slow=True)
    slow = evaluate(slow_pairs, Stats(), detect_steady)
    rate = stats.extractions / stats.seconds
    steady_rate = steady_stats.extractions / steady_stats.seconds
    sizes = statistics.mean(len(p.new) for p in pairs) / 1024
    ok = steady.recall == 1.0 and steady.precision >= 0.98 and cold.recall == 1.0

    lines = [
        "# Change detection benchmark (`benchmarks/detect.py`)",
        "",
        f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M UTC}",
        f"- machine: {describe()}",
        f"- command: `python benchmarks/detect.py --pairs {args.pairs} --seed {args.seed}`",
        f"- set: {len(pairs)} labelled version pairs ({cold.tp + cold.fn} "
        f"REAL, {cold.fp + cold.tn} NOISE), "
        f"6 site templates (3 news, 3 official statements), pages of {sizes:.1f} KB on average;",
        '  in every template some noise survives extraction (inline "last updated"/view counters,',
        '  a rotating "most read" line, ad and session references), so the learning is exercised',
        "- pipeline: `monitor.extract.extract` → `monitor.noise.learn` on a confirmation render →",
        "  `monitor.noise.merge`/`mask` → `monitor.diff.diff_lines`, flip-flop window",
        f"  `MonitorSettings.flip_flop_versions` = {FLIP_FLOP}",
        "",
        "| `changed` | precision | recall |",
        "|---|---|---|",
        *_rows(
            f"steady state: a URL watched for {HISTORY} passes before the pair (patterns "
            "accumulated)",
            steady,
        ),
        *_rows(
            "cold: the first change after a baseline (only this pass's confirmation fetch)", cold
        ),
        "",
        f"Goal: recall 1.0, precision ≥ 0.98 — {'met' if ok else 'NOT met'} (steady state; cold "
        "recall 1.0).",
        "",
        "| speed of extract + diff | |",
        "|---|---|",
        f"| cold decision | {rate:.0f} versions/s ({1000 / rate:.2f} ms per version) |",
        f"| steady-state decision (replaying the URL's history) | {steady_rate:.0f} versions/s "
        f"({1000 / steady_rate:.2f} ms per version) |",
        "",
        "Versions/s: every extraction counted (fetches and confirmation renders), over the time "
        "of the",
        "whole decision (extract, learn, merge, mask, diff), one core, in process.",
        "",
        "| label | case | correct, steady | correct, cold | total |",
        "|---|---|---|---|---|",
        *[
            f"| {label} | {case} | {steady.per_case[(label, case)]} "
            f"| {cold.per_case[(label, case)]} | {n} |"
            for (label, case), n in sorted(cold.totals.items())
        ],
        "",
        'The cold false positives are rotating lines ("most read now: …") that happened to show '
        "the same",
        "item in both back-to-back fetches, so one confirmation fetch could not learn them; the "
        "URL's",
        "later passes do (steady state).",
        "",
        'Outside the headline: slow noise, a minute-resolution "last updated" stamp that does not '
        "move",
        "between two back-to-back fetches, so confirmation fetches cannot learn it (steady state):",
        f"{slow.tn} of {slow.tn + slow.fp} such noise-only pairs raise nothing; the rest need an "
        "`ignore` rule",
        "(e.g. `regex:Last updated .*`) on the target.",
    ]
    for name, r in (("steady", steady), ("cold", cold)):
        if r.misses:
            lines += [
                "",
                f"First misclassified pairs ({name}): "
                + ", ".join(f"{c} ({lab}, {t})" for lab, c, t in r.misses),
            ]
    report = "\n".join(lines) + "\n"
    print(report)
    if not args.no_write:
        OUT.write_text(report, encoding="utf-8")
        print(f"wrote {OUT}", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
