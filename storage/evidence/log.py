"""The evidence log: an append-only table of entries, each the canonical JSON of one WARC record
written, one change event or one custody action, with where and by what it was done (host, tool
and version, operator). The entries, in order, are the leaves of the Merkle tree of
storage.evidence.merkle; a checkpoint (storage.evidence.checkpoint) signs its head.

An entry is added in the transaction that commits what it describes: the writer's record entries
with the capture rows of the same batch (storage.writer), an event's with the event
(monitor.events), so a kill -9 leaves both or neither. Entries are inserted in one executemany
per batch: the log costs the writer one INSERT statement per commit, not one per record.

Canonical JSON: keys sorted, no spaces, UTF-8 (RFC 8785's form for the strings, integers and
nulls the entries hold), so a verifier re-hashes exactly the bytes that were logged.
"""

from __future__ import annotations

import functools
import getpass
import hashlib
import json
import os
import socket
from dataclasses import dataclass
from datetime import datetime
from importlib.metadata import version
from typing import Any

from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

from storage.evidence.merkle import leaf_hash
from storage.models import Capture, ChangeEvent, EvidenceEntry
from storage.timestamps import utcnow
from storage.warcfile import Span

FORMAT = 1  # the `v` of every entry


_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical(obj: Any) -> str:
    return _CANONICAL.encode(obj)  # one encoder for every entry: json.dumps builds one per call


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def now_iso(when: datetime | None = None) -> str:
    when = when or utcnow()
    return when.isoformat(timespec="microseconds") + "Z"  # (strftime costs 3x as much)


@functools.cache  # read once, in the writers' fork server (storage.writer_preload)
def tool() -> str:
    """This software and its version, as entries name it."""
    return f"warcwatch/{version('warcwatch')}"


def _operator() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # a uid without a passwd entry (a container)
        return f"uid:{os.getuid()}"


@dataclass(frozen=True)
class Actor:
    """Who and what makes the entries of a process: its host, the tool and version, the user."""

    host: str
    tool: str
    operator: str

    @classmethod
    def here(cls) -> Actor:
        return cls(socket.gethostname(), tool(), _operator())

    def stamp(self) -> dict[str, str]:
        return {"host": self.host, "tool": self.tool, "operator": self.operator}


def _row(kind: str, entry: dict[str, Any], when: datetime, **keys: Any) -> dict[str, Any]:
    data = canonical(entry)
    return {
        "kind": kind,
        "created_at": when,
        "entry": data,
        "leaf_hash": leaf_hash(data.encode()).hex(),
        "record_id": keys.get("record_id"),
        "event_id": keys.get("event_id"),
    }


def record_fields(record) -> dict[str, Any]:
    """What an entry says of a warcio record (as built, or as read back by repair)."""
    h = record.rec_headers
    return {
        "record_id": h.get_header("WARC-Record-ID"),
        "type": h.get_header("WARC-Type"),
        "uri": h.get_header("WARC-Target-URI") or h.get_header("WARC-Filename"),
        "date": h.get_header("WARC-Date"),
        "block_digest": h.get_header("WARC-Block-Digest"),
        "payload_digest": h.get_header("WARC-Payload-Digest"),
    }


def record_entry(
    actor: Actor, record, span: Span, file: str, by: str = "writer", fields: dict | None = None
) -> dict:
    """The log row of `record` (or of its `fields`), written at `span` (with its member's
    SHA-256) of WARC `file`; `by` is "writer", or "repair" for a record it re-catalogued."""
    fields = fields if fields is not None else record_fields(record)
    when = utcnow()
    entry = {
        "v": FORMAT,
        "kind": "record",
        **fields,
        "file": file,
        "offset": span.offset,
        "length": span.length,
        "member_sha256": span.sha256,
        "logged_at": now_iso(when),
        "by": by,
        **actor.stamp(),
    }
    return _row("record", entry, when, record_id=fields["record_id"])


def summary_sha256(summary: dict | None) -> str:
    return sha256_hex(canonical(summary or {}).encode())


def event_fields(event: ChangeEvent, before: Capture | None, after: Capture | None) -> dict:
    """What an entry says of a change event: what a catalog row of it must still say."""
    return {
        "event_id": event.id,
        "event": event.kind,
        "url": event.url,
        "target": event.target,
        "detected_at": event.detected_at,
        "from_record": before.record_id if before is not None else None,
        "to_record": after.record_id if after is not None else None,
        "summary_sha256": summary_sha256(event.summary),
        "new_url": event.new_url,
        "reason": event.reason,
    }


def event_entry(actor: Actor, event: ChangeEvent, before: Capture | None, after: Capture | None):
    when = utcnow()
    entry = {
        "v": FORMAT,
        "kind": "event",
        **event_fields(event, before, after),
        "logged_at": now_iso(when),
        **actor.stamp(),
    }
    return _row("event", entry, when, event_id=event.id)


def custody_entry(actor: Actor, action: str, details: dict[str, Any]) -> dict:
    when = utcnow()
    entry = {
        "v": FORMAT,
        "kind": "custody",
        "action": action,
        "details": details,
        "logged_at": now_iso(when),
        **actor.stamp(),
    }
    return _row("custody", entry, when)


def append(session: Session, rows: list[dict]) -> None:
    """Add `rows` to the log in the session's transaction, in order.

    The leaf index is `id - 1`, so ids must be given out in commit order without gaps. SQLite
    does so by itself: one writer at a time holds the database's write lock from its first insert
    to its commit, and a rowid is max + 1. Other databases take the table's lock for the rest of
    the transaction and number the rows themselves (a sequence leaves gaps on rollback)."""
    if not rows:
        return
    if session.get_bind().dialect.name != "sqlite":
        session.execute(text("LOCK TABLE evidence_log IN EXCLUSIVE MODE"))
        start = session.scalar(select(func.coalesce(func.max(EvidenceEntry.id), 0))) or 0
        rows = [{**r, "id": start + 1 + i} for i, r in enumerate(rows)]
    # Core's executemany on the session's connection (its transaction): the ORM's bulk insert
    # costs several times as much per row, and the log wants none of its bookkeeping
    session.connection().execute(insert(EvidenceEntry), rows)


def log_event(session: Session, event: ChangeEvent, actor: Actor | None = None) -> None:
    """The entry of `event` (flushed, so it has its id), in the event's own transaction."""
    before = session.get(Capture, event.from_capture) if event.from_capture else None
    after = session.get(Capture, event.to_capture) if event.to_capture else None
    append(session, [event_entry(actor or Actor.here(), event, before, after)])


def log_custody(session: Session, action: str, details: dict[str, Any]) -> None:
    """A custody action (export, repair, watchlist reload, key creation or rotation)."""
    append(session, [custody_entry(Actor.here(), action, details)])
