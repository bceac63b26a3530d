"""The closed sets of values the catalog keeps in its string columns, one `StrEnum` each.

A member is a `str` equal to its value (`RecordKind.FAILED == "failed"`), so the database holds
the same words as before, rows read back as plain strings compare equal to the members, and JSON
shows the value. The columns stay `String` (no database enum type): adding a member needs no
migration.
"""

from __future__ import annotations

from enum import StrEnum


class RecordKind(StrEnum):
    """`captures.kind`: what a fetch attempt left in the archive."""

    RESPONSE = "response"  # a response record
    REVISIT = "revisit"  # a revisit record (the payload is another capture's)
    FAILED = "failed"  # no record: the fetch failed (`reason` says why)
    # a resource record: what a browser made of a page (its rendered DOM, a screenshot), stored
    # under a `urn:dom:` or `urn:screenshot:` URI, WARC-Concurrent-To the page's response
    RESOURCE = "resource"


# the kinds with a WARC record to read back (a failed fetch has none)
REPLAYABLE: tuple[RecordKind, ...] = (RecordKind.RESPONSE, RecordKind.REVISIT, RecordKind.RESOURCE)


class RunStatus(StrEnum):
    """`crawl_runs.status`: how a pass ended (or that it has not)."""

    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"  # the archive refused a write (a full disk)
    INTERRUPTED = "interrupted"  # stopped, killed or cancelled; repair marks dead runs so


class OutboxStatus(StrEnum):
    """`outbox.status`: where an alert is on its way (see monitor.alerts)."""

    PENDING = "pending"
    SENDING = "sending"  # claimed by a sender, its lease running
    SENT = "sent"
    DEAD = "dead"  # gave up after [alerts] max_attempts
    UNKNOWN = "unknown"  # its senders stopped mid-delivery too often: not sent blind again


# the states a sender may still pick up
UNSENT: tuple[OutboxStatus, ...] = (OutboxStatus.PENDING, OutboxStatus.SENDING)


class DaemonOutcome(StrEnum):
    """`daemon_runs.outcome`: how one scheduled run of one target ended."""

    RUNNING = "running"
    OK = "ok"
    FAILED = "failed"
    TIMEOUT = "timeout"  # terminated after the run timeout
    INTERRUPTED = "interrupted"


class EventKind(StrEnum):
    """`events.kind`: what happened to a watched URL."""

    ADDED = "added"
    CHANGED = "changed"
    REMOVED = "removed"
    RESTORED = "restored"
    MOVED = "moved"
