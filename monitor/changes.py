"""Querying change events: the list `warcwatch changes` prints and the web UI pages through."""

from __future__ import annotations

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from storage.models import ChangeEvent
from storage.timestamps import DOWN, parse_timestamp


def filter_events(
    q,
    since: str | None = None,
    target: str | None = None,
    url: str | None = None,
    kind: str | None = None,
):
    """`q` narrowed to the events matching the filters the CLI, the feeds and the API share."""
    if since:
        q = q.where(ChangeEvent.detected_at >= parse_timestamp(since, DOWN))
    if target:
        q = q.where(ChangeEvent.target == target)
    if url:
        q = q.where(ChangeEvent.url == url)
    if kind:
        q = q.where(ChangeEvent.kind == kind)
    return q


def list_events(
    engine: Engine,
    since: str | None = None,
    target: str | None = None,
    url: str | None = None,
    kind: str | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> list[ChangeEvent]:
    """Events oldest first; `since` is a Wayback timestamp prefix or ISO 8601."""
    q = filter_events(
        select(ChangeEvent).order_by(ChangeEvent.detected_at, ChangeEvent.id),
        since,
        target,
        url,
        kind,
    )
    if limit is not None:
        q = q.limit(limit).offset(offset)
    with Session(engine, expire_on_commit=False) as s:
        events = list(s.scalars(q))
        s.expunge_all()
    return events
