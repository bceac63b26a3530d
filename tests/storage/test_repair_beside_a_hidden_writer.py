"""Repair beside a writer it cannot see: a `warcwatch repair` in a container of its own (another pid
namespace, its own /proc) while a `warcwatch crawl` writes to the same archive. Its writer's file
must be known as live by the writer's lock, since no process list shows the writer."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

from tests.conftest import ROOT, write_config
from tests.httpserver import gated, page
from tests.warcs import all_records, catalog_rows, check_all_warcs


def _eventually(what, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = what()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what.__name__}")


def _in_own_container(*args: str) -> subprocess.CompletedProcess:
    """`warcwatch ARGS` in a new user and pid namespace, with a /proc that shows only itself."""
    cmd = [
        "unshare",
        "--user",
        "--map-root-user",
        "--pid",
        "--fork",
        "--mount-proc",
        sys.executable,
        "-m",
        "monitor.cli",
        *args,
    ]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_a_repair_that_cannot_see_a_crawl_s_writer_leaves_its_open_file_alone(tmp_path, site):
    let_on = threading.Event()
    site.routes["/a"] = page("<html><body>archived first</body></html>")
    site.routes["/slow"] = gated(let_on, "<html><body>archived once let on</body></html>")
    config = write_config(
        tmp_path,
        [{"name": "t", "urls": [site.url("/a"), site.url("/slow")]}],
        crawl={"download_timeout": 120, "obey_robots": False},
    )
    warcs = tmp_path / "archive" / "warcs"
    crawl = subprocess.Popen(
        [sys.executable, "-m", "monitor.cli", "crawl", "--config", str(config)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:

        def open_file_with_a_row():
            opened = sorted(warcs.glob("*.warc.gz.open")) if warcs.exists() else []
            rows = [r for r in catalog_rows(config) if r.url.endswith("/a")] if opened else []
            return opened if rows else None

        (held,) = _eventually(open_file_with_a_row)
        size = held.stat().st_size

        proc = _in_own_container("repair", "--config", str(config), "--json")
        assert proc.returncode == 0, proc.stdout + proc.stderr
        report = json.loads(proc.stdout.strip().splitlines()[-1])
        assert report["files"] == [] and report["orphans"] == []
        assert report["skipped"] == [held.name]
        assert held.exists() and held.stat().st_size == size
    finally:
        let_on.set()
        out = crawl.communicate(timeout=120)[0]
    assert crawl.returncode == 0, out
    check_all_warcs(warcs)
    rows = {(r.warc_file, r.offset) for r in catalog_rows(config)}
    responses = [(r.file.name, r.offset) for r in all_records(warcs) if r.type == "response"]
    assert len(responses) == 2 and set(responses) <= rows
    assert not list(Path(warcs).glob("*.open"))
