#!/usr/bin/env python
"""Which gzip library the WARC writer should use: stdlib zlib, ISA-L (`isal`) or zlib-ng
(`zlib_ng`), measured on the crawl benchmark's 100 KB HTML pages.

Run by hand (`pip install isal zlib-ng` first; a library that is missing is skipped):

    python benchmarks/compression.py                # 200 pages, 5 rounds
    python benchmarks/compression.py --pages 500 --rounds 3

For each library and level:
1. speed: each page compressed as one whole gzip member (compressobj with wbits 31, compress +
   flush, as storage.warcfile._GzipMembers does per record), CPU time (`time.process_time`, so
   other jobs on the machine do not distort it), best of the rounds: MB/s of input per CPU second;
2. size: the members' total size against the input (and against stdlib zlib level 1);
3. the output is standard: a WARC file is written through warcio's WARCWriter (its record
   builders; a response and a request record per page, SHA-256 digests) onto a wrapper that makes
   one gzip member per record with that library, exactly as the writer's _GzipMembers does with
   zlib; then warcio's ArchiveIterator reads it back (every record, every payload byte-equal to
   the page), `warcio check` verifies its digests, and `gzip -t` tests it as plain gzip.
"""

from __future__ import annotations

import argparse
import io
import random
import shutil
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.crawl import _page_html, _vocabulary  # noqa: E402
from benchmarks.machine import describe  # noqa: E402


def libraries() -> list[tuple[str, int, object]]:
    """(name, level, compressobj factory) for each library installed here."""
    libs: list[tuple[str, int, object]] = [("zlib", lvl, zlib.compressobj) for lvl in (1, 6)]
    try:
        from isal import isal_zlib

        libs += [("isal", lvl, isal_zlib.compressobj) for lvl in (0, 1, 2)]
    except ImportError:
        print("isal not installed: skipped (pip install isal)")
    try:
        from zlib_ng import zlib_ng

        libs += [("zlib-ng", lvl, zlib_ng.compressobj) for lvl in (1, 2)]
    except ImportError:
        print("zlib-ng not installed: skipped (pip install zlib-ng)")
    return libs


def member(factory, level: int, data: bytes) -> bytes:
    c = factory(level, zlib.DEFLATED, zlib.MAX_WBITS + 16)  # a gzip member, as _GzipMembers
    return c.compress(data) + c.flush()


class Members:
    """storage.warcfile._GzipMembers with the compressor factory as a parameter: warcio calls
    flush() at the end of every record, which is where a member ends."""

    def __init__(self, raw, factory, level: int):
        self.raw, self.factory, self.level = raw, factory, level
        self.c = factory(level, zlib.DEFLATED, zlib.MAX_WBITS + 16)

    def write(self, data: bytes) -> None:
        self.raw.write(self.c.compress(data))

    def flush(self) -> None:
        self.raw.write(self.c.flush())
        self.c = self.factory(self.level, zlib.DEFLATED, zlib.MAX_WBITS + 16)


def write_warc(path: Path, factory, level: int, pages: list[bytes]) -> None:
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.utils import Digester
    from warcio.warcwriter import WARCWriter

    class Writer(WARCWriter):
        def _create_digester(self):
            return Digester("sha256")

    with open(path, "wb") as raw:
        w = Writer(Members(raw, factory, level), gzip=False, warc_version="1.1")
        for i, body in enumerate(pages):
            url = f"http://bench.example/p{i}.html"
            http = StatusAndHeaders(
                "200 OK",
                [("Content-Type", "text/html"), ("Content-Length", str(len(body)))],
                protocol="HTTP/1.1",
            )
            rec = w.create_warc_record(
                url, "response", payload=io.BytesIO(body), http_headers=http, length=None
            )
            w.write_record(rec)
            req = StatusAndHeaders(f"GET /p{i}.html", [("Host", "bench.example")], "HTTP/1.1")
            w.write_record(
                w.create_warc_record(url, "request", payload=io.BytesIO(b""), http_headers=req)
            )


def read_back(path: Path, pages: list[bytes]) -> str:
    from warcio.archiveiterator import ArchiveIterator

    n = bad = 0
    with open(path, "rb") as fh:
        for rec in ArchiveIterator(fh):
            if rec.rec_type == "response":
                i = int(rec.rec_headers.get_header("WARC-Target-URI").rsplit("/p", 1)[1][:-5])
                bad += rec.content_stream().read() != pages[i]
                n += 1
    check = subprocess.run(
        [str(Path(sys.executable).parent / "warcio"), "check", "-v", str(path)],
        capture_output=True,
        text=True,
    )
    gz = subprocess.run(["gzip", "-t", str(path)], capture_output=True, text=True)
    ok = n == len(pages) and not bad and check.returncode == 0 and gz.returncode == 0
    digests = check.stdout.count("digest pass")
    return (
        f"{'OK ' if ok else 'FAIL'} ArchiveIterator {n}/{len(pages)} payloads equal"
        f"{f', {bad} differ' if bad else ''}; warcio check exit {check.returncode} "
        f"({digests} digests pass); gzip -t exit {gz.returncode}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pages", type=int, default=200)
    ap.add_argument("--size", type=int, default=100, help="page size in KB (default 100)")
    ap.add_argument("--rounds", type=int, default=5, help="speed rounds, the best is kept")
    args = ap.parse_args()
    print(describe())
    rng = random.Random(1)
    words, cum = _vocabulary(rng)
    pages = [
        _page_html(i, args.pages, args.size * 1024, rng, words, cum).encode()
        for i in range(args.pages)
    ]
    total = sum(map(len, pages))
    print(f"{args.pages} pages, {total / len(pages) / 1024:.1f} KB each on average")
    work = Path(tempfile.mkdtemp(prefix="warcwatch-compression-"))
    ref = None
    try:
        for name, level, factory in libraries():
            best = float("inf")
            for _ in range(args.rounds):
                c0 = time.process_time()
                out = sum(len(member(factory, level, p)) for p in pages)
                best = min(best, time.process_time() - c0)
            ref = ref or out
            path = work / f"{name}-{level}.warc.gz"
            write_warc(path, factory, level, pages)
            # sanity: the bytes decompress to the page, with stdlib zlib (any gzip reader)
            assert zlib.decompress(member(factory, level, pages[0]), 31) == pages[0]
            print(
                f"{name:8s} level {level}: {total / best / 1e6:7.1f} MB/s of CPU "
                f"({1000 * best / len(pages):.3f} ms per page), output {100 * out / total:.1f}% "
                f"of input ({100 * out / ref:.1f}% of zlib 1)"
            )
            print(f"    {read_back(path, pages)}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
