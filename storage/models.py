"""The catalog's tables, as typed SQLAlchemy 2 models.

A `Capture` is one fetch attempt of one URL: a response or revisit record at a byte offset in a
WARC file, or a failed attempt with its reason and no record. Rows are written only after the
record they point at is flushed to disk.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from storage.enums import DaemonOutcome, OutboxStatus, RunStatus
from storage.timestamps import exact, iso

# `Capture.purpose` of a page requisite (a stylesheet, image, font or script fetched so that a page
# replays as it was seen): archived, never read for text or change events.
REQUISITE = "requisite"
# `Capture.purpose` of what a browser made of a page (crawler.render): its rendered DOM and its
# screenshot, resource records under these URI prefixes, WARC-Concurrent-To the page's record.
DOM = "dom"
SCREENSHOT = "screenshot"
RENDERED: dict[str, str] = {DOM: "urn:dom:", SCREENSHOT: "urn:screenshot:"}  # purpose → URI prefix


def rendered_uri(purpose: str, url: str) -> str:
    """The resource record URI of a page's DOM or screenshot: `urn:dom:<url>`."""
    return RENDERED[purpose] + url


def rendered_purpose(uri: str) -> str | None:
    """DOM or SCREENSHOT for a rendered resource's URI, else None."""
    return next((p for p, prefix in RENDERED.items() if uri.startswith(prefix)), None)


class Base(DeclarativeBase):
    pass


class TargetRow(Base):
    __tablename__ = "targets"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime]
    # Set once the target's first pass has completed: from then on new URLs are "added" events.
    baseline_run_id: Mapped[int | None] = mapped_column(ForeignKey("crawl_runs.id"))


class CrawlRun(Base):
    __tablename__ = "crawl_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    targets: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(20), default=RunStatus.RUNNING)  # a RunStatus
    stats: Mapped[dict] = mapped_column(JSON, default=dict)


class WarcFile(Base):
    __tablename__ = "warc_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(300), unique=True)
    target: Mapped[str | None] = mapped_column(String(200))
    opened_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    size: Mapped[int | None] = mapped_column(BigInteger)
    # the id of the WARC folder it was written to (storage.warcfile.folder_id); NULL before
    # migration 0007, when every file was taken to be in the folder of whoever repairs
    folder: Mapped[str | None] = mapped_column(String(64))
    # with WARC files on object storage (storage.objects): the object's URL, set only once its
    # upload was confirmed (size and checksum read back); NULL while the file is local only
    object: Mapped[str | None] = mapped_column(String(1000))
    uploaded_at: Mapped[datetime | None]


class Capture(Base):
    __tablename__ = "captures"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    surt: Mapped[str] = mapped_column(Text)
    timestamp: Mapped[str] = mapped_column(String(14))  # 14-digit UTC, Wayback style
    # the second's microseconds: with `timestamp`, the record's WARC-Date exactly
    # (storage.timestamps.iso)
    micros: Mapped[int] = mapped_column(default=0, server_default="0")
    kind: Mapped[str] = mapped_column(String(10))  # a RecordKind
    status: Mapped[int | None]
    mime: Mapped[str | None] = mapped_column(String(200))
    digest: Mapped[str | None] = mapped_column(
        String(64)
    )  # WARC-Payload-Digest, "sha256:BASE32" (or sha1)
    length: Mapped[int | None] = mapped_column(BigInteger)  # bytes of the gzip member
    offset: Mapped[int | None] = mapped_column(BigInteger)
    warc_file: Mapped[str | None] = mapped_column(String(300))
    record_id: Mapped[str | None] = mapped_column(String(100))
    request_offset: Mapped[int | None] = mapped_column(BigInteger)
    request_length: Mapped[int | None] = mapped_column(BigInteger)
    revisit_of: Mapped[int | None] = mapped_column(ForeignKey("captures.id"))
    revisit_profile: Mapped[str | None] = mapped_column(
        String(30)
    )  # identical-payload | not-modified
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(String(100))
    location: Mapped[str | None] = mapped_column(Text)  # redirect target, for 3xx
    reason: Mapped[str | None] = mapped_column(Text)  # why it failed (or http-NNN for 4xx/5xx)
    ip: Mapped[str | None] = mapped_column(String(64))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("crawl_runs.id"))
    target: Mapped[str | None] = mapped_column(String(200))
    # why it was fetched, when not the pass's own visit: "confirmation" (the re-fetch right after a
    # change, to learn the page's volatile parts) or "requisite" (REQUISITE: a page's embed)
    purpose: Mapped[str | None] = mapped_column(String(20))
    # a resource record's WARC-Concurrent-To: the record id of the page response (or revisit) a
    # DOM or screenshot was rendered from (migration 0009)
    concurrent_to: Mapped[str | None] = mapped_column(String(100))

    __table_args__ = (
        Index("ix_captures_surt_time", "surt", "timestamp", "micros"),
        Index("ix_captures_target_timestamp", "target", "timestamp"),
        Index("ix_captures_run", "run_id"),
        Index("ix_captures_warc_file", "warc_file"),
        Index("ix_captures_concurrent_to", "concurrent_to"),
        # one row per record and target, whoever writes (migration 0007)
        Index("ux_captures_record_target", "record_id", "target", unique=True),
    )

    @property
    def warc_date(self) -> str | None:
        """The capture's time as its record's WARC-Date, to the microsecond."""
        return None if self.timestamp is None else iso(self.timestamp, self.micros or 0)

    @property
    def exact(self) -> str | None:
        """The capture's time as 20 digits (`show --at` reaches it exactly)."""
        return None if self.timestamp is None else exact(self.timestamp, self.micros or 0)

    def as_json(self) -> dict:
        """The capture shape of docs/commands.md."""
        return {
            "url": self.url,
            "timestamp": self.timestamp,
            "status": self.status,
            "mime": self.mime,
            "digest": self.digest,
            "kind": self.kind,
            "warc_file": self.warc_file,
            "offset": self.offset,
            "length": self.length,
            "target": self.target,
            "reason": self.reason,
            "id": self.id,
            "warc_date": self.warc_date,
            "purpose": self.purpose,
        }


class Version(Base):
    """The meaningful text of one capture, extracted only when its payload differs from the last."""

    __tablename__ = "versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    capture_id: Mapped[int] = mapped_column(ForeignKey("captures.id"), unique=True)
    url: Mapped[str] = mapped_column(Text)
    target: Mapped[str | None] = mapped_column(String(200))
    timestamp: Mapped[str] = mapped_column(String(14))
    title: Mapped[str | None] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    text_hash: Mapped[str] = mapped_column(String(64))
    # the fallbacks extraction took ("; "-separated notes of monitor.extract), None for none
    extraction: Mapped[str | None] = mapped_column(Text)
    # the rules this version was extracted and compared under (None: recorded before they were)
    rules_id: Mapped[int | None] = mapped_column(ForeignKey("rule_sets.id"))

    __table_args__ = (Index("ix_versions_url", "url", "timestamp"),)


class RuleSet(Base):
    """Rules in force when versions were extracted and compared (`select`, `ignore`, the built-in
    and learned noise masks, the clock rule), kept so a historical diff can be made again
    exactly (monitor.rules). Stored once per distinct set, by the sha256 of its canonical JSON."""

    __tablename__ = "rule_sets"

    id: Mapped[int] = mapped_column(primary_key=True)
    hash: Mapped[str] = mapped_column(String(64))
    rules: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime]

    __table_args__ = (Index("ix_rule_sets_hash", "hash"),)


class TimestampToken(Base):
    """An RFC 3161 time-stamp of some bytes (`subject_kind`/`subject_id` say what they are, e.g.
    a signed checkpoint) by one TSA: queued, then delivered by storage.evidence.tsa with bounded
    retries like the alert outbox; `token` is the TSA's whole TimeStampResp (DER), as
    `openssl ts -verify -in` reads it."""

    __tablename__ = "timestamp_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_kind: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[str] = mapped_column(String(200))
    data: Mapped[bytes] = mapped_column(LargeBinary)  # the bytes stamped
    digest: Mapped[str] = mapped_column(String(64))  # their sha256, hex: the message imprint
    tsa: Mapped[str] = mapped_column(Text)  # the TSA's URL
    status: Mapped[str] = mapped_column(
        String(10), default="pending"
    )  # pending | sending (claimed) | stamped | dead
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]
    created_at: Mapped[datetime]
    stamped_at: Mapped[datetime | None]  # when the token came back (our clock)
    gen_time: Mapped[datetime | None]  # the TSA's genTime, from the token
    nonce: Mapped[str | None] = mapped_column(String(40))  # of the request answered, decimal
    token: Mapped[bytes | None] = mapped_column(LargeBinary)
    last_error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index("ix_timestamp_tokens_due", "status", "next_attempt_at"),
        Index("ux_timestamp_tokens_subject", "subject_kind", "subject_id", "tsa", unique=True),
    )


class UrlState(Base):
    """What the monitor remembers about one URL of one target between passes."""

    __tablename__ = "url_states"

    id: Mapped[int] = mapped_column(primary_key=True)
    target: Mapped[str] = mapped_column(String(200))
    url: Mapped[str] = mapped_column(Text)
    first_seen: Mapped[str] = mapped_column(String(14))
    last_checked: Mapped[str | None] = mapped_column(String(14))
    missing: Mapped[int] = mapped_column(default=0)  # consecutive checks that found it gone
    removed: Mapped[bool] = mapped_column(default=False)
    moved_to: Mapped[str | None] = mapped_column(Text)
    volatile: Mapped[list] = mapped_column(JSON, default=list)  # learned noise patterns (regexes)

    __table_args__ = (Index("ux_url_states_target_url", "target", "url", unique=True),)


class ChangeEvent(Base):
    __tablename__ = "events"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    target: Mapped[str | None] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(10))  # an EventKind
    detected_at: Mapped[str] = mapped_column(String(14))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("crawl_runs.id"))
    from_capture: Mapped[int | None] = mapped_column(ForeignKey("captures.id"))
    to_capture: Mapped[int | None] = mapped_column(ForeignKey("captures.id"))
    summary: Mapped[dict] = mapped_column(JSON, default=dict)
    new_url: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(String(40))

    __table_args__ = (
        Index("ix_events_detected", "detected_at"),
        Index("ix_events_target", "target", "detected_at"),
        # one event per change of a capture and target, however many analysers meet it
        Index("ux_events_capture_kind", "target", "url", "kind", "to_capture", unique=True),
    )

    def as_json(self) -> dict:
        out = {
            "id": self.id,
            "url": self.url,
            "kind": self.kind,
            "detected_at": self.detected_at,
            "target": self.target,
            "from_capture": self.from_capture,
            "to_capture": self.to_capture,
            "summary": self.summary,
        }
        if self.new_url:
            out["new_url"] = self.new_url
        if self.reason:
            out["reason"] = self.reason
        return out


class OutboxMessage(Base):
    """An alert to send: written in the same transaction as its event, marked sent exactly once."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id"))
    channel: Mapped[str] = mapped_column(Text)  # an apprise URL
    digest: Mapped[bool] = mapped_column(default=False)  # sent grouped with the run's other alerts
    run_id: Mapped[int | None] = mapped_column(ForeignKey("crawl_runs.id"))
    title: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    # an OutboxStatus: pending, sending (claimed, see monitor.alerts), sent, dead or unknown
    status: Mapped[str] = mapped_column(String(10), default=OutboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_outbox_pending", "status", "next_attempt_at"),)


class DaemonRun(Base):
    """One scheduled run of one target by the daemon (`warcwatch run`): when it was due, when it
    started, how it ended. Several targets due together share a crawl run (`run_id`)."""

    __tablename__ = "daemon_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    target: Mapped[str] = mapped_column(String(200))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("crawl_runs.id"))
    scheduled_at: Mapped[datetime]
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    outcome: Mapped[str] = mapped_column(String(20), default=DaemonOutcome.RUNNING)
    fetched: Mapped[int] = mapped_column(default=0)
    failed: Mapped[int] = mapped_column(default=0)
    failures: Mapped[dict] = mapped_column(JSON, default=dict)  # reason → count
    error: Mapped[str | None] = mapped_column(Text)
    worker_pid: Mapped[int | None]

    __table_args__ = (Index("ix_daemon_runs_target", "target", "id"),)


class EvidenceEntry(Base):
    """One leaf of the evidence log (storage.evidence.log): a WARC record written, a change event,
    or a custody action. Append-only: a row is never updated or deleted, and its `id` (from 1,
    without gaps) is its leaf index + 1. `entry` is the leaf's data exactly: canonical JSON."""

    __tablename__ = "evidence_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))  # record | event | custody
    created_at: Mapped[datetime]
    record_id: Mapped[str | None] = mapped_column(String(100))  # a record's WARC-Record-ID
    event_id: Mapped[int | None]  # an event's events.id
    entry: Mapped[str] = mapped_column(Text)  # the leaf: canonical JSON (UTF-8)
    leaf_hash: Mapped[str] = mapped_column(String(64))  # hex SHA-256(0x00 || entry)

    __table_args__ = (
        Index("ix_evidence_log_record", "record_id"),
        Index("ix_evidence_log_event", "event_id"),
    )


class EvidenceCheckpoint(Base):
    """A signed tree head of the evidence log after a pass (storage.evidence.checkpoint): the
    signed note as signed, and the frontier the next checkpoint continues from."""

    __tablename__ = "evidence_checkpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    root_hash: Mapped[str] = mapped_column(String(64))  # hex
    created_at: Mapped[datetime]
    note: Mapped[str] = mapped_column(Text)  # C2SP tlog-checkpoint, as a signed note
    frontier: Mapped[list] = mapped_column(JSON, default=list)  # hex roots of the perfect subtrees

    __table_args__ = (Index("ix_evidence_checkpoints_size", "size"),)
