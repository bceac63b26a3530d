"""Delivering alerts from the outbox through apprise (mailto://, Slack, Matrix, Telegram, ntfy,
json:// webhooks …), retrying with backoff, marking each message sent exactly once.

Messages were written in the same transaction as their events, so a crash or an unreachable
channel loses nothing: whatever is pending is sent by the next delivery, by this pass, the next
pass or the daemon. A message is marked sent in its own commit right after its channel accepts
it, so a restart does not send it again.

One message has one sender: before sending, a process *claims* each due message (status
'sending', committed, with a lease), and only the process whose conditional UPDATE changed the
row sends it, however many passes and daemon workers deliver at once. The one window left is a
sender killed after its channel accepted a message and before it committed 'sent': that message
is sent again once its lease runs out, at most once per such kill, and its `attempts` and
`last_error` say so; `max_attempts` bounds the tries in all.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, case, select, update
from sqlalchemy.orm import Session

from storage.catalog import utcnow
from storage.models import OutboxMessage

log = logging.getLogger(__name__)
MAX_BACKOFF = timedelta(hours=1)
# How long a claim holds: far above apprise's own network timeouts, so a live sender always
# finishes first; a sender killed mid-delivery delays its messages by this much.
LEASE = timedelta(minutes=5)
UNKNOWN_OUTCOME = "an earlier delivery's outcome is unknown: its sender stopped mid-delivery"


@dataclass(frozen=True)
class Delivery:
    sent: int = 0
    failed: int = 0
    pending: int = 0


def backoff(attempts: int) -> timedelta:
    """1 s, 2 s, 4 s … up to an hour between tries of one message."""
    return min(timedelta(seconds=2 ** max(0, attempts - 1)), MAX_BACKOFF)


def send_via_apprise(channel: str, title: str, body: str) -> str | None:
    """Sends one message; returns None on success or the reason it failed."""
    import apprise

    app = apprise.Apprise()
    if not app.add(channel):
        return f"not a valid apprise URL: {channel.split('://', 1)[0]}://…"
    try:
        ok = app.notify(title=title, body=body)
    except Exception as exc:  # noqa: BLE001 - a plugin error must not stop delivery of the others
        return f"{type(exc).__name__}: {exc}"
    return None if ok else "the channel refused or could not be reached"


Sender = Callable[[str, str, str], str | None]


def _due(now: datetime):
    """Messages whose time has come: pending ones, and claims whose sender's lease ran out."""
    return (OutboxMessage.status.in_(("pending", "sending")), OutboxMessage.next_attempt_at <= now)


def claim(engine: Engine, now: datetime, lease: timedelta = LEASE) -> list[OutboxMessage]:
    """Claim every due message for this process: one conditional UPDATE per message, committed
    before anything is sent, so of several processes delivering at once exactly one wins each
    message (the UPDATE's row count says which). The claim holds for `lease`; a sender that dies
    mid-delivery leaves it to be taken again after that."""
    with Session(engine) as s:
        ids = s.scalars(select(OutboxMessage.id).where(*_due(now)).order_by(OutboxMessage.id)).all()
    won: list[int] = []
    with engine.begin() as conn:
        for mid in ids:
            taken = conn.execute(
                update(OutboxMessage).where(OutboxMessage.id == mid, *_due(now)).values(
                    status="sending", attempts=OutboxMessage.attempts + 1, next_attempt_at=now + lease,
                    last_error=case((OutboxMessage.status == "sending", UNKNOWN_OUTCOME),
                                    else_=OutboxMessage.last_error),
                ))
            if taken.rowcount == 1:
                won.append(mid)
    if not won:
        return []
    with Session(engine) as s:
        due = s.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(won)).order_by(OutboxMessage.id)).all()
        s.expunge_all()
    return list(due)


def deliver_due(engine: Engine, max_attempts: int = 20, send: Sender = send_via_apprise,
                clock: Callable[[], datetime] = utcnow) -> Delivery:
    """One round: claim every message whose time has come, then send them (digest messages
    grouped per channel and run into one)."""
    due = claim(engine, clock())
    batches: dict[tuple, list[OutboxMessage]] = defaultdict(list)
    for m in due:
        batches[(m.channel, m.run_id) if m.digest else (m.channel, "single", m.id)].append(m)
    sent = failed = 0
    for key, messages in batches.items():
        if len(messages) == 1 and not messages[0].digest:
            title, body = messages[0].title, messages[0].body
        else:
            title = f"[warcwatch] {len(messages)} change{'s' if len(messages) != 1 else ''} detected"
            body = "\n\n".join(m.body for m in messages)
        error = send(key[0], title, body)
        with Session(engine) as s, s.begin():
            for m in messages:
                row = s.get(OutboxMessage, m.id)
                if row is None or row.status != "sending" or row.attempts != m.attempts:
                    continue  # our lease ran out and another sender took the message over
                if error is None:
                    row.status, row.sent_at, row.last_error = "sent", clock(), None
                else:
                    row.status, row.last_error = "pending", error[:500]
                    row.next_attempt_at = clock() + backoff(row.attempts)
                    if row.attempts >= max_attempts:
                        row.status = "dead"
        if error is None:
            sent += len(messages)
        else:
            failed += len(messages)
            log.warning("alert to %s failed (%s); will retry", key[0].split("://", 1)[0], error)
    return Delivery(sent=sent, failed=failed, pending=pending_count(engine))


def pending_count(engine: Engine) -> int:
    with Session(engine) as s:
        return len(s.scalars(select(OutboxMessage.id).where(OutboxMessage.status.in_(("pending", "sending")))).all())


def next_due(engine: Engine) -> datetime | None:
    with Session(engine) as s:
        return s.scalars(
            select(OutboxMessage.next_attempt_at).where(OutboxMessage.status == "pending")
            .order_by(OutboxMessage.next_attempt_at).limit(1)
        ).first()


def deliver(engine: Engine, retry_for: float = 30.0, max_attempts: int = 20, send: Sender = send_via_apprise,
            clock: Callable[[], datetime] = utcnow, sleep: Callable[[float], None] = time.sleep) -> Delivery:
    """Deliver what is due, retrying failures with backoff for up to `retry_for` seconds;
    what still fails stays pending for the next delivery."""
    deadline = time.monotonic() + retry_for
    total_sent = 0
    while True:
        result = deliver_due(engine, max_attempts, send, clock)
        total_sent += result.sent
        nxt = next_due(engine)
        if nxt is None:
            return Delivery(sent=total_sent, failed=result.failed, pending=0)
        wait = max(0.0, (nxt - clock()).total_seconds())
        if time.monotonic() + wait > deadline:
            return Delivery(sent=total_sent, failed=result.failed, pending=result.pending)
        sleep(wait)
