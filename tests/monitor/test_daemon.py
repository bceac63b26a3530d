"""The daemon (`warcwatch run`) as archivists run it: a real daemon process, started by the test
against a local server with schedules of seconds, stopped with signals (SIGTERM, SIGHUP, kill
-9)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import defaultdict
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import ProgrammingError

from monitor.config import load_config
from tests.conftest import ROOT, warcwatch, write_config
from tests.httpserver import gated, hang, page
from tests.pg import archive_settings
from tests.warcs import all_records, catalog_rows, check_all_warcs

FAST = {"download_timeout": 20, "obey_robots": False}


_STARTED: list[DaemonProc] = []


@pytest.fixture(autouse=True)
def _no_daemon_left_behind():
    yield
    while _STARTED:
        d = _STARTED.pop()
        if d.proc.poll() is None:  # the test failed half-way: take the whole tree down
            d.kill_all()


class DaemonProc:
    def __init__(self, config: Path, *args: str):
        self.config = config
        self.archive = config.parent / "archive"
        # where db_rows reads: the SQLite catalog in the archive, or the database's URL
        self.catalog: Path | str = load_config(config).archive.database or self.archive
        self.out = open(config.parent / "daemon.out", "ab")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "monitor.cli",
                "run",
                "--config",
                str(config),
                "--workers",
                "4",
                *args,
            ],
            cwd=ROOT,
            stdout=self.out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        _STARTED.append(self)

    def wait_for(self, what, timeout: float, step: float = 0.2):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = what()
            if value:
                return value
            assert self.proc.poll() is None, (
                f"daemon exited {self.proc.returncode}:\n{self.output()}"
            )
            time.sleep(step)
        raise AssertionError(f"timed out waiting for {what.__name__}\n{self.output()[-3000:]}")

    def output(self) -> str:
        log = self.archive / "warcwatch.log"
        text = (self.config.parent / "daemon.out").read_text(errors="replace")
        return text + (log.read_text(errors="replace") if log.exists() else "")

    def stop(self, timeout: float = 60) -> int:
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        finally:
            self.out.close()

    def kill_all(self) -> None:
        """kill -9 of the daemon and every process under it, at once (a power cut, an OOM kill of
        the service's cgroup)."""
        pids = _descendants(self.proc.pid) + [self.proc.pid]
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait(10)
        if not self.out.closed:
            self.out.close()

    def runs(self) -> list[dict]:
        return db_rows(self.catalog, "SELECT * FROM daemon_runs ORDER BY id")


def _descendants(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children = (task / "children").read_text().split()
        except OSError:
            continue
        for c in map(int, children):
            out += [c, *_descendants(c)]
    return out


def db_rows(archive: Path | str, sql: str) -> list[dict]:
    """The rows of `sql` in the SQLite catalog of `archive` (a folder), or in the catalog at
    `archive` (a SQLAlchemy URL); [] while there is no such table yet."""
    if isinstance(archive, str):
        engine = create_engine(archive)
        try:
            with engine.connect() as conn:
                return [dict(r._mapping) for r in conn.execute(text(sql))]
        except ProgrammingError:  # not created yet
            return []
        finally:
            engine.dispose()
    db = archive / "catalog.sqlite"
    if not db.exists():
        return []
    conn = sqlite3.connect(db, timeout=30)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute(sql)]
    except sqlite3.OperationalError:  # not created yet
        return []
    finally:
        conn.close()


def _ts(value: str) -> float:
    return datetime.fromisoformat(value).timestamp()


def assert_catalog_matches_warcs(config: Path) -> None:
    """Every WARC closed and valid (`warcio check`), and every catalog row's offset/length is a
    record of its file with the row's URL."""
    warc_dir = config.parent / "archive" / "warcs"
    check_all_warcs(warc_dir)
    records = {(r.file.name, r.offset): r for r in all_records(warc_dir)}
    for row in catalog_rows(config):
        if row.warc_file is None:
            assert row.kind == "failed"
            continue
        rec = records.get((row.warc_file, row.offset))
        assert rec is not None, (
            f"capture {row.id} points at no record: {row.warc_file}:{row.offset}"
        )
        assert rec.length == row.length and rec.uri == row.url


def test_runs_on_time_a_hanging_target_delays_no_other_and_sigterm_is_clean(tmp_path, site):
    site.routes["/a"] = page("<html><body>a</body></html>")
    site.routes["/b"] = page("<html><body>b</body></html>")
    site.routes["/hang"] = hang(90)
    config = write_config(
        tmp_path,
        [
            {"name": "fast-a", "url": site.url("/a"), "every": "2s"},
            {"name": "fast-b", "url": site.url("/b"), "every": "2s"},
            {"name": "stuck", "url": site.url("/hang"), "every": "2s"},
        ],
        crawl={**FAST, "download_timeout": 60},
    )
    # the run deadline well before Scrapy's own download timeout (60 s): the daemon must end the
    # pass. 15 s leaves a busy machine time to start a worker for the fast targets' passes
    d = DaemonProc(config, "--run-timeout", "15s", "--grace", "5s")

    def enough_runs():
        rows = d.runs()
        ok = [r["target"] for r in rows if r["outcome"] == "ok"]
        timeouts = [r for r in rows if r["target"] == "stuck" and r["outcome"] == "timeout"]
        return ok.count("fast-a") >= 2 and ok.count("fast-b") >= 2 and timeouts

    d.wait_for(enough_runs, timeout=120)
    status = json.loads(warcwatch("status", "--config", str(config), "--json").stdout)
    runs = d.runs()

    assert status["daemon"]["running"] and status["daemon"]["pid"] == d.proc.pid
    by_name = {t["name"]: t for t in status["targets"]}
    assert by_name["fast-a"]["schedule"] == "every 2s" and by_name["fast-a"]["next_run"]
    assert by_name["fast-a"]["last_run"]["outcome"] in ("ok", "running")
    # the stuck target's passes are terminated at the run timeout, and say why
    stuck = [r for r in runs if r["target"] == "stuck" and r["outcome"] != "running"]
    assert stuck and all(r["outcome"] == "timeout" for r in stuck), stuck
    assert "run timeout" in stuck[0]["error"]
    # meanwhile the others started on time, every time, and each run of theirs followed the one
    # before it at their next due time: the stuck target held none of them back
    by_target = defaultdict(list)
    for r in runs:
        if r["target"] != "stuck":
            late = (
                datetime.fromisoformat(r["started_at"]) - datetime.fromisoformat(r["scheduled_at"])
            ).total_seconds()
            assert late < 1.5, f"{r['target']} started {late:.2f}s late"
            by_target[r["target"]].append(r)
    for name, rows in by_target.items():
        for before, after in zip(rows, rows[1:], strict=False):
            if before["finished_at"] is None:
                continue
            wait = _ts(after["started_at"]) - _ts(before["finished_at"])
            assert wait < 2 + 1.5, f"{name}: next run started {wait:.2f}s after the previous ended"

    assert d.stop() == 0, d.output()
    assert not (d.archive / "warcwatch.pid").exists()
    assert not db_rows(d.archive, "SELECT id FROM crawl_runs WHERE status = 'running'")
    assert not db_rows(d.archive, "SELECT id FROM daemon_runs WHERE outcome = 'running'")
    assert_catalog_matches_warcs(config)
    log = (d.archive / "warcwatch.log").read_text()
    assert "run.start target=fast-a url=" + site.url("/a") in log
    assert "run.end target=stuck outcome=timeout" in log
    assert "daemon.stop" in log


def test_kill_9_mid_crawl_then_restart_repairs_and_carries_on(tmp_path, site, catalog_database):
    site.routes["/a"] = page("<html><body>first page</body></html>")
    site.routes["/slow"] = hang(60)
    config = write_config(
        tmp_path,
        [
            {"name": "slowsite", "urls": [site.url("/a"), site.url("/slow")], "every": "2s"},
        ],
        crawl=FAST,
        archive=archive_settings(catalog_database),
    )
    d = DaemonProc(config, "--run-timeout", "60s")
    warcs = d.archive / "warcs"

    def open_warc():
        return list(warcs.glob("*.warc.gz.open")) if warcs.exists() else []

    (torn,) = d.wait_for(open_warc, timeout=30)
    time.sleep(1.0)  # let the writer commit the first page's row
    d.kill_all()
    assert torn.exists(), "the kill must leave the WARC open"
    with open(torn, "ab") as f:  # a record that was being written when the power went
        f.write(b"\x1f\x8b\x08\x00\x00\x00\x00\x00half a record")
    assert db_rows(d.catalog, "SELECT id FROM crawl_runs WHERE status = 'running'")

    site.routes["/slow"] = page("<html><body>slow no more</body></html>")
    d2 = DaemonProc(config, "--run-timeout", "60s")
    d2.wait_for(
        lambda: d2.output().count("daemon.start pid=") == 2, timeout=30
    )  # the log is shared
    closed = torn.with_name(torn.name.removesuffix(".open"))
    assert not torn.exists() and closed.exists()
    proc = subprocess.run(
        [str(Path(sys.executable).with_name("warcio")), "check", str(closed)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "daemon.repair" in d2.output()
    assert not db_rows(d2.catalog, "SELECT id FROM crawl_runs WHERE status = 'running' AND id = 1")
    assert db_rows(d2.catalog, "SELECT id FROM daemon_runs WHERE outcome = 'interrupted'")

    # monitoring carries on: a full run after the restart
    d2.wait_for(
        lambda: [r for r in d2.runs() if r["outcome"] == "ok" and r["fetched"] == 2], timeout=30
    )
    assert d2.stop() == 0, d2.output()
    assert_catalog_matches_warcs(config)


def test_watchlist_edit_and_sighup_add_and_remove_jobs(tmp_path, site):
    site.routes["/a"] = page("<html><body>a</body></html>")
    site.routes["/c"] = page("<html><body>c</body></html>")
    targets = [
        {"name": "keep", "url": site.url("/a"), "every": "1h"},
        {"name": "drop", "url": site.url("/a"), "every": "1h"},
    ]
    config = write_config(tmp_path, targets, crawl=FAST)
    d = DaemonProc(config)

    def jobs():
        return {
            r["id"]: r["next_run_time"]
            for r in db_rows(d.archive, "SELECT id, next_run_time FROM apscheduler_jobs")
        }

    before = d.wait_for(lambda: jobs() if len(jobs()) == 2 else None, timeout=30)
    assert set(before) == {"target:keep", "target:drop"}

    write_config(
        tmp_path, [targets[0], {"name": "new", "url": site.url("/c"), "every": "2s"}], crawl=FAST
    )
    warcwatch("reload", "--config", str(config))
    after = d.wait_for(
        lambda: jobs() if set(jobs()) == {"target:keep", "target:new"} else None, timeout=15
    )
    assert after["target:keep"] == before["target:keep"], "an unchanged job keeps its next run"
    d.wait_for(
        lambda: [r for r in d.runs() if r["target"] == "new" and r["outcome"] == "ok"], timeout=30
    )
    assert 'jobs.reconcile why=reload added=["new"]' in d.output().replace('\\"', '"').replace(
        '"[', "["
    ).replace(']"', "]")

    # a broken watchlist is reported and the jobs stay as they are
    config.write_text(config.read_text() + "\n[[targets]]\nname = 'bad'\nurl = 'ftp://x'\n")
    d.proc.send_signal(signal.SIGHUP)
    d.wait_for(lambda: "jobs.reload-failed" in d.output(), timeout=10)
    assert set(jobs()) == {"target:keep", "target:new"}
    assert d.stop() == 0, d.output()


def test_second_daemon_on_the_same_archive_is_refused(tmp_path, site):
    site.routes["/a"] = page("<html><body>a</body></html>")
    config = write_config(
        tmp_path, [{"name": "a", "url": site.url("/a"), "every": "1h"}], crawl=FAST
    )
    d = DaemonProc(config)
    d.wait_for(
        lambda: (d.archive / "warcwatch.pid").exists() and "daemon.start" in d.output(), timeout=30
    )
    second = warcwatch("run", "--config", str(config), check=False, timeout=60)
    assert second.returncode == 2 and "already runs" in second.stderr
    assert d.stop() == 0


def test_second_daemon_on_the_same_catalog_from_another_folder_is_refused(
    tmp_path, site, pg_cluster
):
    """Two archive folders (two machines) sharing one PostgreSQL catalog: the second daemon would
    run every target a second time, and is refused; once the first stops, it may start."""
    site.routes["/a"] = page("<html><body>a</body></html>")
    database = pg_cluster.database()
    configs = []
    for name in ("one", "two"):
        (tmp_path / name).mkdir()
        configs.append(
            write_config(
                tmp_path / name,
                [{"name": "a", "url": site.url("/a"), "every": "1h"}],
                crawl=FAST,
                archive={"database": database},
            )
        )
    d = DaemonProc(configs[0])
    d.wait_for(lambda: "daemon.start" in d.output(), timeout=30)
    second = warcwatch("run", "--config", str(configs[1]), check=False, timeout=60)
    assert second.returncode == 2 and second.stderr.count("\n") == 1, second.stderr
    assert "a daemon already runs on the catalog postgresql+psycopg://" in second.stderr
    assert d.stop() == 0
    again = DaemonProc(configs[1])
    again.wait_for(lambda: "daemon.start" in again.output(), timeout=30)
    assert again.stop() == 0, again.output()


@pytest.mark.parametrize("command", ["reload", "repair"])
def test_commands_without_a_daemon(tmp_path, command):
    config = write_config(tmp_path, [{"name": "a", "url": "http://127.0.0.1:9/", "every": "1h"}])
    proc = warcwatch(command, "--config", str(config), check=False)
    if command == "reload":
        assert proc.returncode == 2 and "no daemon runs" in proc.stderr
    else:
        assert proc.returncode == 0 and "nothing to repair" in proc.stdout, proc.stderr


def _holders(path: Path) -> list[int]:
    """The pids of the processes that hold `path` open."""
    pids = []
    for fd_dir in Path("/proc").glob("[0-9]*/fd"):
        try:
            if any(os.readlink(fd) == str(path) for fd in fd_dir.iterdir()):
                pids.append(int(fd_dir.parent.name))
        except OSError:
            continue
    return pids


def assert_every_record_catalogued(config: Path) -> None:
    """The other way round from assert_catalog_matches_warcs: every response, revisit and request
    record of every WARC has its catalog row."""
    rows = catalog_rows(config)
    captured = {(r.warc_file, r.offset) for r in rows}
    captured |= {(r.warc_file, r.request_offset) for r in rows}
    for rec in all_records(config.parent / "archive" / "warcs"):
        if rec.type in ("response", "revisit", "request"):
            where = f"{rec.file.name}:{rec.offset}"
            assert (rec.file.name, rec.offset) in captured, (
                f"{rec.type} {rec.uri} at {where}: no row"
            )


def test_a_killed_writer_s_open_file_is_closed_by_the_running_daemon_and_a_crawl_s_beside_it_is_not(
    tmp_path, site
):
    let_daemon_on, let_crawl_on = threading.Event(), threading.Event()
    site.routes["/a"] = page("<html><body>first page</body></html>")
    site.routes["/slow"] = gated(let_daemon_on, "<html><body>second page</body></html>")
    site.routes["/beside-a"] = page("<html><body>crawled by hand</body></html>")
    site.routes["/beside-slow"] = gated(let_crawl_on, "<html><body>crawled slowly</body></html>")
    config = write_config(
        tmp_path,
        [
            {"name": "watched", "urls": [site.url("/a"), site.url("/slow")], "every": "2s"},
            {"name": "beside", "urls": [site.url("/beside-a"), site.url("/beside-slow")]},
        ],
        crawl={**FAST, "download_timeout": 120},
    )
    d = DaemonProc(config, "--run-timeout", "120s")
    warcs = d.archive / "warcs"

    def open_warcs():
        return sorted(warcs.glob("*.warc.gz.open")) if warcs.exists() else []

    def row_of(path):
        return lambda: db_rows(d.archive, f"SELECT id FROM captures WHERE url LIKE '%{path}'")

    beside = None
    try:
        # the daemon's pass has archived /a and waits for /slow, its WARC file open
        (torn,) = d.wait_for(open_warcs, timeout=30)
        d.wait_for(row_of("/a"), timeout=30)
        (writer,) = d.wait_for(lambda: _holders(torn), timeout=10)
        # a `warcwatch crawl` beside the daemon, standing still with its own file open and
        # catalogued
        beside = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "monitor.cli",
                "crawl",
                "--config",
                str(config),
                "--target",
                "beside",
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        (held,) = d.wait_for(
            lambda: [p for p in open_warcs() if p != torn and _holders(p)], timeout=60
        )
        beside_rows = d.wait_for(row_of("/beside-a"), timeout=60)
        size = held.stat().st_size

        os.kill(writer, signal.SIGKILL)
        let_daemon_on.set()  # the pass hands its next record to a dead writer and fails

        closed = torn.with_name(torn.name.removesuffix(".open"))
        d.wait_for(lambda: closed.exists() and not torn.exists(), timeout=60)
        failed = d.wait_for(lambda: [r for r in d.runs() if r["outcome"] == "failed"], timeout=30)
        assert "WARC writer process died" in failed[0]["error"]
        assert d.proc.poll() is None and d.output().count("daemon.start pid=") == 1, "no restart"
        d.wait_for(lambda: 'daemon.repair why="a pass failed"' in d.output(), timeout=30)
        # the crawl's file, held by its live writer, was left as it was, and so were its rows
        assert held.exists() and held.stat().st_size >= size and _holders(held)
        assert row_of("/beside-a")() == beside_rows
    finally:
        let_daemon_on.set()
        let_crawl_on.set()
        if beside is not None:
            out = beside.communicate(timeout=120)[0]
    assert beside.returncode == 0, out
    assert d.stop() == 0, d.output()
    assert_catalog_matches_warcs(config)
    assert_every_record_catalogued(config)


def test_the_daemon_s_passes_append_to_one_file_not_one_per_target_and_pass(tmp_path, site):
    """Each pass runs in a child process of its own: it reopens the youngest closed file of the
    folder (issue 14, item 6), so files do not multiply per pass. Two targets' passes may run at
    once, each then with a file of its own (and one that starts in the instant another is
    closing its file finds that one still open: a third), never one per pass as before."""
    site.routes["/a"] = page("<html><body>a</body></html>")
    site.routes["/b"] = page("<html><body>b</body></html>")
    config = write_config(
        tmp_path,
        [
            {"name": "ra", "url": site.url("/a"), "every": "1s"},
            {"name": "rb", "url": site.url("/b"), "every": "1s"},
        ],
        crawl=FAST,
    )
    d = DaemonProc(config)

    def enough_runs():
        ok = [r["target"] for r in d.runs() if r["outcome"] == "ok"]
        return ok.count("ra") >= 3 and ok.count("rb") >= 3

    d.wait_for(enough_runs, timeout=120)
    assert d.stop() == 0, d.output()
    assert_catalog_matches_warcs(config)
    passes = [r for r in d.runs() if r["outcome"] == "ok"]
    by_file = check_all_warcs(d.archive / "warcs")
    assert len(by_file) <= 3 < len(passes), (len(by_file), len(passes))
    rows = {
        (r.warc_file, r.offset): r.target for r in catalog_rows(config) if r.warc_file is not None
    }
    for f, recs in by_file.items():
        infos = {
            r.id: dict(line.split(": ", 1) for line in r.block.decode().splitlines() if line)
            for r in recs
            if r.type == "warcinfo"
        }
        for r in recs:
            if r.type in ("response", "revisit"):
                assert infos[r.header("WARC-Warcinfo-ID")]["isPartOf"] == rows[(f.name, r.offset)]
