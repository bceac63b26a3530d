#!/usr/bin/env python
"""The evidence log's verification and receipts, timed on a large archive (issue 12).

    python benchmarks/evidence.py                      # 100,000 records (50,000 exchanges)
    python benchmarks/evidence.py --exchanges 5000     # smaller, quicker

What it does:
1. writes an archive through the real ArchiveWriter (storage.writer), in process: N exchanges of
   ~8 KB pages over N/10 URLs, each a request and a response (or revisit) record, its catalog
   row and its evidence log entry, committed in the writer's batches; then one change event per
   100 URLs (monitor.events.record_event, with its entry) and a signed checkpoint;
2. times `verify_archive` (what `warcwatch verify` runs): every entry re-hashed, the checkpoint
   verified, every record's bytes read and hashed, every row compared: records/s;
3. times `write_receipt` (what `warcwatch receipt` runs) for a few events, and `verify_receipt`.

The crawl's cost of the log (evidence on vs off, in one run) is benchmarks/crawl.py --evidence.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import select  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from benchmarks.machine import describe  # noqa: E402
from monitor.events import record_event  # noqa: E402
from storage import catalog  # noqa: E402
from storage.evidence.checkpoint import make_checkpoint  # noqa: E402
from storage.evidence.receipt import verify_receipt, write_receipt  # noqa: E402
from storage.evidence.verify import verify_archive  # noqa: E402
from storage.exchange import Exchange  # noqa: E402
from storage.models import Capture  # noqa: E402
from storage.timestamps import utcnow  # noqa: E402
from storage.writer import ArchiveWriter, WriterSettings  # noqa: E402


def page(url: str, version: int, size: int) -> bytes:
    words = f"statement {url} version {version} " * (size // 40)
    return f"<html><head><title>{url}</title></head><body><p>{words}</p></body></html>".encode()


def build(
    archive: Path, exchanges: int, size: int, evidence: bool = True
) -> tuple[int, float, float]:
    engine = catalog.open_catalog(f"sqlite:///{archive / 'catalog.sqlite'}")
    urls = max(exchanges // 10, 1)
    run_id = catalog.start_run(engine, ["bench"], {"bench": "page"})
    settings = WriterSettings(warc_dir=archive / "warcs", targets=("bench",), evidence=evidence)
    writer = ArchiveWriter(engine, settings)
    start = datetime(2026, 12, 3, 12, 0, 0)
    t0, c0 = time.perf_counter(), time.process_time()
    for i in range(exchanges):
        n = i % urls
        url = f"https://example.org/statements/{n}"
        version = (i // urls) // 3  # a new version every third visit: responses and revisits
        body = page(url, version, size)
        head = (
            f"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        request = f"GET /statements/{n} HTTP/1.1\r\nHost: example.org\r\n\r\n".encode()
        when = start + timedelta(milliseconds=10 * i)
        writer.write(Exchange(url, "bench", run_id, when, request, head, body, 200, "127.0.0.1"))
    stats = writer.close()
    write_s, write_cpu = time.perf_counter() - t0, time.process_time() - c0
    if not evidence:
        engine.dispose()
        return stats.get("warc/records", 0), write_s, write_cpu
    catalog.finish_run(engine, run_id, stats)
    # change events between consecutive responses of a URL, each with its log entry
    with Session(engine) as s, s.begin():
        by_url: dict[str, list[int]] = {}
        for c in s.scalars(select(Capture).where(Capture.kind == "response").order_by(Capture.id)):
            by_url.setdefault(c.url, []).append(c.id)
        for url, ids in list(by_url.items())[::100]:
            if len(ids) >= 2:
                record_event(
                    s,
                    kind="changed",
                    url=url,
                    target="bench",
                    detected_at="20261203120000",
                    run_id=run_id,
                    channels=(),
                    now=utcnow(),
                    from_capture=ids[0],
                    to_capture=ids[1],
                    summary={"added": ["x"], "removed": ["y"]},
                )
    make_checkpoint(engine, archive)
    records = stats.get("warc/records", 0) + stats.get("warc/files", 0)
    engine.dispose()
    return records, write_s, write_cpu


def writer_cost(work: Path, exchanges: int, size: int, repeat: int) -> None:
    """The writer's CPU time per record with the evidence log on and off, alternated (CPU time,
    not wall time: other jobs on the machine do not distort it)."""
    cpu: dict[bool, list[float]] = {True: [], False: []}
    for i in range(repeat):
        for evidence in (True, False) if i % 2 == 0 else (False, True):
            d = work / f"cost-{i}-{evidence}"
            records, _, c = build(d, exchanges, size, evidence)
            cpu[evidence].append(c / records)
            shutil.rmtree(d, ignore_errors=True)
    on, off = statistics.median(cpu[True]), statistics.median(cpu[False])
    print(
        f"writer CPU per record: log on {on * 1e6:.0f} µs, off {off * 1e6:.0f} µs "
        f"(medians of {repeat}): the log costs the writer {100 * (on / off - 1):+.1f} %"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--exchanges", type=int, default=50_000, help="exchanges (2 records each)")
    ap.add_argument("--size", type=int, default=8000, help="page size in bytes")
    ap.add_argument("--receipts", type=int, default=5, help="receipts to time")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument(
        "--cost",
        type=int,
        default=0,
        metavar="N",
        help="also N alternated writer runs of 10,000 exchanges with the log on and off",
    )
    args = ap.parse_args()
    print(describe())
    work = Path(tempfile.mkdtemp(prefix="warcwatch-evidence-"))
    archive = work / "archive"
    try:
        if args.cost:
            writer_cost(work, 10_000, args.size, args.cost)
        records, write_s, _ = build(archive, args.exchanges, args.size)
        print(
            f"archive: {records} records written in {write_s:.1f} s "
            f"({records / write_s:.0f} records/s, evidence log on)"
        )
        engine = catalog.open_catalog(f"sqlite:///{archive / 'catalog.sqlite'}")
        t0 = time.perf_counter()
        report = verify_archive(engine, archive, archive / "warcs")
        verify_s = time.perf_counter() - t0
        assert report.ok, report.problems[:5]
        print(
            f"verify: {report.entries} entries, {report.records} records "
            f"({report.bytes_read / 1e6:.1f} MB), {report.captures} captures, {report.events} "
            f"events, {report.checkpoints} checkpoint(s) in {verify_s:.2f} s = "
            f"{report.records / verify_s:,.0f} records/s"
        )
        with Session(engine) as s:
            from storage.models import ChangeEvent

            events = [e.id for e in s.scalars(select(ChangeEvent).order_by(ChangeEvent.id))]
        times, checks = [], []
        for event_id in events[: args.receipts]:
            out = work / f"receipt-{event_id}"
            t0 = time.perf_counter()
            write_receipt(engine, archive, archive / "warcs", event_id, out)
            times.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            result = verify_receipt(out)
            checks.append(time.perf_counter() - t0)
            assert not result.problems, result.problems
        print(
            f"receipt: created in median {statistics.median(times):.2f} s "
            f"({', '.join(f'{t:.2f}' for t in times)}); verified offline in median "
            f"{statistics.median(checks) * 1000:.0f} ms"
        )
        print(f"load average at the end: {os.getloadavg()[0]:.2f}")
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
