#!/usr/bin/env python
"""Change detection on real pages with the hard cases injected: precision and recall of the real
crawl + monitor, per phenomenon and overall, beside a naive trafilatura diff of the same captures.

    python benchmarks/detect_real.py                  # 7 rounds, writes RESULTS-detect-real.md
    python benchmarks/detect_real.py --no-write --keep /tmp/bench   # keep the watchlist and archive
    python benchmarks/detect_real.py --no-write --seed 1   # other pools and moves of the boxes

What it does:
1. loads the real pages in `tests/data/realpages/` (trafilatura's test corpus, see its README) and
   finds in each the first paragraph that `monitor.extract` keeps (the injections go there, so they
   are part of the text a reader and the monitor see);
2. gives each page one phenomenon of issue 10 and serves it on 127.0.0.1 over a baseline round,
   five rounds with the phenomenon, and a quiet final round (7 rounds), labelled per round with
   the event that should be raised (`changed`, `removed`) or none:
   - slow-clock: a stamp of the round's time at minute resolution (a cached page: 0 or 5 minutes
     old), in English/UTC, German local time, RFC 1123 GMT, French local time — quiet; a hearing's
     date in a past year in the lead paragraph, edited in round 4 — changed;
   - counter: "Read N times" at the end of the lead paragraph, new on every request — quiet; the
     figure in the paragraph's first sentence edited in round 5 — changed;
   - rotation: an unlabelled box of two headlines from a pool of four (other pages' titles) after
     the lead paragraph, moving on once per round and, on 3 requests in 10, within one — quiet;
     a one-word edit ("not" inserted) in round 4 — changed;
   - edit (what works today): "not" inserted in round 3, a sentence withdrawn in round 5 — changed;
   - soft-404: from round 4 the page answers 200 with the site's "page not found" template in
     another language (German) — `removed` in round 4, then nothing;
   - redirect-home: from round 4, 200 with a meta refresh and a lone link to the home page —
     `removed` in round 4, then nothing;
   - redesign: from round 3 a markup-only redesign (classes and ids renamed, a wrapper, the page
     re-encoded to windows-1252 with a correct charset) —
     quiet; "not" inserted in round 5 — changed;
3. runs `warcwatch crawl` (a subprocess, default settings but fast timeouts) once per round against
   a watchlist of the 32 URLs, and reads the events of each round (`warcwatch changes --json`);
4. scores: an expected event raised in its round is a TP, missed an FN; any other event an FP. The
   baseline extracts the first capture of each URL in each round with `trafilatura.extract`
   (defaults) and alerts when the text differs from the round before (it has no kinds: any alert
   in an expected round is a TP);
5. times detection per changed page (payload differs from the round before): `monitor.extract`
   of both versions + `monitor.noise.mask_pair` with the URL's learned patterns + the visible
   text of both (`monitor.visible`, the redesign's second opinion) + the site-template lookup
   (`monitor.template.learn` against the host's index, whose building is timed per round), in
   process.
"""

from __future__ import annotations

import argparse
import html as htmllib
import json
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.machine import describe  # noqa: E402

PAGES = (
    Path(__file__).resolve().parents[1] / "tests" / "data" / "realpages"
)  # shared with the tests
OUT = Path(__file__).with_name("RESULTS-detect-real.md")
ROUNDS = 7  # a baseline, five rounds with phenomena, a quiet final round
PLAN = [
    ("slow-clock", 6),
    ("counter", 5),
    ("rotation", 5),
    ("edit", 4),
    ("soft-404", 4),
    ("redirect-home", 4),
    ("redesign", 4),
]
MONATE = (
    "Januar",
    "Februar",
    "März",
    "April",
    "Mai",
    "Juni",
    "Juli",
    "August",
    "September",
    "Oktober",
    "November",
    "Dezember",
)
MOIS = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)
_P = re.compile(r"<p\b[^>]*>(.*?)</p>", re.S | re.I)
_LEAD_MARK = "\x00lead\x00"  # where the redesign puts its heading
_NOT = re.compile(r"\b(is|was|are|were|has|have|ist|sind|war|wird|hat)\b ")
NOT_FOUND = """<!doctype html><html lang="de"><head><meta charset="utf-8"><title>Seite nicht \
gefunden</title></head>
<body><header><a href="/">Startseite</a> · <a href="/suche">Suche</a></header><main><h1>Seite \
nicht gefunden</h1>
<p>Die von Ihnen aufgerufene Seite existiert leider nicht oder nicht mehr. Vielleicht hilft Ihnen \
die Suche weiter,
oder Sie kehren zur <a href="/">Startseite</a> zurück.</p><p>Fehlercode 404</p></main></body>\
</html>"""
REFRESH_HOME = """<!doctype html><html><head><meta charset="utf-8"><meta http-equiv="refresh" \
content="0; url=/">
<title>Redirecting</title></head><body><p><a href="/">Home</a></p></body></html>"""
HOME = """<!doctype html><html><head><meta charset="utf-8"><title>Home</title></head><body>\
<h1>Welcome</h1>
<p>The front page of the benchmark site, with links to today's articles.</p></body></html>"""


@dataclass
class Page:
    name: str
    html: str  # decoded
    title: str
    anchor: tuple[int, int]  # the lead paragraph's inner text in `html`
    phenomenon: str = ""
    variant: int = 0
    labels: dict[int, str] = field(default_factory=dict)  # round -> expected event kind
    pool: tuple[str, ...] = ()
    rng: random.Random = field(default_factory=random.Random)
    box: tuple[int, int] = (0, 1)
    box_round: int = 0
    views: int = 48213

    @property
    def path(self) -> str:
        return "/" + self.name.removesuffix(".html")


def _text(fragment: str) -> str:
    from monitor.extract import normalise

    return normalise(htmllib.unescape(re.sub(r"<[^>]+>", " ", fragment)))


def load_pages(folder: Path) -> list[Page]:
    """The pages whose lead paragraph `monitor.extract` keeps."""
    from w3lib.encoding import html_to_unicode

    from monitor.extract import extract

    pages = []
    for f in sorted(folder.glob("*.html")):
        _, text = html_to_unicode(None, f.read_bytes())
        lines = extract(
            text.encode(), "text/html", "text/html; charset=utf-8", "http://127.0.0.1/"
        ).lines
        for m in _P.finditer(text):
            inner = _text(m.group(1))
            if len(inner) > 80 and any(line.startswith(inner[:60]) for line in lines):
                t = re.search(r"<title[^>]*>(.*?)</title>", text, re.S | re.I)
                title = _text(t.group(1))[:90] if t else f.stem
                pages.append(Page(f.name, text, title, (m.start(1), m.end(1))))
                break
    return pages


def assign(pages: list[Page], seed: int = 0) -> None:
    kinds = [k for k, n in PLAN for _ in range(n)]
    for i, page in enumerate(pages):
        page.phenomenon = kinds[i % len(kinds)]
        page.variant = sum(1 for p in pages[:i] if p.phenomenon == page.phenomenon)
        page.rng = random.Random(i + 1000 * seed)
        others = [p.title for p in pages if p is not page]
        page.pool = tuple(random.Random(100 + i + 1000 * seed).sample(others, 4))
        page.labels = {
            "slow-clock": {4: "changed"},
            "counter": {5: "changed"},
            "rotation": {4: "changed"},
            "edit": {3: "changed", 5: "changed"},
            "soft-404": {4: "removed"},
            "redirect-home": {4: "removed"},
            "redesign": {5: "changed"},
        }[page.phenomenon]


class Clock:
    """The round's time as a cached page shows it, set by the driver before each round."""

    stamp = datetime(2026, 1, 1, tzinfo=UTC)

    @classmethod
    def set(cls, round_no: int) -> None:
        now = datetime.now(UTC).replace(second=0, microsecond=0)
        cls.stamp = now - timedelta(minutes=5 * (round_no % 2))


def _stamp(variant: int) -> str:
    t = Clock.stamp
    if variant % 4 == 0:
        return f"Updated {t:%H:%M} UTC"
    if variant % 4 == 1:
        b = t.astimezone(ZoneInfo("Europe/Berlin"))
        return f"Stand: {b.day}. {MONATE[b.month - 1]} {b.year}, {b:%H:%M} Uhr"
    if variant % 4 == 2:
        return f"Last modified: {t:%a, %d %b %Y %H:%M} GMT"
    p = t.astimezone(ZoneInfo("Europe/Paris"))
    return f"Mis à jour le {p.day} {MOIS[p.month - 1]} {p.year} à {p:%H}h{p:%M}"


def _insert_not(lead: str) -> str:
    m = _NOT.search(lead)
    if m:
        word = "nicht" if m.group(1) in ("ist", "sind", "war", "wird", "hat") else "not"
        return lead[: m.end()] + word + " " + lead[m.end() :]
    return "Not " + lead  # a lead without an auxiliary: the edit is still one word


def _withdraw(lead: str) -> str:
    parts = re.split(r"(?<=[.!?])\s+", lead.strip())
    return " ".join(parts[:-1]) if len(parts) > 1 else lead[: len(lead) // 2]


def redesign(doc: str, title: str) -> str:
    """The same document in a new template: classes and ids renamed, the body wrapped, the title
    repeated as a heading over the lead paragraph (one the extractor may now keep)."""
    lead = doc.find(_LEAD_MARK)
    doc = (
        doc[:lead]
        + f'<h1 class="headline">{htmllib.escape(title)}</h1>'
        + doc[lead + len(_LEAD_MARK) :]
    )
    doc = re.sub(
        r'class="([^"]*)"',
        lambda m: 'class="' + " ".join("v2-" + c for c in m.group(1).split()) + '"',
        doc,
    )
    doc = re.sub(r'\bid="([^"]*)"', r'id="v2-\1"', doc)
    doc = re.sub(
        r"<body([^>]*)>",
        r'<body\1><div class="v2-shell"><div class="v2-grid">',
        doc,
        count=1,
        flags=re.I,
    )
    doc = re.sub(r"</body>", "</div></div></body>", doc, count=1, flags=re.I)
    doc = re.sub(r"<meta[^>]*charset[^>]*>", "", doc, flags=re.I)
    return re.sub(
        r"<head([^>]*)>", r'<head\1><meta charset="windows-1252">', doc, count=1, flags=re.I
    )


def render(page: Page, rnd: int) -> tuple[bytes, str]:
    """The page as served in round `rnd`: body and Content-Type."""
    kind, a, b = page.phenomenon, *page.anchor
    lead, before, after = page.html[a:b], page.html[:a], page.html[b:]
    utf8 = "text/html; charset=utf-8"
    if kind in ("soft-404", "redirect-home") and rnd >= 4:
        return (NOT_FOUND if kind == "soft-404" else REFRESH_HOME).encode(), utf8
    if kind == "slow-clock":
        date = "14 March 2019" if rnd >= 4 else "12 March 2019"
        lead = f"The hearing was held on {date} at 10:00. " + lead
        before = (
            before[: before.rfind("<p")]
            + f"<p>{_stamp(page.variant)}</p>"
            + before[before.rfind("<p") :]
        )
    elif kind == "counter":
        page.views += 17
        lead = (
            f"Officials counted {41 if rnd >= 5 else 14} cases on Friday. {lead} <span "
            f'class="views">Read {page.views} times</span>'
        )
    elif kind == "rotation":
        # the box moves on once per round and, now and then, within one
        if page.box_round != rnd or page.rng.random() < 0.3:
            page.box, page.box_round = tuple(sorted(page.rng.sample(range(4), 2))), rnd
        items = "".join(f"<p>{htmllib.escape(page.pool[i])}</p>" for i in page.box)
        after = (
            after[: after.find(">") + 1]
            + f'<div class="more">{items}</div>'
            + after[after.find(">") + 1 :]
        )
        if rnd >= 4:
            lead = _insert_not(lead)
    elif kind == "edit":
        if rnd >= 3:
            lead = _insert_not(lead)
        if rnd >= 5:
            lead = _withdraw(lead)
    elif kind == "redesign" and rnd >= 5:
        lead = _insert_not(lead)
    if kind == "redesign" and rnd >= 3:
        at = before.rfind("<p")
        doc = before[:at] + _LEAD_MARK + before[at:] + lead + after
        return redesign(doc, page.title).encode(
            "cp1252", "xmlcharrefreplace"
        ), "text/html; charset=windows-1252"
    doc = before + lead + after
    return doc.encode(), utf8


class Site(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, pages: list[Page]):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.pages = {p.path: p for p in pages}
        self.round = 1
        self.lock = threading.Lock()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{path}"


class _Handler(BaseHTTPRequestHandler):
    server: Site

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        page = self.server.pages.get(self.path)
        if self.path == "/robots.txt":
            body, ctype, status = b"not found", "text/plain", 404
        elif self.path == "/":
            body, ctype, status = HOME.encode(), "text/html; charset=utf-8", 200
        elif page is None:  # the site answers any unknown address with its template, and 200
            body, ctype, status = NOT_FOUND.encode(), "text/html; charset=utf-8", 200
        else:
            with self.server.lock:
                body, ctype = render(page, self.server.round)
            status = 200
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


def warcwatch(*args: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "monitor.cli", *args], capture_output=True, text=True, cwd=ROOT
    )
    if proc.returncode != 0:
        raise SystemExit(
            f"warcwatch {' '.join(args)} exited {proc.returncode}: {proc.stderr.strip()[-500:]}"
        )
    return proc.stdout


def write_watchlist(folder: Path, urls: list[str]) -> Path:
    listed = ", ".join(json.dumps(u) for u in urls)
    path = folder / "warcwatch.toml"
    path.write_text(f"""[archive]
dir = "archive"

[crawl]
download_timeout = 10
autothrottle = false
retries = 0

[monitor]
removal_confirm_delay = "1s"

[[targets]]
name = "real"
urls = [{listed}]
""")
    return path


# --- scoring ------------------------------------------------------------------------------------


@dataclass
class Score:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    def add(self, other: Score) -> None:
        self.tp, self.fp, self.fn = self.tp + other.tp, self.fp + other.fp, self.fn + other.fn

    @staticmethod
    def _ratio(a: int, b: int) -> str:
        return f"{a / b:.2f}" if b else "—"

    def row(self) -> str:
        return (
            f"{self._ratio(self.tp, self.tp + self.fp)} "
            f"| {self._ratio(self.tp, self.tp + self.fn)} | "
            f"{self.tp} / {self.fp} / {self.fn}"
        )


def score_events(page: Page, events: dict[int, list[str]]) -> tuple[Score, list[str]]:
    s, notes = Score(), []
    for rnd in range(2, ROUNDS + 1):
        got, want = list(events.get(rnd, [])), page.labels.get(rnd)
        if want is not None and want in got:
            s.tp += 1
            got.remove(want)
        elif want is not None:
            s.fn += 1
            notes.append(f"{page.name} round {rnd}: missed `{want}`")
        s.fp += len(got)
        notes += [f"{page.name} round {rnd}: false `{k}`" for k in got]
    return s, notes


def score_alerts(page: Page, alerts: dict[int, bool]) -> Score:
    s = Score()
    for rnd in range(2, ROUNDS + 1):
        want = page.labels.get(rnd) is not None
        if alerts.get(rnd) and want:
            s.tp += 1
        elif alerts.get(rnd):
            s.fp += 1
        elif want:
            s.fn += 1
    return s


def first_payloads(
    db: str, warc_dir: Path, runs: list[int], url: str
) -> dict[int, tuple[bytes, str | None, str]]:
    """(payload, Content-Type, timestamp) of the first capture of `url` in each run."""
    from sqlalchemy import create_engine, select
    from sqlalchemy.orm import Session

    from storage.models import Capture
    from storage.retrieval import location, origin_of
    from storage.warcread import read_record

    out = {}
    engine = create_engine(db)
    with Session(engine) as s:
        for i, run in enumerate(runs, 1):
            c = s.scalars(
                select(Capture)
                .where(Capture.run_id == run, Capture.url == url)
                .order_by(Capture.id)
                .limit(1)
            ).first()
            if c is None or c.status != 200:
                continue
            rec = read_record(warc_dir, location(origin_of(s, c)))
            out[i] = (
                b"".join(rec.decoded()),
                rec.http_headers().get_header("Content-Type"),
                c.timestamp,
            )
    engine.dispose()
    return out


def baseline_alerts(payloads: dict[int, tuple[bytes, str | None, str]]) -> dict[int, bool]:
    """A naive text diff: trafilatura's text of each round against the round before."""
    import trafilatura
    from w3lib.encoding import html_to_unicode

    texts = {
        r: trafilatura.extract(html_to_unicode(ct, p)[1]) or ""
        for r, (p, ct, _) in payloads.items()
    }
    return {r: texts[r] != texts[r - 1] for r in texts if r - 1 in texts}


def host_indexes(all_payloads: dict[str, dict]) -> tuple[dict[int, object], list[float]]:
    """Per round, the host's template index as `Analyser` builds it (`monitor.template.HostText`:
    the visible text of every page of the host, its round's payload and the one before when it
    differs), and the ms each took to build."""
    from monitor import template
    from monitor.visible import visible_lines

    indexes, ms = {}, []
    for rnd in range(1, ROUNDS + 1):
        t0 = time.perf_counter()
        siblings = []
        for url, payloads in all_payloads.items():
            for r in (rnd, rnd - 1):
                if r in payloads and (
                    r == rnd or (rnd in payloads and payloads[r][0] != payloads[rnd][0])
                ):
                    lines = frozenset(visible_lines(payloads[r][0], payloads[r][1]))
                    siblings.append(template.Sibling(url, r, lines))
        indexes[rnd] = template.HostText("127.0.0.1", siblings)
        ms.append((time.perf_counter() - t0) * 1000)
    return indexes, ms


def detection_ms(payloads, url: str, patterns: list[str], indexes) -> list[tuple[float, ...]]:
    """(extract both versions, mask_pair, visible text of both, template lookup) in ms, for each
    round whose payload differs from the round before."""
    from monitor import noise, template
    from monitor.extract import extract
    from monitor.sametext import same_for_reader
    from monitor.visible import visible_lines

    out = []
    for r, (p, ct, ts) in payloads.items():
        if r - 1 not in payloads or payloads[r - 1][0] == p:
            continue
        q, qct, qts = payloads[r - 1]
        t0 = time.perf_counter()
        old, new = extract(q, "text/html", qct, url), extract(p, "text/html", ct, url)
        t1 = time.perf_counter()
        a, b = noise.mask_pair(list(old.lines), qts, list(new.lines), ts, patterns)
        t2 = time.perf_counter()
        seen = noise.mask_pair(visible_lines(q, qct), qts, visible_lines(p, ct), ts, patterns)
        same_for_reader(*seen)
        t3 = time.perf_counter()
        template.learn(url, (old.title, new.title), a, b, indexes[r])
        t4 = time.perf_counter()
        out.append(tuple((y - x) * 1000 for x, y in ((t0, t1), (t1, t2), (t2, t3), (t3, t4))))
    return out


def learned_patterns(db: str, url: str) -> list[str]:
    from sqlalchemy import create_engine, select
    from sqlalchemy.orm import Session

    from monitor import noise
    from storage.models import UrlState

    engine = create_engine(db)
    with Session(engine) as s:
        st = s.scalars(select(UrlState).where(UrlState.url == url)).first()
        volatile = list(st.volatile) if st is not None else []
    engine.dispose()
    return noise.patterns_for(volatile)


# --- the run ------------------------------------------------------------------------------------


def run(folder: Path, pages: list[Page]) -> dict:
    site = Site(pages)
    threading.Thread(target=site.serve_forever, daemon=True).start()
    urls = {site.url(p.path): p for p in pages}
    config = write_watchlist(folder, list(urls))
    runs, events = [], {p.name: {} for p in pages}
    seen: set[int] = set()
    crawl_s, other = [], []
    try:
        for rnd in range(1, ROUNDS + 1):
            site.round = rnd
            Clock.set(rnd)
            t0 = time.perf_counter()
            summary = json.loads(
                warcwatch("crawl", "--config", str(config), "--json").strip().splitlines()[-1]
            )
            crawl_s.append(time.perf_counter() - t0)
            runs.append(summary["run"])
            for e in json.loads(warcwatch("changes", "--config", str(config), "--json")):
                if e["id"] not in seen:
                    seen.add(e["id"])
                    if e["url"] in urls:
                        events[urls[e["url"]].name].setdefault(rnd, []).append(e["kind"])
                    else:  # an address no page of the set has (where a page now leads)
                        other.append(
                            f"round {rnd}: `{e['kind']}` {e['url'].split('/', 3)[-1] or '/'}"
                        )
            print(
                f"round {rnd}: {summary.get('fetched')} fetched, events {summary.get('events')}",
                file=sys.stderr,
            )
    finally:
        site.shutdown()
    from monitor import clocks
    from monitor.config import load_config

    cfg = load_config(config)
    db, warc_dir = cfg.archive.database_url, cfg.archive.warc_dir

    t0 = time.perf_counter()
    clocks.clocks_in("Updated 16:42 UTC", datetime(2026, 12, 3, 16, 43))
    warmup_ms = (time.perf_counter() - t0) * 1000
    results: dict = {
        "warcwatch": {},
        "baseline": {},
        "notes": [],
        "ms": [],
        "crawl_s": crawl_s,
        "warmup_ms": warmup_ms,
        "other": other,
    }
    all_payloads = {url: first_payloads(db, warc_dir, runs, url) for url in urls}
    indexes, results["index_ms"] = host_indexes(all_payloads)
    for url, page in urls.items():
        payloads = all_payloads[url]
        ours, notes = score_events(page, events[page.name])
        results["warcwatch"].setdefault(page.phenomenon, Score()).add(ours)
        results["baseline"].setdefault(page.phenomenon, Score()).add(
            score_alerts(page, baseline_alerts(payloads))
        )
        results["notes"] += notes
        results["ms"] += detection_ms(payloads, url, learned_patterns(db, url), indexes)
    return results


def report(results: dict, pages: list[Page], argv: list[str]) -> str:
    total_w, total_b = Score(), Score()
    rows = []
    for kind, _ in PLAN:
        w, b = results["warcwatch"].get(kind, Score()), results["baseline"].get(kind, Score())
        total_w.add(w)
        total_b.add(b)
        n = sum(1 for p in pages if p.phenomenon == kind)
        rows.append(f"| {kind} ({n} pages) | {w.row()} | {b.row()} |")
    if results["other"]:
        extra = Score(fp=len(results["other"]))
        total_w.add(extra)
        rows.append(f"| events for other URLs (not in the watchlist) | {extra.row()} | — | — | — |")
    rows.append(
        f"| **overall** ({len(pages)} pages, {len(pages) * (ROUNDS - 1)} labelled rounds) "
        f"| {total_w.row()} | {total_b.row()} |"
    )

    def spread(ms: list[float]) -> str:
        ms = sorted(ms)
        return (
            f"median {statistics.median(ms):.1f} ms, p90 {ms[int(0.9 * (len(ms) - 1))]:.1f} "
            f"ms, max {ms[-1]:.1f} ms"
        )

    cost = "no changed pages"
    if results["ms"]:
        ms = results["ms"]
        cost = (
            f"{len(ms)} changed page-rounds — in all {spread([sum(x) for x in ms])}; of which "
            f"extraction {spread([x[0] for x in ms])}, masking {spread([x[1] for x in ms])}, "
            f"visible text of both versions (the redesign's second opinion) "
            f"{spread([x[2] for x in ms])}, site-template lookup {spread([x[3] for x in ms])}. "
            f"The host's template index (the visible text of its {len(pages)} pages), built once "
            f"per host and pass: {spread(results['index_ms'])}"
        )
    notes = "\n".join(f"- {n}" for n in results["notes"] + results["other"]) or "- none"
    return f"""# Change detection on real pages (`benchmarks/detect_real.py`)

- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC
- machine: {describe()}
- command: `python benchmarks/{Path(__file__).name}{" " + " ".join(argv) if argv else ""}`
- set: {len(pages)} real pages from trafilatura's test corpus (`tests/data/realpages/`), {ROUNDS} \
rounds
  (a baseline, five with the phenomena of issue 10 injected, a quiet final one), served on
  127.0.0.1; each round is one `warcwatch crawl` of a watchlist of the {len(pages)} URLs (default
  `[monitor]` settings, `removal_confirm_delay = "1s"`)
- labels: per page and round, the event that should be raised (`changed`, `removed`) or none;
  warcwatch is scored on the event's kind, the naive baseline (trafilatura's text against the
  round before, on the same captures) on any alert

| phenomenon | warcwatch precision | recall | TP / FP / FN | naive trafilatura diff precision | \
recall | TP / FP / FN |
|---|---|---|---|---|---|---|
{chr(10).join(rows)}

Detection cost per changed page (`monitor.extract` of both versions + `monitor.noise.mask_pair`
+ `monitor.visible` of both versions + `monitor.template.learn`, in process, after the run; a
pass runs the last two only for a page still different under every mask, timed here for every
changed page): {cost}. The first date parse of a process loads dateparser's
language data: {results["warmup_ms"]:.0f} ms, once.

Crawl rounds (subprocess, confirmation fetches \
included): {", ".join(f"{s:.1f}" for s in results["crawl_s"])} s.

What warcwatch got wrong:
{notes}
"""


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pages", type=Path, default=PAGES)
    ap.add_argument(
        "--keep", type=Path, help="work in this folder and keep it (watchlist, archive)"
    )
    ap.add_argument(
        "--no-write", action="store_true", help=f"print the results, do not write {OUT.name}"
    )
    ap.add_argument(
        "--seed",
        type=int,
        default=0,
        help="another draw of the rotating boxes' pools and moves (default 0)",
    )
    args = ap.parse_args(argv)
    pages = load_pages(args.pages)
    assign(pages, args.seed)
    folder = args.keep or Path(tempfile.mkdtemp(prefix="detect-real-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        results = run(folder, pages)
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)
    text = report(results, pages, sys.argv[1:] if argv is None else argv)
    print(text)
    if not args.no_write:
        OUT.write_text(text)


if __name__ == "__main__":
    main()
