"""The cluster's part of `warcwatch status` (`"cluster"` in its JSON): which scheduler leads and
which stand by (their lock connections, named by `application_name`, and who holds the leader
lock in `pg_locks`), the workers and their heartbeats (procrastinate's table), the queue's depth
and its oldest waiting job. Read-only, from the catalog's database; no procrastinate import."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from monitor.cluster.leader import APP_NAME
from monitor.cluster.queue import LEADER_KEY, QUEUE
from storage.timestamps import iso_offset

if TYPE_CHECKING:
    from sqlalchemy import Engine

_SCHEDULERS = """
SELECT a.application_name AS name, a.backend_start AS since, l.pid IS NOT NULL AS leader
  FROM pg_stat_activity a
  LEFT JOIN pg_locks l ON l.pid = a.pid AND l.locktype = 'advisory' AND l.granted
       AND l.classid = :hi AND l.objid = :lo AND l.objsubid = 1
 WHERE a.application_name LIKE :prefix
 ORDER BY a.backend_start
"""
_WORKERS = """
SELECT w.id, w.last_heartbeat,
       (SELECT array_agg(j.args->>'target' ORDER BY j.id) FROM procrastinate_jobs j
         WHERE j.worker_id = w.id AND j.status = 'doing') AS running
  FROM procrastinate_workers w ORDER BY w.id
"""
_QUEUE = """
SELECT j.status, count(*) AS n, min(e.at) AS oldest
  FROM procrastinate_jobs j
  LEFT JOIN procrastinate_events e ON e.job_id = j.id AND e.type = 'deferred'
 WHERE j.queue_name = :queue AND j.status IN ('todo', 'doing')
 GROUP BY j.status
"""
_OLDEST = """
SELECT j.args->>'target' AS target FROM procrastinate_jobs j
  JOIN procrastinate_events e ON e.job_id = j.id AND e.type = 'deferred'
 WHERE j.queue_name = :queue AND j.status = 'todo' ORDER BY e.at LIMIT 1
"""


def collect_cluster(engine: Engine, now: datetime) -> dict[str, Any]:
    """{"runner", "leader": {"node", "connected_since"} | None, "standbys": [...], "workers":
    [{"id", "last_heartbeat", "heartbeat_age", "running": [target...]}], "queue": {"waiting",
    "running", "oldest_waiting", "oldest_waiting_target", "oldest_wait_seconds"}}."""
    from sqlalchemy import text

    out: dict[str, Any] = {"runner": "procrastinate", "leader": None, "standbys": []}
    with engine.connect() as conn:
        params = {"hi": LEADER_KEY >> 32, "lo": LEADER_KEY & 0xFFFFFFFF, "prefix": f"{APP_NAME} %"}
        for row in conn.execute(text(_SCHEDULERS), params):
            node = {
                "node": row.name.removeprefix(APP_NAME).strip(),
                "connected_since": iso_offset(row.since),
            }
            if row.leader and out["leader"] is None:
                out["leader"] = node
            else:
                out["standbys"].append(node)
        exists = conn.execute(text("SELECT to_regclass('procrastinate_jobs')")).scalar()
        if exists is None:  # no worker or scheduler has started yet
            out["workers"] = []
            out["queue"] = _queue({}, None, now)
            return out
        out["workers"] = [
            {
                "id": row.id,
                "last_heartbeat": iso_offset(row.last_heartbeat),
                "heartbeat_age": round((now - row.last_heartbeat).total_seconds(), 1),
                "running": list(row.running or []),
            }
            for row in conn.execute(text(_WORKERS))
        ]
        counts = {
            row.status: (row.n, row.oldest) for row in conn.execute(text(_QUEUE), {"queue": QUEUE})
        }
        oldest_target = conn.execute(text(_OLDEST), {"queue": QUEUE}).scalar()
    out["queue"] = _queue(counts, oldest_target, now)
    return out


def _queue(
    counts: dict[str, tuple[int, datetime | None]], target: str | None, now: datetime
) -> dict:
    waiting, oldest = counts.get("todo", (0, None))
    return {
        "waiting": waiting,
        "running": counts.get("doing", (0, None))[0],
        "oldest_waiting": iso_offset(oldest) if oldest else None,
        "oldest_waiting_target": target,
        "oldest_wait_seconds": round((now - oldest).total_seconds(), 1) if oldest else None,
    }


def cluster_lines(c: dict[str, Any]) -> list[str]:
    """The text of `status` for the cluster: a few lines above the targets' table."""
    leader = c["leader"]
    lines = [
        "cluster: "
        + (f"leader {leader['node']}" if leader else "no leader (no `warcwatch run` is up)")
        + (f", {len(c['standbys'])} standing by" if c["standbys"] else "")
    ]
    workers = c["workers"]
    lines.append(f"workers: {len(workers)}" + (":" if workers else " (passes wait in the queue)"))
    for w in workers:
        doing = ", ".join(w["running"]) or "idle"
        lines.append(f"  worker {w['id']}: heartbeat {w['heartbeat_age']:g}s ago, {doing}")
    q = c["queue"]
    line = f"queue: {q['waiting']} waiting, {q['running']} running"
    if q["oldest_waiting"]:
        line += (
            f"; oldest waiting: {q['oldest_waiting_target']} since {q['oldest_waiting'][:19]} "
            f"({q['oldest_wait_seconds']:g}s)"
        )
    lines.append(line)
    return lines
