"""Crashing real processes on purpose, and checking what they leave: a `warcwatch crawl` started
as users start it, pages that wait for the test to let them go, kill -9 of whatever holds a WARC
file open, and the one check every crash test ends with: catalog rows = WARC records, both ways.
Shared by the crash tests and benchmarks/torture.py."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator

from tests.httpserver import Responder

ROOT = Path(__file__).resolve().parents[2]


def gated(respond: Responder, gate: threading.Event) -> Responder:
    """`respond`, once `gate` is set (or after a minute)."""

    def wait_then_respond(h) -> None:
        gate.wait(60)
        respond(h)

    return wait_then_respond


def slow(respond: Responder, seconds: float) -> Responder:
    """`respond`, after `seconds`: a crawl of such pages is mid-pass for a while."""

    def later(h) -> None:
        time.sleep(seconds)
        respond(h)

    return later


def start_crawl(config: Path, *args: str, log: Path | None = None) -> subprocess.Popen:
    """`warcwatch crawl` in a session of its own: its writer process and the fork server it
    comes from are in that process group, so kill_group takes the whole crawl down at once."""
    out = open(log or config.parent / "crawl.out", "ab")
    try:
        return subprocess.Popen(
            [sys.executable, "-m", "monitor.cli", "crawl", "--config", str(config), *args],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    finally:
        out.close()


def kill_group(proc: subprocess.Popen) -> None:
    """kill -9 of a process and every process of its group (a power cut of one command)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(10)


def holders(warc_dir: Path) -> dict[int, list[Path]]:
    """Live processes holding a `.open` WARC file of `warc_dir`: the writers, by pid."""
    wanted = str(warc_dir.resolve())
    out: dict[int, list[Path]] = {}
    for pid_dir in Path("/proc").iterdir():
        if not pid_dir.name.isdigit():
            continue
        try:
            fds = list((pid_dir / "fd").iterdir())
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith(wanted + "/") and target.endswith(".warc.gz.open"):
                out.setdefault(int(pid_dir.name), []).append(Path(target))
    return out


def wait_until(what, timeout: float = 60, step: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = what()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"timed out waiting for {getattr(what, '__name__', what)}")


def sql(db: Path, query: str, *params) -> list[tuple]:
    conn = sqlite3.connect(db, timeout=30)
    try:
        return conn.execute(query, params).fetchall()
    except sqlite3.OperationalError:  # not created yet
        return []
    finally:
        conn.close()


def records(db: Path, query: str, *params) -> list[dict]:
    """`sql`, each row as a dict."""
    conn = sqlite3.connect(db, timeout=30)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute(query, params)]
    finally:
        conn.close()


# --- catalog rows = WARC records ----------------------------------------------------------------


@dataclass
class Agreement:
    """How a catalog and its WARC files disagree (all empty: they agree)."""

    corrupt: list[str] = field(default_factory=list)  # files warcio cannot read to the end
    uncatalogued: list[tuple[str, int, str]] = field(
        default_factory=list
    )  # (file, offset, type) without a row
    doubled: list[tuple[str, int]] = field(default_factory=list)  # records with more than one row
    dangling: list[int] = field(
        default_factory=list
    )  # rows pointing at no record (or the wrong one)
    files_without_row: list[str] = field(default_factory=list)  # closed files not in warc_files
    stale_open: list[str] = field(default_factory=list)  # `.open` files no live process holds
    records: int = 0
    rows: int = 0

    @property
    def ok(self) -> bool:
        return not (
            self.corrupt
            or self.uncatalogued
            or self.doubled
            or self.dangling
            or self.files_without_row
            or self.stale_open
        )


def _records(path: Path) -> list[tuple[int, str, str | None, str | None]]:
    """(offset, type, target URI, record id) of every record, every digest checked by warcio."""
    out = []
    with open(path, "rb") as fh:
        it = ArchiveIterator(fh, check_digests="raise")
        for rec in it:
            rec.content_stream().read()
            it.read_to_end(rec)
            h = rec.rec_headers
            out.append(
                (
                    it.get_record_offset(),
                    rec.rec_type,
                    h.get_header("WARC-Target-URI"),
                    h.get_header("WARC-Record-ID"),
                )
            )
    return out


def agreement(archive: Path) -> Agreement:
    """Every WARC file of `archive` read with warcio, against every catalog row: each response or
    revisit record has exactly one capture row at its offset (same URL and record id), each
    request record is exactly one row's request, each warcinfo's file has its `warc_files` row,
    and every row with a file points at such a record."""
    warc_dir, db = archive / "warcs", archive / "catalog.sqlite"
    a = Agreement()
    live = {p.name for paths in holders(warc_dir).values() for p in paths}
    a.stale_open = sorted(p.name for p in warc_dir.glob("*.warc.gz.open") if p.name not in live)
    rows = sql(
        db,
        "SELECT id, warc_file, offset, request_offset, url, record_id FROM captures WHERE "
        "warc_file IS NOT NULL",
    )
    a.rows = len(rows)
    at = Counter((f, off) for _, f, off, _, _, _ in rows)
    req_at = Counter((f, off) for _, f, _, off, _, _ in rows if off is not None)
    file_rows = {name for (name,) in sql(db, "SELECT name FROM warc_files")}
    found: dict[tuple[str, int], tuple[str, str | None, str | None]] = {}
    for path in sorted(warc_dir.glob("*.warc.gz")):
        try:
            records = _records(path)
        except Exception as exc:  # noqa: BLE001 - any failure to read is what is counted
            a.corrupt.append(f"{path.name}: {exc}")
            continue
        if path.name not in file_rows:
            a.files_without_row.append(path.name)
        for offset, kind, uri, rid in records:
            a.records += 1
            found[(path.name, offset)] = (kind, uri, rid)
            n = (
                at[(path.name, offset)]
                if kind in ("response", "revisit")
                else req_at[(path.name, offset)]
                if kind == "request"
                else 1
            )
            if n == 0:
                a.uncatalogued.append((path.name, offset, kind))
            elif n > 1:
                a.doubled.append((path.name, offset))
    for cid, f, off, roff, url, rid in rows:
        if (warc_dir / f"{f}.open").exists():
            continue  # a live writer's file: not read here
        rec, req = found.get((f, off)), found.get((f, roff)) if roff is not None else ("request",)
        if (
            rec is None
            or rec[0] not in ("response", "revisit")
            or rec[1] != url
            or (rid and rec[2] != rid)
            or req is None
            or req[0] != "request"
        ):
            a.dangling.append(cid)
    return a
