#!/usr/bin/env python
"""An exported WACZ replayed in ReplayWeb.page, page by page: how many of the pages it lists
replay with their own text.

    python benchmarks/wacz_replay.py                 # 30 pages, writes benchmarks/RESULTS-wacz.md
    python benchmarks/wacz_replay.py --pages 10 --no-write

What it does:
1. serves N real pages on 127.0.0.1: saved copies of news, blog and official pages from
   trafilatura's test corpus (`tests/cache/*.html` of its git repository, mirrored at
   /work/.mirror/adbar+trafilatura), byte for byte, as text/html; their scripts, styles and images
   point to the live web and are not served, as for a crawl that archives documents only;
2. `warcwatch crawl` (the real command, one pass), then edits a few pages (a new paragraph) and
   crawls again: the unchanged pages get revisit records, the edited ones a second version;
3. stops the site, `warcwatch export --out archive.wacz` of the whole archive;
4. serves the WACZ beside ReplayWeb.page (its npm package's ui.js and sw.js, as the browser test
   does: tests/storage/test_replaywebpage.py), and for EVERY entry of the WACZ's
   pages/pages.jsonl opens `<replay-web-page url=… ts=…>` (ReplayWeb.page turns these into its
   `#view=replay&url=…&ts=…` route) in Debian's Chromium via Playwright, and waits for a sentence
   of that page's own text (the version the entry's time names) in the replayed frame. For the
   first version of an edited page, the new paragraph must also be absent: the replay must show
   the version asked for, not the newest.

The sentence: a run of 6-12 plain words (no quotes or symbols, which extraction normalises) from
the middle of the main text `monitor.extract.extract` finds in the page, the text warcwatch
monitors. Reported: pages replayed / sampled, each failure with its URL and what the frame showed,
seconds per page (the first, which loads the WACZ, apart).
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.machine import describe  # noqa: E402
from monitor.extract import extract  # noqa: E402
from tests.conftest import crawl, warcwatch, write_config  # noqa: E402
from tests.httpserver import SiteServer, page  # noqa: E402
from tests.storage.test_replaywebpage import (  # noqa: E402
    RWP_VERSION,
    _serve,
    chromium,
    replaywebpage_files,
    wait_for_sentence,
)

OUT = Path(__file__).with_name("RESULTS-wacz.md")
CORPUS = Path("/work/.mirror/adbar+trafilatura/repo")
MAX_BYTES = 400_000  # the corpus's few ~900 KB pages would only slow the crawl down
PLAIN_WORD = re.compile(r"^[^\W_][\w-]*[.,;:]?$")
ADDED = "The council published a revised timetable for the harbour works on {n} March."

# <replay-web-page> for the url and ts of the query string, in replay-only mode (no UI around it)
HOST_PAGE = """<!doctype html><html><head><script src="/ui.js"></script></head><body><script>
const q = new URLSearchParams(location.search), el = document.createElement("replay-web-page");
for (const [k, v] of [["source", "/archive.wacz"], ["replayBase", "/replay/"], ["embed", \
"replayonly"],
                      ["url", q.get("url")], ["ts", q.get("ts")]]) el.setAttribute(k, v);
document.body.appendChild(el);
</script></body></html>"""


@dataclass
class Page:
    name: str
    path: str
    body: bytes
    sentence: str
    edited: bytes | None = None  # the second version, if edited between the passes
    added: str = ""


def corpus_names(n: int) -> list[str]:
    """The corpus pages under MAX_BYTES: first `n` spread over the sorted list, then the rest
    (spares for pages that turn out unusable)."""
    if not (CORPUS / "HEAD").exists() and not (CORPUS / ".git").exists():
        sys.exit(f"trafilatura's repository is not at {CORPUS}")
    listing = subprocess.run(
        ["git", "-C", str(CORPUS), "ls-tree", "-l", "HEAD", "tests/cache/"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    names = []
    for line in listing.splitlines():
        meta, path = line.split("\t", 1)
        if path.endswith(".html") and path.isascii() and int(meta.split()[3]) < MAX_BYTES:
            names.append(path)
    names.sort()
    spread = names[:: max(1, len(names) // n)][:n]
    return spread + [x for x in names if x not in spread]


def plain_sentence(body: bytes, url: str) -> str | None:
    """A run of 6-12 plain words from the middle of the page's main text."""
    text = extract(body, "text/html", "text/html; charset=utf-8", url)
    runs = []
    for line in text.lines:
        run: list[str] = []
        for word in [*line.split(), "\x00"]:
            if PLAIN_WORD.match(word) and len(run) < 12:
                run.append(word)
                continue
            if len(run) >= 6:
                runs.append(" ".join(run))
            run = [word] if PLAIN_WORD.match(word) else []
    return runs[len(runs) // 2] if runs else None


def load_pages(n: int, edits: int) -> list[Page]:
    pages = []
    for path in corpus_names(n):  # a page not in UTF-8 or with no plain run of words is skipped
        if len(pages) == n:
            break
        body = subprocess.run(
            ["git", "-C", str(CORPUS), "show", f"HEAD:{path}"], capture_output=True, check=True
        ).stdout
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            continue
        name = Path(path).stem
        sentence = plain_sentence(body, f"http://127.0.0.1/pages/{name}.html")
        if sentence:
            pages.append(Page(name, f"/pages/{name}.html", body, sentence))
    for i, p in enumerate(pages[:: max(1, len(pages) // max(edits, 1))][:edits]):
        p.added = ADDED.format(n=i + 2)
        # right after <body ...>: new text, wherever the page's own layout puts its article
        paragraph = f"<p>{p.added}</p>".encode()
        p.edited = re.sub(
            rb"(<body[^>]*>)",
            lambda m, add=paragraph: m.group(1) + add,
            p.body,
            count=1,
            flags=re.I,
        )
    return pages


@dataclass
class Outcome:
    url: str
    ts: str
    version: str  # "first", "revisit" (unchanged on the second pass), "second"
    sentence: str
    ok: bool
    seconds: float
    seen: str = ""


def replay_all(
    web: Path, entries: list[dict], pages: dict[str, Page], second_pass: str, timeout: float
) -> list[Outcome]:
    server = _serve(web)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    outcomes = []
    try:
        with chromium() as tab:
            for entry in entries:
                p = pages[urlsplit(entry["url"]).path]
                later = entry["ts"] >= second_pass
                if later and p.edited is not None:
                    version, sentence, absent = "second", p.added, ""
                else:
                    version = "revisit" if later else "first"
                    sentence, absent = p.sentence, p.added
                ts = re.sub(r"\D", "", entry["ts"])[:14]
                start = time.monotonic()
                tab.goto(base + "/index.html?" + urlencode({"url": entry["url"], "ts": ts}))
                found, seen = wait_for_sentence(tab, sentence, timeout)
                seconds = time.monotonic() - start
                if found and absent:
                    shown = " ".join(
                        " ".join(f.evaluate("document.body ? document.body.innerText : ''").split())
                        for f in tab.frames
                    )
                    if absent in shown:
                        found, seen = False, "the edited version was shown: " + absent
                outcomes.append(
                    Outcome(
                        entry["url"], entry["ts"], version, sentence, found, seconds, seen[-300:]
                    )
                )
                print(
                    f"{'ok ' if found else 'FAIL'} {seconds:5.1f}s {version:7} {entry['url']}",
                    file=sys.stderr,
                )
    finally:
        server.shutdown()
    return outcomes


def run(n: int, edits: int, timeout: float) -> tuple[list[Outcome], dict]:
    pages = load_pages(n, edits)
    rwp = replaywebpage_files()
    tmp = Path(tempfile.mkdtemp(prefix="wacz-replay-"))
    site = SiteServer().start()
    for p in pages:
        site.routes[p.path] = page(p.body)
    config = write_config(
        tmp,
        [{"name": "corpus", "urls": [site.url(p.path) for p in pages]}],
        crawl={"download_timeout": 10},
    )
    t0 = time.monotonic()
    first = crawl(config)
    time.sleep(1.1)  # the second pass's captures start in a later second than the first's
    second_pass = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    for p in pages:
        if p.edited is not None:
            site.routes[p.path] = page(p.edited)
    second = crawl(config)
    crawl_seconds = time.monotonic() - t0
    site.stop()  # replay must not touch the live site

    web = tmp / "web"
    (web / "replay").mkdir(parents=True)
    warcwatch("export", "--config", str(config), "--out", str(web / "archive.wacz"))
    (web / "ui.js").write_bytes((rwp / "ui.js").read_bytes())
    (web / "replay" / "sw.js").write_bytes((rwp / "sw.js").read_bytes())
    (web / "index.html").write_text(HOST_PAGE)
    with zipfile.ZipFile(web / "archive.wacz") as z:
        entries = [
            json.loads(line)
            for line in z.read("pages/pages.jsonl").splitlines()[1:]
            if line.strip()
        ]
    by_path = {p.path: p for p in pages}
    outcomes = replay_all(web, entries, by_path, second_pass, timeout)
    facts = {
        "pages": len(pages),
        "edited": sum(p.edited is not None for p in pages),
        "bytes": sum(len(p.body) for p in pages),
        "wacz_bytes": (web / "archive.wacz").stat().st_size,
        "crawl_seconds": crawl_seconds,
        "first": first,
        "second": second,
        "tmp": str(tmp),
    }
    return outcomes, facts


def cause(o: Outcome) -> str:
    """What a failure looks like it comes from, as far as the frame shows."""
    https = "https://" + o.url.removeprefix("http://")
    if f"not found in this archive: {https}" in " ".join(o.seen.split()):
        return (
            "the page's own script sent the frame to its https:// URL (the page was written for "
            "https and is served here over http), which the archive does not hold"
        )
    if "Archived Page Not Found" in o.seen:
        return "ReplayWeb.page found no capture"
    return "the sentence did not appear"


def report(outcomes: list[Outcome], facts: dict, command: str, header: str) -> str:
    ok = [o for o in outcomes if o.ok]
    failed = [o for o in outcomes if not o.ok]
    later = [o.seconds for o in outcomes[1:]]
    kinds = {
        k: (sum(o.ok for o in outcomes if o.version == k), sum(o.version == k for o in outcomes))
        for k in ("first", "revisit", "second")
    }
    lines = [
        "# WACZ replay in ReplayWeb.page (`benchmarks/wacz_replay.py`)",
        "",
        f"- date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- machine: {header}",
        f"- command: `{command}`",
        f"- site: {facts['pages']} pages of trafilatura's test corpus (`tests/cache/*.html`, "
        f"{facts['bytes'] / facts['pages'] / 1000:.0f} KB on average) served on 127.0.0.1; "
        f"two `warcwatch crawl` passes, {facts['edited']} pages edited between them "
        f"({facts['crawl_seconds']:.0f} s for both); `warcwatch export --out archive.wacz` "
        f"({facts['wacz_bytes'] / 1e6:.1f} MB)",
        f"- client: ReplayWeb.page {RWP_VERSION} (npm ui.js + sw.js on 127.0.0.1), Debian's "
        "/usr/bin/chromium via Playwright, live site stopped",
        "",
        "| | |",
        "|---|---|",
        f"| **pages replayed / sampled** | **{len(ok)} / {len(outcomes)}** (every entry of "
        "pages.jsonl) |",
    ]
    for kind, label in (
        ("first", "first pass (responses)"),
        ("revisit", "second pass, unchanged (revisits)"),
        ("second", "second pass, edited (second versions)"),
    ):
        lines.append(f"| {label} | {kinds[kind][0]} / {kinds[kind][1]} |")
    lines += [
        f"| seconds, first page (loads the WACZ) | {outcomes[0].seconds:.1f} |" if outcomes else "",
        f"| seconds per page after it: median / max | {statistics.median(later):.1f} "
        f"/ {max(later):.1f} |"
        if later
        else "",
        "",
        "A page counts as replayed when a run of 6-12 words from the middle of its own main text "
        "(`monitor.extract`) appears in the replayed frame, and, for the first version of an "
        "edited "
        "page, its added paragraph does not.",
        "",
    ]
    if failed:
        lines += ["Failures:", ""]
        lines += [
            f'- {o.url} at {o.ts} ({o.version}): {cause(o)}; wanted "{o.sentence}"; frames '
            f'showed: "{" ".join(o.seen.split())[-200:]}"'
            for o in failed
        ]
    else:
        lines.append("Failures: none.")
    return "\n".join(x for x in lines if x is not None) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pages", type=int, default=30)
    ap.add_argument("--edits", type=int, default=2, help="pages edited between the two passes")
    ap.add_argument(
        "--timeout", type=float, default=60, help="seconds to wait for a page's sentence"
    )
    ap.add_argument("--no-write", action="store_true", help=f"print, do not write {OUT.name}")
    args = ap.parse_args()
    header = describe()
    outcomes, facts = run(args.pages, args.edits, args.timeout)
    command = "python benchmarks/wacz_replay.py" + "".join(
        f" --{k} {v}"
        for k, v in (("pages", args.pages), ("edits", args.edits))
        if v != ap.get_default(k)
    )
    text = report(outcomes, facts, command, header)
    print(text)
    print(f"(archive and WACZ kept in {facts['tmp']})", file=sys.stderr)
    if not args.no_write:
        OUT.write_text(text)


if __name__ == "__main__":
    main()
