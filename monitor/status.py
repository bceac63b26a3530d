"""`warcwatch status`: each target's schedule, last run and next run, and whether the daemon runs.

Read-only and light: it reads the watchlist, the catalog (the daemon's run history, captures and
change events) and APScheduler's job table with plain SQL, and the daemon's pidfile. It imports
neither Scrapy nor APScheduler.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from crawler.report import limit_text
from monitor.config import Config
from storage.enums import UNSENT, DaemonOutcome, OutboxStatus, RecordKind, RunStatus
from storage.timestamps import iso_offset, naive_utc

PIDFILE = "warcwatch.pid"
JOBS_TABLE = "apscheduler_jobs"
_RECENT = timedelta(hours=24)


def daemon_info(archive_dir: Path, now: datetime | None = None) -> dict:
    """{"running": bool, "pid", "started_at", "uptime"}: running means the pidfile is locked."""
    path = archive_dir / PIDFILE
    try:
        f = open(path)
    except OSError:
        return {"running": False}
    with f:
        try:
            fcntl.flock(f, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            running = True
        else:
            fcntl.flock(f, fcntl.LOCK_UN)
            running = False
        try:
            data = json.loads(f.read() or "{}")
        except ValueError:
            data = {}
    if not running:
        return {"running": False}
    out = {
        "running": True,
        "pid": data.get("pid"),
        "started_at": data.get("started_at"),
        "uptime": None,
    }
    with contextlib.suppress(TypeError, ValueError):
        started = datetime.fromisoformat(data["started_at"])
        out["uptime"] = round(((now or datetime.now(UTC)) - started).total_seconds(), 1)
    return out


def _next_runs(engine: Engine) -> dict[str, float]:
    try:
        with engine.connect() as conn:
            rows = conn.execute(text(f"SELECT id, next_run_time FROM {JOBS_TABLE}"))
            return {jid.removeprefix("target:"): t for jid, t in rows if jid.startswith("target:")}
    except SQLAlchemyError:  # no daemon has run on this catalog yet
        return {}


def _iso(dt: datetime | None) -> str | None:
    return iso_offset(dt) if dt else None


def _last_runs(s: Session, names: list[str]) -> dict[str, dict]:
    from storage.models import REQUISITE, Capture, ChangeEvent, CrawlRun, DaemonRun

    newest = (
        select(func.max(DaemonRun.id)).where(DaemonRun.target.in_(names)).group_by(DaemonRun.target)
    )
    rows = {r.target: r for r in s.scalars(select(DaemonRun).where(DaemonRun.id.in_(newest)))}
    out: dict[str, dict] = {}
    for name, r in rows.items():
        out[name] = {
            "run": r.run_id,
            "scheduled_at": _iso(r.scheduled_at),
            "started_at": _iso(r.started_at),
            "finished_at": _iso(r.finished_at),
            "outcome": r.outcome,
            "pages": r.fetched,
            "failures": r.failed,
            "failure_reasons": r.failures,
            "error": r.error,
        }
    # The newest run is shown whoever ran it: a `warcwatch crawl` after the daemon's last run
    # (or of a target the daemon never ran) is the latest word on that target.
    missing = set(names)
    for run in s.scalars(select(CrawlRun).order_by(CrawlRun.id.desc()).limit(500)):
        for name in set(run.targets or ()) & missing:
            missing.discard(name)
            r = rows.get(name)
            if r is None or (
                r.run_id != run.id and r.finished_at is not None and run.started_at >= r.finished_at
            ):
                out[name] = {
                    "run": run.id,
                    "scheduled_at": None,
                    "started_at": _iso(run.started_at),
                    "finished_at": _iso(run.finished_at),
                    "outcome": DaemonOutcome.OK if run.status == RunStatus.FINISHED else run.status,
                    "pages": None,
                    "failures": None,
                    "failure_reasons": None,
                    "error": None,
                }
        if not missing:
            break
    run_ids = {v["run"] for v in out.values() if v["run"] is not None}
    new: dict[tuple[int, str], int] = {}
    changes: dict[tuple[int, str], int] = {}
    counted: dict[tuple[int, str], int] = {}
    failures: dict[tuple[int, str], int] = {}
    if run_ids:
        pages = Capture.purpose.is_distinct_from(REQUISITE)  # a page's embeds are no pages
        q = (
            select(Capture.run_id, Capture.target, func.count())
            .where(
                Capture.run_id.in_(run_ids),
                Capture.kind == RecordKind.RESPONSE,
                Capture.status == 200,
                pages,
            )
            .group_by(Capture.run_id, Capture.target)
        )
        new = {(r, t): n for r, t, n in s.execute(q)}
        q = (
            select(ChangeEvent.run_id, ChangeEvent.target, func.count())
            .where(ChangeEvent.run_id.in_(run_ids))
            .group_by(ChangeEvent.run_id, ChangeEvent.target)
        )
        changes = {(r, t): n for r, t, n in s.execute(q)}
        fetched = select(Capture.run_id, Capture.target, func.count()).where(
            Capture.run_id.in_(run_ids), pages
        )
        counted = {
            (r, t): n for r, t, n in s.execute(fetched.group_by(Capture.run_id, Capture.target))
        }
        failed = fetched.where(Capture.kind == RecordKind.FAILED).group_by(
            Capture.run_id, Capture.target
        )
        failures = {(r, t): n for r, t, n in s.execute(failed)}
    limits = _limits(s, run_ids)
    for name, v in out.items():
        key = (v["run"], name)
        if name in limits.get(v["run"], {}):
            v["max_pages_reached"] = limits[v["run"]][name]
        v["new_captures"] = new.get(key, 0)
        v["changes"] = changes.get(key, 0)
        if (
            v["pages"] is None and v["run"] is not None
        ):  # a `warcwatch crawl`: counted in the catalog
            v["pages"] = counted.get(key, 0) - failures.get(key, 0)
            v["failures"] = failures.get(key, 0)
    return out


def _limits(s: Session, run_ids: set[int]) -> dict[int, dict[str, int]]:
    """run → {target: max_pages} of the targets that stopped at their max_pages in that run."""
    from storage.models import CrawlRun

    if not run_ids:
        return {}
    q = select(CrawlRun.id, CrawlRun.stats).where(CrawlRun.id.in_(run_ids))
    return {run: (stats or {}).get("limits") or {} for run, stats in s.execute(q)}


def _recent_errors(s: Session, names: list[str], now: datetime) -> dict[str, int]:
    from storage.models import DaemonRun

    since = naive_utc(now - _RECENT)
    q = (
        select(DaemonRun.target, func.count())
        .where(
            DaemonRun.target.in_(names),
            DaemonRun.started_at >= since,
            DaemonRun.outcome.in_(
                (DaemonOutcome.FAILED, DaemonOutcome.TIMEOUT, DaemonOutcome.INTERRUPTED)
            ),
        )
        .group_by(DaemonRun.target)
    )
    return dict(s.execute(q).all())


def collect_status(
    config: Config, engine: Engine | None = None, now: datetime | None = None
) -> dict:
    """The `status --json` object: {"daemon": {...}, "targets": [{...}, ...], "alerts": {state:
    count}, "timestamps": {state: count}}."""
    from storage.catalog import open_catalog

    now = now or datetime.now(UTC)
    engine = engine or open_catalog(config.archive.database_url)
    names = [t.name for t in config.targets]
    next_runs = _next_runs(engine)
    with Session(engine) as s:
        last = _last_runs(s, names) if names else {}
        errors = _recent_errors(s, names, now) if names else {}
    daemon = daemon_info(config.archive.dir, now)
    targets = []
    for t in config.targets:
        # the job table keeps a stopped daemon's next run times: they are no schedule until it runs
        nxt = next_runs.get(t.name) if daemon["running"] else None
        targets.append(
            {
                "name": t.name,
                "kind": t.kind,
                "urls": list(t.urls),
                "schedule": t.schedule,
                "last_run": last.get(t.name),
                "next_run": iso_offset(datetime.fromtimestamp(nxt, UTC)) if nxt else None,
                "errors_24h": errors.get(t.name, 0),
            }
        )
    return {
        "daemon": daemon,
        "targets": targets,
        "alerts": _alerts(engine),
        "timestamps": _timestamps(engine),
    }


def _timestamps(engine: Engine) -> dict[str, int]:
    """RFC 3161 time-stamp requests per state (`pending`, `sending`, `stamped`, `dead`)."""
    from storage.evidence.tsa import token_counts

    return token_counts(engine)


def timestamps_line(counts: dict[str, int]) -> str | None:
    """`time-stamps: 2 waiting, 1 dead (…)`, or None when nothing needs a look."""
    parts = []
    if waiting := counts.get("pending", 0) + counts.get("sending", 0):
        parts.append(f"{waiting} waiting for their TSA")
    if counts.get("dead"):
        parts.append(f"{counts['dead']} dead (their TSA never answered; see timestamp_tokens)")
    return "time-stamps: " + ", ".join(parts) if parts else None


def _alerts(engine: Engine) -> dict[str, int]:
    """Outbox messages per state (`pending`, `sending`, `sent`, `dead`, `unknown`)."""
    from monitor.alerts import outbox_counts

    return outbox_counts(engine)


def alerts_line(counts: dict[str, int]) -> str | None:
    """`alerts: 3 waiting, 1 dead, 2 with unknown outcome (…)`, or None when nothing needs a
    look."""
    parts = []
    if waiting := sum(counts.get(state, 0) for state in UNSENT):
        parts.append(f"{waiting} waiting")
    if counts.get(OutboxStatus.DEAD):
        parts.append(f"{counts[OutboxStatus.DEAD]} dead (gave up after [alerts] max_attempts)")
    if counts.get(OutboxStatus.UNKNOWN):
        parts.append(
            f"{counts[OutboxStatus.UNKNOWN]} with unknown outcome "
            "(their sender stopped mid-delivery; not sent again)"
        )
    return "alerts: " + ", ".join(parts) if parts else None


def render_text(status: dict) -> str:
    d = status["daemon"]
    if d["running"]:
        lines = [f"daemon: running, pid {d['pid']}, up {_duration(d.get('uptime'))}"]
    else:
        lines = ["daemon: not running: nothing is scheduled until `warcwatch run` starts it"]
    header = (
        f"{'target':<24} {'schedule':<20} {'last run':<21} {'result':<12} {'pages':>5}"
        f" {'new':>4} {'chg':>4} {'fail':>4}  next run"
    )
    if line := alerts_line(status.get("alerts", {})):
        lines.append(line)
    if line := timestamps_line(status.get("timestamps", {})):
        lines.append(line)
    lines += ["", header]
    for t in status["targets"]:
        r = t["last_run"] or {}
        lines.append(
            f"{t['name'][:24]:<24} {(t['schedule'] or 'not scheduled')[:20]:<20} "
            f"{(r.get('started_at') or '-')[:19]:<21} {(r.get('outcome') or '-'):<12} "
            f"{_n(r.get('pages')):>5} {_n(r.get('new_captures')):>4} {_n(r.get('changes')):>4}"
            f" {_n(r.get('failures')):>4}  "
            f"{(t['next_run'] or ('-' if d['running'] else 'not running'))[:19]}"
            + (f"  ({t['errors_24h']} errors in 24h)" if t["errors_24h"] else "")
        )
        if r.get("error"):
            lines.append(f"{'':<24} last error: {r['error'][:200]}")
        if r.get("max_pages_reached"):
            lines.append(f"{'':<24} {limit_text(t['name'], r['max_pages_reached'])}")
    return "\n".join(lines)


def _n(v) -> str:
    return "-" if v is None else str(v)


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    seconds = int(seconds)
    d, rem = divmod(seconds, 86400)
    h, rem = divmod(rem, 3600)
    m, s = divmod(rem, 60)
    return (f"{d}d " if d else "") + f"{h:02d}:{m:02d}:{s:02d}"
