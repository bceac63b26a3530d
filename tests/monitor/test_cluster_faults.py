"""A cluster's faults, with real processes (serial: they kill them): kill -9 of a worker mid-pass
(its pass retried on another worker, the dead writer's `.open` file repaired, every record
catalogued once, the slot completed once), and issue 14's fault run: a leader, a standby and
three workers, kill -9 of a worker mid-pass, of a pass's writer and of the leader (a standby
takes over and passes keep being scheduled), then the archive, the alerts and the runs checked."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time

import pytest

from storage.timestamps import utcnow
from tests.conftest import write_config
from tests.httpserver import SiteServer, page
from tests.monitor.cluster_procs import Cluster, Intervals
from tests.monitor.pages import article, noisy
from tests.monitor.test_alerts import HookServer
from tests.monitor.test_daemon import (
    _descendants,
    assert_catalog_matches_warcs,
    assert_every_record_catalogued,
    db_rows,
)
from tests.warcs import all_records, catalog_rows

# stalled_after well above the heartbeat: a loaded machine must not make a live worker look dead
FAULTS = '\n[cluster]\nrunner = "procrastinate"\nheartbeat = "1s"\nstalled_after = "5s"\n'


@pytest.fixture
def cluster_of(tmp_path, pg_cluster):
    made: list[Cluster] = []

    def make(targets: list[dict], extra: str = "") -> Cluster:
        database = pg_cluster.database()
        config = write_config(
            tmp_path, targets, archive={"database": database}, extra=FAULTS + extra
        )
        c = Cluster(config)
        c.database = database
        made.append(c)
        return c

    yield make
    for c in made:
        c.close()


def runs(c: Cluster, where: str = "") -> list[dict]:
    return db_rows(c.database, f"SELECT * FROM daemon_runs {where} ORDER BY id")


def hang_first(body: str, release: threading.Event):
    """Hangs its first request until `release` (the test kills the pass meanwhile); answers the
    others at once."""
    seen = []

    def respond(h):
        seen.append(1)
        if len(seen) == 1:
            release.wait(60)
        page(body)(h)

    return respond


def test_kill_9_of_a_worker_mid_pass_retries_it_on_another(cluster_of, site):
    release = threading.Event()
    site.routes["/first"] = page("<html><body>first</body></html>")
    site.routes["/slow"] = hang_first("<html><body>slow</body></html>", release)
    # every 20s: the slot that is killed is retried before the next one is queued
    c = cluster_of([{"name": "t", "urls": [site.url("/first"), site.url("/slow")], "every": "20s"}])
    warcs = c.config.parent / "archive" / "warcs"
    try:
        c.leader()
        workers = [c.worker("w1"), c.worker("w2")]

        def mid_pass():
            running = runs(c, "WHERE outcome = 'running'")
            opened = list(warcs.glob("*.open")) if warcs.exists() else []
            return (
                running
                if running and site.hits("/slow") and site.hits("/first") and opened
                else None
            )

        running = c.wait_for(mid_pass, timeout=60)[0]
        time.sleep(0.5)  # the writer has the first page's records
        victim = next(w for w in workers if running["worker_pid"] in _descendants(w.pid))
        survivor = next(w for w in workers if w is not victim)
        victim.kill_9()
        assert list(warcs.glob("*.open"))  # what the dead writer left
    finally:
        release.set()
    slot = running["scheduled_at"]

    def slot_completed():
        rows = [r for r in runs(c, "WHERE target = 't'") if r["scheduled_at"] == slot]
        return rows if any(r["outcome"] == "ok" for r in rows) else None

    rows = c.wait_for(slot_completed, timeout=60)
    for p in c.procs:
        if p is not victim:
            assert p.stop() == 0, p.output()

    # the dead attempt recorded interrupted, one completion of the slot
    assert sorted(r["outcome"] for r in rows) == ["interrupted", "ok"], rows
    assert "run.retry" in survivor.output() and "run.stalled" in survivor.output()
    # the dead writer's file closed, every record catalogued, once
    assert not list(warcs.glob("*.open"))
    assert_catalog_matches_warcs(c.config)
    assert_every_record_catalogued(c.config)
    twice = db_rows(
        c.database,
        "SELECT record_id FROM captures WHERE record_id IS NOT NULL "
        "GROUP BY record_id, target HAVING count(*) > 1",
    )
    assert not twice
    assert not db_rows(c.database, "SELECT id FROM procrastinate_jobs WHERE status = 'doing'")


@pytest.fixture
def hosts():
    servers = [SiteServer().start() for _ in range(3)]
    yield servers
    for s in servers:
        s.stop()


@pytest.fixture
def webhook():
    server = HookServer()
    yield server
    server.shutdown()
    server.server_close()


def test_fault_run_leader_standby_three_workers(cluster_of, hosts, webhook):
    """Issue 14 item 5: a leader, a standby and 3 workers, three loopback hosts, targets every
    3 s; kill -9 of a worker mid-pass, of a pass's writer, and of the leader."""
    a, b, c = hosts
    spans = Intervals()
    a.routes["/a1"] = spans.slow_page("<html><body>a1</body></html>", 0.4)
    a.routes["/a2"] = spans.slow_page("<html><body>a2</body></html>", 0.4)
    doc = article("harbour")
    b.routes["/b1"] = noisy(doc)
    release_b, release_c = threading.Event(), threading.Event()
    b.routes["/hang"] = hang_first("<html><body>b</body></html>", release_b)
    c.routes["/c1"] = page("<html><body>c1</body></html>")
    c.routes["/hang"] = hang_first("<html><body>c</body></html>", release_c)
    cl = cluster_of(
        [
            {"name": "a1", "urls": [a.url("/a1")], "every": "3s"},
            {"name": "a2", "urls": [a.url("/a2")], "every": "3s"},
            {"name": "b", "urls": [b.url("/b1"), b.url("/hang")], "every": "3s"},
            {"name": "c", "urls": [c.url("/c1"), c.url("/hang")], "every": "3s"},
        ],
        extra=f'\n[alerts]\nnotify = ["{webhook.url}"]\nretry_for = 2\n',
    )
    warcs = cl.config.parent / "archive" / "warcs"
    try:
        leader = cl.leader()
        standby = cl.scheduler("standby")
        workers = [cl.worker(f"w{i}") for i in range(3)]

        def standing_by():
            return cl.status()["cluster"]["standbys"]

        before = cl.wait_for(standing_by, timeout=60, step=1)
        assert [f"pid {standby.pid}" in s["node"] for s in before] == [True]

        def running(target: str, site: SiteServer):
            def mid_pass():
                rows = runs(cl, f"WHERE outcome = 'running' AND target = '{target}'")
                return rows[0] if rows and site.hits("/hang") else None

            mid_pass.__name__ = f"{target}_mid_pass"
            return cl.wait_for(mid_pass, timeout=90)

        # a worker killed mid-pass (its child and writer with it)
        row_b = running("b", b)
        time.sleep(0.5)
        victim = next(w for w in workers if row_b["worker_pid"] in _descendants(w.pid))
        victim.kill_9()
        release_b.set()
        # a pass's writer killed (the worker and its child live on)
        row_c = running("c", c)
        time.sleep(0.5)
        for pid in _descendants(row_c["worker_pid"]):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        release_c.set()

        # once b has its baseline (the retried pass): a change, then the leader killed
        def b_has_a_baseline():
            return runs(cl, "WHERE outcome = 'ok' AND target = 'b'")

        cl.wait_for(b_has_a_baseline, timeout=60)
        doc.paragraphs.append("The harbour will stay closed until June, officials said.")
        leader.kill_9()
        killed_at = utcnow()

        def every_target_ok_since_and_alerted():
            ok = {
                r["target"] for r in runs(cl, "WHERE outcome = 'ok'") if r["started_at"] > killed_at
            }
            return ok == {"a1", "a2", "b", "c"} and webhook.accepted

        cl.wait_for(every_target_ok_since_and_alerted, timeout=90)
        after = cl.status()["cluster"]
    finally:
        release_b.set()
        release_c.set()
    for p in cl.procs:
        if not p.killed:
            assert p.stop() == 0, p.output()

    # the standby took over, and passes kept being scheduled (every target ran since)
    assert "cluster.leader" in standby.output()
    assert f"pid {standby.pid}" in after["leader"]["node"] and not after["standbys"]
    assert len(after["workers"]) >= 2
    # every catalog row's byte range is the record with its id; every record has one row
    assert_catalog_matches_warcs(cl.config)
    assert_every_record_catalogued(cl.config)
    by_place = {(r.file.name, r.offset): r for r in all_records(warcs)}
    for row in catalog_rows(cl.config):
        if row.warc_file is not None:
            assert by_place[(row.warc_file, row.offset)].id == row.record_id
    assert not db_rows(
        cl.database,
        "SELECT record_id FROM captures WHERE record_id IS NOT NULL "
        "GROUP BY record_id, target HAVING count(*) > 1",
    )
    assert not list(warcs.glob("*.open"))
    # each event alerted once (the webhook was up throughout)
    sent = db_rows(cl.database, "SELECT event_id, status FROM outbox")
    assert sent and all(m["status"] == "sent" for m in sent), sent
    assert len({m["event_id"] for m in sent}) == len(sent) == len(webhook.accepted)
    # no host had two passes at once
    assert not spans.overlaps({"/a1", "/a2"}), spans.spans
    # every slot ended: in success or a recorded failure
    outcomes = {r["outcome"] for r in runs(cl)}
    assert outcomes <= {"ok", "failed", "interrupted", "timeout"}, outcomes
    killed = {r["id"]: r["outcome"] for r in runs(cl)}
    assert (killed[row_b["id"]], killed[row_c["id"]]) == ("interrupted", "failed"), killed
