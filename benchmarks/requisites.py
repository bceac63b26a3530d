#!/usr/bin/env python
"""Page requisites: what fetching every page's stylesheets, fonts and images costs a crawl, and what
an unchanged site costs on its next pass.

Run by hand, as root (it starts nginx on 127.0.0.1; Debian: apt-get install -y nginx):

    python benchmarks/requisites.py                 # 2,000 pages, 3 runs of each mode, median
    python benchmarks/requisites.py --pages 500 --repeat 1

The site is benchmarks/crawl.py's (2,000 generated pages of ~100 KB, a sitemap), each page
linking a shared stylesheet (which loads a shared font through @font-face), two shared images and
one image of its own. nginx serves the static files with ETag and Last-Modified, and the pages as a
CMS often does, without validators (so every pass reads every page whole, and so its requisites).

Each run crawls the site in fresh subprocesses (benchmarks/crawl.py's workers), alternately:
  bare        a bare Scrapy spider, warcwatch's settings, pages only, no WARC;
  none        warcwatch with `[crawl] requisites = "none"`: two passes into one archive;
  all         warcwatch with `requisites = "all"` (the default): two passes into one archive.
It prints pages/s of the first pass, the requests made, and the bytes each pass added to the WARC
files (the second pass of an unchanged site should add request and revisit records only), with the
CPU other jobs used meanwhile (the machine is shared).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import crawl as base  # noqa: E402 - benchmarks/crawl.py: the site, nginx and the workers
import machine  # noqa: E402 - benchmarks/machine.py

REPO = Path(__file__).resolve().parent.parent
CSS = """@font-face { font-family: Bench; src: url(/static/font.woff2) format("woff2"); }
body { font-family: Bench, serif; } .logo { background: url(/static/sprite.png) no-repeat; }
"""


def add_requisites(root: Path, paths: list[str], seed: int = 2) -> dict:
    """Link every page to the shared CSS (already there), two shared images and one of its own;
    the CSS loads the font and a sprite (an image that only the CSS names)."""
    rng = random.Random(seed)
    static = root / "static"
    (static / "site.css").write_text(CSS)
    (static / "font.woff2").write_bytes(rng.randbytes(40_000))
    (static / "logo.png").write_bytes(rng.randbytes(8_000))
    (static / "sprite.png").write_bytes(rng.randbytes(6_000))
    (root / "img").mkdir(exist_ok=True)
    unique = 0
    for i, p in enumerate(paths):
        page = root / p.lstrip("/")
        html = page.read_text()
        imgs = f'<img src="/static/logo.png" alt=""><img src="/img/p{i:05d}.png" alt="">'
        page.write_text(html.replace("<main>", "<main>" + imgs, 1))
        data = rng.randbytes(12_000)
        (root / "img" / f"p{i:05d}.png").write_bytes(data)
        unique += len(data)
    return {"shared": 40_000 + 8_000 + 6_000 + len(CSS), "unique": unique}


class Nginx(base.Nginx):
    """benchmarks/crawl.py's nginx, the pages (.html) served without ETag or Last-Modified."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        conf = self.conf.read_text()
        conf = conf.replace(
            "types { text/html html;", "types { image/png png; font/woff2 woff2; text/html html;"
        )
        conf = conf.replace(
            "etag on;", "etag on;\n location ~ \\.html$ { etag off; if_modified_since off; }"
        )
        self.conf.write_text(conf)


def warc_bytes(archive: Path) -> dict[str, int]:
    return {p.name: p.stat().st_size for p in (archive / "warcs").glob("*.warc.gz")}


def write_config(path: Path, archive: Path, url: str, policy: str, pages: int) -> None:
    path.write_text(
        f'[archive]\ndir = "{archive}"\ngzip_level = 1\n\n'
        f"[crawl]\nconcurrency = 16\nconcurrency_per_host = 16\nautothrottle = false\n"
        f'obey_robots = true\nretries = 1\nrequisites = "{policy}"\n\n'
        f"[monitor]\nconfirm = false\n\n"
        f'[[targets]]\nname = "bench"\nurl = "{url}"\nkind = "sitemap"\nmax_pages = {pages + 100}\n'
    )


def worker(mode: str, rundir: Path, config: Path, url_base: str, pages: int, tag: str) -> dict:
    spec = {
        "mode": mode,
        "config": str(config),
        "base": url_base,
        "pages": pages,
        "out": str(rundir / f"result-{tag}.json"),
        "cprofile": None,
    }
    spec_path = rundir / f"spec-{tag}.json"
    spec_path.write_text(json.dumps(spec))
    env = dict(os.environ, PYTHONPATH=str(REPO), WARCWATCH_BENCH_SRC=str(REPO))
    busy0, w0, c0 = base.busy_cpu(), time.perf_counter(), base.children_cpu()
    proc = subprocess.run(
        [sys.executable, str(Path(base.__file__).resolve()), "_worker", str(spec_path)],
        cwd=rundir,
        env=env,
        capture_output=True,
        text=True,
    )
    busy1, w1, c1 = base.busy_cpu(), time.perf_counter(), base.children_cpu()
    if proc.returncode != 0:
        sys.exit(f"requisites.py: {mode} failed:\n{proc.stderr[-4000:]}")
    out = json.loads(Path(spec["out"]).read_text())
    out["foreign_cores"] = max(busy1 - busy0 - (c1 - c0), 0.0) / (w1 - w0)
    return out


def run(mode: str, work: Path, n: int, url_base: str, pages: int) -> dict:
    rundir = work / f"{mode}-{n}"
    rundir.mkdir()
    archive = rundir / "archive"
    config = rundir / "warcwatch.toml"
    write_config(
        config, archive, url_base + "/sitemap.xml", "none" if mode == "bare" else mode, pages
    )
    if mode == "bare":
        r = worker("bare", rundir, config, url_base, pages, "1")
        return {
            "rate": r["pages"] / r["t_pass"],
            "pages": r["pages"],
            "foreign": r["foreign_cores"],
        }
    first = worker("warcwatch", rundir, config, url_base, pages, "1")
    after1 = warc_bytes(archive)
    second = worker("warcwatch", rundir, config, url_base, pages, "2")
    after2 = warc_bytes(archive)
    got = first["per_target"]["bench"]["fetched"] - 2  # minus robots.txt and the sitemap
    return {
        "rate": got / first["t_pass"],
        "pages": got,
        "foreign": max(first["foreign_cores"], second["foreign_cores"]),
        "requisites1": first["summary"]["requisites"],
        "requisites2": second["summary"]["requisites"],
        "pass2": {k: second["summary"][k] for k in ("fetched", "new", "revisits", "not_modified")},
        "bytes1": sum(after1.values()),
        "bytes2": sum(v for k, v in after2.items() if k not in after1),
        "rate2": (second["per_target"]["bench"]["fetched"] - 2) / second["t_pass"],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pages", type=int, default=2000)
    ap.add_argument("--size-kb", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    print(machine.describe(), time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()))
    with tempfile.TemporaryDirectory(prefix="warcwatch-req-bench-") as tmp:
        work = Path(tmp)
        docroot = work / "site"
        docroot.mkdir()
        site = base.generate_site(docroot, args.pages, args.size_kb)
        extra = add_requisites(docroot, site["paths"])
        port = base.free_port()
        url_base = f"http://127.0.0.1:{port}"
        base.write_sitemap(docroot, url_base, site["paths"])
        nginx = Nginx(work, docroot, port, None)
        nginx.start()
        print(
            f"{args.pages} pages of {site['bytes'] / args.pages / 1024:.1f} KB; requisites: "
            f"{extra['shared']} B shared, "
            f"{extra['unique'] / args.pages / 1024:.1f} KB unique per page"
        )
        try:
            results: dict[str, list[dict]] = {m: [] for m in ("bare", "none", "all")}
            for n in range(args.repeat):
                for mode in ("bare", "none", "all") if n % 2 == 0 else ("all", "none", "bare"):
                    r = run(mode, work, n, url_base, args.pages)
                    results[mode].append(r)
                    print(f"run {n + 1} {mode:4s}: {json.dumps(r)}", flush=True)
        finally:
            nginx.stop()
        print("\nmedians:")
        for mode, rs in results.items():
            line = f"  {mode:4s}: {statistics.median(x['rate'] for x in rs):7.1f} pages/s (pass 1)"
            if mode != "bare":
                line += (
                    f", pass 1 stored {statistics.median(x['bytes1'] for x in rs) / 1e6:.1f} MB, "
                    f"pass 2 stored {statistics.median(x['bytes2'] for x in rs) / 1e6:.2f} MB, "
                    f"pass 2 {statistics.median(x['rate2'] for x in rs):.1f} pages/s"
                )
            print(line + f"; other jobs up to {max(x['foreign'] for x in rs):.2f} cores")


if __name__ == "__main__":
    main()
