"""Receipts of change events: `warcwatch receipt EVENT_ID` writes a folder that proves, with
nothing else, what changed, when, and that the archive's log held it:

    receipt.json     the event, both captures (record ids, URLs, times, digests, WARC file,
                     offset, length), the diff and its SHA-256, the rules in force (when stored),
                     the evidence log entries of both records and of the event with their
                     RFC 9162 inclusion proofs, the signed checkpoint they are proven under,
                     its RFC 3161 tokens (when any), and the archive's public key
    records.wacz     a WACZ of the two captures (their gzip members copied byte for byte, with
                     their request records, and the response a revisit refers to)
    checkpoint.note  the signed checkpoint, as signed (for openssl: see docs/evidence.md)
    public-key.pem   the archive's Ed25519 public key

`verify_receipt` checks a bundle offline: the checkpoint's signature, each inclusion proof
against its root, that the entries say what receipt.json says, and that the WACZ holds the very
bytes the log recorded when the records were written.
"""

from __future__ import annotations

import base64
import difflib
import hashlib
import io
import json
import shutil
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from storage.errors import ArchiveError, CaptureNotFound
from storage.evidence import keys
from storage.evidence.checkpoint import latest, make_checkpoint
from storage.evidence.log import canonical, sha256_hex, summary_sha256
from storage.evidence.merkle import Tree, leaf_hash, verify_inclusion
from storage.evidence.notes import Checkpoint, NoteError, Verifier, verify
from storage.export import Selection
from storage.models import Capture, ChangeEvent, EvidenceEntry, Version
from storage.objects import Warcs
from storage.retrieval import origin_of

FORMAT = "warcwatch-receipt/1"
WACZ = "records.wacz"


def _b64(h: bytes) -> str:
    return base64.b64encode(h).decode()


def _capture(c: Capture) -> dict[str, Any]:
    return {
        "capture_id": c.id,
        "record_id": c.record_id,
        "url": c.url,
        "time": c.warc_date,
        "kind": c.kind,
        "status": c.status,
        "payload_digest": c.digest,
        "warc_file": c.warc_file,
        "offset": c.offset,
        "length": c.length,
    }


def _entry_of(s: Session, tree: Tree, size: int, **where: Any) -> dict[str, Any]:
    row = s.scalars(select(EvidenceEntry).filter_by(**where).order_by(EvidenceEntry.id)).first()
    if row is None:
        raise ArchiveError(f"the evidence log has no entry for {where}: it predates the log")
    index = row.id - 1
    return {
        "index": index,
        "entry": row.entry,
        "proof": [_b64(h) for h in tree.inclusion_proof(index, size)],
    }


def _text_diff(s: Session, before: Capture | None, after: Capture | None) -> dict | None:
    versions = []
    for c in (before, after):
        v = s.scalars(select(Version).where(Version.capture_id == c.id)).first() if c else None
        versions.append(v)
    if None in versions:
        return None
    old, new = versions
    assert old is not None and new is not None
    unified = "".join(
        difflib.unified_diff(
            old.text.splitlines(keepends=True),
            new.text.splitlines(keepends=True),
            fromfile=f"{old.url} {old.timestamp}",
            tofile=f"{new.url} {new.timestamp}",
        )
    )
    return {"unified": unified, "sha256": sha256_hex(unified.encode())}


def _rules(s: Session, captures: list[Capture]) -> dict | None:
    """The extraction rules in force for each version, when the catalog stores them."""
    out = {}
    for c in captures:
        v = s.scalars(select(Version).where(Version.capture_id == c.id)).first()
        rules = getattr(v, "rules", None) if v is not None else None
        if rules is not None:
            out[str(c.id)] = rules
    return out or None


def _tsa_tokens(s: Session, checkpoint_id: int) -> list[dict]:
    """The RFC 3161 tokens of the checkpoint's signed note (storage.evidence.tsa), each the
    TSA's whole answer (DER TimeStampResp, base64), for `openssl ts -verify -data
    checkpoint.note -in TOKEN -CAfile …`."""
    from storage.evidence.tsa import tokens_of

    return [
        {
            "tsa": t.tsa,
            "gen_time": t.gen_time.isoformat() + "Z" if t.gen_time else None,
            "sha256": t.digest,
            "token": base64.b64encode(t.token).decode(),
        }
        for t in tokens_of(s, "checkpoint", str(checkpoint_id))
        if t.token
    ]


def build_receipt(
    engine: Engine, archive_dir: Path, event_id: int
) -> tuple[dict[str, Any], list[Capture]]:
    """receipt.json's content, and the captures the WACZ must hold."""
    with Session(engine) as s:
        event = s.get(ChangeEvent, event_id)
        if event is None:
            raise CaptureNotFound(f"no change event {event_id}")
        needed = s.scalars(
            select(EvidenceEntry.id).where(EvidenceEntry.event_id == event_id)
        ).first()
    if needed is None:
        raise ArchiveError(f"event {event_id} predates the evidence log: no receipt can prove it")
    with Session(engine) as s:
        cp = latest(s)
    if cp is None or cp.size < needed:  # the event is not under a checkpoint yet: sign one now
        make_checkpoint(engine, archive_dir)
    with Session(engine) as s:
        cp = latest(s)
        assert cp is not None
        event = s.get(ChangeEvent, event_id)
        assert event is not None
        leaves = [
            bytes.fromhex(h)
            for h in s.scalars(
                select(EvidenceEntry.leaf_hash).order_by(EvidenceEntry.id).limit(cp.size)
            )
        ]
        tree = Tree(leaves)
        if tree.root(cp.size).hex() != cp.root_hash:
            raise ArchiveError(
                "the evidence log does not match its checkpoint: run `warcwatch verify`"
            )
        before = s.get(Capture, event.from_capture) if event.from_capture else None
        after = s.get(Capture, event.to_capture) if event.to_capture else None
        captures: dict[str, Any] = {}
        wanted: list[Capture] = []
        for role, c in (("from", before), ("to", after)):
            if c is None:
                continue
            item = _capture(c)
            item["entry"] = _entry_of(s, tree, cp.size, record_id=c.record_id)
            if c.kind == "revisit":  # its payload is in the record it refers to: prove that too
                origin = origin_of(s, c)
                item["origin"] = _capture(origin)
                item["origin"]["entry"] = _entry_of(s, tree, cp.size, record_id=origin.record_id)
            captures[role] = item
            wanted.append(c)
        key = keys.load(archive_dir)
        if key is None:
            raise ArchiveError("the archive has no signing key")
        known = {str(v): v for v in keys.known(archive_dir)}
        signed_by = [v for v in known.values() if v.key_id.hex() in _key_ids(cp.note)]
        public = signed_by[-1] if signed_by else key.verifier
        receipt = {
            "format": FORMAT,
            "event": event.as_json(),
            "event_entry": _entry_of(s, tree, cp.size, event_id=event_id),
            "captures": captures,
            "diff": {
                "summary": event.summary,
                "summary_sha256": summary_sha256(event.summary),
                "text": _text_diff(s, before, after),
            },
            "rules": _rules(s, wanted),
            "checkpoint": {
                "id": cp.id,
                "size": cp.size,
                "root_hash": cp.root_hash,
                "note": cp.note,
                "tsa_tokens": _tsa_tokens(s, cp.id),
            },
            "public_key": keys.describe(public),
            "wacz": {"path": WACZ},
        }
    return receipt, wanted


def _key_ids(note: str) -> set[str]:
    sigs = note.rpartition("\n\n")[2].splitlines()
    return {base64.b64decode(line.split(" ")[2])[:4].hex() for line in sigs if line.count(" ") == 2}


def write_receipt(
    engine: Engine, archive_dir: Path, warc_dir: Warcs, event_id: int, out: Path
) -> Path:
    """The bundle of event `event_id` in folder `out` (made; an existing one is replaced)."""
    from storage.wacz import write_wacz

    receipt, captures = build_receipt(engine, archive_dir, event_id)
    tmp = out.with_name(out.name + ".part")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        with Session(engine) as s:
            write_wacz(s, warc_dir, Selection(ids=tuple(c.id for c in captures)), tmp / WACZ)
        receipt["wacz"]["sha256"] = sha256_hex((tmp / WACZ).read_bytes())
        (tmp / "receipt.json").write_text(
            json.dumps(receipt, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        (tmp / "checkpoint.note").write_text(receipt["checkpoint"]["note"], encoding="utf-8")
        (tmp / "public-key.pem").write_text(receipt["public_key"]["public_key_pem"])
        shutil.rmtree(out, ignore_errors=True)
        tmp.replace(out)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise ArchiveError(f"cannot write the receipt to {out}: {exc}") from None
    with Session(engine) as s, s.begin():
        from storage.evidence.log import log_custody

        log_custody(s, "receipt", {"event_id": event_id, "out": str(out), **receipt["wacz"]})
    return out


# --- verification, offline ----------------------------------------------------------------------


@dataclass
class ReceiptCheck:
    problems: list[str] = field(default_factory=list)
    event_id: int | None = None
    fingerprint: str | None = None  # of the key that signed: compare it with the published one
    size: int | None = None

    def summary(self) -> str:
        return (
            f"event {self.event_id}: its records and entry are in the evidence log of size "
            f"{self.size}, signed by the key with SHA-256 fingerprint {self.fingerprint} "
            "(compare it with the archive's published key)"
        )

    def as_json(self) -> dict:
        return {"ok": not self.problems, **self.__dict__}


def _load(path: Path) -> tuple[Path, dict]:
    folder = path if path.is_dir() else path.parent
    try:
        return folder, json.loads((folder / "receipt.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ArchiveError(f"{folder / 'receipt.json'}: cannot read the receipt: {exc}") from None


def published_fingerprint(key: str) -> str:
    """The SHA-256 fingerprint a `--key` names: a fingerprint itself (hex), a PEM file of the
    public key, or a signed-note verifier key (`name+id+base64`)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    text = key.strip().lower().replace(":", "")
    if len(text) == 64 and all(c in "0123456789abcdef" for c in text):
        return text
    if "+" in key and not Path(key).exists():
        try:
            return keys.fingerprint(Verifier.parse(key).public)
        except NoteError as exc:
            raise ArchiveError(f"--key: {exc}") from None
    try:
        public = load_pem_public_key(Path(key).read_bytes())
    except (OSError, ValueError) as exc:
        raise ArchiveError(
            f"--key {key}: not a fingerprint, PEM public key or verifier key ({exc})"
        ) from None
    if not isinstance(public, Ed25519PublicKey):
        raise ArchiveError(f"--key {key}: not an Ed25519 public key")
    return keys.fingerprint(public)


def verify_receipt(path: Path, published: str | None = None) -> ReceiptCheck:
    """Check the bundle at `path`; with `published` (a fingerprint), also that the key that
    signed it is the archive's published one."""
    folder, r = _load(path)
    check = ReceiptCheck()
    bad = check.problems.append
    try:
        check.event_id = r["event"]["id"]
        verifier = Verifier.parse(r["public_key"]["verifier_key"])
        check.fingerprint = keys.fingerprint(verifier.public)
        if keys.public_pem(verifier.public) != r["public_key"].get("public_key_pem"):
            bad("public_key: the PEM is not the key of verifier_key")
        text, _ = verify(r["checkpoint"]["note"], [verifier])
        cp = Checkpoint.parse(text)
        check.size = cp.size
    except (KeyError, TypeError, NoteError) as exc:
        bad(f"checkpoint: {exc}")
        return check
    _tokens(r, bad)
    if published is not None and check.fingerprint != published:
        bad(
            f"public_key: signed by the key with fingerprint {check.fingerprint}, "
            f"not the published key {published}"
        )
    if (cp.size, cp.root.hex()) != (r["checkpoint"].get("size"), r["checkpoint"].get("root_hash")):
        bad("checkpoint: size or root_hash differ from the signed note")

    def proven(where: str, item: dict) -> dict | None:
        try:
            proof = [base64.b64decode(p) for p in item["proof"]]
            leaf = leaf_hash(item["entry"].encode())
            ok = verify_inclusion(item["index"], cp.size, leaf, proof, cp.root)
            entry = json.loads(item["entry"])
        except (KeyError, TypeError, ValueError) as exc:
            bad(f"{where}: unreadable ({exc})")
            return None
        if not ok:
            bad(f"{where}: the inclusion proof of entry {item['index']} fails under the checkpoint")
            return None
        return entry

    event = proven("event_entry", r.get("event_entry") or {})
    if event is not None:
        _same_event(r, event, bad)
    members: dict[str, str] = {}
    for role, c in (r.get("captures") or {}).items():
        for where, item in ((f"captures.{role}", c), (f"captures.{role}.origin", c.get("origin"))):
            if item is None:
                continue
            entry = proven(f"{where}.entry", item.get("entry") or {})
            if entry is not None:
                _same_capture(where, item, entry, bad)
                members[entry["record_id"]] = entry["member_sha256"]
    _wacz(folder, r, members, bad)
    return check


def _tokens(r: dict, bad) -> None:
    """Each RFC 3161 token is a granted time-stamp of the signed note, byte for byte. Whether its
    TSA is to be trusted is the verifier's to decide with the TSA's certificate (`openssl ts
    -verify`, docs/evidence.md): the bundle cannot say."""
    from storage.evidence.tsa import TsaError, check_answer

    note = r["checkpoint"]["note"].encode()
    for i, t in enumerate(r["checkpoint"].get("tsa_tokens") or []):
        try:
            check_answer(base64.b64decode(t["token"]), note, None)
        except (TsaError, KeyError, ValueError) as exc:
            bad(f"checkpoint.tsa_tokens[{i}] ({t.get('tsa')}): {exc}")


def _same_event(r: dict, entry: dict, bad) -> None:
    e, captures = r["event"], r.get("captures") or {}
    said = {
        "event_id": e.get("id"),
        "event": e.get("kind"),
        "url": e.get("url"),
        "target": e.get("target"),
        "detected_at": e.get("detected_at"),
        "from_record": (captures.get("from") or {}).get("record_id"),
        "to_record": (captures.get("to") or {}).get("record_id"),
        "summary_sha256": sha256_hex(canonical(r["diff"].get("summary") or {}).encode()),
        "new_url": e.get("new_url"),
        "reason": e.get("reason"),
    }
    for name, value in said.items():
        if entry.get(name) != value:
            bad(
                f"event.{name}: the receipt says {value!r}, "
                f"the signed log entry {entry.get(name)!r}"
            )
    if r["diff"].get("summary_sha256") != said["summary_sha256"]:
        bad("diff.summary_sha256 is not the SHA-256 of diff.summary")
    text = r["diff"].get("text")
    if text and sha256_hex(text["unified"].encode()) != text["sha256"]:
        bad("diff.text.sha256 is not the SHA-256 of diff.text.unified")


_FIELDS = (  # receipt field, entry field
    ("record_id", "record_id"),
    ("url", "uri"),
    ("time", "date"),
    ("payload_digest", "payload_digest"),
    ("warc_file", "file"),
    ("offset", "offset"),
    ("length", "length"),
)


def _same_capture(where: str, item: dict, entry: dict, bad) -> None:
    for name, logged in _FIELDS:
        if item.get(name) != entry.get(logged):
            bad(
                f"{where}.{name}: the receipt says {item.get(name)!r}, "
                f"the signed log entry {entry.get(logged)!r}"
            )


def _wacz(folder: Path, r: dict, members: dict[str, str], bad) -> None:
    path = folder / WACZ
    try:
        data = path.read_bytes()
    except OSError as exc:
        bad(f"{WACZ}: {exc}")
        return
    if sha256_hex(data) != r.get("wacz", {}).get("sha256"):
        bad(f"{WACZ}: its SHA-256 is not the one receipt.json gives")
    try:
        warc = _stored(data, "archive/data.warc.gz")
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        bad(f"{WACZ}: not a WACZ with archive/data.warc.gz ({exc})")
        return
    if zlib.crc32(warc) != zipfile.ZipFile(io.BytesIO(data)).getinfo("archive/data.warc.gz").CRC:
        bad(f"{WACZ}: archive/data.warc.gz fails its CRC-32 (changed inside the ZIP)")
    found = set(_member_hashes(warc))
    for record_id, digest in members.items():
        if digest not in found:
            bad(f"{WACZ}: record {record_id} is not there byte for byte as the log recorded it")


def _stored(data: bytes, name: str) -> bytes:
    """The bytes of ZIP entry `name`, stored uncompressed as WACZ stores its WARCs, read from its
    local header without the CRC check zipfile makes: a changed WARC is then still read, and
    the record that changed named."""
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        info = z.getinfo(name)
    if info.compress_type != zipfile.ZIP_STORED:
        raise ValueError(f"{name} is compressed in the ZIP")
    head = data[info.header_offset : info.header_offset + 30]
    if head[:4] != b"PK\x03\x04":
        raise ValueError(f"no local header for {name}")
    start = info.header_offset + 30 + int.from_bytes(head[26:28], "little")
    start += int.from_bytes(head[28:30], "little")
    return data[start : start + info.compress_size]


def _member_hashes(warc: bytes):
    """SHA-256 of each gzip member of a .warc.gz, as its bytes lie in the file."""
    pos = 0
    while pos < len(warc):
        d = zlib.decompressobj(zlib.MAX_WBITS | 16)
        try:
            d.decompress(warc[pos:])
        except zlib.error:
            return
        end = len(warc) - len(d.unused_data)
        yield hashlib.sha256(warc[pos:end]).hexdigest()
        pos = end
