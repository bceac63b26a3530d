"""Delivering alerts from the outbox through apprise (mailto://, Slack, Matrix, Telegram, ntfy,
json:// webhooks …), retrying with backoff, marking each message sent exactly once.

Messages were written in the same transaction as their events, so a crash or an unreachable
channel loses nothing: whatever is pending is sent by the next delivery, by this pass, the next
pass or the daemon. A message is marked sent in its own commit right after its channel accepts
it, so a restart does not send it again.

One message has one sender: a process *claims* the next due message (status 'sending',
committed, with a lease) just before sending it, and only the process whose claim changed the row
sends it, however many passes and daemon workers deliver at once. On PostgreSQL the claim reads
with `FOR UPDATE SKIP LOCKED`, so senders pass each other's rows by; on SQLite a conditional
UPDATE decides. Claims are taken one message (or one digest) at a time, so a sender killed
mid-delivery leaves at most that one message with an unknown outcome.

Such a message (its channel may or may not have it) is sent again once its lease runs out, at
most `resend_unknown` times; after that it is marked 'unknown' instead of being sent blind over
and over, and `status` reports it. `attempts` counts every try, `last_error` says how the last
one ended and how many outcomes are unknown.

Delivery within a pass is bounded: each send waits at most `timeout` seconds for its channel, a
channel found unreachable is not tried again in the same pass, and nothing new is started after
`retry_for` seconds; what is left stays in the outbox for the next delivery, and the pass summary
says why (`alerts: 3 queued, channel json://… unreachable: connection refused; will retry`).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session

from monitor.channels import Sender, SendError, channel_label, load_apprise, send_via_apprise
from storage.enums import UNSENT, OutboxStatus
from storage.models import OutboxMessage
from storage.timestamps import utcnow

__all__ = ["SendError", "Sender", "claim", "deliver", "deliver_due", "send_via_apprise"]

log = logging.getLogger(__name__)
MAX_BACKOFF = timedelta(hours=1)
# How long a claim holds: far above a send's own time limit, so a live sender always finishes
# first; a sender killed mid-delivery delays its message by this much.
LEASE = timedelta(minutes=5)
TIMEOUT = 10.0  # seconds a send waits to connect, and again for the answer
RESEND_UNKNOWN = 1  # times a message whose sender died mid-delivery is sent again
UNKNOWN_OUTCOME = "an earlier delivery's outcome is unknown: its sender stopped mid-delivery"
_UNKNOWN_COUNT = re.compile(r" \[outcome unknown (\d+)×\]$")


@dataclass(frozen=True)
class Delivery:
    sent: int = 0
    failed: int = 0
    pending: int = 0
    unknown: int = 0  # messages this delivery marked 'unknown' (sent again too often after crashes)
    # channel → why it still has messages waiting
    errors: dict[str, str] = field(default_factory=dict)

    def as_summary(self) -> dict:
        """The pass summary's `alerts`: {"sent", "pending"}, plus "unknown" and "channels"
        (label → reason) when there are any."""
        out: dict = {"sent": self.sent, "pending": self.pending}
        if self.unknown:
            out["unknown"] = self.unknown
        if self.errors:
            out["channels"] = {channel_label(c): reason for c, reason in self.errors.items()}
        return out


def summary_line(alerts: dict) -> str | None:
    """`alerts: 1 sent, 3 queued, channel json://… unreachable: connection refused; will retry`,
    or None when a pass had no alerts at all."""
    parts = []
    if alerts.get("sent"):
        parts.append(f"{alerts['sent']} sent")
    if alerts.get("pending"):
        parts.append(f"{alerts['pending']} queued")
    for label, reason in alerts.get("channels", {}).items():
        parts.append(f"channel {label} {reason}")
    if alerts.get("unknown"):
        parts.append(
            f"{alerts['unknown']} with unknown outcome (a sender stopped mid-delivery; see status)"
        )
    if not parts:
        return None
    return "alerts: " + ", ".join(parts) + ("; will retry" if alerts.get("pending") else "")


def backoff(attempts: int) -> timedelta:
    """1 s, 2 s, 4 s … up to an hour between tries of one message."""
    return min(timedelta(seconds=2 ** max(0, attempts - 1)), MAX_BACKOFF)


def unknown_count(last_error: str | None) -> int:
    m = _UNKNOWN_COUNT.search(last_error or "")
    return int(m.group(1)) if m else 0


def _with_count(text: str, unknown: int) -> str:
    """`last_error` keeps how many outcomes are unknown, whatever happened since."""
    return text[:450] + (f" [outcome unknown {unknown}×]" if unknown else "")


def _due(now: datetime, skip: Collection[str] = ()):
    """Messages whose time has come: pending ones, and claims whose sender's lease ran out."""
    due = [OutboxMessage.status.in_(UNSENT), OutboxMessage.next_attempt_at <= now]
    if skip:
        due.append(OutboxMessage.channel.not_in(list(skip)))
    return due


def _claim_values(row, now: datetime, lease: timedelta, resend_unknown: int) -> dict:
    if row.status == OutboxStatus.PENDING:
        return {
            "status": OutboxStatus.SENDING,
            "attempts": row.attempts + 1,
            "next_attempt_at": now + lease,
        }
    unknown = unknown_count(row.last_error) + 1  # its sender's lease ran out: it died mid-delivery
    if unknown > resend_unknown:
        return {"status": OutboxStatus.UNKNOWN, "last_error": _with_count(UNKNOWN_OUTCOME, unknown)}
    return {
        "status": OutboxStatus.SENDING,
        "attempts": row.attempts + 1,
        "next_attempt_at": now + lease,
        "last_error": _with_count(UNKNOWN_OUTCOME, unknown),
    }


def claim_next(
    engine: Engine,
    now: datetime,
    lease: timedelta = LEASE,
    skip: Collection[str] = (),
    resend_unknown: int = RESEND_UNKNOWN,
) -> list[OutboxMessage]:
    """Claim the next due message (a digest: every due message of its channel and run) for this
    process and commit the claim, before anything is sent. [] when nothing is due."""
    cols = (
        OutboxMessage.id,
        OutboxMessage.status,
        OutboxMessage.attempts,
        OutboxMessage.last_error,
        OutboxMessage.digest,
        OutboxMessage.channel,
        OutboxMessage.run_id,
    )
    with engine.begin() as conn:
        while True:
            # FOR UPDATE SKIP LOCKED on PostgreSQL; SQLite has no row locks (SQLAlchemy leaves it
            # out)
            first = conn.execute(
                select(*cols)
                .where(*_due(now, skip))
                .order_by(OutboxMessage.id)
                .limit(1)
                .with_for_update(skip_locked=True)
            ).first()
            if first is None:
                return []
            group = [first]
            if first.digest:
                group += conn.execute(
                    select(*cols)
                    .where(
                        *_due(now, skip),
                        OutboxMessage.digest.is_(True),
                        OutboxMessage.channel == first.channel,
                        OutboxMessage.run_id.is_(None)
                        if first.run_id is None
                        else OutboxMessage.run_id == first.run_id,
                        OutboxMessage.id != first.id,
                    )
                    .order_by(OutboxMessage.id)
                    .with_for_update(skip_locked=True)
                ).all()
            won = []
            for row in group:
                values = _claim_values(row, now, lease, resend_unknown)
                # conditional on the state just read: of several SQLite senders only one changes the
                # row
                taken = conn.execute(
                    update(OutboxMessage)
                    .where(
                        OutboxMessage.id == row.id,
                        OutboxMessage.status == row.status,
                        OutboxMessage.attempts == row.attempts,
                        *_due(now),
                    )
                    .values(**values)
                )
                if taken.rowcount == 1 and values["status"] == OutboxStatus.SENDING:
                    won.append(row.id)
                elif taken.rowcount == 1:
                    log.warning(
                        "alert %s to %s: %s; not sent again",
                        row.id,
                        channel_label(row.channel),
                        values["last_error"],
                    )
            if won:
                break
    with Session(engine) as s:
        due = s.scalars(
            select(OutboxMessage).where(OutboxMessage.id.in_(won)).order_by(OutboxMessage.id)
        ).all()
        s.expunge_all()
    return list(due)


def claim(engine: Engine, now: datetime, lease: timedelta = LEASE) -> list[OutboxMessage]:
    """Claim every due message at once (one claim after another): for tools and tests that
    stand in for a sender; delivery itself claims as it goes."""
    claimed: list[OutboxMessage] = []
    while batch := claim_next(engine, now, lease):
        claimed += batch
    return claimed


def _text(messages: list[OutboxMessage]) -> tuple[str, str]:
    if len(messages) == 1 and not messages[0].digest:
        return messages[0].title, messages[0].body
    title = f"[warcwatch] {len(messages)} change{'s' if len(messages) != 1 else ''} detected"
    return title, "\n\n".join(m.body for m in messages)


def _record(
    engine: Engine,
    messages: list[OutboxMessage],
    error: SendError | None,
    now: datetime,
    max_attempts: int,
) -> None:
    with Session(engine) as s, s.begin():
        for m in messages:
            row = s.get(OutboxMessage, m.id)
            if row is None or row.status != OutboxStatus.SENDING or row.attempts != m.attempts:
                continue  # our lease ran out and another sender took the message over
            if error is None:
                # sent, but after a try whose outcome is unknown: the channel may have it twice
                unknown = unknown_count(row.last_error)
                row.status, row.sent_at = OutboxStatus.SENT, now
                row.last_error = _with_count(UNKNOWN_OUTCOME, unknown) if unknown else None
            else:
                row.status, row.last_error = (
                    OutboxStatus.PENDING,
                    _with_count(str(error), unknown_count(row.last_error)),
                )
                row.next_attempt_at = now + backoff(row.attempts)
                if row.attempts >= max_attempts:
                    row.status = OutboxStatus.DEAD


def deliver_due(
    engine: Engine,
    max_attempts: int = 20,
    send: Sender = send_via_apprise,
    clock: Callable[[], datetime] = utcnow,
    *,
    timeout: float = TIMEOUT,
    deadline: float | None = None,
    lease: timedelta = LEASE,
    skip: Collection[str] = (),
    resend_unknown: int = RESEND_UNKNOWN,
    monotonic: Callable[[], float] = time.monotonic,
) -> Delivery:
    """One round: claim and send, one by one, every message whose time has come (digest
    messages grouped per channel and run into one), skipping channels in `skip` and those found
    unreachable on the way, starting nothing after `deadline` (a time.monotonic() value)."""
    skip = set(skip)
    unknown_before = unknown_total(engine)
    errors: dict[str, str] = {}
    sent = failed = 0
    while deadline is None or monotonic() < deadline:
        messages = claim_next(engine, clock(), lease, skip, resend_unknown)
        if not messages:
            break
        channel = messages[0].channel
        limit = timeout if deadline is None else max(0.5, min(timeout, deadline - monotonic()))
        title, body = _text(messages)
        error = send(channel, title, body, limit)
        _record(engine, messages, error, clock(), max_attempts)
        if error is None:
            sent += len(messages)
            errors.pop(channel, None)
            continue
        failed += len(messages)
        errors[channel] = str(error)
        if error.unreachable:
            skip.add(channel)  # every other message to it would wait out the same timeout
        log.warning("alert to %s failed (%s); will retry", channel_label(channel), error)
    return Delivery(
        sent=sent,
        failed=failed,
        pending=pending_count(engine),
        unknown=unknown_total(engine) - unknown_before,
        errors=errors,
    )


def pending_count(engine: Engine) -> int:
    with Session(engine) as s:
        return (
            s.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.status.in_(UNSENT))
            )
            or 0
        )


def unknown_total(engine: Engine) -> int:
    with Session(engine) as s:
        return (
            s.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.status == OutboxStatus.UNKNOWN)
            )
            or 0
        )


def outbox_counts(engine: Engine) -> dict[str, int]:
    """Messages per outbox state (pending, sending, sent, dead, unknown), for `status`."""
    with Session(engine) as s:
        return dict(
            s.execute(
                select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
            ).all()
        )


def next_due(engine: Engine, skip: Collection[str] = ()) -> datetime | None:
    query = select(OutboxMessage.next_attempt_at).where(
        OutboxMessage.status == OutboxStatus.PENDING
    )
    if skip:
        query = query.where(OutboxMessage.channel.not_in(list(skip)))
    with Session(engine) as s:
        return s.scalars(query.order_by(OutboxMessage.next_attempt_at).limit(1)).first()


def deliver(
    engine: Engine,
    retry_for: float = 10.0,
    max_attempts: int = 20,
    send: Sender = send_via_apprise,
    clock: Callable[[], datetime] = utcnow,
    sleep: Callable[[float], None] = time.sleep,
    *,
    timeout: float = TIMEOUT,
    lease: timedelta = LEASE,
    resend_unknown: int = RESEND_UNKNOWN,
    monotonic: Callable[[], float] = time.monotonic,
    prepare: Callable[[], None] = load_apprise,
) -> Delivery:
    """Deliver what is due, retrying refusals with backoff, for at most `retry_for` seconds in
    all; an unreachable channel is tried once. What is left stays pending for the next delivery.
    `prepare` (loading apprise) runs first, when anything waits, outside that time."""
    if pending_count(engine):
        prepare()
    deadline = monotonic() + retry_for
    unknown = 0
    down: set[str] = set()
    errors: dict[str, str] = {}
    sent = failed = 0
    while True:
        result = deliver_due(
            engine,
            max_attempts,
            send,
            clock,
            timeout=timeout,
            deadline=deadline,
            lease=lease,
            skip=down,
            resend_unknown=resend_unknown,
            monotonic=monotonic,
        )
        sent, failed, unknown = sent + result.sent, result.failed, unknown + result.unknown
        errors.update(result.errors)
        down |= {c for c, e in result.errors.items() if e.startswith("unreachable")}
        nxt = next_due(engine, down)
        if nxt is None:
            break
        wait = max(0.0, (nxt - clock()).total_seconds())
        if monotonic() + wait >= deadline:
            break
        sleep(wait)
    waiting = _channels_waiting(engine)
    return Delivery(
        sent=sent,
        failed=failed,
        pending=pending_count(engine),
        unknown=unknown,
        errors={c: e for c, e in errors.items() if c in waiting},
    )


def _channels_waiting(engine: Engine) -> set[str]:
    with Session(engine) as s:
        return set(
            s.scalars(
                select(OutboxMessage.channel).distinct().where(OutboxMessage.status.in_(UNSENT))
            )
        )
