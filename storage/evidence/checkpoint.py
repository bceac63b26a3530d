"""Checkpoints of the evidence log: after each pass, the tree head (size, root hash, time) as a
C2SP tlog-checkpoint, signed with the archive's Ed25519 key (storage.evidence.keys) as a signed
note, and kept in `evidence_checkpoints` with the frontier the next one continues from (so a
checkpoint reads only the entries added since the last, not the whole log).

`note_bytes` is what a time-stamping authority stamps (storage.evidence.tsa): the signed note,
byte for byte.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from storage.errors import ArchiveError
from storage.evidence import keys
from storage.evidence.log import log_custody, now_iso
from storage.evidence.merkle import Frontier
from storage.evidence.notes import Checkpoint, sign
from storage.models import EvidenceCheckpoint, EvidenceEntry
from storage.timestamps import utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SignedCheckpoint:
    id: int
    size: int
    root_hash: str  # hex
    note: str  # the signed note

    @property
    def note_sha256(self) -> str:
        return hashlib.sha256(self.note.encode()).hexdigest()

    @classmethod
    def of(cls, row: EvidenceCheckpoint) -> SignedCheckpoint:
        return cls(row.id, row.size, row.root_hash, row.note)


def signing_key(engine: Engine, archive_dir: Path) -> keys.SigningKey:
    """The archive's key, made (and its making logged) on first use."""
    key, made = keys.load_or_create(archive_dir)
    if made:
        with Session(engine) as s, s.begin():
            log_custody(s, "key-created", _key_details(key))
        log.info("evidence: created the archive's signing key %s", key.verifier.key_id.hex())
    return key


def _key_details(key: keys.SigningKey) -> dict:
    d = keys.describe(key.verifier)
    return {"verifier_key": d["verifier_key"], "fingerprint": d["fingerprint"]}


def latest(session: Session) -> EvidenceCheckpoint | None:
    q = select(EvidenceCheckpoint).order_by(
        EvidenceCheckpoint.size.desc(), EvidenceCheckpoint.id.desc()
    )
    return session.scalars(q.limit(1)).first()


def _grow(session: Session, frontier: Frontier) -> Frontier:
    q = select(EvidenceEntry.id, EvidenceEntry.leaf_hash).where(EvidenceEntry.id > frontier.size)
    for entry_id, leaf in session.execute(q.order_by(EvidenceEntry.id)):
        if entry_id != frontier.size + 1:
            raise ArchiveError(
                f"evidence log entry {frontier.size + 1} is missing (the next is {entry_id}): "
                "run `warcwatch verify`"
            )
        frontier.append(bytes.fromhex(leaf))
    return frontier


def make_checkpoint(
    engine: Engine,
    archive_dir: Path,
    clock: Callable[[], datetime] = utcnow,
    signers: list[keys.SigningKey] | None = None,
) -> SignedCheckpoint | None:
    """Sign the log's head, if it grew since the last checkpoint (None when the log is empty).
    `signers` defaults to the archive's key; a rotation signs with the old and the new."""
    signers = signers or [signing_key(engine, archive_dir)]
    with Session(engine) as s, s.begin():
        last = latest(s)
        if last is not None:
            frontier = Frontier(last.size, [bytes.fromhex(h) for h in last.frontier])
        else:
            frontier = Frontier()
        frontier = _grow(s, frontier)
        if frontier.size == 0 or (
            last is not None and frontier.size == last.size and len(signers) == 1
        ):
            return SignedCheckpoint.of(last) if last is not None else None
        when = clock()
        root = frontier.root()
        name = signers[0].name
        body = Checkpoint(name, frontier.size, root, now_iso(when)).text()
        note = sign(body, name, [k.private for k in signers])
        row = EvidenceCheckpoint(
            size=frontier.size,
            root_hash=root.hex(),
            created_at=when,
            note=note,
            frontier=[h.hex() for h in frontier.hashes],
        )
        s.add(row)
        s.flush()
        return SignedCheckpoint.of(row)


def rotate_key(engine: Engine, archive_dir: Path) -> tuple[keys.SigningKey, keys.SigningKey]:
    """A new key replaces the archive's: the rotation is logged, and the checkpoint that covers
    it is signed by both keys, so whoever trusts the old key can trust the new one."""
    old, new = keys.rotate(archive_dir)
    with Session(engine) as s, s.begin():
        log_custody(s, "key-rotated", {"old": _key_details(old), "new": _key_details(new)})
    make_checkpoint(engine, archive_dir, signers=[old, new])
    return old, new


def note_bytes(engine: Engine, checkpoint_id: int | None = None) -> bytes:
    """The signed note of checkpoint `checkpoint_id` (default: the latest), as its bytes."""
    with Session(engine) as s:
        row = s.get(EvidenceCheckpoint, checkpoint_id) if checkpoint_id else latest(s)
        if row is None:
            raise ArchiveError("the evidence log has no checkpoint yet")
        return row.note.encode()


def count_entries(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(EvidenceEntry)) or 0
