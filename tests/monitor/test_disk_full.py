"""A full disk, as archivists meet it: the archive folder on a small tmpfs (2 MB) and pages far
bigger than what is left. A crawl says so in one line and fails its run; the daemon keeps its
log bounded, outlives the full disk and carries on once there is room; the archive stays whole."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time

import pytest

from tests.conftest import warcwatch, write_config
from tests.httpserver import page
from tests.monitor.test_daemon import (  # noqa: F401
    FAST,
    DaemonProc,
    _no_daemon_left_behind,
    assert_catalog_matches_warcs,
    db_rows,
)

PAGES = 12
ONE_LINE = re.compile(r"^warcwatch: error: disk full writing \S+/archive/\S+: no space left$")


@pytest.fixture
def small_archive(tmp_path):
    """tmp_path/archive on a 2 MB tmpfs (the watchlist and the daemon's output stay outside)."""
    archive = tmp_path / "archive"
    archive.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(archive)], check=True)
    yield archive
    subprocess.run(["umount", "-l", str(archive)], check=False)


def _big_pages(site) -> list[str]:
    for i in range(PAGES):  # hex of random bytes: ~300 kB in a WARC even gzipped
        site.routes[f"/big{i}"] = page(
            f"<html><body><p>{i}</p>{os.urandom(300_000).hex()}</body></html>"
        )
    return [site.url(f"/big{i}") for i in range(PAGES)]


def test_a_full_disk_fails_the_crawl_in_one_line_and_leaves_the_archive_whole(
    tmp_path, small_archive, site
):
    config = write_config(tmp_path, [{"name": "big", "urls": _big_pages(site)}], crawl=FAST)

    proc = warcwatch("crawl", "--config", str(config), check=False)

    assert proc.returncode == 2
    assert len(proc.stderr.splitlines()) == 1 and ONE_LINE.match(proc.stderr.strip()), proc.stderr
    assert [r["status"] for r in db_rows(small_archive, "SELECT status FROM crawl_runs")] == [
        "failed"
    ]
    assert not list((small_archive / "warcs").glob("*.open")), "the crawl closes what it wrote"
    # what was archived before the disk filled up is whole; the records written but not yet
    # catalogued are evidence too: repair catalogs them once there is room, and says so while not.
    # The crawl cuts its half-written record, which frees room (on some machines enough for the
    # catalog rows): another program takes the rest, so the disk is truly full for this repair.
    _fill(small_archive / "filler", b"\0" * 64)
    full = warcwatch("repair", "--config", str(config), check=False)
    assert full.returncode == 2 and len(full.stderr.splitlines()) == 1, full.stderr
    assert "no space left; make room and run `warcwatch repair` again" in full.stderr
    (small_archive / "filler").unlink()
    subprocess.run(["mount", "-o", "remount,size=8m", str(small_archive)], check=True)
    report = json.loads(warcwatch("repair", "--config", str(config), "--json").stdout)
    assert report["files"] == [] and report["orphans"] == [], report
    assert db_rows(small_archive, "SELECT id FROM captures WHERE kind = 'response'")
    assert_catalog_matches_warcs(config)


def _fill(path, line: bytes) -> None:
    """Append `line` to `path` until not one more byte fits on the disk."""
    with open(path, "ab", buffering=0) as f:
        for chunk in (line * 1000, line, b"-"):
            try:
                while True:
                    f.write(chunk)
            except OSError:
                pass


def test_a_daemon_on_a_full_disk_logs_in_bounds_and_carries_on_when_there_is_room(
    tmp_path, small_archive, site
):
    config = write_config(
        tmp_path, [{"name": "big", "urls": _big_pages(site), "every": "2s"}], crawl=FAST
    )
    d = DaemonProc(config, "--grace", "10s")
    out = tmp_path / "daemon.out"
    log = small_archive / "warcwatch.log"
    d.wait_for(lambda: log.exists() and "run.start target=big" in log.read_text(), timeout=60)
    # mid-pass, the disk fills up (another program, then a log line too many): the WARC, the
    # catalog and the log all fail now
    _fill(small_archive / "filler", b"\0" * 64)
    _fill(log, b"filler line of a runaway log\n")

    d.wait_for(lambda: "cannot write the log" in out.read_text(), timeout=60)
    d.wait_for(lambda: "catalog.write-failed" in out.read_text(), timeout=60)
    time.sleep(
        15
    )  # a window to see the daemon spin, if it did (it once wrote 8,000 lines a second)
    text = out.read_text()
    assert d.proc.poll() is None, text[-3000:]
    assert "Logging error" not in text and "Traceback" not in text, text[-3000:]
    assert text.count("cannot write the log") == 1
    assert len(text.splitlines()) < 40, text[-3000:]

    # room again: the daemon archives again, and its log says how many lines it dropped
    (small_archive / "filler").unlink()
    subprocess.run(["mount", "-o", "remount,size=64m", str(small_archive)], check=True)
    d.wait_for(lambda: [r for r in d.runs() if r["outcome"] == "ok"], timeout=120)
    d.wait_for(lambda: re.search(r"log\.dropped lines=[1-9]", log.read_text()), timeout=60)
    assert d.stop() == 0, out.read_text()[-3000:]
    assert "Traceback" not in out.read_text()
    assert (
        json.loads(warcwatch("repair", "--config", str(config), "--json").stdout)["orphans"] == []
    )
    assert_catalog_matches_warcs(config)
