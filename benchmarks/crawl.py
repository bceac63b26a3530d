#!/usr/bin/env python
"""Crawl throughput: warcwatch (WARC + catalog) against a bare Scrapy spider, on one generated site.

Run by hand, as root (it starts nginx on 127.0.0.1):

    python benchmarks/crawl.py                     # 2,000 pages of ~100 KB, 3 runs each, median
    python benchmarks/crawl.py --gzip              # nginx serves the pages gzip-encoded
    python benchmarks/crawl.py --repeat 5 --pages 3000 --kind site
    python benchmarks/crawl.py --profile /tmp/prof # also one py-spy profile of a warcwatch pass

What it does:
1. generates a static site in a temp dir: N pages of ~S KB of realistic HTML (header, nav, article
   with sections and in-text links, a "related" list of links to other pages, footer), an index
   page linking every page, a sitemap.xml listing every page, and a robots.txt allowing all;
2. serves it with nginx (sendfile, keep-alive; with --gzip, pre-compressed `.gz` files through
   gzip_static, or on-the-fly gzip with --gzip-mode dynamic, which also makes responses chunked);
3. crawls it, in a fresh subprocess per run, alternately
   (a) with a bare Scrapy spider: the same Scrapy settings warcwatch runs with
       (CrawlSettings.scrapy_settings on the same watchlist: concurrency, AutoThrottle off,
       robots.txt obeyed, timeouts, retries, user agent, cookies off), minus warcwatch's own
       download handler and middlewares: no WARC;
   (a') with the same bare spider on Scrapy's stock CONCURRENT_ITEMS (100), which warcwatch lowers
       to 8: a bare spider as Scrapy ships it, the baseline the issue's prototype figures used;
   (b) with warcwatch itself: a `sitemap` (or `site`) target in a generated warcwatch.toml, run
       through monitor.pass_run.crawl_pass, the code path of `warcwatch crawl`;
   both discover the pages the same way (the sitemap, or the index page's links) and do no other
   work per page;
4. verifies that warcwatch archived every page: catalog rows (one `response` capture with status
   200 per page, offsets set) and the WARC files read back record by record (a response and a
   request record per page, payload digests recomputed and compared with the catalog);
5. prints pages/s of each run, the median of each, and the ratio warcwatch / bare.

Timing: pages / pass time, where the pass time runs from just before the crawl starts to just after
it has finished, imports excluded (both workers import everything first). For warcwatch the pass
includes waiting for the writer process to drain, fsync and commit: a pass is over when the
catalog is. The "fetch" rate (first to last page response) is printed too; the gap between the two
is start-up (robots.txt, sitemap, writer process spawn) and the writer's tail.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import cProfile
import gzip
import hashlib
import json
import os
import random
import resource
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SRC = Path(
    os.environ.get("WARCWATCH_BENCH_SRC", REPO)
)  # the warcwatch tree the workers import (--src)

# --------------------------------------------------------------------------------------------
# the site
# --------------------------------------------------------------------------------------------

_SYLLABLES = (
    "ka",
    "re",
    "mi",
    "to",
    "sen",
    "dar",
    "lo",
    "vi",
    "pra",
    "nu",
    "tes",
    "gor",
    "al",
    "be",
    "ci",
    "dom",
    "er",
    "fa",
    "gu",
    "hin",
    "is",
    "jo",
    "kel",
    "mun",
    "ost",
    "pel",
    "qua",
    "ris",
    "sta",
    "tru",
    "ul",
    "ven",
    "wo",
    "xa",
    "yel",
    "zo",
    "the",
    "and",
    "ing",
)


def _vocabulary(rng: random.Random, n: int = 3000) -> tuple[list[str], list[float]]:
    words = sorted(
        {"".join(rng.choices(_SYLLABLES, k=rng.choice((1, 2, 2, 3, 3, 4)))) for _ in range(n * 2)}
    )
    rng.shuffle(words)
    words = words[:n]
    # Zipf-like frequencies, as in natural text: gzip then compresses pages ~3-4x, like real HTML
    weights, total = [], 0.0
    for rank in range(1, len(words) + 1):
        total += 1.0 / rank
        weights.append(total)
    return words, weights


def page_path(i: int) -> str:
    return f"/pages/{i // 100:03d}/p{i:05d}.html"


def _page_html(i: int, pages: int, size: int, rng: random.Random, words, cum) -> str:
    def sentence(k: int) -> str:
        w = rng.choices(words, cum_weights=cum, k=k)
        return w[0].capitalize() + " " + " ".join(w[1:]) + "."

    def title() -> str:
        return " ".join(
            w.capitalize() for w in rng.choices(words, cum_weights=cum, k=rng.randint(4, 9))
        )

    t = title()
    related = rng.sample(range(pages), k=min(6, pages))
    head = textwrap.dedent(f"""\
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>{t} | Benchmark News</title>
        <meta name="description" content="{sentence(14)[:150]}">
        <link rel="canonical" href="{page_path(i)}">
        <link rel="stylesheet" href="/static/site.css">
        </head>
        <body class="article">
        <header class="site-header"><a class="logo" href="/">Benchmark News</a>
        <nav><ul><li><a href="/">Home</a></li><li><a href="/index.html">All articles</a></li>
        <li><a href="{page_path((i + 1) % pages)}">Next</a></li><li><a \
href="{page_path((i - 1) % pages)}">Previous</a></li></ul></nav>
        </header>
        <main>
        <article id="a{i}">
        <h1>{t}</h1>
        <p class="byline">By {title()[:30]} &middot; <time \
datetime="2024-05-{1 + i % 28:02d}T{i % 24:02d}:00:00Z">{1 + i % 28} May 2024</time></p>
        """)
    tail = (
        '</article>\n<aside class="related"><h2>Related</h2><ul>\n'
        + "".join(f'<li><a href="{page_path(j)}">{title()}</a></li>\n' for j in related)
        + "</ul></aside>\n</main>\n<footer><p>&copy; 2024 Benchmark News. <a "
        'href="/sitemap.xml">Sitemap</a></p></footer>\n</body>\n</html>\n'
    )
    parts = [head]
    n = len(head) + len(tail)
    section = 0
    links = list(related)
    while n < size:
        if n > 2000 and rng.random() < 0.12:
            section += 1
            chunk = f'<h2 id="s{section}">{title()}</h2>\n'
        else:
            sentences = [sentence(rng.randint(8, 24)) for _ in range(rng.randint(3, 7))]
            if links and rng.random() < 0.1:
                j = links.pop()
                sentences.insert(1, f'See <a href="{page_path(j)}">{title()}</a>.')
            chunk = "<p>" + " ".join(sentences) + "</p>\n"
        parts.append(chunk)
        n += len(chunk)
    parts.append(tail)
    return "".join(parts)


def generate_site(root: Path, pages: int, size_kb: int, seed: int = 1) -> dict:
    rng = random.Random(seed)
    words, cum = _vocabulary(rng)
    size = size_kb * 1024
    total = total_gz = 0
    urls = []
    for i in range(pages):
        html = _page_html(i, pages, size, rng, words, cum).encode()
        path = root / page_path(i).lstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(html)
        gz = gzip.compress(html, compresslevel=6, mtime=0)
        (path.parent / (path.name + ".gz")).write_bytes(gz)
        total += len(html)
        total_gz += len(gz)
        urls.append(page_path(i))
    links = "".join(f'<li><a href="{u}">Article {k}</a></li>\n' for k, u in enumerate(urls))
    index = (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>All '
        f"articles</title></head>\n<body><h1>All articles</h1><ul>\n{links}</ul></body></html>\n"
    )
    (root / "index.html").write_text(index)
    (root / "robots.txt").write_text("User-agent: *\nAllow: /\n")
    (root / "static").mkdir(exist_ok=True)
    (root / "static" / "site.css").write_text("body{font-family:serif}\n")
    for name in ("index.html",):
        (root / (name + ".gz")).write_bytes(gzip.compress((root / name).read_bytes(), 6, mtime=0))
    return {"pages": pages, "paths": urls, "bytes": total, "gz_bytes": total_gz}


def write_sitemap(root: Path, base: str, paths: list[str], name: str = "sitemap.xml") -> None:
    entries = "".join(f"<url><loc>{base}{p}</loc></url>\n" for p in paths)
    xml = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<urlset '
        f'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n{entries}</urlset>\n'
    )
    (root / name).write_text(xml)
    (root / (name + ".gz")).write_bytes(gzip.compress(xml.encode(), 6, mtime=0))


# --------------------------------------------------------------------------------------------
# nginx
# --------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Nginx:
    def __init__(self, workdir: Path, docroot: Path, port: int, gzip_mode: str | None):
        self.exe = shutil.which("nginx") or next(
            (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.path.exists(p)), None
        )
        if self.exe is None:
            sys.exit(
                "crawl.py: nginx not found. Install it (Debian: apt-get update && apt-get install "
                "-y nginx) and run again."
            )
        self.dir = workdir
        self.port = port
        if gzip_mode == "static":
            gz = "gzip_static on; gzip off;"
        elif gzip_mode == "dynamic":
            gz = (
                "gzip on; gzip_comp_level 1; gzip_min_length 256; gzip_types text/html "
                "application/xml text/xml text/css;"
            )
        else:
            gz = "gzip off; gzip_static off;"
        user = "user root root;" if os.geteuid() == 0 else ""
        conf = f"""
            {user}
            worker_processes 1;
            daemon off;
            pid {workdir}/nginx.pid;
            error_log {workdir}/error.log warn;
            events {{ worker_connections 1024; }}
            http {{
                types {{ text/html html; text/css css; application/xml xml; text/plain txt; }}
                default_type application/octet-stream;
                access_log off;
                sendfile on; tcp_nopush on; tcp_nodelay on;
                keepalive_timeout 60s; keepalive_requests 1000000;
                open_file_cache max=10000 inactive=60s;
                client_body_temp_path {workdir}/tmp-body; proxy_temp_path {workdir}/tmp-proxy;
                fastcgi_temp_path {workdir}/tmp-fcgi; uwsgi_temp_path {workdir}/tmp-uwsgi; \
scgi_temp_path {workdir}/tmp-scgi;
                {gz}
                server {{
                    listen 127.0.0.1:{port};
                    root {docroot};
                    index index.html;
                    etag on;
                }}
            }}
            """
        self.conf = workdir / "nginx.conf"
        self.conf.write_text(textwrap.dedent(conf))
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        cmd = [
            self.exe,
            "-e",
            str(self.dir / "error.log"),
            "-p",
            str(self.dir),
            "-c",
            str(self.conf),
        ]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                sys.exit(
                    f"crawl.py: nginx exited: {self.proc.stderr.read().decode(errors='replace')}"
                )
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        sys.exit("crawl.py: nginx did not start listening within 10 s")

    def cpu(self) -> float:
        """CPU seconds used so far by nginx's master and worker processes."""
        if not self.proc:
            return 0.0
        pids = [self.proc.pid]
        try:
            pids += [
                int(p)
                for p in Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
                .read_text()
                .split()
            ]
            total = 0
            for pid in pids:
                fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
                total += int(fields[11]) + int(fields[12])  # utime, stime
        except OSError:
            return 0.0
        return total / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)  # graceful shutdown of master and worker
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# --------------------------------------------------------------------------------------------
# the workers (run in subprocesses: `crawl.py _worker SPEC.json`)
# --------------------------------------------------------------------------------------------


def _worker(spec_path: str) -> None:
    import logging

    spec = json.loads(Path(spec_path).read_text())
    logging.basicConfig(level=logging.WARNING)
    sys.path.insert(0, str(SRC))

    # everything imported before the clock starts, in both workers
    import scrapy  # noqa: F401
    from scrapy.crawler import AsyncCrawlerRunner  # noqa: F401
    from scrapy.linkextractors import LinkExtractor  # noqa: F401
    from scrapy.utils.sitemap import Sitemap  # noqa: F401

    from crawler.report import PassReport
    from crawler.runner import run_in_reactor
    from monitor.config import load_config
    from monitor.pass_run import crawl_pass
    from storage import catalog

    config = load_config(spec["config"])
    page_prefix = spec["base"] + "/pages/"
    times: list[float] = []
    import crawler.runner

    class _NoProfile:
        def enable(self): ...
        def disable(self): ...

    # --cprofile: the crawl process's CPU time (not wall time: other jobs don't distort it)
    prof = cProfile.Profile(time.process_time) if spec.get("cprofile") else _NoProfile()
    out: dict = {"kind": spec["mode"], "src": crawler.runner.__file__}

    def cpu(who: int) -> float:
        ru = resource.getrusage(who)
        return ru.ru_utime + ru.ru_stime

    def seen(url: str) -> None:
        if url.startswith(page_prefix):
            times.append(time.perf_counter())

    if spec["mode"] in ("warcwatch", "noevidence"):
        import crawler.spiders  # noqa: F401
        import storage.writer  # noqa: F401
        from storage.writer_process import WriterClient

        # how long the reactor thread is blocked handing exchanges to the writer process
        send = WriterClient.send
        blocked = [0.0]

        def timed_send(self, item):
            s0 = time.perf_counter()
            try:
                return send(self, item)
            finally:
                blocked[0] += time.perf_counter() - s0

        WriterClient.send = timed_send

        # The writer forks from the fork server, not from this process, so RUSAGE_CHILDREN misses
        # it: read its CPU from /proc just before it is told to close (its writes all done).
        close = WriterClient.close
        writer_cpu = [0.0]

        def sampled_close(self, *a, **k):
            with contextlib.suppress(OSError, IndexError, ValueError):
                stat = Path(f"/proc/{self._proc.pid}/stat").read_text().rpartition(")")[2].split()
                writer_cpu[0] += (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")
            return close(self, *a, **k)

        WriterClient.close = sampled_close
        if spec["mode"] == "noevidence":  # warcwatch without its evidence log (issue 12)
            import dataclasses

            import monitor.pass_run

            settings_of = monitor.pass_run.writer_settings
            monitor.pass_run.writer_settings = lambda *a, **k: dataclasses.replace(
                settings_of(*a, **k), evidence=False
            )
            monitor.pass_run.make_checkpoint = lambda *a, **k: None
        if os.environ.get("WARCWATCH_BENCH_NOSEND"):  # an experiment: what sending costs the crawl
            WriterClient.send = lambda self, item: None

        # the catalog exists already, as on every pass but the first (migrations are not the
        # subject)
        catalog.open_catalog(config.archive.database_url).dispose()
        if spec.get("phases"):  # a 1-page pass, its steps timed (benchmarks/pass_phases.py)
            sys.path.append(str(Path(__file__).resolve().parent))  # this benchmark's, any --src
            import pass_phases

            out["startup"] = pass_phases.writer_startup(config)
            out["phases"] = pass_phases.install()
        report = PassReport()
        # PassReport.on_change is called on every archived response (robots.txt and the listing
        # included); the URL is not passed, so the first len - pages of them are the listing fetches
        report.on_change = lambda: times.append(time.perf_counter())

        async def main():
            if spec.get("warm_config"):
                # The first pass of a process imports what Scrapy loads by name when a crawler
                # starts (download handlers, TLS, every middleware and extension named) and
                # starts the writers' fork server: a daemon's worker pays that once, then runs
                # pass after pass. A 1-page pass into another archive first, timed apart.
                warm = load_config(spec["warm_config"])
                w0 = time.perf_counter()
                await crawl_pass(warm, list(warm.targets), PassReport())
                out["t_cold"] = time.perf_counter() - w0
                if spec.get("phases"):
                    out["phases"].clear()
                writer_cpu[0] = 0.0
            c0, s0 = cpu(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_SELF).ru_stime
            prof.enable()
            t0 = time.perf_counter()
            result = await crawl_pass(config, list(config.targets), report)
            t1 = time.perf_counter()
            prof.disable()
            out.update(
                cpu_crawl=cpu(resource.RUSAGE_SELF) - c0,
                cpu_writer=cpu(resource.RUSAGE_CHILDREN) + writer_cpu[0],
                cpu_writer_forked=writer_cpu[0],
                sys_crawl=resource.getrusage(resource.RUSAGE_SELF).ru_stime - s0,
            )
            return t0, t1, result

        t0, t1, result = run_in_reactor(main)
        # and the fork server's own CPU (its imports: it is not this process's waited child either),
        # so that the machine's busy time left over is other jobs' only
        from multiprocessing import forkserver

        with contextlib.suppress(OSError, IndexError, ValueError, AttributeError, TypeError):
            pid = forkserver._forkserver._forkserver_pid  # type: ignore[attr-defined]
            stat = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
            out["cpu_writer_forked"] += (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")
        out.update(
            t_pass=t1 - t0, summary=result.summary, per_target=result.per_target, t_send=blocked[0]
        )
        if spec.get("phases"):  # when each response was archived: robots.txt, listing, page
            out["archived_at"] = [x - t0 for x in times]
        listing_fetches = len(times) - spec["pages"]
        page_times = times[max(listing_fetches, 0) :]
    else:
        from scrapy import Request, Spider

        settings = config.crawl.scrapy_settings()
        # bare Scrapy: the same settings, without warcwatch's handler and middlewares
        settings.set("DOWNLOAD_HANDLERS", {}, priority="cmdline")
        settings.set("DOWNLOADER_MIDDLEWARES", {}, priority="cmdline")
        settings.set("WARC_ENABLED", False, priority="cmdline")
        settings.set("CONDITIONAL_GET_ENABLED", False, priority="cmdline")
        if spec["mode"] == "stock":
            # a bare spider as Scrapy ships it: warcwatch's settings tune CONCURRENT_ITEMS (100 → 8)
            settings.set("CONCURRENT_ITEMS", 100, priority="cmdline")
        target = config.targets[0]

        class BareSpider(Spider):
            name = "bare"

            start_url = target.urls[0]

            async def start(self):
                yield Request(self.start_url, callback=self.parse_listing, priority=10)

            def parse_listing(self, response):
                if target.kind == "sitemap" or response.url.endswith(".xml"):  # or the warm-up's
                    for entry in Sitemap(response.body):
                        yield Request(response.urljoin(entry["loc"]), callback=self.parse_page)
                else:
                    for link in LinkExtractor().extract_links(response):
                        yield Request(link.url, callback=self.parse_page)

            def parse_page(self, response):
                seen(response.url)
                self.crawler.stats.inc_value("bench/pages")

        async def main():
            runner = AsyncCrawlerRunner(settings)
            if spec.get("warm_url"):  # as warcwatch's: the process's first crawl, 1 page, apart
                w0 = time.perf_counter()
                await runner.crawl(runner.create_crawler(BareSpider), start_url=spec["warm_url"])
                out["t_cold"] = time.perf_counter() - w0
                times.clear()
            crawler = runner.create_crawler(BareSpider)
            c0, s0 = cpu(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_SELF).ru_stime
            prof.enable()
            t0 = time.perf_counter()
            await runner.crawl(crawler)
            t1 = time.perf_counter()
            prof.disable()
            out.update(
                cpu_crawl=cpu(resource.RUSAGE_SELF) - c0,
                sys_crawl=resource.getrusage(resource.RUSAGE_SELF).ru_stime - s0,
            )
            return t0, t1, crawler.stats.get_stats()

        t0, t1, stats = run_in_reactor(main)
        page_times = times
        out.update(
            t_pass=t1 - t0,
            pages=stats.get("bench/pages", 0),
            status_200=stats.get("downloader/response_status_count/200", 0),
            errors={k: v for k, v in stats.items() if "exception" in k},
        )
    if page_times:
        out["t_first_page"] = page_times[0] - t0
    if len(page_times) >= 2:
        out["t_fetch"] = page_times[-1] - page_times[0]
        out["t_tail"] = t1 - page_times[-1]
    if spec.get("cprofile"):
        prof.dump_stats(spec["cprofile"])
    Path(spec["out"]).write_text(json.dumps(out, default=str))


# --------------------------------------------------------------------------------------------
# verification of warcwatch's archive
# --------------------------------------------------------------------------------------------


def verify_archive(archive: Path, base: str, paths: list[str], deep: bool) -> dict:
    expected = {base + p for p in paths}
    db = sqlite3.connect(archive / "catalog.sqlite")
    rows = db.execute(
        "SELECT url, kind, status, warc_file, offset, length, digest, request_offset FROM captures"
    ).fetchall()
    db.close()
    ok_rows = {
        r[0]: r
        for r in rows
        if r[1] == "response" and r[2] == 200 and r[3] and r[4] is not None and r[6]
    }
    missing = sorted(expected - ok_rows.keys())
    failed = [r for r in rows if r[1] == "failed"]
    res = {
        "catalog_rows": len(rows),
        "pages_cataloged": len(expected & ok_rows.keys()),
        "missing": missing[:5],
        "n_missing": len(missing),
        "failed": len(failed),
    }
    if not deep:
        return res
    from warcio.archiveiterator import ArchiveIterator

    warcs = sorted((archive / "warcs").glob("*.warc.gz"))
    res["warc_files"] = len(warcs)
    res["open_files_left"] = len(list((archive / "warcs").glob("*.open")))
    counts: dict[str, int] = {}
    mismatches = 0
    for w in warcs:
        with open(w, "rb") as fh:
            it = ArchiveIterator(fh)
            for rec in it:
                counts[rec.rec_type] = counts.get(rec.rec_type, 0) + 1
                if rec.rec_type != "response":
                    continue
                url = rec.rec_headers.get_header("WARC-Target-URI")
                # the payload as stored: de-chunked by the crawler, Content-Encoding kept
                # (content_stream() would also decode gzip, and the digest is of the bytes as
                # received)
                payload = rec.raw_stream.read()
                algo = (rec.rec_headers.get_header("WARC-Payload-Digest") or "sha256:").split(":")[
                    0
                ]
                digest = f"{algo}:" + base64.b32encode(hashlib.new(algo, payload).digest()).decode()
                row = ok_rows.get(url)
                if url in expected and (
                    row is None
                    or row[6] != digest
                    or rec.rec_headers.get_header("WARC-Payload-Digest") != digest
                    or row[4] != it.get_record_offset()
                    or row[3] != w.name
                ):
                    mismatches += 1
    res["records"] = counts
    res["digest_or_offset_mismatches"] = mismatches
    return res


# --------------------------------------------------------------------------------------------
# the driver
# --------------------------------------------------------------------------------------------


def write_config(
    path: Path, archive: Path, base: str, kind: str, pages: int, args, listing: str | None = None
) -> None:
    url = base + (listing or ("/sitemap.xml" if kind == "sitemap" else "/index.html"))
    path.write_text(
        textwrap.dedent(f"""\
        [archive]
        dir = "{archive}"
        gzip_level = {args.gzip_level}

        [crawl]
        concurrency = {args.concurrency}
        concurrency_per_host = {args.per_host}
        autothrottle = false
        obey_robots = true
        retries = 1
        requisites = "{args.requisites}"

        [[targets]]
        name = "bench"
        url = "{url}"
        kind = "{kind}"
        depth = 1
        max_pages = {pages + 100}
        """)
    )


def busy_cpu() -> float:
    """CPU seconds spent busy so far by the whole machine (all cores), from /proc/stat."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except OSError:
        return 0.0
    idle = fields[3] + fields[4]  # idle, iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)  # waited-for children: the workers and theirs
    return ru.ru_utime + ru.ru_stime


def run_worker(
    mode: str,
    work: Path,
    run: int,
    base: str,
    pages: int,
    args,
    profile: Path | None = None,
    nginx: Nginx | None = None,
    cprofile: Path | None = None,
    phases: bool = False,
) -> dict:
    rundir = work / f"{mode}-{run}{'-phases' if phases else ''}"
    rundir.mkdir()
    archive = rundir / "archive"
    config = rundir / "warcwatch.toml"
    listing = "/sitemap-1.xml" if phases else None  # the 1-page pass of --phases
    write_config(config, archive, base, "sitemap" if phases else args.kind, pages, args, listing)
    warm = rundir / "warm.toml"  # the untimed first pass of the process (unless --cold)
    write_config(warm, rundir / "warm-archive", base, "sitemap", 1, args, "/sitemap-1.xml")
    spec = {
        "warm_config": None if args.cold and not phases else str(warm),
        "warm_url": None if args.cold and not phases else base + "/sitemap-1.xml",
        "mode": mode,
        "config": str(config),
        "base": base,
        "pages": pages,
        "out": str(rundir / "result.json"),
        "cprofile": str(cprofile) if cprofile else None,
        "phases": phases,
    }
    (rundir / "spec.json").write_text(json.dumps(spec))
    cmd = [sys.executable, str(Path(__file__).resolve()), "_worker", str(rundir / "spec.json")]
    if profile is not None:
        pyspy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
        cmd = [
            pyspy,
            "record",
            "--subprocesses",
            "--rate",
            "200",
            "--format",
            "raw",
            "-o",
            str(profile),
            "--",
        ] + cmd
    env = dict(os.environ, PYTHONPATH=str(args.src), WARCWATCH_BENCH_SRC=str(args.src))
    ng0, busy0, w0, c0 = (
        nginx.cpu() if nginx else 0.0,
        busy_cpu(),
        time.perf_counter(),
        children_cpu(),
    )
    proc = subprocess.run(cmd, cwd=rundir, env=env, capture_output=True, text=True)
    ng1, busy1, w1, c1 = (
        nginx.cpu() if nginx else 0.0,
        busy_cpu(),
        time.perf_counter(),
        children_cpu(),
    )
    out_path = rundir / "result.json"
    if proc.returncode != 0 or not out_path.exists():
        sys.exit(
            f"crawl.py: {mode} run {run} failed (exit {proc.returncode}):\n{proc.stderr[-4000:]}"
        )
    result = json.loads(out_path.read_text())
    result["run_dir"] = str(rundir)
    result["cpu_nginx"] = ng1 - ng0
    # CPU the rest of the machine used meanwhile (other jobs): busy time of the whole machine over
    # the worker's life, minus the worker's own (its imports included), nginx's and that of the
    # writer process, which forks from the fork server: RUSAGE_CHILDREN never counts it
    own = (c1 - c0) + (ng1 - ng0) + result.get("cpu_writer_forked", 0.0)
    result["foreign_cores"] = max(busy1 - busy0 - own, 0.0) / (w1 - w0)
    if not result["src"].startswith(str(args.src.resolve())):
        sys.exit(f"crawl.py: the worker imported {result['src']}, not the tree under {args.src}")
    if mode in ("warcwatch", "noevidence"):
        result["pages"] = (
            result["per_target"]["bench"]["fetched"] - 2
        )  # minus robots.txt and the listing
    return result


def wget_exe() -> str | None:
    return shutil.which("wget") or ("/usr/bin/wget" if os.path.exists("/usr/bin/wget") else None)


def run_wget(work: Path, run: int, base: str, args, nginx: Nginx | None = None) -> dict:
    """The baseline of issue 15: `wget -r --warc-file` on the same site, from the index page's
    links (wget reads no sitemaps), one level deep, robots.txt obeyed (wget's default), its own
    SHA-1 digests and gzip. pages = the pages' 200 response records in its WARC (read back with
    warcio), over the wall time of the wget process."""
    from warcio.archiveiterator import ArchiveIterator

    rundir = work / f"wget-{run}"
    rundir.mkdir()
    cmd = [
        wget_exe() or "wget",
        "-r",
        "-l",
        "1",
        "-q",
        "-e",
        "robots=on",
        "-P",
        str(rundir / "files"),
        f"--warc-file={rundir / 'site'}",
        "--no-warc-keep-log",
        base + "/index.html",
    ]
    if args.gzip:
        cmd.insert(1, "--compression=auto")  # asks for gzip, as Scrapy does
    ng0, busy0, c0 = nginx.cpu() if nginx else 0.0, busy_cpu(), children_cpu()
    w0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    w1 = time.perf_counter()
    ng1, busy1, c1 = nginx.cpu() if nginx else 0.0, busy_cpu(), children_cpu()
    if proc.returncode not in (0, 8):  # 8: some server error answer (none expected here)
        sys.exit(f"crawl.py: wget failed (exit {proc.returncode}): {proc.stderr[-2000:]}")
    pages = 0
    with open(rundir / "site.warc.gz", "rb") as fh:
        for rec in ArchiveIterator(fh):
            if (
                rec.rec_type == "response"
                and "/pages/" in (rec.rec_headers.get_header("WARC-Target-URI") or "")
                and rec.http_headers is not None
                and rec.http_headers.get_statuscode() == "200"
            ):
                pages += 1
    return {
        "kind": "wget",
        "run_dir": str(rundir),
        "pages": pages,
        "t_pass": w1 - w0,
        "cpu_crawl": c1 - c0,
        "sys_crawl": 0.0,
        "cpu_nginx": ng1 - ng0,
        "foreign_cores": max(busy1 - busy0 - (c1 - c0) - (ng1 - ng0), 0.0) / (w1 - w0),
    }


def print_phases(runs: list[dict], bare_runs: list[dict]) -> None:
    """Medians over the 1-page passes of --phases, and over as many 1-page crawls of the bare
    spider (the same listing: robots.txt, the 1-entry sitemap, the page): Scrapy's own share."""
    print(f"\nfixed per-pass cost: {len(runs)} 1-page warcwatch passes, median wall seconds")
    print("  the WARC writer process on its own (before the pass):")
    for k in runs[0]["startup"]:
        print(f"    {statistics.median(r['startup'][k] for r in runs):6.3f} s  {k}")
    print(
        "  the pass, by step (the process's second pass, fork server warm: a daemon worker's case):"
    )
    total = statistics.median(r["t_pass"] for r in runs)
    counted = 0.0
    for k in runs[0]["phases"]:
        v = statistics.median(r["phases"].get(k, 0.0) for r in runs)
        counted += v
        print(f"    {v:6.3f} s  {k}")
    print(f"    {total - counted:6.3f} s  the rest (reactor, scheduling)")
    marks = [r.get("archived_at", []) for r in runs]
    n = min(map(len, marks))
    if n:  # PassReport.on_change: each archived response (the listing, then the page)
        at = ", ".join(f"{statistics.median(m[i] for m in marks):.3f}" for i in range(n))
        print(f"    (responses archived at {at} s after the pass's start, robots.txt first)")
    print(f"    {total:6.3f} s  whole 1-page pass; goal < 0.2 s of fixed cost")
    cold = statistics.median(r["t_cold"] for r in runs)
    bare_cold = statistics.median(r["t_cold"] for r in bare_runs)
    print(
        f"  the process's first pass, imports of what Scrapy loads by name included (each pass "
        f"above is its second): warcwatch {cold:.3f} s, bare Scrapy {bare_cold:.3f} s"
    )
    bare = statistics.median(r["t_pass"] for r in bare_runs)
    bare_cpu = statistics.median(r["cpu_crawl"] for r in bare_runs)
    cpu = statistics.median(r["cpu_crawl"] for r in runs)
    first = [r["t_first_page"] for r in bare_runs if "t_first_page" in r]
    print(
        f"  bare Scrapy, the same 1-page crawl (crawler and engine start-up, robots.txt, sitemap, "
        f"the page): {bare:.3f} s ({bare_cpu:.3f} CPU s; warcwatch's pass {cpu:.3f} CPU s in "
        "its crawl process)"
        + (f", the page's response after {statistics.median(first):.3f} s" if first else "")
    )
    print(f"    {total - bare:6.3f} s  warcwatch's 1-page pass beyond bare Scrapy's crawl")


_IDLE = ("Condition.wait", "Queue.get (queue.py")  # Twisted's idle thread-pool workers


def summarize_profile(raw: Path, top: int = 30) -> str:
    """py-spy's raw (collapsed) stacks → self and inclusive time per function, per process
    (crawl process, writer process), without imports and idle thread-pool workers."""
    stats: dict[str, dict] = {}
    for line in raw.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        if not stack or any(x in stack for x in _IDLE):
            continue
        n = int(n)
        proc = "writer process" if "spawn_main" in stack else "crawl process"
        d = stats.setdefault(proc, {"total": 0, "imports": 0, "self": {}, "incl": {}})
        if "_find_and_load" in stack:
            d["imports"] += n
            continue
        d["total"] += n
        frames = [f for f in stack.split(";") if not f.startswith("process ")]
        if not frames:
            continue
        d["self"][frames[-1]] = d["self"].get(frames[-1], 0) + n
        for f in set(frames):
            d["incl"][f] = d["incl"].get(f, 0) + n
    lines = []
    for proc, d in sorted(stats.items()):
        t = d["total"] or 1
        lines.append(f"== {proc}: {d['total']} samples (+{d['imports']} in imports, left out)")
        lines.append("  self:")
        lines += [
            f"    {100 * n / t:5.1f}%  {f}"
            for f, n in sorted(d["self"].items(), key=lambda kv: -kv[1])[:top]
        ]
        lines.append("  inclusive:")
        lines += [
            f"    {100 * n / t:5.1f}%  {f}"
            for f, n in sorted(d["incl"].items(), key=lambda kv: -kv[1])[: top + 20]
        ]
    return "\n".join(lines)


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "_worker":
        return _worker(sys.argv[2])
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pages", type=int, default=2000, help="pages in the site (default 2000)")
    ap.add_argument("--size", type=int, default=100, help="page size in KB (default 100)")
    ap.add_argument(
        "--repeat",
        "-n",
        type=int,
        default=3,
        help="runs of each crawler; the median is reported (default 3)",
    )
    ap.add_argument("--gzip", action="store_true", help="nginx serves the pages gzip-encoded")
    ap.add_argument(
        "--gzip-mode",
        choices=("static", "dynamic"),
        default="static",
        help="with --gzip: pre-compressed files (static, default) or on-the-fly level 1, chunked "
        "(dynamic)",
    )
    ap.add_argument(
        "--kind",
        choices=("sitemap", "site"),
        default="sitemap",
        help="how pages are discovered: sitemap.xml, or the links of index.html (a depth-1 site "
        "target)",
    )
    ap.add_argument(
        "--concurrency",
        type=int,
        default=16,
        help="CONCURRENT_REQUESTS, both crawlers (default 16)",
    )
    ap.add_argument(
        "--per-host",
        type=int,
        default=16,
        help="CONCURRENT_REQUESTS_PER_DOMAIN, both crawlers (default 16)",
    )
    ap.add_argument(
        "--cold",
        action="store_true",
        help="time each crawler's first crawl in its process (what Scrapy loads by name on a "
        "crawler's start, warcwatch's fork server started cold: a one-shot `warcwatch crawl`); "
        "by default each worker first runs an untimed 1-page crawl, as a daemon's worker has",
    )
    ap.add_argument(
        "--requisites",
        choices=("all", "same-host", "none"),
        default="all",
        help="warcwatch's [crawl] requisites (default all, as shipped: every archived page is "
        "parsed for its embeds; the site's pages embed one stylesheet)",
    )
    ap.add_argument(
        "--gzip-level", type=int, default=1, help="warcwatch's [archive] gzip_level (default 1)"
    )
    ap.add_argument(
        "--max-other",
        type=float,
        default=0.25,
        metavar="CORES",
        help="re-run a measurement when other jobs used more than this many cores meanwhile "
        "(default 0.25)",
    )
    ap.add_argument(
        "--attempts",
        type=int,
        default=4,
        help="tries per measurement when the machine is busy (default 4)",
    )
    ap.add_argument(
        "--wait",
        type=float,
        default=10,
        help="seconds to wait before re-trying a noisy measurement (default 10)",
    )
    ap.add_argument(
        "--src",
        type=Path,
        default=REPO,
        help="the warcwatch source tree to benchmark (default: this repo)",
    )
    ap.add_argument(
        "--only",
        choices=("bare", "stock", "warcwatch", "noevidence", "wget"),
        help="run one crawler only",
    )
    ap.add_argument(
        "--evidence",
        action="store_true",
        help="also run warcwatch with its evidence log off (noevidence): the log's cost, "
        "as the ratio warcwatch / noevidence in the same run",
    )
    ap.add_argument(
        "--profile",
        metavar="DIR",
        help="after the timed runs, one run of each crawler under py-spy (pip install py-spy); "
        "raw stacks and a summary in DIR",
    )
    ap.add_argument(
        "--cprofile",
        metavar="DIR",
        help="after the timed runs, one run of each crawler with cProfile "
        "(CPU time of the crawl process, so other jobs don't distort it); .pstats files in DIR",
    )
    ap.add_argument(
        "--keep", action="store_true", help="keep the temp dir (site, archives) and print its path"
    )
    ap.add_argument(
        "--phases",
        type=int,
        default=3,
        metavar="N",
        help="after the timed runs, N 1-page warcwatch passes with their steps timed: the fixed "
        "per-pass cost (default 3; 0: none)",
    )
    ap.add_argument("--no-wget", action="store_true", help="leave out the wget -r baseline")
    ap.add_argument("--json", metavar="FILE", help="also write all results as JSON to FILE")
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="warcwatch-bench-"))
    os.chmod(work, 0o755)
    nginx = None
    try:
        docroot = work / "site"
        docroot.mkdir()
        t = time.perf_counter()
        site = generate_site(docroot, args.pages, args.size)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        write_sitemap(docroot, base, site["paths"])
        write_sitemap(docroot, base, site["paths"][:1], "sitemap-1.xml")  # --phases' 1-page pass
        print(
            f"site: {args.pages} pages, {site['bytes'] / args.pages / 1024:.1f} KB each on average "
            f"({site['gz_bytes'] / args.pages / 1024:.1f} KB gzipped), generated "
            f"in {time.perf_counter() - t:.1f} s"
        )
        gzip_mode = args.gzip_mode if args.gzip else None
        nginx = Nginx(work, docroot, port, gzip_mode)
        nginx.start()
        print(
            f"nginx on {base}, gzip: {gzip_mode or 'off'}; discovery: {args.kind}; "
            f"concurrency {args.concurrency} ({args.per_host} per host); AutoThrottle off; "
            "robots.txt obeyed"
        )
        print(
            f"load before: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}"
            f" {os.getloadavg()[2]:.2f} on {os.cpu_count()} CPUs"
        )

        modes = [m for m in ("bare", "stock", "warcwatch", "wget") if args.only in (None, m)]
        if "wget" in modes and (args.no_wget or wget_exe() is None):
            why = "" if args.no_wget else " (not installed: apt-get install wget)"
            print(f"wget: left out{why}")
            modes.remove("wget")
        if args.evidence or args.only == "noevidence":
            modes.append("noevidence")
        results: dict[str, list[dict]] = {m: [] for m in modes}
        checks = []
        for run in range(args.repeat):
            order = modes if run % 2 == 0 else modes[::-1]  # alternate, so drift hits both alike
            for mode in order:
                for attempt in range(1, args.attempts + 1):
                    n = run if attempt == 1 else run + 1000 * attempt
                    r = (
                        run_wget(work, n, base, args, nginx=nginx)
                        if mode == "wget"
                        else run_worker(mode, work, n, base, args.pages, args, nginx=nginx)
                    )
                    r["noisy"] = r["foreign_cores"] > args.max_other
                    if not r["noisy"] or attempt == args.attempts:
                        break
                    print(
                        f"run {run + 1} {mode:9s}: other jobs used {r['foreign_cores']:.2f} cores "
                        "meanwhile "
                        f"({r['pages'] / r['t_pass']:.1f} pages/s); discarded, again "
                        f"in {args.wait} s",
                        flush=True,
                    )
                    if not args.keep:
                        shutil.rmtree(r["run_dir"], ignore_errors=True)
                    time.sleep(args.wait)
                if mode in ("warcwatch", "noevidence"):
                    # the rate counts the pages warcwatch provably archived, not the responses it
                    # saw
                    check = verify_archive(
                        Path(r["run_dir"]) / "archive", base, site["paths"], deep=True
                    )
                    checks.append(check)
                    r["check"] = check
                    r["pages"] = check["pages_cataloged"]
                r["rate"] = r["pages"] / r["t_pass"]
                r["fetch_rate"] = (r["pages"] - 1) / r["t_fetch"] if r.get("t_fetch") else None
                line = (
                    f"run {run + 1} {mode:9s}: {r['pages']} pages in {r['t_pass']:.2f} s "
                    f"= {r['rate']:6.1f} pages/s"
                    + (
                        f"  (fetch phase {r['fetch_rate']:.1f} pages/s, first page "
                        f"after {r['t_first_page']:.2f} s, "
                        f"tail {r['t_tail']:.2f} s)"
                        if r.get("fetch_rate")
                        else ""
                    )
                    + f"\n    CPU s: crawl process {r['cpu_crawl']:.2f} ({r['sys_crawl']:.2f} "
                    "system)"
                    + (
                        f", writer process {r['cpu_writer']:.2f} (start-up included; "
                        f"{1000 * r['cpu_writer'] / max(r['pages'], 1):.2f} ms per page); reactor "
                        "blocked "
                        f"in WriterClient.send {r['t_send']:.2f} s"
                        if "cpu_writer" in r
                        else ""
                    )
                    + f", nginx {r['cpu_nginx']:.2f}; other jobs on the machine "
                    f"meanwhile: {r['foreign_cores']:.2f} cores"
                    + ("  <-- NOISY" if r["noisy"] else "")
                )
                print(line, flush=True)
                if mode in ("warcwatch", "noevidence"):
                    bad = (
                        check["n_missing"]
                        or check["failed"]
                        or check["digest_or_offset_mismatches"]
                        or check["records"].get("response", 0) < args.pages
                        or check["open_files_left"]
                    )
                    print(
                        f"    archive: {check['pages_cataloged']}/{args.pages} pages cataloged, "
                        f"records {check['records']}, "
                        f"{check['warc_files']} WARC file(s), failed {check['failed']}, "
                        f"digest/offset mismatches {check['digest_or_offset_mismatches']}"
                        + ("  <-- INCOMPLETE" if bad else "")
                    )
                elif r["pages"] != args.pages:
                    print(
                        f"    {'wget' if mode == 'wget' else 'bare Scrapy'} fetched "
                        f"{r['pages']} of {args.pages} "
                        f"pages: {r.get('errors')}"
                    )
                results[mode].append(r)
                if not args.keep:
                    shutil.rmtree(r["run_dir"], ignore_errors=True)

        load_after = os.getloadavg()
        print()
        med = {m: statistics.median(x["rate"] for x in results[m]) for m in modes if results[m]}
        med_fetch = {
            m: statistics.median(x["fetch_rate"] for x in results[m] if x.get("fetch_rate"))
            for m in modes
            if any(x.get("fetch_rate") for x in results[m])
        }
        for m in med:
            rates = ", ".join(f"{x['rate']:.1f}" for x in results[m])
            print(
                f"{m:9s}: median {med[m]:6.1f} pages/s over {len(results[m])} runs ({rates})"
                + (f"; fetch phase median {med_fetch[m]:.1f} pages/s" if m in med_fetch else "")
            )
        ratio = med["warcwatch"] / med["bare"] if {"warcwatch", "bare"} <= med.keys() else None
        if ratio is not None:
            print(
                f"ratio warcwatch / bare Scrapy (same settings): {ratio:.2f}x "
                f"(fetch phase {med_fetch['warcwatch'] / med_fetch['bare']:.2f}x)  goal >= "
                f"0.90x: {'met' if ratio >= 0.9 else 'NOT met'}"
            )
        if {"warcwatch", "stock"} <= med.keys():
            stock = med["warcwatch"] / med["stock"]
            print(
                f"ratio warcwatch / bare Scrapy (stock settings): {stock:.2f}x  goal >= "
                f"0.90x: {'met' if stock >= 0.9 else 'NOT met'}"
            )
        if {"warcwatch", "wget"} <= med.keys():
            vs = med["warcwatch"] / med["wget"]
            print(
                f"ratio warcwatch / wget -r --warc-file: {vs:.2f}x  goal >= "
                f"3x: {'met' if vs >= 3 else 'NOT met'}"
            )
        if {"warcwatch", "noevidence"} <= med.keys():
            cost = med["warcwatch"] / med["noevidence"]
            print(
                f"ratio warcwatch / warcwatch without the evidence log: {cost:.3f}x "
                f"(fetch phase {med_fetch['warcwatch'] / med_fetch['noevidence']:.3f}x)  "
                f"goal >= 0.95x: {'met' if cost >= 0.95 else 'NOT met'}"
            )
        complete = all(
            not c["n_missing"] and not c["failed"] and not c["digest_or_offset_mismatches"]
            for c in checks
        )
        if checks:
            print(f"warcwatch archive verified in every run: {'yes' if complete else 'NO'}")
        noisy = sum(x["noisy"] for m in modes for x in results[m])
        print(
            f"load after: {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}; "
            "measurements taken while other jobs "
            f"used more than {args.max_other} cores: {noisy} "
            f"of {sum(len(results[m]) for m in modes)}"
        )

        if args.phases:
            runs, bare_runs = [], []
            for k in range(args.phases):  # alternated, as the timed runs are
                runs.append(run_worker("warcwatch", work, k, base, 1, args, phases=True))
                bare_runs.append(run_worker("bare", work, k, base, 1, args, phases=True))
            print_phases(runs, bare_runs)
            if args.cprofile:  # where a 1-page pass's CPU goes
                import pstats

                out = Path(args.cprofile) / "warcwatch-1-page.pstats"
                out.parent.mkdir(parents=True, exist_ok=True)
                r = run_worker("warcwatch", work, 997, base, 1, args, phases=True, cprofile=out)
                runs.append(r)
                print(f"\ncProfile of a 1-page warcwatch pass -> {out}")
                pstats.Stats(str(out)).sort_stats("cumulative").print_stats(40)
            if not args.keep:
                for r in runs + bare_runs:
                    shutil.rmtree(r["run_dir"], ignore_errors=True)

        if args.profile:
            pdir = Path(args.profile)
            pdir.mkdir(parents=True, exist_ok=True)
            for mode in modes:
                raw = pdir / f"{mode}{'-gzip' if args.gzip else ''}.txt"
                print(f"\nprofiling one {mode} run with py-spy -> {raw}")
                r = run_worker(mode, work, 999, base, args.pages, args, profile=raw)
                print(f"  (under the profiler: {r['pages'] / r['t_pass']:.1f} pages/s)")
                summary = summarize_profile(raw)
                (raw.with_suffix(".summary.txt")).write_text(summary + "\n")
                print(summary)
                if not args.keep:
                    shutil.rmtree(r["run_dir"], ignore_errors=True)

        if args.cprofile:
            import pstats

            pdir = Path(args.cprofile)
            pdir.mkdir(parents=True, exist_ok=True)
            for mode in modes:
                out = pdir / f"{mode}{'-gzip' if args.gzip else ''}.pstats"
                r = run_worker(mode, work, 998, base, args.pages, args, cprofile=out)
                print(
                    f"\ncProfile of the {mode} crawl process (CPU time) -> {out}; "
                    f"{r['cpu_crawl']:.2f} CPU s, {r['pages'] / r['t_pass']:.1f} pages/s under "
                    "the profiler"
                )
                pstats.Stats(str(out)).sort_stats("tottime").print_stats(25)
                if not args.keep:
                    shutil.rmtree(r["run_dir"], ignore_errors=True)

        if args.json:
            Path(args.json).write_text(
                json.dumps(
                    {
                        "pages": args.pages,
                        "page_kb": site["bytes"] / args.pages / 1024,
                        "page_kb_gz": site["gz_bytes"] / args.pages / 1024,
                        "gzip": gzip_mode,
                        "kind": args.kind,
                        "concurrency": args.concurrency,
                        "per_host": args.per_host,
                        "median": med,
                        "median_fetch": med_fetch,
                        "ratio": ratio,
                        "runs": results,
                        "archive_complete": complete,
                    },
                    indent=1,
                    default=str,
                )
            )
        if ratio is not None and not complete:
            sys.exit(1)
    finally:
        if nginx is not None:
            nginx.stop()
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
