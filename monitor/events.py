"""Change events and their alerts: an event row and one outbox message per channel, always in
the same transaction, so an event is never without its alerts nor an alert without its event.

A URL that several targets list raises its event for each of them, but is alerted once per
channel: the second target's event joins the first one's message (named in it) instead of
queueing a copy."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.event_text import links_for, render_event
from storage.catalog import insert_unless_present
from storage.enums import EventKind, OutboxStatus
from storage.evidence.log import log_event
from storage.models import Capture, ChangeEvent, OutboxMessage

KINDS = tuple(EventKind)
# what makes an event one (the unique index ux_events_capture_kind)
_ONE_EVENT = ("target", "url", "kind", "to_capture")


def record_event(
    session: Session,
    *,
    kind: EventKind,
    url: str,
    target: str,
    detected_at: str,
    run_id: int | None,
    channels: tuple[str, ...],
    now: datetime,
    digest: bool = False,
    from_capture: int | None = None,
    to_capture: int | None = None,
    summary: dict | None = None,
    new_url: str | None = None,
    reason: str | None = None,
    title: str | None = None,
    public_url: str | None = None,
    tags: tuple[str, ...] = (),
) -> ChangeEvent:
    assert kind in KINDS, kind
    values = {
        "kind": kind,
        "url": url,
        "target": target,
        "detected_at": detected_at,
        "run_id": run_id,
        "from_capture": from_capture,
        "to_capture": to_capture,
        "summary": summary or {"added": [], "removed": []},
        "new_url": new_url,
        "reason": reason,
    }
    session.flush()  # (the rows this change is about, when they are new in this session)
    event_id = insert_unless_present(session, ChangeEvent, values, _ONE_EVENT)
    if event_id is None:
        # another analyser (a second worker, a pass run twice) recorded this very change first:
        # its alerts were queued with it, in its transaction
        return session.scalars(
            select(ChangeEvent).where(*(getattr(ChangeEvent, k) == values[k] for k in _ONE_EVENT))
        ).one()
    event = session.get_one(ChangeEvent, event_id)
    log_event(session, event)  # its evidence log entry, in the event's transaction
    before = session.get(Capture, from_capture) if public_url and from_capture else None
    after = session.get(Capture, to_capture) if public_url and to_capture else None
    text = render_event(event, title, links_for(public_url, kind, before, after), tags)
    subject, body = text.title, text.body
    queued = _queued_for_twins(session, event)
    for channel in channels:
        if channel in queued:  # the same URL and event for another target: one alert says both
            queued[channel].body += f"\nalso watched by target: {target}"
            continue
        session.add(
            OutboxMessage(
                event_id=event.id,
                channel=channel,
                title=subject,
                body=body,
                digest=digest,
                run_id=run_id,
                status=OutboxStatus.PENDING,
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
        )
    return event


def _queued_for_twins(session: Session, event: ChangeEvent) -> dict[str, OutboxMessage]:
    """channel → the message already queued in this run for the same event of the same URL (raised
    for another target that lists it)."""
    if event.run_id is None:
        return {}
    q = (
        select(OutboxMessage)
        .join(ChangeEvent, OutboxMessage.event_id == ChangeEvent.id)
        .where(
            ChangeEvent.run_id == event.run_id,
            ChangeEvent.url == event.url,
            ChangeEvent.kind == event.kind,
            ChangeEvent.id != event.id,
        )
    )
    return {m.channel: m for m in session.scalars(q)}


def stamp_alerts(session: Session, run_id: int, size: int, root_hash: str) -> None:
    """Each alert of run `run_id`'s events not yet sent names the event's receipt and the signed
    checkpoint of the evidence log that covers it (tree size and root hash)."""
    q = (
        select(OutboxMessage)
        .join(ChangeEvent, ChangeEvent.id == OutboxMessage.event_id)
        .where(ChangeEvent.run_id == run_id, OutboxMessage.status == OutboxStatus.PENDING)
    )
    for message in session.scalars(q):
        message.body += (
            f"\nreceipt: warcwatch receipt {message.event_id}"
            f" (evidence checkpoint {size}, root {root_hash})"
        )
