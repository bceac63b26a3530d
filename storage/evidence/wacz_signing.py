"""Signing WACZ packages: the archive's ECDSA P-384 key and the `signedData` of
`datapackage-digest.json`, in the WACZ Signing and Verification spec's anonymous-key form
(https://specs.webrecorder.net/wacz-auth/0.1.0/), or from an authsign-compatible server.

What ReplayWeb.page (wabac.js `verifyWACZSignature`) checks of an anonymous signature, and so
what is written here: `publicKey` is the base64 of the key's SubjectPublicKeyInfo (DER), imported
as ECDSA P-384; `signature` is the base64 of the raw r‖s pair (48 + 48 bytes, WebCrypto's form,
not DER) of ECDSA with SHA-256 over the UTF-8 bytes of the `hash` string ("sha256:…hex"), which is
the sha256 of datapackage.json. py-wacz's `wacz validate` also wants `created` equal to
datapackage.json's `created`.

The key lives in the archive directory (`keys/wacz-ecdsa-p384.pem`, PKCS#8, mode 0600 in a 0700
folder), made on first use and published by `warcwatch key --show` as its SPKI and fingerprint
(sha256 of the SPKI DER). It is never logged. ECDSA is `cryptography`'s; only the r‖s packing
and the spec's JSON are written here, as no library does exactly this (authsign is GPL and
signs with a domain certificate, not an anonymous key).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from storage.errors import WarcwatchError

KEY_DIR = "keys"
KEY_FILE = "wacz-ecdsa-p384.pem"
SPEC_VERSION = "0.1.0"  # of WACZ Signing and Verification; authsign writes the same `version`
_COORD = 48  # bytes of one P-384 coordinate (r, s)

# Called with the key's fingerprint right after a key is made (the evidence log records it).
KeyCreated = Callable[["SigningKey"], None]


class SigningError(WarcwatchError):
    """A package could not be signed: the key cannot be read or made, the server refused."""


@dataclass(frozen=True)
class SigningKey:
    path: Path
    private: ec.EllipticCurvePrivateKey

    @property
    def spki(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    @property
    def public_key(self) -> str:
        """The spec's `publicKey`: base64 of the SubjectPublicKeyInfo."""
        return base64.b64encode(self.spki).decode("ascii")

    @property
    def fingerprint(self) -> str:
        return "sha256:" + hashlib.sha256(self.spki).hexdigest()

    def sign(self, message: bytes) -> bytes:
        """ECDSA P-384 / SHA-256 of `message`, as raw r‖s (what WebCrypto verifies)."""
        r, s = decode_dss_signature(self.private.sign(message, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(_COORD, "big") + s.to_bytes(_COORD, "big")


def key_path(archive_dir: Path) -> Path:
    return archive_dir / KEY_DIR / KEY_FILE


def load_key(archive_dir: Path) -> SigningKey | None:
    """The archive's WACZ signing key, or None when none has been made yet."""
    path = key_path(archive_dir)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise SigningError(f"cannot read the signing key {path}: {exc.strerror}") from None
    try:
        private = serialization.load_pem_private_key(data, password=None)
    except ValueError:
        raise SigningError(f"{path} is not a PEM private key") from None
    if not isinstance(private, ec.EllipticCurvePrivateKey) or private.curve.name != "secp384r1":
        raise SigningError(f"{path} is not an ECDSA P-384 key")
    return SigningKey(path, private)


def signing_key(archive_dir: Path, on_created: KeyCreated | None = None) -> SigningKey:
    """The archive's key, made on first use. Made in a private temporary file, then linked to its
    name: a crash leaves no half-written key, and of two processes making one, one key wins and
    both use it."""
    key = load_key(archive_dir)
    if key is not None:
        return key
    path = key_path(archive_dir)
    private = ec.generate_private_key(ec.SECP384R1())
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, pem)
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(tmp, path)
            created = True
        except FileExistsError:
            created = False  # another process made it first: use that one
    except OSError as exc:
        raise SigningError(f"cannot make the signing key {path}: {exc.strerror}") from None
    finally:
        tmp.unlink(missing_ok=True)
    key = load_key(archive_dir)
    assert key is not None
    if created and on_created is not None:
        on_created(key)
    return key


def anonymous_signed_data(key: SigningKey, digest: str, created: str, software: str) -> dict:
    """The spec's anonymous `signedData` for `digest` (datapackage.json's "sha256:…")."""
    return {
        "hash": digest,
        "created": created,
        "software": software,
        "version": SPEC_VERSION,
        "signature": base64.b64encode(key.sign(digest.encode("utf-8"))).decode("ascii"),
        "publicKey": key.public_key,
    }


def verify_anonymous(signed: dict) -> bool:
    """Whether an anonymous `signedData`'s signature of its `hash` holds under its `publicKey`,
    checked as ReplayWeb.page does (raw r‖s, SHA-256, P-384)."""
    try:
        public = serialization.load_der_public_key(base64.b64decode(signed["publicKey"]))
        raw = base64.b64decode(signed["signature"])
    except (KeyError, ValueError, TypeError):
        return False
    if not isinstance(public, ec.EllipticCurvePublicKey) or len(raw) != 2 * _COORD:
        return False
    r, s = int.from_bytes(raw[:_COORD], "big"), int.from_bytes(raw[_COORD:], "big")
    try:
        public.verify(
            encode_dss_signature(r, s), signed["hash"].encode("utf-8"), ec.ECDSA(hashes.SHA256())
        )
    except InvalidSignature:
        return False
    return True


def remote_signer(
    url: str, token: str | None = None, timeout: float = 30.0
) -> Callable[[str, str], dict]:
    """A signer that asks an authsign-compatible server: POST {"hash", "created"} as JSON (with
    `Authorization: bearer TOKEN` when given) to `url` (its /sign endpoint); its answer is the
    `signedData`, and must be for the same hash and time."""

    def sign(digest: str, created: str) -> dict:
        body = json.dumps({"hash": digest, "created": created}).encode()
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = "bearer " + token
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                answer: Any = json.loads(response.read())
        except urllib.error.HTTPError as exc:
            raise SigningError(f"signing server {url} refused: HTTP {exc.code}") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise SigningError(f"signing server {url} unreachable: {reason}") from None
        except ValueError:
            raise SigningError(
                f"signing server {url} answered something that is not JSON"
            ) from None
        if not isinstance(answer, dict) or not answer.get("signature"):
            raise SigningError(f"signing server {url} answered without a signature")
        if answer.get("hash") != digest or answer.get("created") != created:
            raise SigningError(
                f"signing server {url} signed another hash or time than the one asked for"
            )
        return answer

    return sign


def local_signer(
    archive_dir: Path, software: str, on_created: KeyCreated | None = None
) -> tuple[SigningKey, Callable[[str, str], dict]]:
    """The archive's key and a signer that signs with it (anonymous form)."""
    key = signing_key(archive_dir, on_created)
    return key, lambda digest, created: anonymous_signed_data(key, digest, created, software)


def identity(archive_dir: Path) -> dict | None:
    """What `warcwatch key --show` publishes of the WACZ signing key (None: none made yet)."""
    key = load_key(archive_dir)
    if key is None:
        return None
    return {
        "use": "WACZ signing (datapackage-digest.json, anonymous form)",
        "algorithm": "ECDSA P-384 (SHA-256)",
        "fingerprint": key.fingerprint,
        "public_key": key.public_key,
        "path": str(key.path),
    }
