"""Signed WACZ (issue 12 item 6): `warcwatch export --out F.wacz --sign` writes the anonymous-key
`signedData` of the WACZ signing spec. Checked with the tools others use: py-wacz's `wacz validate`
accepts the package; the signature is verified here with `cryptography` alone, on the spec's bytes
(ECDSA P-384, SHA-256 over the `hash` string, raw r‖s, SPKI public key); a tampered
datapackage.json fails both; `--signing-url` speaks authsign's /sign API; and ReplayWeb.page in
Chromium reports the signature valid."""

from __future__ import annotations

import base64
import hashlib
import json
import stat
import subprocess
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from monitor.config import load_config
from tests.conftest import warcwatch
from tests.lookup_archive import lookup_archive  # noqa: F401 - fixture
from tests.toolvenv import tool_venv


@pytest.fixture(scope="module")
def wacz_bin() -> Path:
    return tool_venv("wacz", "wacz>=0.5")


def export_signed(config: Path, out: Path, *extra: str) -> subprocess.CompletedProcess:
    return warcwatch("export", "--config", str(config), "--out", str(out), "--sign", *extra)


def wacz_validate(wacz_bin: Path, path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [wacz_bin / "wacz", "validate", "-f", str(path)], capture_output=True, text=True
    )


def signature_holds(signed: dict) -> bool:
    """The spec's check, written from the spec with `cryptography` only (none of warcwatch's
    code)."""
    public = serialization.load_der_public_key(base64.b64decode(signed["publicKey"]))
    assert isinstance(public, ec.EllipticCurvePublicKey) and public.curve.name == "secp384r1"
    raw = base64.b64decode(signed["signature"])
    assert len(raw) == 96  # r‖s, 48 bytes each: WebCrypto's form, not DER
    der = encode_dss_signature(int.from_bytes(raw[:48], "big"), int.from_bytes(raw[48:], "big"))
    try:
        public.verify(der, signed["hash"].encode("utf-8"), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True


def rewrite(src: Path, dst: Path, change: dict[str, bytes]) -> None:
    with zipfile.ZipFile(src) as a, zipfile.ZipFile(dst, "w") as b:
        for info in a.infolist():
            b.writestr(info, change.get(info.filename, a.read(info)))


def test_signed_wacz_validates_and_its_signature_holds(lookup_archive, tmp_path, wacz_bin):  # noqa: F811
    out = tmp_path / "signed.wacz"
    done = export_signed(lookup_archive.config, out)
    archive_dir = load_config(lookup_archive.config).archive.dir
    key_file = archive_dir / "keys" / "wacz-ecdsa-p384.pem"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_file.parent.stat().st_mode) == 0o700
    assert b"PRIVATE KEY" not in (done.stdout + done.stderr).encode()
    assert "made the archive's WACZ signing key" in done.stderr  # said once, when made

    proc = wacz_validate(wacz_bin, out)
    assert proc.returncode == 0 and "passed WACZ is valid" in proc.stdout, proc.stdout + proc.stderr
    with zipfile.ZipFile(out) as z:
        package_bytes = z.read("datapackage.json")
        digest = json.loads(z.read("datapackage-digest.json"))
    signed = digest["signedData"]
    assert digest["hash"] == signed["hash"] == "sha256:" + hashlib.sha256(package_bytes).hexdigest()
    assert set(signed) == {"hash", "created", "software", "version", "signature", "publicKey"}
    assert signed["created"] == json.loads(package_bytes)["created"]
    assert signature_holds(signed)

    # the identity published by `key --show` is the key that signed
    spki = base64.b64decode(signed["publicKey"])
    fingerprint = "sha256:" + hashlib.sha256(spki).hexdigest()
    shown = warcwatch("key", "--show", "--config", str(lookup_archive.config)).stdout
    assert signed["publicKey"] in shown and fingerprint in shown and fingerprint in done.stdout
    as_json = json.loads(
        warcwatch("key", "--show", "--json", "--config", str(lookup_archive.config)).stdout
    )
    assert as_json["wacz"]["public_key"] == signed["publicKey"]
    assert "PRIVATE" not in json.dumps(as_json)

    # made once, then reused: a second export is signed by the same key
    again = tmp_path / "again.wacz"
    assert "made the archive" not in export_signed(lookup_archive.config, again).stderr
    with zipfile.ZipFile(again) as z:
        assert (
            json.loads(z.read("datapackage-digest.json"))["signedData"]["publicKey"]
            == (signed["publicKey"])
        )


def test_a_tampered_datapackage_fails(lookup_archive, tmp_path, wacz_bin):  # noqa: F811
    good = tmp_path / "good.wacz"
    export_signed(lookup_archive.config, good)
    with zipfile.ZipFile(good) as z:
        package = z.read("datapackage.json")
        digest = json.loads(z.read("datapackage-digest.json"))
    forged = package.replace(b'"title": "warcwatch export"', b'"title": "warcwatch exporT"')
    assert forged != package

    # datapackage.json altered alone: its hash no longer matches the digest file
    bad = tmp_path / "bad.wacz"
    rewrite(good, bad, {"datapackage.json": forged})
    proc = wacz_validate(wacz_bin, bad)
    assert proc.returncode != 0 and "hash mismatch" in proc.stdout, proc.stdout

    # and with the digest file's hashes updated to match: the signature no longer holds
    new_hash = "sha256:" + hashlib.sha256(forged).hexdigest()
    digest["hash"] = digest["signedData"]["hash"] = new_hash
    worse = tmp_path / "worse.wacz"
    rewrite(
        good,
        worse,
        {"datapackage.json": forged, "datapackage-digest.json": json.dumps(digest).encode()},
    )
    assert wacz_validate(wacz_bin, worse).returncode == 0  # hashes agree: it cannot tell…
    assert not signature_holds(digest["signedData"])  # …the signature can


class _Authsign(BaseHTTPRequestHandler):
    """Stands in for an authsign server's POST /sign: answers the request's hash and created with
    a signedData of authsign's shape, or (answer = "wrong") for another hash."""

    seen: list[tuple[str, str | None, dict]] = []
    answer = "right"

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.seen.append((self.path, self.headers.get("Authorization"), body))
        signed = {
            "hash": body["hash"] if self.answer == "right" else "sha256:" + "0" * 64,
            "created": body["created"],
            "software": "authsigner 0.5.0",
            "version": "0.1.0",
            "signature": "MEUCIQDtest",
            "domain": "signer.example.org",
            "domainCert": "-----BEGIN CERTIFICATE-----\n…\n-----END CERTIFICATE-----\n",
            "timeSignature": "MIItest",
            "timestampCert": "-----BEGIN CERTIFICATE-----\n…\n-----END CERTIFICATE-----\n",
        }
        data = json.dumps(signed).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def authsign():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Authsign)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Authsign.seen, _Authsign.answer = [], "right"
    yield f"http://127.0.0.1:{server.server_address[1]}/sign"
    server.shutdown()


def test_signing_url_posts_the_hash_to_an_authsign_server(lookup_archive, tmp_path, authsign):  # noqa: F811
    out = tmp_path / "remote.wacz"
    done = warcwatch(
        "export", "--config", str(lookup_archive.config), "--out", str(out),
        "--signing-url", authsign, "--signing-token", "s3cret-token",
    )  # fmt: skip
    assert "signed by " + authsign in done.stdout
    with zipfile.ZipFile(out) as z:
        package = z.read("datapackage.json")
        digest = json.loads(z.read("datapackage-digest.json"))
    ((path, auth, body),) = _Authsign.seen
    assert path == "/sign" and auth == "bearer s3cret-token"
    assert body == {
        "hash": "sha256:" + hashlib.sha256(package).hexdigest(),
        "created": json.loads(package)["created"],
    }
    assert digest["signedData"]["domain"] == "signer.example.org"
    assert digest["signedData"]["hash"] == digest["hash"] == body["hash"]


def test_a_server_signing_another_hash_is_refused(lookup_archive, tmp_path, authsign):  # noqa: F811
    _Authsign.answer = "wrong"
    out = tmp_path / "refused.wacz"
    done = warcwatch(
        "export", "--config", str(lookup_archive.config), "--out", str(out),
        "--signing-url", authsign, check=False,
    )  # fmt: skip
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.count("\n") == 1 and "signed another hash" in done.stderr, done.stderr
    assert not out.exists() and not list(tmp_path.glob(".wacz-*"))


def test_only_a_wacz_is_signed(lookup_archive, tmp_path):  # noqa: F811
    done = warcwatch(
        "export", "--config", str(lookup_archive.config), "--out", str(tmp_path / "x.warc.gz"),
        "--sign", check=False,
    )  # fmt: skip
    assert done.returncode == 2 and "only a WACZ" in done.stderr


def test_the_library_check_agrees_with_the_independent_one(lookup_archive, tmp_path):  # noqa: F811
    """storage.evidence.wacz_signing.verify_anonymous (what `warcwatch verify` uses) says what the
    spec's check above says, for the genuine signature and for a forged hash."""
    from storage.evidence.wacz_signing import verify_anonymous

    out = tmp_path / "signed.wacz"
    export_signed(lookup_archive.config, out)
    with zipfile.ZipFile(out) as z:
        signed = json.loads(z.read("datapackage-digest.json"))["signedData"]
    forged = {**signed, "hash": "sha256:" + "0" * 64}
    assert verify_anonymous(signed) is signature_holds(signed) is True
    assert verify_anonymous(forged) is signature_holds(forged) is False
