"""What the web UI asks of the catalog: read-only queries, each one page of a list at a time.

The nearest-capture lookup behind `/api/show` is the hot path: `storage.lookup.NEAREST`, the two
probes of the (surt, timestamp) index in one SQL statement, run on a bare connection (no ORM
objects), with the choice between them that every other lookup makes (`storage.lookup.pick`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from monitor.changes import filter_events
from storage.catalog import TIME, time_of
from storage.enums import REPLAYABLE
from storage.errors import CaptureNotFound
from storage.lookup import BY_ID, NEAREST, CaptureRow, pick, probe_params, probe_time
from storage.models import Capture, ChangeEvent, CrawlRun, TargetRow, UrlState
from storage.surt import surt
from storage.timestamps import iso_second

_NEAREST = text(NEAREST)
_BY_ID = text(BY_ID)


def nearest_json(engine: Engine, url: str, at: str | None = None) -> dict:
    """The capture of `url` nearest `at` as the contract's JSON shape: the same capture
    `storage.retrieval.nearest` picks (the earlier on a tie, the newest when `at` is empty)."""
    when = probe_time(at or None)
    with engine.connect() as conn:
        rows = [CaptureRow(*r) for r in conn.execute(_NEAREST, probe_params(url, when))]
    best = pick(when, rows)
    if best is None:
        raise CaptureNotFound(f"no capture of {url}")
    return best.as_json()


def capture_json(engine: Engine, capture_id: int) -> dict:
    """Capture `capture_id` as the contract's JSON shape (`/api/show?id=`)."""
    with engine.connect() as conn:
        rows = [CaptureRow(*r) for r in conn.execute(_BY_ID, {"id": capture_id})]
    if not rows:
        raise CaptureNotFound(f"no capture with id {capture_id}")
    return rows[0].as_json()


@dataclass(frozen=True)
class Page:
    """One page of a long list: `number` counts from 1."""

    number: int
    size: int
    total: int

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size

    @property
    def count(self) -> int:
        return max(1, -(-self.total // self.size))

    @property
    def has_prev(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.count


def page_of(requested: int, size: int, total: int) -> Page:
    count = max(1, -(-total // size))
    return Page(min(max(1, requested), count), size, total)


# --- captures of one URL ------------------------------------------------------------------------


def capture_count(s: Session, url: str) -> int:
    return s.scalar(select(func.count()).select_from(Capture).where(Capture.surt == surt(url))) or 0


def timeline(s: Session, url: str, page: Page) -> list[Capture]:
    """One page of the URL's captures, newest first."""
    q = (
        select(Capture)
        .where(Capture.surt == surt(url))
        .order_by(Capture.timestamp.desc(), Capture.micros.desc(), Capture.id.desc())
        .limit(page.size)
        .offset(page.offset)
    )
    return list(s.scalars(q))


def neighbours(s: Session, capture: Capture) -> tuple[Capture | None, Capture | None]:
    """The replayable captures of the same URL just before and just after `capture`."""
    base = (
        select(Capture).where(Capture.surt == capture.surt, Capture.kind.in_(REPLAYABLE)).limit(1)
    )
    earlier = s.scalars(
        base.where(TIME < time_of(capture)).order_by(
            Capture.timestamp.desc(), Capture.micros.desc(), Capture.id.desc()
        )
    ).first()
    later = s.scalars(
        base.where(TIME > time_of(capture)).order_by(
            Capture.timestamp.asc(), Capture.micros.asc(), Capture.id.asc()
        )
    ).first()
    return earlier, later


# --- events ------------------------------------------------------------------------------------


def event_count(s: Session, **filters) -> int:
    return s.scalar(filter_events(select(func.count()).select_from(ChangeEvent), **filters)) or 0


def recent_events(s: Session, page: Page, **filters) -> list[ChangeEvent]:
    """Events newest first (a feed's order; `warcwatch changes` lists oldest first)."""
    q = filter_events(select(ChangeEvent), **filters)
    q = (
        q.order_by(ChangeEvent.detected_at.desc(), ChangeEvent.id.desc())
        .limit(page.size)
        .offset(page.offset)
    )
    return list(s.scalars(q))


def captures_by_id(s: Session, ids: set[int | None]) -> dict[int, Capture]:
    known = {i for i in ids if i is not None}
    if not known:
        return {}
    return {c.id: c for c in s.scalars(select(Capture).where(Capture.id.in_(known)))}


# --- targets -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TargetSummary:
    name: str
    kind: str | None
    urls: tuple[str, ...]
    schedule: str | None
    in_config: bool
    last_run: CrawlRun | None
    last_capture: str | None
    pages: int
    events: int

    def as_json(self) -> dict:
        run = self.last_run
        return {
            "name": self.name,
            "kind": self.kind,
            "urls": list(self.urls),
            "schedule": self.schedule,
            "in_config": self.in_config,
            "last_capture": self.last_capture,
            "pages": self.pages,
            "events": self.events,
            "last_run": None
            if run is None
            else {
                "id": run.id,
                "started_at": _iso(run.started_at),
                "finished_at": _iso(run.finished_at),
                "status": run.status,
                "stats": run.stats,
            },
        }


def _iso(when: datetime | None) -> str | None:
    return None if when is None else iso_second(when)


def target_summaries(s: Session, config) -> list[TargetSummary]:
    """The watchlist's targets and any others the catalog knows, with their last run."""
    rows = {t.name: t for t in s.scalars(select(TargetRow))}
    configured = {t.name: t for t in config.targets}
    last_runs: dict[str, CrawlRun] = {}
    for run in s.scalars(select(CrawlRun).order_by(CrawlRun.id.desc()).limit(500)):
        for name in run.targets or ():
            last_runs.setdefault(name, run)
    pages = dict(s.execute(select(UrlState.target, func.count()).group_by(UrlState.target)).all())
    events = dict(
        s.execute(select(ChangeEvent.target, func.count()).group_by(ChangeEvent.target)).all()
    )
    out = []
    for name in [*configured, *sorted(set(rows) - set(configured))]:
        t, row = configured.get(name), rows.get(name)
        last = s.scalar(select(func.max(Capture.timestamp)).where(Capture.target == name))
        out.append(
            TargetSummary(
                name=name,
                kind=t.kind if t else (row.kind if row else None),
                urls=t.urls if t else (),
                schedule=t.schedule if t else None,
                in_config=t is not None,
                last_run=last_runs.get(name),
                last_capture=last,
                pages=pages.get(name, 0),
                events=events.get(name, 0),
            )
        )
    return out


def target_pages(s: Session, name: str, page: Page) -> list[UrlState]:
    q = (
        select(UrlState)
        .where(UrlState.target == name)
        .order_by(UrlState.url)
        .limit(page.size)
        .offset(page.offset)
    )
    return list(s.scalars(q))


def totals(s: Session) -> dict[str, int]:
    return {
        "captures": s.scalar(select(func.count()).select_from(Capture)) or 0,
        "events": s.scalar(select(func.count()).select_from(ChangeEvent)) or 0,
        "runs": s.scalar(select(func.count()).select_from(CrawlRun)) or 0,
    }
