"""Receipts of change events (issue 12, item 4): `warcwatch receipt EVENT_ID` on the archive of
tests/storage/test_evidence.py writes a bundle that `warcwatch verify DIR` checks with nothing
else; a third party checks its signature with openssl and its records with SHA-256 alone; its
WACZ passes `wacz validate` and holds the two captures' records byte for byte. Every kind of
tampering with the bundle is reported, naming the part."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from tests.conftest import warcwatch
from tests.storage.test_evidence import db, evidence_archive  # noqa: F401 - fixture
from tests.toolvenv import tool_venv


@pytest.fixture(scope="module")
def bundle(evidence_archive, tmp_path_factory):  # noqa: F811
    root = evidence_archive[0]
    with db(root) as c:
        (event_id,) = c.execute("SELECT id FROM events WHERE kind = 'changed'").fetchone()
    out = tmp_path_factory.mktemp("receipt") / "receipt"
    proc = warcwatch(
        "receipt", str(event_id), "--out", str(out), "--config", str(root / "warcwatch.toml")
    )
    assert proc.stdout.strip() == f"wrote {out}"
    return out, event_id, root


def tampered(bundle_dir: Path, tmp_path: Path) -> Path:
    dest = tmp_path / "bundle"
    shutil.copytree(bundle_dir, dest)
    return dest


def check(folder: Path) -> subprocess.CompletedProcess:
    return warcwatch("verify", str(folder), check=False)


def test_the_bundle_holds_what_the_issue_lists(bundle):
    out, event_id, root = bundle
    assert sorted(p.name for p in out.iterdir()) == [
        "checkpoint.note",
        "public-key.pem",
        "receipt.json",
        "records.wacz",
    ]
    r = json.loads((out / "receipt.json").read_text())
    assert r["event"]["id"] == event_id and r["event"]["kind"] == "changed"
    before, after = r["captures"]["from"], r["captures"]["to"]
    for c in (before, after):
        assert c["record_id"].startswith("<urn:uuid:") and c["url"].endswith("/statement")
        assert c["payload_digest"].startswith("sha256:") and c["warc_file"] and c["length"]
        assert c["time"].endswith("Z") and c["entry"]["proof"]
    assert "would close to aid convoys" in r["diff"]["text"]["unified"]
    assert (
        r["diff"]["summary_sha256"]
        == hashlib.sha256(
            json.dumps(
                r["diff"]["summary"], sort_keys=True, separators=(",", ":"), ensure_ascii=False
            ).encode()
        ).hexdigest()
    )
    assert r["checkpoint"]["note"] == (out / "checkpoint.note").read_text()
    assert r["checkpoint"]["tsa_tokens"] == []  # none configured
    shown = json.loads(warcwatch("key", "--json", "--config", str(root / "warcwatch.toml")).stdout)
    assert r["public_key"]["fingerprint"] == shown["checkpoints"]["fingerprint"]


def test_the_bundle_verifies_offline(bundle, tmp_path):
    out, event_id, _ = bundle
    moved = tmp_path / "elsewhere"
    shutil.copytree(out, moved)  # nothing but the bundle: no catalog, no archive, no config
    proc = check(moved)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"event {event_id}: its records and entry are in the evidence log" in proc.stdout


def test_a_third_party_checks_it_with_openssl_and_sha256(bundle, tmp_path):
    """What docs/evidence.md tells an investigator to do, by hand, with standard tools."""
    out, _, _ = bundle
    note = (out / "checkpoint.note").read_text()
    text, _, sig_line = note.rpartition("\n\n")
    (tmp_path / "body").write_bytes((text + "\n").encode())
    (tmp_path / "sig").write_bytes(base64.b64decode(sig_line.split()[-1])[4:])
    proc = subprocess.run(
        [
            "openssl",
            "pkeyutl",
            "-verify",
            "-pubin",
            "-inkey",
            str(out / "public-key.pem"),
            "-rawin",
            "-in",
            str(tmp_path / "body"),
            "-sigfile",
            str(tmp_path / "sig"),
        ],
        capture_output=True,
        text=True,
    )
    assert "Signature Verified Successfully" in proc.stdout, proc
    fp = subprocess.run(
        ["openssl", "pkey", "-pubin", "-in", str(out / "public-key.pem"), "-outform", "DER"],
        capture_output=True,
    ).stdout
    r = json.loads((out / "receipt.json").read_text())
    assert hashlib.sha256(fp).hexdigest() == r["public_key"]["fingerprint"]
    # the record as the WACZ holds it is the gzip member the log hashed when it was written
    import zipfile

    warc = zipfile.ZipFile(out / "records.wacz").read("archive/data.warc.gz")
    entry = json.loads(r["captures"]["to"]["entry"]["entry"])
    assert (
        hashlib.sha256(_member_at(warc, entry["record_id"])).hexdigest() == entry["member_sha256"]
    )


def _member_at(warc: bytes, record_id: str) -> bytes:
    import io

    it = ArchiveIterator(io.BytesIO(warc))
    for rec in it:
        it.read_to_end(rec)
        if rec.rec_headers.get_header("WARC-Record-ID") == record_id:
            o, n = it.get_record_offset(), it.get_record_length()
            return warc[o : o + n]
    raise AssertionError(f"{record_id} is not in the WACZ")


def test_the_wacz_holds_exactly_the_two_captures_and_passes_wacz_validate(bundle):
    import io
    import zipfile

    out, _, _ = bundle
    r = json.loads((out / "receipt.json").read_text())
    warc = zipfile.ZipFile(out / "records.wacz").read("archive/data.warc.gz")
    kinds = {}
    for rec in ArchiveIterator(io.BytesIO(warc)):
        kinds.setdefault(rec.rec_type, []).append(rec.rec_headers.get_header("WARC-Record-ID"))
    assert sorted(kinds["response"]) == sorted(
        [r["captures"]["from"]["record_id"], r["captures"]["to"]["record_id"]]
    )
    assert len(kinds["request"]) == 2 and len(kinds["warcinfo"]) == 1 and "revisit" not in kinds
    bin_dir = tool_venv("wacz", "wacz>=0.5")
    proc = subprocess.run(
        [bin_dir / "wacz", "validate", "-f", str(out / "records.wacz")],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _edit(folder: Path, change) -> None:
    r = json.loads((folder / "receipt.json").read_text())
    change(r)
    (folder / "receipt.json").write_text(json.dumps(r))


@pytest.mark.parametrize(
    "change, expected",
    [
        (
            lambda r: r["diff"]["summary"]["added"].append("a sentence never there"),
            "event.summary_sha256: the receipt says",
        ),
        (
            lambda r: r["event"].__setitem__("detected_at", "20200101000000"),
            "event.detected_at: the receipt says '20200101000000'",
        ),
        (
            lambda r: r["captures"]["from"].__setitem__("time", "2020-01-01T00:00:00Z"),
            "captures.from.time: the receipt says '2020-01-01T00:00:00Z'",
        ),
        (
            lambda r: r["captures"]["to"]["entry"].__setitem__(
                "entry", r["captures"]["to"]["entry"]["entry"].replace('"offset":', '"offset":1')
            ),
            "captures.to.entry: the inclusion proof of entry",
        ),
        (lambda r: r["event_entry"]["proof"].reverse(), "event_entry: the inclusion proof"),
        (
            lambda r: r["checkpoint"].__setitem__(
                "note", r["checkpoint"]["note"].replace("\n", "\n1", 1)
            ),
            "checkpoint: the signature of",
        ),
    ],
    ids=["diff", "event-time", "capture-time", "entry", "proof", "checkpoint"],
)
def test_a_tampered_receipt_is_named(bundle, tmp_path, change, expected):
    folder = tampered(bundle[0], tmp_path)
    _edit(folder, change)
    proc = check(folder)
    assert proc.returncode == 1
    assert expected in proc.stdout, proc.stdout


def test_a_tampered_wacz_is_named(bundle, tmp_path):
    folder = tampered(bundle[0], tmp_path)
    data = bytearray((folder / "records.wacz").read_bytes())
    r = json.loads((folder / "receipt.json").read_text())
    # one byte inside the 'to' record's gzip member, inside the (stored, uncompressed) WARC
    import zipfile

    with zipfile.ZipFile(folder / "records.wacz") as z:
        info = z.getinfo("archive/data.warc.gz")
        warc = z.read(info)
    member = _member_at(warc, r["captures"]["to"]["record_id"])
    at = data.find(member) + len(member) // 2
    data[at] ^= 0x20
    (folder / "records.wacz").write_bytes(bytes(data))
    out = check(folder).stdout
    assert "records.wacz: its SHA-256 is not the one receipt.json gives" in out
    assert (
        f"records.wacz: record {r['captures']['to']['record_id']} is not there byte for byte" in out
    )


def test_another_key_cannot_stand_in(bundle, tmp_path):
    """Re-signing the checkpoint with a key of one's own changes the fingerprint verify prints:
    the investigator compares it with the archive's published key."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from storage.evidence import keys, notes

    folder = tampered(bundle[0], tmp_path)
    r = json.loads((folder / "receipt.json").read_text())
    forger = Ed25519PrivateKey.generate()
    text = r["checkpoint"]["note"].rpartition("\n\n")[0] + "\n"
    name = text.split("\n")[0]
    _edit(
        folder,
        lambda r: (
            r["checkpoint"].__setitem__("note", notes.sign(text, name, [forger])),
            r["public_key"].__setitem__(
                "verifier_key", notes.verifier_key(name, forger.public_key())
            ),
            r["public_key"].__setitem__("public_key_pem", keys.public_pem(forger.public_key())),
        ),
    )
    proc = check(folder)
    assert keys.fingerprint(forger.public_key()) in proc.stdout
    assert r["public_key"]["fingerprint"] not in proc.stdout


def test_an_unknown_event_is_one_line(evidence_archive):  # noqa: F811
    proc = warcwatch(
        "receipt", "999", "--config", str(evidence_archive[0] / "warcwatch.toml"), check=False
    )
    assert proc.returncode == 2 and proc.stderr == "warcwatch: error: no change event 999\n"


def test_the_published_key_is_checked_when_given(bundle, tmp_path):
    out, _, root = bundle
    shown = json.loads(warcwatch("key", "--json", "--config", str(root / "warcwatch.toml")).stdout)
    pem = tmp_path / "published.pem"
    pem.write_text(shown["checkpoints"]["public_key_pem"])
    for key in (
        shown["checkpoints"]["fingerprint"],
        str(pem),
        shown["checkpoints"]["verifier_key"],
    ):
        assert warcwatch("verify", str(out), "--key", key, check=False).returncode == 0, key
    other = "ab" * 32
    proc = warcwatch("verify", str(out), "--key", other, check=False)
    assert proc.returncode == 1
    assert (
        f"public_key: signed by the key with fingerprint {shown['checkpoints']['fingerprint']}, "
        in (proc.stdout)
    )
    bad = warcwatch("verify", str(out), "--key", str(tmp_path / "missing.pem"), check=False)
    assert bad.returncode == 2 and bad.stderr.startswith("warcwatch: error: --key ")


def test_a_receipt_carries_the_checkpoints_rfc3161_tokens(tmp_path):
    """With `[evidence] tsa` (a real openssl TSA on 127.0.0.1), each pass's checkpoint is
    stamped after the pass; the receipt carries the token, `warcwatch verify` checks it is a
    stamp of the note, and `openssl ts -verify` accepts it with the TSA's CA."""
    from tests.conftest import crawl, write_config
    from tests.httpserver import SiteServer, page
    from tests.tsaserver import TsaServer

    tsa = TsaServer(tmp_path / "tsa").start()
    s = SiteServer().start()
    try:
        body = "<html><body><article><p>{}</p></article></body></html>"
        s.routes["/s"] = page(body.format("The agency confirmed the figures published on Monday."))
        config = write_config(
            tmp_path,
            [{"name": "t", "url": s.url("/s")}],
            extra=f'\n[evidence]\ntsa = ["{tsa.url}"]\n',
        )
        assert crawl(config)["timestamps"] == {"stamped": 1, "pending": 0}
        s.routes["/s"] = page(body.format("The agency withdrew the figures published on Monday."))
        assert crawl(config)["timestamps"] == {"stamped": 1, "pending": 0}
        out = tmp_path / "receipt"
        warcwatch("receipt", "1", "--out", str(out), "--config", str(config))
    finally:
        s.stop()
        tsa.stop()
    r = json.loads((out / "receipt.json").read_text())
    [token] = r["checkpoint"]["tsa_tokens"]
    assert token["tsa"] == tsa.url and token["gen_time"]
    assert check(out).returncode == 0
    (tmp_path / "token.tsr").write_bytes(base64.b64decode(token["token"]))
    proc = subprocess.run(
        ["openssl", "ts", "-verify", "-data", str(out / "checkpoint.note"),
         "-in", str(tmp_path / "token.tsr"), "-CAfile", str(tsa.dir / "ca.pem")],
        capture_output=True, text=True,
    )  # fmt: skip
    assert proc.returncode == 0 and "Verification: OK" in proc.stdout, proc.stdout + proc.stderr
    # a token of other bytes is named
    other = tmp_path / "other"
    shutil.copytree(out, other)
    _edit(other, lambda r: r["checkpoint"]["tsa_tokens"].append(
        {"tsa": "x", "token": base64.b64encode(b"not a token").decode()}
    ))  # fmt: skip
    assert "checkpoint.tsa_tokens[1] (x): answered something that is not a TimeStampResp" in (
        check(other).stdout
    )
