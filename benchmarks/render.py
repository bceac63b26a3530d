#!/usr/bin/env python
"""Rendered targets: pages per minute through Chromium with 1 and 2 browser contexts, and the
peak memory of the crawl with its browser.

Run by hand (Debian's chromium installed; `pip install -e '.[render]'`):

    python benchmarks/render.py                     # 60 pages, contexts 1 and 2, 2 runs each
    python benchmarks/render.py --pages 30 --repeat 1

The site (tests.httpserver on 127.0.0.1, threaded) has N pages like the render test's portal: an
HTML shell whose article a script writes from a JSON file of its own, a shared stylesheet and the
shared script; so each page costs the browser 3 requests through the crawl (script, stylesheet,
JSON) besides the page itself. One target `render = true` (screenshots on, the default) lists
the N pages; each run is one `warcwatch crawl` into a fresh archive, `[crawl] render_contexts` 1
or 2. Measured: the crawl's wall time (pages/min = N / minutes), and peak RSS summed over the
crawl's process tree (the CLI, the WARC writer process, Playwright's driver, Chromium's processes),
sampled every 0.1 s from /proc, and the same as PSS (shared pages counted once). The CPU the
whole machine used meanwhile is printed (it is shared).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import machine  # noqa: E402 - benchmarks/machine.py

from tests.conftest import write_config  # noqa: E402
from tests.httpserver import SiteServer, page  # noqa: E402

SHELL = """<!doctype html><html><head><title>Page {n}</title>
<link rel="stylesheet" href="/style.css"></head>
<body><nav>Portal</nav><main><article id="story" data-src="/data/{n}.json">Loading</article>
</main><script src="/app.js"></script></body></html>"""
APP = """(async () => {
  const a = document.getElementById('story');
  const d = await (await fetch(a.dataset.src)).json();
  a.replaceChildren();
  const h = document.createElement('h1'); h.textContent = d.title; a.append(h);
  for (const t of d.paragraphs) {
    const p = document.createElement('p'); p.textContent = t; a.append(p);
  }
})();"""


def site(pages: int) -> SiteServer:
    server = SiteServer().start()
    server.routes["/robots.txt"] = page("User-agent: *\nAllow: /\n", content_type="text/plain")
    server.routes["/style.css"] = page(
        "body { font: 16px serif; max-width: 40rem; margin: auto }", content_type="text/css"
    )
    server.routes["/app.js"] = page(APP, content_type="application/javascript")
    for n in range(pages):
        server.routes[f"/p/{n}"] = page(SHELL.format(n=n))
        story = {
            "title": f"Notice {n}",
            "paragraphs": [f"Paragraph {i} of notice {n}: " + "text " * 40 for i in range(8)],
        }
        server.routes[f"/data/{n}.json"] = page(json.dumps(story), content_type="application/json")
    return server


def _pss(pid: int) -> int:
    """Proportional set size: shared pages divided among the processes sharing them (Chromium's
    processes share much), so the sum over a tree is what it really holds."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


def tree_memory(pid: int) -> tuple[int, int]:
    """(RSS, PSS) bytes of `pid` and all its descendants (from /proc)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            pages = int(Path(f"/proc/{entry}/statm").read_text().split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry))
        rss[int(entry)] = pages * os.sysconf("SC_PAGE_SIZE")
    total, pss, todo = 0, 0, [pid]
    while todo:
        p = todo.pop()
        total += rss.get(p, 0)
        pss += _pss(p)
        todo.extend(children.get(p, []))
    return total, pss


def busy() -> float:
    """Machine-wide busy CPU seconds so far (all processes)."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    ticks = [int(x) for x in fields]
    idle = ticks[3] + ticks[4]
    return (sum(ticks) - idle) / os.sysconf("SC_CLK_TCK")


def run(urls: list[str], contexts: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        config = write_config(
            Path(tmp),
            [{"name": "portal", "urls": urls, "render": True, "render_wait": 5}],
            crawl={"render_contexts": contexts, "download_timeout": 30},
        )
        cmd = [sys.executable, "-m", "monitor.cli", "crawl", "--config", str(config), "--json"]
        cpu0, t0 = busy(), time.monotonic()
        proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        peak, peak_pss = 0, 0
        done = threading.Event()

        def sample():
            nonlocal peak, peak_pss
            while not done.is_set():
                rss, pss = tree_memory(proc.pid)
                peak, peak_pss = max(peak, rss), max(peak_pss, pss)
                time.sleep(0.1)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        out, err = proc.communicate()
        done.set()
        sampler.join()
        wall = time.monotonic() - t0
        if proc.returncode != 0:
            raise SystemExit(f"crawl failed: {err.decode()[-2000:]}")
        summary = json.loads(out.decode().strip().splitlines()[-1])
        return {
            "contexts": contexts,
            "wall": wall,
            "pages_per_min": len(urls) / wall * 60,
            "peak_rss_mb": peak / 1e6,
            "peak_pss_mb": peak_pss / 1e6,
            "machine_cpu": (busy() - cpu0) / wall,
            "summary": summary,
        }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pages", type=int, default=60)
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    print(machine.describe())
    server = site(args.pages)
    urls = [server.url(f"/p/{n}") for n in range(args.pages)]
    results: dict[int, list[dict]] = {1: [], 2: []}
    try:
        for _ in range(args.repeat):
            for contexts in (1, 2):
                r = run(urls, contexts)
                results[contexts].append(r)
                print(
                    f"contexts={contexts}: {r['wall']:.1f}s, {r['pages_per_min']:.0f} pages/min, "
                    f"peak RSS {r['peak_rss_mb']:.0f} MB (PSS {r['peak_pss_mb']:.0f} MB), "
                    f"machine busy {r['machine_cpu']:.2f} "
                    "cores",
                    flush=True,
                )
    finally:
        server.stop()
    hits = len(server.requests)
    print(f"server requests in all: {hits}")
    for contexts, rs in results.items():
        print(
            f"median contexts={contexts}: "
            f"{statistics.median(r['pages_per_min'] for r in rs):.0f} pages/min, "
            f"peak RSS {max(r['peak_rss_mb'] for r in rs):.0f} MB, "
            f"PSS {max(r['peak_pss_mb'] for r in rs):.0f} MB"
        )


if __name__ == "__main__":
    main()
