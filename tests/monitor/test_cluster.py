"""Passes on the task queue (`[cluster] runner = "procrastinate"`), with real processes: the
scheduler daemons (`warcwatch run`), `warcwatch worker`s, a throwaway PostgreSQL cluster
(tests/pg.py) and loopback sites that record when they were answering each page."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.conftest import warcwatch, write_config
from tests.httpserver import SiteServer, page
from tests.monitor.cluster_procs import CLUSTER, Cluster, Intervals
from tests.monitor.test_daemon import (
    assert_catalog_matches_warcs,
    assert_every_record_catalogued,
    db_rows,
)


@pytest.fixture
def sites():
    servers = [SiteServer().start(), SiteServer().start()]
    yield servers
    for s in servers:
        s.stop()


@pytest.fixture
def cluster_of(tmp_path, pg_cluster):
    made: list[Cluster] = []

    def make(targets: list[dict]) -> Cluster:
        database = pg_cluster.database()
        config = write_config(tmp_path, targets, archive={"database": database}, extra=CLUSTER)
        c = Cluster(config)
        c.database = database
        made.append(c)
        return c

    yield make
    for c in made:
        c.close()


def runs(c: Cluster, where: str = "") -> list[dict]:
    return db_rows(c.database, f"SELECT * FROM daemon_runs {where} ORDER BY id")


def test_passes_run_on_workers_one_pass_per_host_no_target_queued_twice(cluster_of, sites):
    one, other = sites
    spans = Intervals()
    # two targets on one host, slow enough that two workers would overlap them; one elsewhere
    one.routes["/a1"] = spans.slow_page("<html><body>a1</body></html>", 0.8)
    one.routes["/a2"] = spans.slow_page("<html><body>a2</body></html>", 0.8)
    other.routes["/b"] = page("<html><body>b</body></html>")
    c = cluster_of(
        [
            {"name": "a1", "urls": [one.url("/a1")], "every": "2s"},
            {"name": "a2", "urls": [one.url("/a2")], "every": "2s"},
            {"name": "b", "urls": [other.url("/b")], "every": "2s"},
        ]
    )
    # started together on a new database: they migrate the catalog one at a time
    c.scheduler()
    c.worker("w1")
    c.worker("w2")
    most_waiting = []

    def each_target_ran_twice():
        rows = db_rows(
            c.database,
            "SELECT queueing_lock, count(*) AS n FROM procrastinate_jobs WHERE status = 'todo' "
            "GROUP BY queueing_lock",
        )
        most_waiting.append(max((r["n"] for r in rows), default=0))
        ok = [r["target"] for r in runs(c, "WHERE outcome = 'ok'")]
        return all(ok.count(n) >= 2 for n in ("a1", "a2", "b"))

    c.wait_for(each_target_ran_twice, timeout=90)
    status = c.status()["cluster"]
    text = warcwatch("status", "--config", str(c.config)).stdout
    for p in c.procs:
        assert p.stop() == 0, p.output()

    assert max(most_waiting) == 1  # a target never waited in the queue twice
    assert not spans.overlaps({"/a1", "/a2"}), spans.spans  # one pass at a time on one host
    # the passes ran on the workers, and wrote their captures
    assert_catalog_matches_warcs(c.config)
    assert_every_record_catalogued(c.config)
    captured = db_rows(c.database, "SELECT DISTINCT target FROM captures WHERE kind = 'response'")
    assert {r["target"] for r in captured} == {"a1", "a2", "b"}
    # finished jobs are deleted
    assert not db_rows(c.database, "SELECT id FROM procrastinate_jobs WHERE status = 'succeeded'")
    # status named the leader and the two workers
    assert status["leader"] and len(status["workers"]) == 2
    assert "cluster: leader" in text and "workers: 2" in text
    # `reload` signals a single daemon's pid file: here it says what to do instead
    proc = warcwatch("reload", "--config", str(c.config), check=False)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "SIGHUP" in proc.stderr


def test_runner_procrastinate_needs_postgresql(tmp_path):
    config = write_config(tmp_path, [{"name": "x", "urls": ["http://127.0.0.1:9/"]}], extra=CLUSTER)
    proc = warcwatch("worker", "--config", str(config), check=False)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "[archive] database" in proc.stderr
    assert "warcwatch.toml:" in proc.stderr and "'runner'" in proc.stderr


def test_a_target_waits_in_the_queue_once_and_its_host_is_its_lock(pg_cluster):
    from monitor.cluster import queue
    from monitor.config import Target
    from storage.catalog import open_catalog

    url = pg_cluster.database()
    open_catalog(url).dispose()
    dsn = queue.conninfo(url)
    assert queue.ensure_schema(dsn) and not queue.ensure_schema(dsn)  # made once
    app = queue.sync_app(dsn)
    try:
        t = Target(name="t", urls=("http://Example.org:8080/a", "https://other.example/"))
        u = Target(name="u", urls=("http://example.org:8080/b",))
        at = datetime.now(UTC)
        first, second, other = (queue.defer_pass(app, x, at) for x in (t, t, u))
    finally:
        app.close()
    assert first.job is not None and second.job is None and other.job is not None
    rows = db_rows(url, "SELECT queueing_lock, lock, args FROM procrastinate_jobs ORDER BY id")
    assert [(r["queueing_lock"], r["lock"]) for r in rows] == [
        ("t", "example.org:8080"),
        ("u", "example.org:8080"),
    ]
    assert rows[0]["args"] == {"target": "t", "scheduled_at": at.isoformat()}


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ('runner = "celery"', "field 'runner': expected one of 'local', 'procrastinate'"),
        ('heartbeat = "soon"', "field 'heartbeat': 'soon' is not a duration"),
        ("stalled_after = 0", "field 'stalled_after': must be greater than 0"),
        ("workers = 3", "unknown field in [cluster]"),
    ],
)
def test_cluster_settings_mistakes_are_one_line(section, expected):
    from monitor.config import loads_config
    from monitor.errors import ConfigError

    text = f'[archive]\ndatabase = "postgresql://x@db/w"\n\n[cluster]\n{section}\n'
    with pytest.raises(ConfigError) as err:
        loads_config(text, Path("w.toml"))
    assert str(err.value).startswith("w.toml:5: ") and expected in str(err.value), err.value
    assert "\n" not in str(err.value)


def test_cluster_settings_default_to_the_local_runner():
    from monitor.config import loads_config

    config = loads_config('[cluster]\nheartbeat = "2s"\n', Path("w.toml"))
    assert config.cluster.runner == "local" and not config.cluster.distributed
    assert config.cluster.heartbeat == 2.0 and config.cluster.stalled_after == 30.0
