"""`warcwatch verify` without a receipt: the whole archive re-read against its evidence log.

- every log entry re-hashed from its text (a changed entry no longer makes its leaf);
- every checkpoint: its signature by one of the archive's keys, its head equal to the head of
  the log's first `size` entries as they are now, and each consistent with the one before it
  (an RFC 9162 consistency proof, computed and verified);
- every record the log names: the bytes of its gzip member, read from its WARC file, against
  the SHA-256 logged when it was written; bytes after a closed file's last logged record;
- every catalog row against the log: a capture's file, offset, length, payload digest, URL and
  time against its record's entry; an event against its entry.

Each problem names what and where (`file:offset`, record id, `table id=N`), in one line.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from storage.errors import ArchiveError
from storage.evidence import keys
from storage.evidence.log import event_fields
from storage.evidence.merkle import Tree, leaf_hash, verify_consistency
from storage.evidence.notes import Checkpoint, NoteError, verify
from storage.models import Capture, ChangeEvent, EvidenceCheckpoint, EvidenceEntry
from storage.objects import Warcs, open_warc, where

_CHUNK = 1 << 20


@dataclass(frozen=True)
class Problem:
    where: str  # `file:offset`, `evidence_log id=N`, `captures id=N`, `checkpoint id=N`
    what: str

    def line(self) -> str:
        return f"{self.where}: {self.what}"


@dataclass
class VerifyReport:
    problems: list[Problem] = field(default_factory=list)
    entries: int = 0
    records: int = 0  # records whose bytes were read and matched
    bytes_read: int = 0
    checkpoints: int = 0
    captures: int = 0  # catalog rows checked against the log
    events: int = 0
    unlogged: int = 0  # rows older than the log (an archive that predates it)
    unsigned: int = 0  # entries after the newest checkpoint (the next pass signs them)

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, where: str, what: str) -> None:
        self.problems.append(Problem(where, what))

    def as_json(self) -> dict:
        out = {k: v for k, v in self.__dict__.items() if k != "problems"}
        return {"ok": self.ok, **out, "problems": [p.line() for p in self.problems]}


def verify_archive(engine: Engine, archive_dir: Path, warc_dir: Warcs) -> VerifyReport:
    report = VerifyReport()
    with Session(engine) as s:
        entries, leaves = _entries(s, report)
        tree = Tree(leaves)
        _keys(archive_dir, entries["custody"], report)
        _checkpoints(s, archive_dir, tree, report)
        _records(entries["record"], warc_dir, report)
        _captures(s, entries["record"], report)
        _events(s, entries["event"], report)
    return report


def _entries(s: Session, report: VerifyReport) -> tuple[dict[str, dict], list[bytes]]:
    """Entries by kind (records by record id, events by event id), and the leaf hashes as the
    entries' texts make them now."""
    by: dict[str, dict] = {"record": {}, "event": {}, "custody": {}}
    leaves: list[bytes] = []
    q = select(EvidenceEntry.id, EvidenceEntry.entry, EvidenceEntry.leaf_hash)
    for entry_id, text, stored in s.execute(q.order_by(EvidenceEntry.id)):
        where = f"evidence_log id={entry_id}"
        if entry_id != len(leaves) + 1:
            report.add(where, f"entries {len(leaves) + 1}..{entry_id - 1} are missing")
        leaf = leaf_hash(text.encode())
        leaves.append(leaf)
        if leaf.hex() != stored:
            report.add(where, "the entry's text does not hash to its leaf hash (changed)")
        try:
            entry = json.loads(text)
        except ValueError:
            report.add(where, "the entry is not JSON")
            continue
        entry["_id"] = entry_id
        if entry.get("kind") == "record":
            by["record"][entry.get("record_id")] = entry
        elif entry.get("kind") == "event":
            by["event"][entry.get("event_id")] = entry
        else:
            by["custody"][entry_id] = entry
    report.entries = len(leaves)
    return by, leaves


def _keys(archive_dir: Path, custody: dict[int, dict], report: VerifyReport) -> None:
    """Every key the archive trusts was made or rotated in by a logged custody action: a key
    added to keys/public-keys.txt by hand signs nothing this archive accepts unnoticed."""
    logged = set()
    for entry in custody.values():
        details = entry.get("details") or {}
        if entry.get("action") == "key-created":
            logged.add(details.get("verifier_key"))
        elif entry.get("action") == "key-rotated":
            logged.add((details.get("new") or {}).get("verifier_key"))
            logged.add((details.get("old") or {}).get("verifier_key"))
    for v in keys.known(archive_dir):
        if str(v) not in logged:
            report.add(
                str(keys.keys_dir(archive_dir) / keys.PUBLIC),
                f"key {v.key_id.hex()} was never logged as made or rotated in",
            )


def _checkpoints(s: Session, archive_dir: Path, tree: Tree, report: VerifyReport) -> None:
    known = keys.known(archive_dir)
    rows = s.scalars(
        select(EvidenceCheckpoint).order_by(EvidenceCheckpoint.size, EvidenceCheckpoint.id)
    ).all()
    if rows and not known:
        report.add(str(keys.keys_dir(archive_dir)), "no public keys: checkpoints not verifiable")
    previous: tuple[int, bytes] | None = None
    for row in rows:
        where = f"evidence_checkpoints id={row.id}"
        report.checkpoints += 1
        try:
            text, _ = verify(row.note, known)
            cp = Checkpoint.parse(text)
        except NoteError as exc:
            report.add(where, f"signed note: {exc}")
            continue
        if (cp.size, cp.root.hex()) != (row.size, row.root_hash):
            report.add(where, "its row's size or root hash differ from its signed note")
        if cp.size > tree.size:
            report.add(where, f"signs {cp.size} entries, the log holds {tree.size}")
            continue
        if tree.root(cp.size) != cp.root:
            report.add(where, f"the log's first {cp.size} entries no longer make its root hash")
        if previous is not None:
            size, root = previous
            proof = tree.consistency_proof(size, cp.size)
            if not verify_consistency(size, cp.size, root, cp.root, proof):
                report.add(where, f"not consistent with the checkpoint of size {size} before it")
        previous = (cp.size, cp.root)
    report.unsigned = tree.size - (previous[0] if previous else 0)


def _records(records: dict[str, dict], warc_dir: Warcs, report: VerifyReport) -> None:
    by_file: dict[str, list[dict]] = defaultdict(list)
    for entry in records.values():
        by_file[entry["file"]].append(entry)
    for name, entries in sorted(by_file.items()):
        try:  # the local copy while there is one, else the object (storage.objects)
            found = open_warc(warc_dir, name)
        except ArchiveError as exc:
            report.add(name, f"cannot be read: {exc}")
            continue
        if found is None:
            report.add(
                name,
                f"missing: {len(entries)} logged records are in it "
                f"(not in {where(warc_dir, name)})",
            )
            continue
        entries.sort(key=lambda e: e["offset"])
        fh, closed = found
        with fh:
            for e in entries:
                fh.seek(e["offset"])
                data = fh.read(e["length"])
                report.bytes_read += len(data)
                where_ = f"{name}:{e['offset']}"
                if len(data) != e["length"]:
                    report.add(where_, f"record {e['record_id']} is cut short ({len(data)} bytes)")
                elif hashlib.sha256(data).hexdigest() != e["member_sha256"]:
                    report.add(
                        where_,
                        f"record {e['record_id']}: its bytes differ from what evidence log "
                        f"entry {e['_id']} recorded when it was written",
                    )
                else:
                    report.records += 1
            end = entries[-1]["offset"] + entries[-1]["length"]
            fh.seek(0, 2)
            if closed and fh.tell() > end:
                report.add(f"{name}:{end}", f"{fh.tell() - end} bytes after the last logged record")


_CAPTURE_FIELDS = (  # (catalog column, entry field)
    ("warc_file", "file"),
    ("offset", "offset"),
    ("length", "length"),
    ("digest", "payload_digest"),
    ("url", "uri"),
    ("warc_date", "date"),
)


def _captures(s: Session, records: dict[str, dict], report: VerifyReport) -> None:
    rows = s.scalars(
        select(Capture).where(Capture.record_id.is_not(None)).order_by(Capture.id)
    ).all()
    catalogued = {r.record_id for r in rows}
    for record_id, logged_entry in records.items():
        if logged_entry.get("type") in ("response", "revisit") and record_id not in catalogued:
            report.add(
                f"{logged_entry['file']}:{logged_entry['offset']}",
                f"record {record_id} is logged (entry {logged_entry['_id']}) "
                "but has no catalog row",
            )
    logged = [r.id for r in rows if r.record_id in records]
    first = min(logged) if logged else None
    for row in rows:
        entry = records.get(row.record_id or "")
        where = f"captures id={row.id}"
        if entry is None:
            if first is None or row.id < first:
                report.unlogged += 1
            else:
                report.add(where, f"record {row.record_id} has no evidence log entry")
            continue
        report.captures += 1
        for column, name in _CAPTURE_FIELDS:
            if getattr(row, column) != entry.get(name):
                report.add(
                    where,
                    f"{column} is {getattr(row, column)!r}, the evidence log "
                    f"(entry {entry['_id']}, record {row.record_id}) says {entry.get(name)!r}",
                )


def _events(s: Session, events: dict[int, dict], report: VerifyReport) -> None:
    rows = s.scalars(select(ChangeEvent).order_by(ChangeEvent.id)).all()
    first = min((r.id for r in rows if r.id in events), default=None)
    for event in rows:
        where = f"events id={event.id}"
        entry = events.get(event.id)
        if entry is None:
            if first is None or event.id < first:
                report.unlogged += 1
            else:
                report.add(where, "the event has no evidence log entry")
            continue
        report.events += 1
        before = s.get(Capture, event.from_capture) if event.from_capture else None
        after = s.get(Capture, event.to_capture) if event.to_capture else None
        for name, value in event_fields(event, before, after).items():
            if entry.get(name) != value:
                report.add(
                    where,
                    f"{name} is {value!r}, the evidence log (entry {entry['_id']}) says "
                    f"{entry.get(name)!r}",
                )
    for event_id, entry in events.items():
        if s.get(ChangeEvent, event_id) is None:
            report.add(
                f"events id={event_id}", f"logged (entry {entry['_id']}) but not in the catalog"
            )
