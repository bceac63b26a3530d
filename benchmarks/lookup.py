#!/usr/bin/env python
"""Nearest-capture lookups (issue 6, Benchmark): warcwatch's two-probe catalog lookup against pywb's
own CDXJ index lookup, on the same captures.

    python benchmarks/lookup.py                  # 1,000,000 captures: 100,000 URLs, 1 URL × 10,000
    python benchmarks/lookup.py --urls 10000     # smaller catalog (10 captures per URL)
    python benchmarks/lookup.py --dir /tmp/bench # keep (and reuse) the catalog, WARC and CDXJ
    python benchmarks/lookup.py --no-write       # print, do not rewrite RESULTS-lookup.md

What it does:
1. writes a small real WARC (200 gzip-member response records, by warcio) and a catalog (SQLite,
   migrated by storage.catalog.open_catalog) of synthetic capture rows pointing at those records:
   10 captures per URL for --urls URLs, one URL with --hot captures, one URL with a single capture;
2. writes the CDXJ index of that catalog with `storage.cdxj.write_index` (what `warcwatch index
   --cdxj` writes), for pywb;
3. measures, for random (URL, time) pairs, p50/p99 of:
   - in-process `storage.retrieval.nearest` (one Session, as the web UI will hold one), per URL
     size: 1 capture, 10 captures, 10,000 captures (flat: two index probes whatever the count);
   - in-process `storage.retrieval.snapshot` (lookup + reading the record from the WARC);
   - the CLI, `warcwatch show URL --at TS` in a fresh process each time (process start included),
     beside `python -c pass` and `python -c "import sqlalchemy.orm"` for scale;
   - pywb's in-process index lookup (warcserver's aggregator over a FileIndexSource with
     closest/sort=closest/limit=1: what /coll/index?url=&closest=&sort=closest&limit=1 runs);
   - the HTTP API is measured by benchmarks/api.py on the same catalog (its `build`).

pywb is not installed with the project (its brotlipy replaces the brotli module Scrapy needs): its
columns appear when this runs in a venv that has both, e.g. `.cache/pywb-venv` (made by the pywb
tests) after `.cache/pywb-venv/bin/pip install -e .`; without pywb they are left out.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import subprocess
import sys
import tempfile
import time
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.machine import describe  # noqa: E402

RESULTS = ROOT / "benchmarks" / "RESULTS-lookup.md"
RECORDS = 200
HOT = "http://hot.example.org/front-page"
SINGLE = "http://single.example.org/only-once"
START = dt.datetime(2020, 1, 1)


def url_of(i: int) -> str:
    return f"http://site{i % 997}.example.org/section/{i // 997}/page-{i}.html"


def ts_of(seconds: int) -> str:
    return f"{START + dt.timedelta(seconds=seconds):%Y%m%d%H%M%S}"


def write_warc(path: Path) -> list[tuple[int, int, str]]:
    """RECORDS response records; returns (offset, length, digest) of each gzip member."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    spans = []
    with open(path, "wb") as f:
        writer = WARCWriter(f, gzip=True, warc_version="1.1")
        for n in range(RECORDS):
            body = f"<html><body><h1>Record {n}</h1><p>{'text ' * 50}</p></body></html>".encode()
            head = StatusAndHeaders(
                "200 OK",
                [("Content-Type", "text/html"), ("Content-Length", str(len(body)))],
                protocol="HTTP/1.1",
            )
            rec = writer.create_warc_record(
                f"http://records.example.org/{n}",
                "response",
                payload=BytesIO(body),
                http_headers=head,
            )
            start = f.tell()
            writer.write_record(rec)
            spans.append(
                (start, f.tell() - start, rec.rec_headers.get_header("WARC-Payload-Digest"))
            )
    return spans


def build(workdir: Path, urls: int, hot: int) -> tuple[str, Path, dict]:
    """The catalog (reused when it is already there), its WARC and its CDXJ index."""
    from sqlalchemy import func, insert, select
    from sqlalchemy.orm import Session

    from storage.catalog import open_catalog
    from storage.cdxj import write_index
    from storage.models import Capture
    from storage.surt import surt

    warc_dir = workdir / "warcs"
    warc_dir.mkdir(parents=True, exist_ok=True)
    db_url = f"sqlite:///{workdir / 'catalog.sqlite'}"
    engine = open_catalog(db_url)
    info = {}
    with Session(engine) as s:
        have = s.scalar(select(func.count()).select_from(Capture))
    expected = urls * 10 + hot + 1
    if have != expected:
        t0 = time.perf_counter()
        spans = write_warc(warc_dir / "bench.warc.gz")
        table = Capture.__table__
        with engine.begin() as conn:
            conn.execute(table.delete())
        rng = random.Random(1)

        def row(url: str, key: str, seconds: int, n: int) -> dict:
            off, length, digest = spans[n % RECORDS]
            return {
                "url": url,
                "surt": key,
                "timestamp": ts_of(seconds),
                "kind": "response",
                "status": 200,
                "mime": "text/html",
                "digest": digest,
                "offset": off,
                "length": length,
                "warc_file": "bench.warc.gz",
                "target": "bench",
            }

        batch: list[dict] = []

        def flush(force: bool = False) -> None:
            if batch and (force or len(batch) >= 50_000):
                with engine.begin() as conn:
                    conn.execute(insert(table), batch)
                batch.clear()

        for i in range(urls):
            u = url_of(i)
            k = surt(u)
            for n in range(10):  # one capture about every 30 days, jittered
                batch.append(row(u, k, n * 2_592_000 + rng.randrange(86_400), i + n))
            flush()
        for n in range(hot):  # hourly, for ~14 months
            batch.append(row(HOT, surt(HOT), n * 3600, n))
        batch.append(row(SINGLE, surt(SINGLE), 1_000_000, 0))
        flush(force=True)
        info["build_s"] = time.perf_counter() - t0
    cdxj = workdir / "index.cdxj"
    if not cdxj.exists() or cdxj.stat().st_mtime < (workdir / "catalog.sqlite").stat().st_mtime:
        t0 = time.perf_counter()
        with Session(engine) as s, open(cdxj, "w") as f:
            info["cdxj_lines"] = write_index(s, f)
        info["cdxj_s"] = time.perf_counter() - t0
    engine.dispose()
    return db_url, cdxj, info


def percentiles(samples: list[float]) -> tuple[float, float]:
    samples = sorted(samples)
    return statistics.median(samples), samples[min(len(samples) - 1, int(len(samples) * 0.99))]


def asks(rng: random.Random, n: int, url_for) -> list[tuple[str, str]]:
    return [(url_for(rng), ts_of(rng.randrange(0, 40_000_000))) for _ in range(n)]


def bench_inprocess(
    db_url: str, warc_dir: Path, queries: int, urls: int
) -> dict[str, tuple[float, float]]:
    from sqlalchemy.orm import Session

    from storage.catalog import open_catalog
    from storage.retrieval import nearest, snapshot

    rng = random.Random(2)
    engine = open_catalog(db_url)
    out = {}
    cases = {
        "1 capture": lambda r: SINGLE,
        "10 captures": lambda r: url_of(r.randrange(urls)),
        "10,000 captures": lambda r: HOT,
    }
    with Session(engine) as s:
        for label, pick in cases.items():
            pairs = asks(rng, queries, pick)
            for u, at in pairs[:50]:  # warm the statement cache and the page cache
                nearest(s, u, at)
            times = []
            for u, at in pairs:
                t0 = time.perf_counter()
                nearest(s, u, at)
                times.append(time.perf_counter() - t0)
            out[f"nearest, URL with {label}"] = percentiles(times)
        times = []
        for u, at in asks(rng, queries, cases["10 captures"]):
            t0 = time.perf_counter()
            snap = snapshot(s, warc_dir, u, at)
            b"".join(snap.decoded())
            times.append(time.perf_counter() - t0)
        out["snapshot (nearest + record read + decode)"] = percentiles(times)
    engine.dispose()
    return out


def bench_cli(workdir: Path, runs: int, urls: int) -> dict[str, tuple[float, float]]:
    config = workdir / "warcwatch.toml"
    config.write_text(f'[archive]\ndir = "{workdir}"\n')
    exe = Path(sys.executable).with_name("warcwatch")
    rng = random.Random(3)
    out = {}
    commands = {
        "`python -c pass`": lambda u, at: [sys.executable, "-c", "pass"],
        "`python -c 'import sqlalchemy.orm'`": lambda u, at: [
            sys.executable,
            "-c",
            "import sqlalchemy.orm",
        ],
        "`warcwatch show URL --at TS` (10 captures)": lambda u, at: [
            str(exe),
            "show",
            u,
            "--at",
            at,
            "--config",
            str(config),
        ],
        "`warcwatch show URL --at TS` (10,000 captures)": lambda u, at: [
            str(exe),
            "show",
            HOT,
            "--at",
            at,
            "--config",
            str(config),
        ],
    }
    for label, cmd in commands.items():
        times = []
        for u, at in asks(rng, runs, lambda r: url_of(r.randrange(urls))):
            t0 = time.perf_counter()
            subprocess.run(
                cmd(u, at), check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            times.append(time.perf_counter() - t0)
        out[label] = percentiles(times)
    return out


def bench_pywb(cdxj: Path, queries: int, urls: int) -> dict[str, tuple[float, float]]:
    try:
        from pywb.warcserver.index.aggregator import SimpleAggregator
        from pywb.warcserver.index.indexsource import FileIndexSource
    except ImportError:
        return {}
    agg = SimpleAggregator({"bench": FileIndexSource(str(cdxj))})
    rng = random.Random(2)
    out = {}
    for label, pick in {
        "1 capture": lambda r: SINGLE,
        "10 captures": lambda r: url_of(r.randrange(urls)),
        "10,000 captures": lambda r: HOT,
    }.items():
        times = []
        # pywb reads every capture of the URL: ~0.15 s a lookup at 10,000, so fewer asks there
        for u, at in asks(rng, queries if label != "10,000 captures" else min(queries, 200), pick):
            t0 = time.perf_counter()
            cdx_iter, _errs = agg({"url": u, "closest": at, "sort": "closest", "limit": "1"})
            found = next(iter(cdx_iter), None)
            times.append(time.perf_counter() - t0)
            assert found is not None, u
        out[f"pywb in-process index lookup, URL with {label}"] = percentiles(times)
    return out


def check_agreement(db_url: str, cdxj: Path, urls: int, n: int = 300) -> int:
    """Both lookups must pick the same capture; returns how many of n asks agreed."""
    from pywb.warcserver.index.aggregator import SimpleAggregator
    from pywb.warcserver.index.indexsource import FileIndexSource
    from sqlalchemy.orm import Session

    from storage.catalog import open_catalog
    from storage.retrieval import nearest

    agg = SimpleAggregator({"bench": FileIndexSource(str(cdxj))})
    engine = open_catalog(db_url)
    rng = random.Random(4)
    agree = 0
    with Session(engine) as s:
        for u, at in asks(rng, n, lambda r: r.choice([HOT, SINGLE, url_of(r.randrange(urls))])):
            theirs = next(iter(agg({"url": u, "closest": at, "sort": "closest", "limit": "1"})[0]))[
                "timestamp"
            ]
            agree += nearest(s, u, at).timestamp == theirs
    engine.dispose()
    return agree


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument(
        "--urls", type=int, default=100_000, help="URLs with 10 captures each (default 100,000)"
    )
    p.add_argument(
        "--hot", type=int, default=10_000, help="captures of the one busy URL (default 10,000)"
    )
    p.add_argument("--queries", type=int, default=2_000, help="lookups per in-process case")
    p.add_argument("--cli-runs", type=int, default=40, help="process starts per CLI case")
    p.add_argument(
        "--dir", type=Path, help="work directory to keep and reuse (default: a temp dir)"
    )
    p.add_argument(
        "--no-write", action="store_true", help=f"do not write {RESULTS.relative_to(ROOT)}"
    )
    args = p.parse_args()

    tmp = None
    if args.dir is None:
        tmp = tempfile.TemporaryDirectory(prefix="warcwatch-bench-")
        args.dir = Path(tmp.name)
    args.dir.mkdir(parents=True, exist_ok=True)
    header = describe()
    print(header, flush=True)
    db_url, cdxj, info = build(args.dir, args.urls, args.hot)
    total = args.urls * 10 + args.hot + 1
    print(f"catalog: {total:,} captures over {args.urls + 2:,} URLs {info}", flush=True)
    results: dict[str, tuple[float, float]] = {}
    for bench in (
        lambda: bench_inprocess(db_url, args.dir / "warcs", args.queries, args.urls),
        lambda: bench_pywb(cdxj, args.queries, args.urls),
        lambda: bench_cli(args.dir, args.cli_runs, args.urls),
    ):
        for label, (p50, p99) in bench().items():
            results[label] = (p50, p99)
            print(f"{label:<60} p50 {p50 * 1000:9.3f} ms   p99 {p99 * 1000:9.3f} ms", flush=True)
    agree = (
        check_agreement(db_url, cdxj, args.urls)
        if "pywb in-process index lookup, URL with 1 capture" in results
        else None
    )
    if agree is not None:
        print(f"warcwatch and pywb picked the same capture in {agree}/300 random asks")
    if not args.no_write:
        write_results(header, total, args, results, agree, info)
    if tmp is not None:
        tmp.cleanup()


def write_results(
    header: str, total: int, args, results: dict, agree: int | None, info: dict
) -> None:
    lines = [
        "# Lookup benchmark (`benchmarks/lookup.py`)",
        "",
        f"- date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC",
        f"- machine: {header}",
        f"- catalog: {total:,} synthetic captures (SQLite, WAL) over {args.urls + 2:,} "
        f"URLs: {args.urls:,} URLs × 10, "
        f"one URL × {args.hot:,}, one URL × 1; rows point at a real 200-record WARC",
        "- CDXJ for pywb written by `storage.cdxj.write_index` "
        f"({info.get('cdxj_lines', total):,} lines)",
        f"- {args.queries:,} random (URL, time) asks per in-process case (200 for pywb on the "
        f"10,000-capture URL); {args.cli_runs} process starts per CLI case",
        "",
        "| what | p50 | p99 |",
        "|---|---:|---:|",
    ]
    for label, (p50, p99) in results.items():
        lines.append(f"| {label} | {p50 * 1000:.3f} ms | {p99 * 1000:.3f} ms |")
    lines.append(
        "| HTTP API, keep-alive (`warcwatch serve`) | see `benchmarks/RESULTS-api.md` "
        "(`benchmarks/api.py`) | |"
    )
    if agree is not None:
        lines += [
            "",
            "warcwatch's `nearest` and pywb's closest lookup picked the same capture "
            f"in {agree}/300 random asks.",
        ]
    RESULTS.write_text("\n".join(lines) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
