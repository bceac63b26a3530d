#!/usr/bin/env python
"""The catalog on SQLite and on PostgreSQL (issue 14 item 1): the same work on each backend.

    python benchmarks/catalog_backends.py   # 5,000 captures, 2,000 lookups, 1,000 alerts
    python benchmarks/catalog_backends.py --captures 500  # smaller
    python benchmarks/catalog_backends.py --no-write      # print, do not rewrite the RESULTS file

What it measures, per backend:
1. the WARC writer (`storage.writer.ArchiveWriter`, as a pass's writer process runs it): captures
   of distinct URLs written and catalogued per second, commits every 0.5 s after an fsync;
2. `storage.retrieval.nearest` in one session: p50/p99 of random (URL, time) lookups;
3. alert delivery (`monitor.alerts.deliver_due`, one sender, a channel that accepts at once):
   messages claimed, sent and marked sent per second.
PostgreSQL is a throwaway local cluster (tests/pg.py) with fsync and synchronous commits ON, on a
unix socket: a server on another machine adds a network round trip per query.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.machine import describe  # noqa: E402

RESULTS = ROOT / "benchmarks" / "RESULTS-catalog-backends.md"
START = dt.datetime(2026, 1, 1)


def _exchange(i: int):
    from storage.exchange import Exchange

    body = f"<html><body><p>statement {i}</p></body></html>".encode()
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n" % len(body)
    return Exchange(
        url=f"http://site{i % 97}.example.org/page-{i}.html",
        target="bench",
        run_id=None,
        fetched_at=START + dt.timedelta(seconds=i),
        request_head=b"GET / HTTP/1.1\r\nHost: example.org\r\n\r\n",
        response_head=head,
        body=body,
        status=200,
    )


def write(url: str, warc_dir: Path, n: int) -> float:
    from storage.catalog import open_catalog
    from storage.writer import ArchiveWriter, WriterSettings

    engine = open_catalog(url)
    exchanges = [_exchange(i) for i in range(n)]
    t = time.perf_counter()
    writer = ArchiveWriter(engine, WriterSettings(warc_dir=warc_dir, targets=("bench",)))
    for ex in exchanges:
        writer.write(ex)
    writer.close()
    elapsed = time.perf_counter() - t
    engine.dispose()
    return n / elapsed


def lookups(url: str, n_captures: int, n: int) -> tuple[float, float]:
    from sqlalchemy.orm import Session

    from storage.catalog import open_catalog
    from storage.retrieval import nearest

    engine = open_catalog(url)
    rnd = random.Random(1)
    times = []
    with Session(engine) as s:
        for _ in range(n):
            i = rnd.randrange(n_captures)
            at = f"{START + dt.timedelta(seconds=i + rnd.randrange(-5, 5)):%Y%m%d%H%M%S}"
            t = time.perf_counter()
            nearest(s, _exchange(i).url, at)
            times.append(time.perf_counter() - t)
    engine.dispose()
    times.sort()
    return statistics.median(times) * 1000, times[int(len(times) * 0.99)] * 1000


def alerts(url: str, n: int) -> float:
    from sqlalchemy.orm import Session

    from monitor.alerts import deliver_due
    from storage.catalog import open_catalog
    from storage.models import OutboxMessage

    engine = open_catalog(url)
    now = dt.datetime(2026, 1, 1)
    with Session(engine) as s, s.begin():
        s.add_all(
            OutboxMessage(
                channel="json://hook.example/",
                title=f"t{i}",
                body=f"b{i}",
                status="pending",
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
            for i in range(n)
        )
    t = time.perf_counter()
    done = deliver_due(engine, send=lambda channel, title, body, timeout: None, clock=lambda: now)
    elapsed = time.perf_counter() - t
    assert done.sent == n, done
    engine.dispose()
    return n / elapsed


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--captures", type=int, default=5000)
    ap.add_argument("--lookups", type=int, default=2000)
    ap.add_argument("--alerts", type=int, default=1000)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    from tests.pg import Cluster, server_bindir

    machine = describe()
    bindir = server_bindir()
    if bindir is None:
        sys.exit("no PostgreSQL server installed (apt-get install postgresql)")
    cluster = Cluster.start(bindir, durable=True)
    rows = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for name, url in (
                ("SQLite (WAL)", f"sqlite:///{tmp}/catalog.sqlite"),
                ("PostgreSQL 15", cluster.database("bench")),
            ):
                warc_dir = Path(tmp) / name.split()[0] / "warcs"
                per_s = write(url, warc_dir, args.captures)
                p50, p99 = lookups(url, args.captures, args.lookups)
                sent = alerts(url, args.alerts)
                rows.append((name, per_s, p50, p99, sent))
                print(
                    f"{name}: {per_s:.0f} captures/s, nearest p50 {p50:.3f} ms "
                    f"p99 {p99:.3f} ms, {sent:.0f} alerts/s"
                )
    finally:
        cluster.stop()
    text = "\n".join(
        [
            "# Catalog backends benchmark (`benchmarks/catalog_backends.py`)",
            "",
            f"- date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC",
            f"- machine: {machine} (2 cores shared with other jobs: figures are a floor)",
            f"- PostgreSQL: a local cluster from {bindir}, unix socket, fsync and synchronous "
            "commit on",
            f"- {args.captures:,} captures of distinct URLs written by the WARC writer; "
            f"{args.lookups:,} random nearest lookups; {args.alerts:,} alerts delivered by one "
            "sender to a channel that accepts at once",
            "",
            "| backend | writer: captures/s | nearest p50 | nearest p99 | alerts sent/s |",
            "|---|---:|---:|---:|---:|",
            *(f"| {n} | {w:,.0f} | {a:.3f} ms | {b:.3f} ms | {s:,.0f} |" for n, w, a, b, s in rows),
            "",
        ]
    )
    if not args.no_write:
        RESULTS.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
