"""Benchmark of the passes on the task queue (`[cluster] runner = "procrastinate"`) beside the
local daemon, in the same run on the same machine: one loopback workload (targets spread over
several loopback hosts, each target every S seconds) for D seconds, run by

- the local daemon (`warcwatch run --workers 2`, catalog on the same PostgreSQL), and
- a leader (`warcwatch run`) with 1, 2 and 4 `warcwatch worker`s;

each on a fresh database of one throwaway durable PostgreSQL cluster (tests/pg.py). Reported per
setup: passes/min and fetches/s finished, lateness (start − due, p50/p99), queue wait (the
cluster's waiting jobs, sampled each second: mean and max), and with 2 workers one worker killed
with kill -9 mid-run: the time until the killed pass's target had an ok pass again (the slot
retried, or its next pass when that one waited already); PostgreSQL statements/s and
transactions/s over the setup's database (pg_stat_statements, every statement of every client:
schedulers, workers, passes, the queue's own; pg_stat_database's commits and rollbacks);
duplicates (records
catalogued twice) and losses (runs never ended, `.open` files left, records without rows) must be 0.

    python benchmarks/cluster.py --targets 24 --hosts 6 --every 10 --duration 60 --write
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.machine import describe  # noqa: E402
from tests.httpserver import SiteServer, page  # noqa: E402
from tests.monitor.test_daemon import _descendants, db_rows  # noqa: E402
from tests.pg import Cluster, server_bindir  # noqa: E402

# (workers, kill one mid-run): None workers is the local daemon
SETUPS = {
    "all": ((None, False), (1, False), (2, True), (4, False)),
    "kill": ((2, True),),
    "four": ((4, False),),
}


def watchlist(
    folder: Path, database: str, sites: list[SiteServer], n: int, every: int, cluster: bool
) -> Path:
    lines = [
        "[archive]",
        'dir = "archive"',
        f'database = "{database}"',
        "",
        "[crawl]",
        "download_timeout = 5",
        "autothrottle = false",
        "retries = 0",
        "",
        "[monitor]",
        "confirm = false",
    ]
    if cluster:
        lines += [
            "",
            "[cluster]",
            'runner = "procrastinate"',
            'heartbeat = "2s"',
            'stalled_after = "8s"',
        ]
    for i in range(n):
        site = sites[i % len(sites)]
        lines += [
            "",
            "[[targets]]",
            f'name = "t{i}"',
            f'urls = ["{site.url(f"/p{i}")}"]',
            f'every = "{every}s"',
        ]
    path = folder / "warcwatch.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def start(config: Path, name: str, *args: str) -> subprocess.Popen:
    out = open(config.parent / f"{name}.out", "ab")
    return subprocess.Popen(
        [sys.executable, "-m", "monitor.cli", *args, "--config", str(config)],
        cwd=ROOT,
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def kill_9(proc: subprocess.Popen) -> None:
    for pid in [proc.pid, *_descendants(proc.pid)]:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.wait(10)


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def one_setup(pg: Cluster, sites, args, workers: int | None, kill: bool) -> dict:
    folder = Path(tempfile.mkdtemp(prefix="warcwatch-bench-cluster-"))
    database = pg.database("bench")
    # the setup's own statements: pg_stat_statements counts per database, reset here
    engine = create_engine(database, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS pg_stat_statements"))
        conn.execute(text("SELECT pg_stat_statements_reset()"))
    engine.dispose()
    xacts0 = _transactions(database)
    size0 = _size(database)
    cluster = workers is not None
    config = watchlist(folder, database, sites, args.targets, args.every, cluster)
    procs = []
    if cluster:
        leader = start(config, "leader", "run")
        procs.append(leader)
        deadline = time.monotonic() + 60
        while (
            "cluster.leader" not in (folder / "leader.out").read_text()
            and time.monotonic() < deadline
        ):
            time.sleep(0.2)
        procs += [start(config, f"w{i}", "worker") for i in range(workers)]
    else:
        procs.append(start(config, "daemon", "run", "--workers", "2"))
    began = datetime.now(UTC).replace(tzinfo=None)
    t0 = time.monotonic()
    waiting: list[int] = []
    killed_at = None
    killed_slot = None
    while time.monotonic() - t0 < args.duration:
        time.sleep(1)
        if cluster:
            rows = db_rows(
                database, "SELECT count(*) AS n FROM procrastinate_jobs WHERE status = 'todo'"
            )
            waiting.append(rows[0]["n"] if rows else 0)
            if kill and killed_at is None and time.monotonic() - t0 > args.duration / 3:
                running = db_rows(database, "SELECT * FROM daemon_runs WHERE outcome = 'running'")
                for r in running:
                    victim = next(
                        (p for p in procs[1:] if r["worker_pid"] in _descendants(p.pid)), None
                    )
                    if victim is not None:
                        kill_9(victim)
                        killed_at, killed_slot = time.monotonic(), (r["target"], r["scheduled_at"])
                        killed_wall = datetime.now(UTC).replace(tzinfo=None)
                        break
    recovery = None
    if killed_slot is not None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            # the killed slot retried, or (when the target's next pass waited already) that one
            done = db_rows(
                database,
                "SELECT finished_at FROM daemon_runs WHERE outcome = 'ok' "
                f"AND target = '{killed_slot[0]}' AND started_at > '{killed_wall}' "
                "ORDER BY finished_at LIMIT 1",
            )
            if done:
                recovery = (done[0]["finished_at"] - killed_wall).total_seconds()
                break
            time.sleep(0.5)
    ended = datetime.now(UTC).replace(tzinfo=None)
    statements = db_rows(
        database,
        "SELECT coalesce(sum(calls), 0) AS n FROM pg_stat_statements "
        "WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())",
    )[0]["n"]
    xacts = _transactions(database) - xacts0
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(90)
        except subprocess.TimeoutExpired:
            kill_9(p)
    # after the processes stopped: the finished jobs deleted, the last rows written
    grown = _size(database) - size0
    tables = db_rows(
        database,
        "SELECT relname, pg_total_relation_size(c.oid) AS bytes FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE relkind = 'r' AND nspname = 'public' ORDER BY 2 DESC LIMIT 6",
    )
    runs = db_rows(database, "SELECT * FROM daemon_runs ORDER BY id")
    window = [
        r
        for r in runs
        if r["started_at"] >= began and r["finished_at"] and r["finished_at"] <= ended
    ]
    ok = [r for r in window if r["outcome"] == "ok"]
    lateness = [
        (r["started_at"] - r["scheduled_at"]).total_seconds() for r in ok if r["scheduled_at"]
    ]
    minutes = (ended - began).total_seconds() / 60
    dupes = db_rows(
        database,
        "SELECT record_id FROM captures WHERE record_id IS NOT NULL "
        "GROUP BY record_id, target HAVING count(*) > 1",
    )
    open_left = list((folder / "archive" / "warcs").glob("*.open"))
    unended = [r for r in runs if r["outcome"] == "running"]
    fetches = sum(r["fetched"] for r in ok)
    name = (
        "local daemon (2 workers)"
        if not cluster
        else f"cluster, {workers} worker{'s' * (workers > 1)}"
    )
    return {
        "setup": name + (" + kill -9" if killed_slot else ""),
        "passes_min": len(ok) / minutes,
        "fetches_s": fetches / (minutes * 60),
        "late_p50": pct(lateness, 50),
        "late_p99": pct(lateness, 99),
        "wait_mean": statistics.fmean(waiting) if waiting else None,
        "wait_max": max(waiting) if waiting else None,
        "recovery": recovery,
        "failed": len([r for r in window if r["outcome"] != "ok"]),
        "statements_s": float(statements) / (minutes * 60),
        "xacts_s": xacts / (minutes * 60),
        "statements_pass": float(statements) / max(len(ok), 1),
        "kb_pass": grown / 1024 / max(len(runs), 1),
        "largest_tables_kb_pass": {
            t["relname"]: round(t["bytes"] / 1024 / max(len(runs), 1), 1) for t in tables
        },
        "dupes": len(dupes),
        "losses": len(open_left) + len(unended),
    }


def _transactions(database: str) -> int:
    """Commits and rollbacks of `database` so far (pg_stat_database; its counters lag by up to
    the stats flush interval, a second, which a 60 s setup does not notice)."""
    rows = db_rows(
        database,
        "SELECT xact_commit + xact_rollback AS n FROM pg_stat_database "
        "WHERE datname = current_database()",
    )
    return int(rows[0]["n"])


def _size(database: str) -> int:
    """The database's bytes on disk (tables, indexes, TOAST: pg_database_size)."""
    rows = db_rows(database, "SELECT pg_database_size(current_database()) AS n")
    return int(rows[0]["n"])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--targets", type=int, default=24)
    ap.add_argument("--hosts", type=int, default=6)
    ap.add_argument("--every", type=int, default=10)
    ap.add_argument("--duration", type=int, default=60)
    ap.add_argument("--setups", choices=sorted(SETUPS), default="all")
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()
    bindir = server_bindir()
    assert bindir, "needs PostgreSQL's server binaries (apt-get install postgresql)"
    machine = describe()
    pg = Cluster.start(
        bindir,
        durable=True,
        settings={"shared_preload_libraries": "'pg_stat_statements'"},
    )
    sites = [SiteServer().start() for _ in range(args.hosts)]
    for s in sites:
        s.fallback = page("<html><body><p>a page</p></body></html>")
    results = []
    try:
        for workers, kill in SETUPS[args.setups]:
            results.append(one_setup(pg, sites, args, workers, kill))
            print(results[-1], flush=True)
    finally:
        for s in sites:
            s.stop()
        pg.stop()
    f = lambda v, fmt="{:.1f}": "-" if v is None else fmt.format(v)  # noqa: E731
    table = [
        "| setup | passes/min | fetches/s | lateness p50 / p99 (s) | queue waiting mean / max "
        "| kill -9 → that target's next ok pass (s) | PostgreSQL statements/s (per pass) "
        "| transactions/s | database KB per pass | failed | duplicates | losses |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        table.append(
            f"| {r['setup']} | {f(r['passes_min'])} | {f(r['fetches_s'], '{:.2f}')} "
            f"| {f(r['late_p50'], '{:.2f}')} / {f(r['late_p99'], '{:.2f}')} "
            f"| {f(r['wait_mean'])} / {f(r['wait_max'], '{}')} | {f(r['recovery'])} "
            f"| {f(r['statements_s'], '{:.0f}')} ({f(r['statements_pass'], '{:.0f}')}) "
            f"| {f(r['xacts_s'], '{:.0f}')} | {f(r['kb_pass'])} "
            f"| {r['failed']} | {r['dupes']} | {r['losses']} |"
        )
    text = "\n".join(table)
    print(text)
    if args.write:
        out = ROOT / "benchmarks" / "RESULTS-cluster.md"
        out.write_text(
            "# Cluster benchmark (benchmarks/cluster.py)\n\n"
            f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {machine}\n\n"
            f"Workload: {args.targets} targets (one page each) on {args.hosts} loopback hosts, "
            f"each every {args.every} s, {args.duration} s per setup; catalog and queue on one "
            "durable PostgreSQL 15 cluster (a fresh database per setup).\n\n" + text + "\n"
        )


if __name__ == "__main__":
    main()
