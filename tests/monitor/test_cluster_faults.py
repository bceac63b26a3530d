"""A cluster's faults, with real processes (serial: they kill them): kill -9 of a worker mid-pass
(its pass retried on another worker, the dead writer's `.open` file repaired, every record
catalogued once, the slot completed once), and kill -9 of the leading scheduler (a standby takes
over and passes keep being scheduled)."""

from __future__ import annotations

import threading
import time

import pytest

from storage.timestamps import utcnow
from tests.conftest import write_config
from tests.httpserver import page
from tests.monitor.cluster_procs import Cluster
from tests.monitor.test_daemon import (
    _descendants,
    assert_catalog_matches_warcs,
    assert_every_record_catalogued,
    db_rows,
)

# stalled_after well above the heartbeat: a loaded machine must not make a live worker look dead
FAULTS = '\n[cluster]\nrunner = "procrastinate"\nheartbeat = "1s"\nstalled_after = "5s"\n'


@pytest.fixture
def cluster_of(tmp_path, pg_cluster):
    made: list[Cluster] = []

    def make(targets: list[dict]) -> Cluster:
        database = pg_cluster.database()
        config = write_config(tmp_path, targets, archive={"database": database}, extra=FAULTS)
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


def test_kill_9_of_the_leader_a_standby_takes_over(cluster_of, site):
    site.routes["/p"] = page("<html><body>p</body></html>")
    c = cluster_of([{"name": "p", "urls": [site.url("/p")], "every": "2s"}])
    leader = c.leader()
    standby = c.scheduler("standby")
    c.worker("w1")

    def ran_once():
        return runs(c, "WHERE outcome = 'ok'")

    c.wait_for(ran_once, timeout=60)
    before = c.status()["cluster"]
    assert f"pid {leader.pid}" in before["leader"]["node"]
    assert [f"pid {standby.pid}" in s["node"] for s in before["standbys"]] == [True]
    leader.kill_9()
    killed_at = utcnow()  # naive UTC, as the catalog's times

    def scheduled_since():
        later = [r for r in runs(c, "WHERE outcome = 'ok'") if r["started_at"] > killed_at]
        return len(later) >= 2

    c.wait_for(scheduled_since, timeout=60)
    after = c.status()["cluster"]
    for p in c.procs:
        if p is not leader:
            assert p.stop() == 0, p.output()
    assert "cluster.leader" in standby.output()
    assert f"pid {standby.pid}" in after["leader"]["node"] and not after["standbys"]
