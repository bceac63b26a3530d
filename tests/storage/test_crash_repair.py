"""Repair after real crashes, and beside real crawls: a `warcwatch crawl` killed with kill -9 while
its writer has records on disk whose rows it has not committed yet, and `warcwatch repair` run
while a crawl is writing. After any of it the catalog rows are the WARC records, both ways
(tests.storage.crashes.agreement reads every file with warcio)."""

from __future__ import annotations

import json
import os
import signal
import threading
import time

from storage.repair import complete_prefix
from tests.conftest import crawl, warcwatch, write_config
from tests.httpserver import page
from tests.storage.crashes import (
    agreement,
    gated,
    holders,
    kill_group,
    records,
    slow,
    sql,
    start_crawl,
    wait_until,
)

SLOW = {"download_timeout": 60, "obey_robots": False, "concurrency": 32, "concurrency_per_host": 32}


class Site:
    """Pages in waves: each wave is answered when the test lets it go; `/hang` never is."""

    def __init__(self, server, waves: int, per_wave: int):
        self.server = server
        self.gates = [threading.Event() for _ in range(waves)]
        self.paths = [f"/w{w}/p{i}" for w in range(waves) for i in range(per_wave)]
        self.never = threading.Event()
        self.per_wave = per_wave

    def serve(self, gated_waves: bool, edited: tuple[str, ...] = ()) -> None:
        """Every page; one in three answers conditional GETs (a 304 revisit on a second pass);
        `edited` pages have changed since a first pass (a response)."""
        for n, path in enumerate(self.paths):
            version = "edited" if path in edited else "first"
            body = f"<html><body><p>statement {path}, {version} version</p></body></html>"
            respond = page(body, etag=f'"{path}-{version}"') if n % 3 == 0 else page(body)
            self.server.routes[path] = (
                gated(respond, self.gates[n // self.per_wave]) if gated_waves else respond
            )
        self.server.routes["/hang"] = (
            gated(page("late"), self.never) if gated_waves else page("late")
        )

    def urls(self) -> list[str]:
        return [self.server.url(p) for p in self.paths] + [self.server.url("/hang")]

    def release_all(self) -> None:
        for g in [*self.gates, self.never]:
            g.set()


def _open_file(warc_dir):
    files = list(warc_dir.glob("*.warc.gz.open")) if warc_dir.exists() else []
    return files[0] if len(files) == 1 else None


def test_a_killed_crawls_last_records_are_catalogued_by_repair(tmp_path, site):
    """kill -9 of a real crawl (its writer included) while the writer holds records whose rows it
    has not committed: repair cuts the file, and catalogs those records as the writer would have:
    responses, revisits of both profiles pointing at their originals, their request records."""
    pages = Site(site, waves=4, per_wave=6)
    pages.serve(gated_waves=False)
    config = write_config(tmp_path, [{"name": "news", "urls": pages.urls()}], crawl=SLOW)
    crawl(config)  # a first pass, whole: the second pass's pages are revisits of it
    pages.serve(gated_waves=True, edited=tuple(pages.paths[1::5]))  # but for a few edited since
    archive = config.parent / "archive"
    db, warc_dir = archive / "catalog.sqlite", archive / "warcs"
    before = sql(db, "SELECT count(*) FROM captures")[0][0]
    # the second pass appends to the first's file (files roll by size and age): the kill is
    # mid-append, and the first pass's records and rows must come through it as they were
    (first_file,) = warc_dir.glob("*.warc.gz")
    first_bytes = first_file.read_bytes()
    first_rows = records(db, "SELECT * FROM captures ORDER BY id")
    first_records = complete_prefix(first_file)[1]

    proc = start_crawl(config, "--json")
    try:
        # a wave at a time, until the writer holds records on disk that the catalog lacks
        for gate in pages.gates:
            gate.set()
            open_path = wait_until(lambda: _open_file(warc_dir))
            assert open_path.name == first_file.name + ".open", "the first pass's file, reopened"
            released = (pages.gates.index(gate) + 1) * pages.per_wave
            # on disk after the first pass's records: the warcinfo, then a response or revisit
            # and its request per page
            wait_until(
                lambda: complete_prefix(open_path)[1] == first_records + 1 + 2 * released  # noqa: B023
            )
            time.sleep(0.3)  # the writer catalogs a record just after writing it: let it settle
            committed = sql(db, "SELECT count(*) FROM captures")[0][0] - before
            if committed < released:
                break
        assert committed < released, "the writer committed every row before it could be killed"
        assert holders(warc_dir), "the writer holds its file"
    finally:  # kill -9, before any more pages are let go
        kill_group(proc)
        pages.release_all()
    assert open_path.exists(), "the kill must leave the WARC open"

    report = json.loads(warcwatch("repair", "--config", str(config), "--json").stdout)

    assert first_file.read_bytes()[: len(first_bytes)] == first_bytes, "earlier records intact"
    assert records(db, f"SELECT * FROM captures WHERE id <= {len(first_rows)} ORDER BY id") == (
        first_rows
    ), "and their rows"
    (recatalogued,) = report["recatalogued"]
    assert recatalogued["name"] == open_path.name.removesuffix(".open")
    assert recatalogued["captures"] == released - committed
    assert report["orphans"] == []
    a = agreement(archive)
    assert a.ok, a
    assert a.rows == sql(db, "SELECT count(*) FROM captures WHERE warc_file IS NOT NULL")[0][0]
    rows = records(
        db,
        "SELECT c.*, o.url AS origin_url FROM captures c"
        " LEFT JOIN captures o ON o.id = c.revisit_of WHERE c.warc_file = ? AND c.run_id = 2",
        recatalogued["name"],
    )
    assert len(rows) == released
    assert {(r["kind"], r["revisit_profile"]) for r in rows} == {
        ("response", None),
        ("revisit", "identical-payload"),
        ("revisit", "server-not-modified"),
    }
    for r in rows:
        assert (r["run_id"], r["target"]) == (2, "news"), "the crawl's run and target"
        assert r["request_offset"] is not None and r["record_id"] and r["digest"]
        if r["revisit_profile"] == "server-not-modified":  # a 304: the origin's validators
            assert (r["status"], r["mime"]) == (304, None) and r["etag"]
        else:
            assert (r["status"], r["mime"]) == (200, "text/html")
        if r["kind"] == "revisit":
            assert r["origin_url"] == r["url"], "a revisit points at its original"
    # and a second repair finds nothing left to do
    assert (
        json.loads(warcwatch("repair", "--config", str(config), "--json").stdout)["recatalogued"]
        == []
    )
    # the evidence log (issue 12): the killed batch's entries went with its rows, and repair
    # logged the records it catalogued (each response or revisit and its request), read off the
    # file; the log and the archive agree, record by record
    repaired = [
        json.loads(e)
        for (e,) in sql(db, 'SELECT entry FROM evidence_log WHERE entry LIKE \'%"by":"repair"%\'')
    ]
    assert len([e for e in repaired if e["type"] != "warcinfo"]) == 2 * (released - committed)
    assert {e["file"] for e in repaired} == {recatalogued["name"]}
    assert [e["action"] for (e,) in _custody(db)] == ["key-created", "repair"]
    checked = warcwatch("verify", "--config", str(config), check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def _custody(db) -> list:
    return [
        (json.loads(e),)
        for (e,) in sql(db, "SELECT entry FROM evidence_log WHERE kind = 'custody'")
    ]


def test_repair_beside_a_running_crawl_removes_no_row_and_the_crawl_finishes(tmp_path, site):
    """`warcwatch repair` while `warcwatch crawl` is writing (issue 9, item 1): the crawl's `.open`
    file is left alone, none of its committed rows is removed, and the crawl ends well."""
    pages = Site(site, waves=5, per_wave=2)
    pages.serve(gated_waves=True)
    config = write_config(tmp_path, [{"name": "news", "urls": pages.urls()}], crawl=SLOW)
    archive = config.parent / "archive"
    db, warc_dir = archive / "catalog.sqlite", archive / "warcs"
    proc = start_crawl(config, "--json")
    try:
        # a wave at a time until some rows of the open file are committed
        for gate in pages.gates[:-1]:
            gate.set()
            if wait_until(lambda: _open_file(warc_dir)) and _committed(db, warc_dir):
                break
            threading.Event().wait(0.6)  # the writer commits at most every 0.5 s
        rows = wait_until(lambda: _committed(db, warc_dir))
        open_name = _open_file(warc_dir).name

        repaired = warcwatch("repair", "--config", str(config), "--json")

        report = json.loads(repaired.stdout)
        assert report["skipped"] == [open_name] and report["files"] == []
        assert report["orphans"] == [] and report["interrupted_runs"] == []
        assert set(rows) <= {r[0] for r in sql(db, "SELECT id FROM captures")}, "no row was removed"
        assert proc.poll() is None, "the crawl is still running"
    finally:
        pages.release_all()
    assert proc.wait(120) == 0, (tmp_path / "crawl.out").read_text()
    assert sql(db, "SELECT status FROM crawl_runs") == [("finished",)]
    assert (
        sql(db, "SELECT count(*) FROM captures WHERE kind != 'failed'")[0][0]
        == len(pages.paths) + 1
    )
    a = agreement(archive)
    assert a.ok, a


def _committed(db, warc_dir) -> list[int]:
    """Ids of the committed rows of the crawl's `.open` file."""
    open_path = _open_file(warc_dir)
    if open_path is None:
        return []
    name = open_path.name.removesuffix(".open")
    return [r[0] for r in sql(db, "SELECT id FROM captures WHERE warc_file = ?", name)]


def test_three_writers_killed_mid_crawl_leave_nothing_repair_cannot_mend(tmp_path, site):
    """The in-suite slice of benchmarks/torture.py: three crawls in a row, each losing its writer
    to kill -9 mid-pass. Each crawl ends its run (not left 'running'); one repair then leaves no
    corrupt file, no stale `.open` file, and as many catalog rows as records."""
    paths = [f"/p{i}" for i in range(60)]
    for path in paths:
        site.routes[path] = slow(page(f"<html><body><p>statement {path}</p></body></html>"), 0.1)
    config = write_config(
        tmp_path,
        [{"name": "news", "urls": [site.url(p) for p in paths]}],
        crawl={**SLOW, "concurrency_per_host": 2},
    )
    archive = config.parent / "archive"
    db, warc_dir = archive / "catalog.sqlite", archive / "warcs"
    killed = []
    for _ in range(3):
        proc = start_crawl(config)
        try:
            writers = wait_until(lambda: holders(warc_dir) if warc_dir.exists() else None)
            (pid,) = writers
            (open_path,) = writers[pid]
            wait_until(lambda: complete_prefix(open_path)[1] >= 9)  # noqa: B023 - a few pages in
            os.kill(pid, signal.SIGKILL)
            killed.append(open_path.name)
            assert proc.wait(120) != 0, "a crawl that lost its writer does not end well"
        finally:
            kill_group(proc)
        runs = sql(db, "SELECT status FROM crawl_runs ORDER BY id")
        assert runs[-1] == ("interrupted",), "the crawl ended its run"
    assert sorted(p.name for p in warc_dir.glob("*.open")) == sorted(killed)

    report = json.loads(warcwatch("repair", "--config", str(config), "--json").stdout)

    assert sorted(f["name"] + ".open" for f in report["files"]) == sorted(killed)
    a = agreement(archive)
    assert a.ok, a
    assert (a.corrupt, a.stale_open) == ([], [])
    assert (
        a.rows * 2 + len(killed) == a.records
    )  # a response or revisit and its request per row, a warcinfo per file
    assert sql(db, "SELECT count(*) FROM crawl_runs WHERE status = 'running'") == [(0,)]
    # every record left has its evidence log entry, and every entry its record (issue 12)
    checked = warcwatch("verify", "--config", str(config), check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr
