"""The archive's signing key: an Ed25519 key made on first use in `<archive>/keys/`, readable by
its owner only (0600, the folder 0700), never logged or printed; its public half is published
(`warcwatch key`), and the public halves of the keys it replaced are kept beside it so that old
checkpoints still verify.

    keys/origin                the log's name (the checkpoints' origin line, the key name)
    keys/evidence-ed25519.pem  the private key (PKCS#8 PEM, unencrypted, 0600)
    keys/public-keys.txt       every key this archive has signed with, one verifier key a line
                               (`<name>+<key ID>+<base64>`, Go's sumdb/note form), oldest first

Creating and rotating a key are custody actions: the caller logs them (storage.evidence.custody).
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_pem_private_key,
)

from storage.errors import ArchiveError
from storage.evidence.notes import Verifier, key_id, raw_public, verifier_key

PRIVATE = "evidence-ed25519.pem"
PUBLIC = "public-keys.txt"
ORIGIN = "origin"


def keys_dir(archive_dir: Path) -> Path:
    return archive_dir / "keys"


@dataclass(frozen=True)
class SigningKey:
    """The archive's current key and its name (= the log's origin)."""

    name: str
    private: Ed25519PrivateKey

    @property
    def public(self) -> Ed25519PublicKey:
        return self.private.public_key()

    @property
    def verifier(self) -> Verifier:
        return Verifier(self.name, key_id(self.name, self.public), self.public)


def fingerprint(public: Ed25519PublicKey) -> str:
    """SHA-256 of the key's SubjectPublicKeyInfo (DER), hex: what `openssl pkey -pubin -outform
    DER | sha256sum` prints for the published PEM."""
    der = public.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()


def public_pem(public: Ed25519PublicKey) -> str:
    return public.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()


def _write_private(path: Path, key: Ed25519PrivateKey) -> None:
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    tmp = path.with_name(path.name + ".new")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # never readable by others
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _append_public(directory: Path, verifier: str) -> None:
    with open(directory / PUBLIC, "a", encoding="utf-8") as fh:
        fh.write(verifier + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def load(archive_dir: Path) -> SigningKey | None:
    """The archive's key, or None before its first use."""
    d = keys_dir(archive_dir)
    path = d / PRIVATE
    if not path.exists():
        return None
    try:
        key = load_pem_private_key(path.read_bytes(), password=None)
        name = (d / ORIGIN).read_text(encoding="utf-8").strip()
    except (OSError, ValueError) as exc:
        raise ArchiveError(f"cannot read the archive's signing key in {d}: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey) or not name:
        raise ArchiveError(f"{path} is not an Ed25519 key, or {d / ORIGIN} is empty")
    return SigningKey(name, key)


def create(archive_dir: Path) -> SigningKey:
    """A new key for an archive that has none (and a name for its log)."""
    d = keys_dir(archive_dir)
    d.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(d, 0o700)
    origin = d / ORIGIN
    if not origin.exists():
        # schema-less URL form, as signed-note recommends; random, so two archives never share it
        origin.write_text(f"warcwatch.archive/{secrets.token_hex(8)}\n", encoding="utf-8")
    name = origin.read_text(encoding="utf-8").strip()
    key = Ed25519PrivateKey.generate()
    _write_private(d / PRIVATE, key)
    _append_public(d, verifier_key(name, key.public_key()))
    return SigningKey(name, key)


def load_or_create(archive_dir: Path) -> tuple[SigningKey, bool]:
    """The archive's key, made if it has none: (key, made now). Under a lock, so that the first
    passes of a daemon's workers, running at once, make one key between them."""
    d = keys_dir(archive_dir)
    d.mkdir(mode=0o700, parents=True, exist_ok=True)
    with open(d / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        key = load(archive_dir)
        return (key, False) if key is not None else (create(archive_dir), True)


def rotate(archive_dir: Path) -> tuple[SigningKey, SigningKey]:
    """Replace the key with a new one: (old, new). The old private key is deleted (its public
    key stays in public-keys.txt); the caller has it sign the rotation's checkpoint first."""
    old = load(archive_dir)
    if old is None:
        raise ArchiveError("the archive has no signing key yet: nothing to rotate")
    d = keys_dir(archive_dir)
    new = SigningKey(old.name, Ed25519PrivateKey.generate())
    _write_private(d / PRIVATE, new.private)
    _append_public(d, verifier_key(new.name, new.public))
    return old, new


def known(archive_dir: Path) -> list[Verifier]:
    """Every key the archive has signed with, oldest first."""
    path = keys_dir(archive_dir) / PUBLIC
    if not path.exists():
        return []
    return [Verifier.parse(line) for line in path.read_text().splitlines() if line.strip()]


def describe(v: Verifier) -> dict[str, str]:
    """A key as `warcwatch key` shows it: never its private half."""
    return {
        "name": v.name,
        "key_id": v.key_id.hex(),
        "fingerprint": fingerprint(v.public),
        "verifier_key": str(v),
        "public_key_pem": public_pem(v.public),
        "public_key_raw": raw_public(v.public).hex(),
    }


def identity(archive_dir: Path) -> dict | None:
    """What `warcwatch key` publishes of the checkpoint key (None: none made yet): the current
    key, and the keys it replaced (`retired`), which old checkpoints were signed with."""
    key = load(archive_dir)
    if key is None:
        return None
    current = describe(key.verifier)
    der = key.public.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return {
        "use": "evidence log checkpoints and change receipts (C2SP signed note)",
        "algorithm": "Ed25519",
        "fingerprint": current["fingerprint"],
        "public_key": base64.b64encode(der).decode(),
        "path": str(keys_dir(archive_dir) / PRIVATE),
        "origin": key.name,
        "key_id": current["key_id"],
        "verifier_key": current["verifier_key"],
        "public_key_pem": current["public_key_pem"],
        "retired": [describe(v) for v in known(archive_dir) if str(v) != str(key.verifier)],
    }
