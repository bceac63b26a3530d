"""Change events and their alerts: an event row and one outbox message per channel, always in
the same transaction, so an event is never without its alerts nor an alert without its event."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from monitor.alert_text import alert_text, links_for
from storage.models import Capture, ChangeEvent, OutboxMessage

KINDS = ("added", "changed", "removed", "restored", "moved")


def record_event(
    session: Session,
    *,
    kind: str,
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
) -> ChangeEvent:
    assert kind in KINDS, kind
    event = ChangeEvent(
        kind=kind,
        url=url,
        target=target,
        detected_at=detected_at,
        run_id=run_id,
        from_capture=from_capture,
        to_capture=to_capture,
        summary=summary or {"added": [], "removed": []},
        new_url=new_url,
        reason=reason,
    )
    session.add(event)
    session.flush()
    before = session.get(Capture, from_capture) if public_url and from_capture else None
    after = session.get(Capture, to_capture) if public_url and to_capture else None
    subject, body = alert_text(event, title, links_for(public_url, kind, before, after))
    for channel in channels:
        session.add(
            OutboxMessage(
                event_id=event.id,
                channel=channel,
                title=subject,
                body=body,
                digest=digest,
                run_id=run_id,
                status="pending",
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
        )
    return event
