"""Signed notes (C2SP signed-note) with Ed25519, and the checkpoint text they carry (C2SP
tlog-checkpoint): signing, the key ID, the verifier key string, and verification.

Written here because the format is a few lines of text around an Ed25519 signature from
`cryptography`, and no maintained Python package implements it; tests/storage/test_notes.py
checks it byte for byte against the example of Go's golang.org/x/mod/sumdb/note, the reference
implementation.

A note is its text (ending in a newline), a blank line, and signature lines
`— <key name> <base64(key ID || signature)>`; the key ID is
SHA-256(key name || 0x0A || 0x01 || 32-byte public key)[:4], 0x01 naming Ed25519.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

ED25519 = b"\x01"
DASH = "\u2014"  # the em dash that opens a signature line


class NoteError(ValueError):
    """A note, checkpoint or verifier key that cannot be read, or whose signature fails."""


def raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id(name: str, public: Ed25519PublicKey) -> bytes:
    """The 4-byte key ID of signed-note's recommendation."""
    return hashlib.sha256(name.encode() + b"\n" + ED25519 + raw_public(public)).digest()[:4]


def verifier_key(name: str, public: Ed25519PublicKey) -> str:
    """`<name>+<hex key ID>+<base64(0x01 || public key)>`, the form Go's note.NewVerifier reads."""
    typed = base64.b64encode(ED25519 + raw_public(public)).decode()
    return f"{name}+{key_id(name, public).hex()}+{typed}"


@dataclass(frozen=True)
class Verifier:
    name: str
    key_id: bytes
    public: Ed25519PublicKey

    @classmethod
    def parse(cls, text: str) -> Verifier:
        name, _, rest = text.strip().partition("+")
        hexid, _, typed = rest.partition("+")  # (the base64 may itself hold a '+')
        try:
            raw = base64.b64decode(typed, validate=True)
            kid = bytes.fromhex(hexid)
        except ValueError:
            raise NoteError(f"not a verifier key: {text!r}") from None
        if not name or len(kid) != 4 or raw[:1] != ED25519 or len(raw) != 33:
            raise NoteError(f"not an Ed25519 verifier key: {text!r}")
        public = Ed25519PublicKey.from_public_bytes(raw[1:])
        if key_id(name, public) != kid:
            raise NoteError(f"the key ID of {text!r} does not match its key")
        return cls(name, kid, public)

    def __str__(self) -> str:
        return verifier_key(self.name, self.public)


def sign(text: str, name: str, keys: list[Ed25519PrivateKey]) -> str:
    """The signed note of `text` (which must end in a newline), signed by each of `keys` under
    the key name `name`."""
    if not text.endswith("\n") or "\n\n" in text:
        raise NoteError("a note's text ends in a newline and holds no blank line here")
    body = text.encode()
    lines = []
    for key in keys:
        sig = key.sign(body)
        blob = base64.b64encode(key_id(name, key.public_key()) + sig).decode()
        lines.append(f"{DASH} {name} {blob}\n")
    return text + "\n" + "".join(lines)


@dataclass(frozen=True)
class Signature:
    name: str
    key_id: bytes
    signature: bytes


def split(note: str) -> tuple[str, list[Signature]]:
    """The text of `note` and its signatures (unverified)."""
    if not note.endswith("\n"):
        raise NoteError("a signed note ends in a newline")
    text, sep, sigs = note.rpartition("\n\n")
    if not sep or not text:
        raise NoteError("no blank line between the note's text and its signatures")
    out = []
    for line in sigs.splitlines():
        dash, _, rest = line.partition(" ")
        name, _, blob = rest.partition(" ")
        try:
            raw = base64.b64decode(blob, validate=True)
        except ValueError:
            raise NoteError(f"a signature line that is not base64: {line!r}") from None
        if dash != DASH or not name or len(raw) < 5:
            raise NoteError(f"not a signature line: {line!r}")
        out.append(Signature(name, raw[:4], raw[4:]))
    return text + "\n", out


def verify(note: str, verifiers: list[Verifier]) -> tuple[str, list[Verifier]]:
    """The text of `note` and the known keys whose signatures on it verify. As signed-note asks:
    signatures of unknown keys are ignored, one that fails rejects the note, and a note that no
    known key signed is rejected."""
    text, sigs = split(note)
    good = []
    for sig in sigs:
        for v in verifiers:
            if v.name == sig.name and v.key_id == sig.key_id:
                try:
                    v.public.verify(sig.signature, text.encode())
                except InvalidSignature:
                    raise NoteError(
                        f"the signature of {v.name}+{v.key_id.hex()} does not verify"
                    ) from None
                good.append(v)
    if not good:
        raise NoteError("no signature of a known key")
    return text, good


@dataclass(frozen=True)
class Checkpoint:
    """The body of a C2SP tlog-checkpoint: origin, tree size, root hash, and the time as an
    extension line (`time 2026-12-03T17:00:00.000000Z`)."""

    origin: str
    size: int
    root: bytes
    time: str

    def text(self) -> str:
        root = base64.b64encode(self.root).decode()
        return f"{self.origin}\n{self.size}\n{root}\ntime {self.time}\n"

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        lines = text.split("\n")
        try:
            origin, size, root = lines[0], int(lines[1]), base64.b64decode(lines[2], validate=True)
        except (IndexError, ValueError):
            raise NoteError("not a checkpoint: origin, size and root hash lines expected") from None
        time = next((x[5:] for x in lines[3:] if x.startswith("time ")), "")
        if not origin or size < 0 or len(root) != 32 or str(size) != lines[1]:
            raise NoteError("not a checkpoint: origin, size and root hash lines expected")
        return cls(origin, size, root, time)
