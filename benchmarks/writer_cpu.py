#!/usr/bin/env python
"""The WARC writer's CPU per page, split into compression, digests, catalog, I/O and the rest.

Run by hand:

    python benchmarks/writer_cpu.py                 # 2,000 synthetic 100 KB pages, 3 runs
    python benchmarks/writer_cpu.py --pages 500 --repeat 5 --no-evidence

It feeds the real `storage.writer.ArchiveWriter` (in this process, on a real SQLite catalog and
real WARC files in a temp dir, SHA-256 digests and the evidence log on, as a pass runs it) N
exchanges whose bodies are the generated 100 KB HTML pages of benchmarks/crawl.py, and measures
CPU time (`time.process_time`), not wall time: on 2 cores shared with other jobs wall time says
more about the neighbours than about the writer.

1. an unprofiled run: CPU ms per page, the figure to compare between trees;
2. a run under cProfile (timer: process time), whose functions are put in buckets by their *own*
   time, so nothing is counted twice:
   - compression: ISA-L's (as shipped; `--compressor` another library's) compressor objects;
   - digests: hashlib (the payload and block digests, the gzip member's SHA-256 that the evidence
     log keeps, the log's own leaf hashes) and their base32/hex encoding;
   - catalog: SQLAlchemy, the sqlite3 driver, storage.catalog/rows/models and the evidence log's
     row building;
   - I/O: writes, flushes and fsyncs of the WARC files;
   - warcio records: warcio's record building and header parsing;
   - other: the rest (the writer's own logic, dataclasses, the interpreter's built-ins).
   The profiler inflates Python code several times over but hardly the C calls, so compression,
   digests and I/O are taken as the profile measured them (ms per page), and the rest of the
   unprofiled CPU per page is shared among the Python buckets in the profile's proportions.

Every run's archive is read back whole (every page a response record, the catalog's digests and
offsets equal to the records') before its figures are printed.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import random
import shutil
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.crawl import _page_html, _vocabulary, verify_archive  # noqa: E402
from benchmarks.machine import describe  # noqa: E402

BASE = "http://bench.example"
BUCKETS = ("compression", "digests", "catalog", "I/O", "warcio records", "other")
# the buckets whose time is spent in C under one call (cProfile measures them nearly as they run);
# the profiler's overhead falls on the Python buckets, which share the rest of the unprofiled time
_NATIVE = ("compression", "digests", "I/O")


def pages_html(n: int, size_kb: int, distinct: int = 50) -> list[bytes]:
    """`distinct` generated pages (the writer's cost does not depend on which), reused round robin
    with a per-page marker so that every payload is new (no revisits)."""
    rng = random.Random(1)
    words, cum = _vocabulary(rng)
    base = [
        _page_html(i, n, size_kb * 1024, rng, words, cum).encode() for i in range(min(n, distinct))
    ]
    return [base[i % len(base)] + f"<!-- {i} -->\n".encode() for i in range(n)]


def exchanges(bodies: list[bytes], target: str = "bench"):
    from storage.exchange import Exchange

    t0 = datetime(2026, 1, 1, 12, 0, 0)
    for i, body in enumerate(bodies):
        path = f"/pages/{i // 100:03d}/p{i:05d}.html"
        head = (
            "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Thu, 01 Jan 2026 12:00:00 GMT\r\n"
            f"Content-Type: text/html\r\nContent-Length: {len(body)}\r\n"
            'Last-Modified: Wed, 31 Dec 2025 10:00:00 GMT\r\nETag: "abc-%d"\r\n'
            "Accept-Ranges: bytes\r\n\r\n" % i
        ).encode()
        req = (
            f"GET {path} HTTP/1.1\r\nHost: bench.example\r\nUser-Agent: warcwatch/0.1\r\n"
            "Accept: text/html,application/xhtml+xml\r\nAccept-Encoding: gzip, deflate, br\r\n\r\n"
        ).encode()
        yield Exchange(
            url=BASE + path,
            target=target,
            run_id=None,
            fetched_at=t0 + timedelta(milliseconds=i),
            request_head=req,
            response_head=head,
            body=body,
            status=200,
            ip="127.0.0.1",
        )


def run_writer(work: Path, bodies: list[bytes], evidence: bool, prof=None) -> float:
    """Write every body through a fresh ArchiveWriter; CPU seconds of writing and closing."""
    from storage import catalog
    from storage.writer import ArchiveWriter, WriterSettings

    archive = work / "archive"
    engine = catalog.open_catalog(f"sqlite:///{archive / 'catalog.sqlite'}")
    items = list(exchanges(bodies))
    settings = WriterSettings(warc_dir=archive / "warcs", evidence=evidence, targets=("bench",))
    c0 = time.process_time()
    if prof is not None:
        prof.enable()
    writer = ArchiveWriter(engine, settings)
    for ex in items:
        writer.write(ex)
    writer.close()
    if prof is not None:
        prof.disable()
    cpu = time.process_time() - c0
    engine.dispose()
    check = verify_archive(archive, BASE, [ex.url[len(BASE) :] for ex in items], deep=True)
    bad = (
        check["n_missing"]
        or check["digest_or_offset_mismatches"]
        or check["records"].get("response", 0) != len(items)
    )
    if bad:
        sys.exit(f"writer_cpu.py: the archive did not read back whole: {check}")
    return cpu


def bucket_of(func: tuple[str, int, str]) -> str:
    filename, _, name = func
    where = f"{filename}:{name}"
    if "zlib" in where or "isal" in where or "Compress" in where:
        return "compression"
    if "hashlib" in where or "_hashlib" in where or "_sha" in where or "base64" in filename:
        return "digests"
    if "b32encode" in name or "hexdigest" in name or "digest' of" in name:
        return "digests"
    if any(
        k in where
        for k in (
            "sqlalchemy",
            "sqlite3",
            "storage/catalog",
            "storage/rows",
            "storage/models",
            "storage/evidence",
        )
    ):
        return "catalog"
    if any(
        k in where
        for k in ("posix.fsync", "'write' of '_io", "'flush' of '_io", "posix.replace", "'tell'")
    ):
        return "I/O"
    if "warcio" in filename:
        return "warcio records"
    return "other"


def split(prof: cProfile.Profile) -> tuple[dict[str, float], list[tuple[float, str]]]:
    stats = pstats.Stats(prof, stream=io.StringIO())
    totals = dict.fromkeys(BUCKETS, 0.0)
    top = []
    for func, (_, _, tottime, _, _) in stats.stats.items():  # type: ignore[attr-defined]
        totals[bucket_of(func)] += tottime
        top.append((tottime, f"{bucket_of(func):11s} {pstats.func_std_string(func)}"))
    return totals, sorted(top, reverse=True)[:15]


def swap_compressor(name: str) -> None:
    """storage.warcfile makes its level-1 gzip members with `isal_zlib.compressobj(1, DEFLATED,
    MAX_WBITS + 16)` (ISA-L, as shipped), or stdlib zlib's where that module is None: give it
    stdlib zlib, or zlib-ng's module of the same API, instead (in this process only)."""
    if name == "isal":
        return
    import storage.warcfile

    if name == "zlib":
        storage.warcfile.isal_zlib = None
    else:
        from zlib_ng import zlib_ng

        storage.warcfile.isal_zlib = zlib_ng
    print(f"compressor: {name} (what-if, in this process only)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pages", type=int, default=2000)
    ap.add_argument("--size", type=int, default=100, help="page size in KB (default 100)")
    ap.add_argument("--repeat", "-n", type=int, default=3)
    ap.add_argument("--no-evidence", action="store_true", help="the evidence log off")
    ap.add_argument(
        "--compressor",
        choices=("zlib", "isal", "zlib-ng"),
        default="isal",
        help="the library of the writer's level-1 gzip members: isal (as shipped), or what-if "
        "stdlib zlib or zlib-ng (swapped in this process only; the writer unchanged)",
    )
    ap.add_argument("--top", action="store_true", help="also print the 15 costliest functions")
    args = ap.parse_args()
    print(describe())
    swap_compressor(args.compressor)
    bodies = pages_html(args.pages, args.size)
    kb = sum(map(len, bodies)) / len(bodies) / 1024
    on = "off" if args.no_evidence else "on"
    print(f"{args.pages} exchanges of {kb:.1f} KB, evidence log {on}")
    evidence = not args.no_evidence
    cpus = []
    for r in range(args.repeat):
        work = Path(tempfile.mkdtemp(prefix="warcwatch-writer-cpu-"))
        try:
            cpu = run_writer(work, bodies, evidence)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        cpus.append(cpu)
        print(f"run {r + 1}: {1000 * cpu / args.pages:.3f} CPU ms per page (read back whole)")
    per_page = statistics.median(cpus) / args.pages
    print(f"median: {1000 * per_page:.3f} CPU ms per page, {kb / 1024 / per_page:.0f} MB/s of CPU")

    work = Path(tempfile.mkdtemp(prefix="warcwatch-writer-cpu-"))
    prof = cProfile.Profile(time.process_time)
    try:
        run_writer(work, bodies, evidence, prof)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    totals, top = split(prof)
    ms = {b: 1000 * totals[b] / args.pages for b in BUCKETS}
    native = sum(ms[b] for b in _NATIVE)
    python = sum(ms[b] for b in BUCKETS if b not in _NATIVE) or 1.0
    rest = max(1000 * per_page - native, 0.0)
    print(
        f"split of the {1000 * per_page:.3f} CPU ms per page (profiled run: "
        f"{sum(ms.values()):.3f} ms per page; C buckets as measured, Python buckets scaled):"
    )
    for b in BUCKETS:
        v = ms[b] if b in _NATIVE else rest * ms[b] / python
        print(f"  {b:15s} {v:6.3f} ms/page  {100 * v / (1000 * per_page):5.1f}%")
    if args.top:
        for t, name in top:
            print(f"  {1000 * t / args.pages:7.3f} ms/page  {name}")


if __name__ == "__main__":
    main()
