"""The evidence log (issue 12, items 2 and 7, and `warcwatch verify`): after two real passes,
every WARC record written has its entry (file, offset, length, the SHA-256 of its gzip member
as stored), the change event and the key's creation theirs; each pass ends with a checkpoint
that openssl verifies with the published key; the key file is the owner's alone. Then real
tampering, one byte or one row at a time, each reported by `warcwatch verify` naming where."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import sqlite3
import stat
import subprocess
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from tests.conftest import crawl, warcwatch, write_config
from tests.httpserver import SiteServer, page
from tests.lookup_archive import lookup_archive  # noqa: F401 - fixture
from tests.monitor.test_alerts import HookServer

ARTICLE = (
    "<html><head><title>Statement</title></head><body><article><p>{}</p></article></body></html>"
)
FIRST = "The ministry said the border crossing would stay open for aid convoys this week."
SECOND = "The ministry said the border crossing would close to aid convoys from Monday."


@pytest.fixture(scope="module")
def evidence_archive(tmp_path_factory):
    s = SiteServer().start()
    s.routes["/statement"] = page(ARTICLE.format(FIRST))
    s.routes["/same"] = page("<html><body><p>unchanging page</p></body></html>")
    hook = HookServer()  # the alerts' webhook, on 127.0.0.1
    root = tmp_path_factory.mktemp("evidence")
    config = write_config(
        root,
        [{"name": "ministry", "urls": [s.url("/statement"), s.url("/same")]}],
        extra=f'\n[alerts]\nnotify = ["{hook.url}"]\n',
    )
    passes = [crawl(config)]
    s.routes["/statement"] = page(ARTICLE.format(SECOND))
    passes.append(crawl(config))
    yield root, config, passes, hook
    s.stop()
    hook.shutdown()
    hook.server_close()


def db(root: Path) -> sqlite3.Connection:
    return sqlite3.connect(root / "archive" / "catalog.sqlite")


def entries(root: Path, kind: str | None = None) -> list[dict]:
    with db(root) as c:
        rows = c.execute("SELECT id, kind, entry FROM evidence_log ORDER BY id").fetchall()
    return [json.loads(e) | {"_id": i} for i, k, e in rows if kind in (None, k)]


def copy(root: Path, tmp_path: Path) -> Path:
    dest = tmp_path / "copy"
    shutil.copytree(root, dest)
    return dest


def verify(root: Path) -> subprocess.CompletedProcess:
    return warcwatch("verify", "--config", str(root / "warcwatch.toml"), check=False)


def test_every_record_written_has_its_entry(evidence_archive):
    root = evidence_archive[0]
    logged = {e["record_id"]: e for e in entries(root, "record")}
    seen = 0
    for path in sorted((root / "archive" / "warcs").glob("*.warc.gz")):
        data = path.read_bytes()
        with open(path, "rb") as fh:
            it = ArchiveIterator(fh)
            for rec in it:
                it.read_to_end(rec)
                offset, length = it.get_record_offset(), it.get_record_length()
                h = rec.rec_headers
                e = logged[h.get_header("WARC-Record-ID")]
                assert (e["file"], e["offset"], e["length"]) == (path.name, offset, length)
                member = data[offset : offset + length]
                assert e["member_sha256"] == hashlib.sha256(member).hexdigest()
                assert e["type"] == rec.rec_type
                assert e["payload_digest"] == h.get_header("WARC-Payload-Digest")
                assert e["block_digest"] == h.get_header("WARC-Block-Digest")
                assert e["host"] and e["tool"].startswith("warcwatch/") and e["operator"]
                seen += 1
    assert seen == len(logged) > 10


def test_the_event_and_the_key_creation_are_logged(evidence_archive):
    root = evidence_archive[0]
    with db(root) as c:
        (event_id, from_id, to_id) = c.execute(
            "SELECT id, from_capture, to_capture FROM events WHERE kind = 'changed'"
        ).fetchone()
        records = dict(c.execute("SELECT id, record_id FROM captures"))
    [event] = entries(root, "event")
    assert event["event_id"] == event_id and event["event"] == "changed"
    assert (event["from_record"], event["to_record"]) == (records[from_id], records[to_id])
    custody = entries(root, "custody")
    assert [c["action"] for c in custody] == ["key-created"]
    assert custody[0]["details"]["verifier_key"].startswith("warcwatch.archive/")


def test_each_pass_ends_with_a_checkpoint_openssl_verifies(evidence_archive, tmp_path):
    root, passes = evidence_archive[0], evidence_archive[2]
    with db(root) as c:
        rows = c.execute(
            "SELECT size, root_hash, note FROM evidence_checkpoints ORDER BY id"
        ).fetchall()
    assert [r[0] for r in rows] == [p["checkpoint"]["size"] for p in passes]
    assert rows[-1][0] == len(entries(root))
    shown = json.loads(warcwatch("key", "--config", str(root / "warcwatch.toml"), "--json").stdout)
    pem = tmp_path / "key.pem"
    pem.write_text(shown["checkpoints"]["public_key_pem"])
    for size, root_hash, note in rows:
        text, _, sigs = note.rpartition("\n\n")
        lines = text.split("\n")
        assert lines[0] == shown["checkpoints"]["origin"] and lines[1] == str(size)
        assert base64.b64decode(lines[2]).hex() == root_hash and lines[3].startswith("time ")
        [sig_line] = sigs.splitlines()
        dash, name, blob = sig_line.split(" ")
        assert dash == "\u2014" and name == shown["checkpoints"]["origin"]
        raw = base64.b64decode(blob)
        assert raw[:4].hex() == shown["checkpoints"]["key_id"]
        (tmp_path / "note.txt").write_bytes((text + "\n").encode())
        (tmp_path / "note.sig").write_bytes(raw[4:])
        proc = subprocess.run(
            ["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", str(pem), "-rawin"]
            + ["-in", str(tmp_path / "note.txt"), "-sigfile", str(tmp_path / "note.sig")],
            capture_output=True,
            text=True,
        )
        assert proc.returncode == 0 and "Signature Verified Successfully" in proc.stdout, proc


def test_the_key_is_its_owners_alone_and_never_logged(evidence_archive):
    root = evidence_archive[0]
    keys = root / "archive" / "keys"
    private = keys / "evidence-ed25519.pem"
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert stat.S_IMODE(keys.stat().st_mode) == 0o700
    body = "".join(private.read_text().splitlines()[1:-1])
    shown = warcwatch("key", "--show", "--config", str(root / "warcwatch.toml")).stdout
    with db(root) as c:
        dump = "\n".join(c.iterdump())
    for text in (shown, dump):
        assert body not in text and "PRIVATE KEY" not in text


def test_an_intact_archive_verifies(evidence_archive):
    root = evidence_archive[0]
    proc = verify(root)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith("intact: ") and "2 checkpoints" in proc.stdout


def _response(root: Path, url_part: str) -> tuple[int, str, str, int]:
    with db(root) as c:
        return c.execute(
            "SELECT id, record_id, warc_file, offset FROM captures "
            "WHERE kind = 'response' AND url LIKE ? ORDER BY id LIMIT 1",
            (f"%{url_part}",),
        ).fetchone()


def test_one_byte_of_a_warc_changed_is_named(evidence_archive, tmp_path):
    root = copy(evidence_archive[0], tmp_path)
    _, record_id, warc_file, offset = _response(root, "/statement")
    path = root / "archive" / "warcs" / warc_file
    data = bytearray(path.read_bytes())
    data[offset + 40] ^= 0x01  # inside the record's gzip member
    path.write_bytes(bytes(data))
    proc = verify(root)
    assert proc.returncode == 1
    [line] = proc.stdout.splitlines()
    assert line.startswith(f"{warc_file}:{offset}: record {record_id}: its bytes differ")
    assert "TAMPERED" in proc.stderr


def test_one_catalog_row_changed_is_named(evidence_archive, tmp_path):
    root = copy(evidence_archive[0], tmp_path)
    capture_id, record_id, _, offset = _response(root, "/same")
    with db(root) as c:
        c.execute("UPDATE captures SET offset = offset + 1 WHERE id = ?", (capture_id,))
    proc = verify(root)
    assert proc.returncode == 1
    [line] = proc.stdout.splitlines()
    assert line == (
        f"captures id={capture_id}: offset is {offset + 1}, the evidence log (entry "
        f"{next(e['_id'] for e in entries(root, 'record') if e['record_id'] == record_id)}, "
        f"record {record_id}) says {offset}"
    )


def test_an_event_row_changed_is_named(evidence_archive, tmp_path):
    root = copy(evidence_archive[0], tmp_path)
    with db(root) as c:
        (event_id,) = c.execute("SELECT id FROM events").fetchone()
        c.execute('UPDATE events SET summary = \'{"added": [], "removed": []}\'')
    proc = verify(root)
    assert proc.returncode == 1
    assert proc.stdout.startswith(f"events id={event_id}: summary_sha256 is ")


def test_a_log_entry_rewritten_breaks_the_signed_checkpoints(evidence_archive, tmp_path):
    """Who rewrites an entry and its leaf hash still cannot make the signed heads agree."""
    root = copy(evidence_archive[0], tmp_path)
    [event] = entries(root, "event")
    with db(root) as c:
        text = c.execute("SELECT entry FROM evidence_log WHERE id = ?", (event["_id"],)).fetchone()[
            0
        ]
        forged = text.replace('"changed"', '"moved"')
        leaf = hashlib.sha256(b"\x00" + forged.encode()).hexdigest()
        c.execute(
            "UPDATE evidence_log SET entry = ?, leaf_hash = ? WHERE id = ?",
            (forged, leaf, event["_id"]),
        )
    proc = verify(root)
    assert proc.returncode == 1
    assert "no longer make its root hash" in proc.stdout
    assert f"events id={event['event_id']}: event is 'changed', the evidence log" in proc.stdout


def test_a_deleted_entry_and_a_forged_checkpoint_are_named(evidence_archive, tmp_path):
    root = copy(evidence_archive[0], tmp_path)
    with db(root) as c:
        c.execute("DELETE FROM evidence_log WHERE id = 3")
        (cid, note) = c.execute("SELECT id, note FROM evidence_checkpoints LIMIT 1").fetchone()
        c.execute(
            "UPDATE evidence_checkpoints SET note = ? WHERE id = ?",
            (note.replace("\ntime ", "\ntime 1"), cid),
        )
    out = verify(root).stdout
    assert "evidence_log id=4: entries 3..3 are missing" in out
    assert f"evidence_checkpoints id={cid}: signed note: the signature of" in out


def test_a_rotated_key_is_logged_and_both_keys_sign_the_handover(evidence_archive, tmp_path):
    root = copy(evidence_archive[0], tmp_path)
    config = str(root / "warcwatch.toml")
    before = json.loads(warcwatch("key", "--config", config, "--json").stdout)
    warcwatch("key", "--rotate", "--config", config)
    after = json.loads(warcwatch("key", "--config", config, "--json").stdout)
    assert after["checkpoints"]["key_id"] != before["checkpoints"]["key_id"]
    assert [k["key_id"] for k in after["checkpoints"]["retired"]] == [
        before["checkpoints"]["key_id"]
    ]
    [rotated] = [e for e in entries(root, "custody") if e["action"] == "key-rotated"]
    assert rotated["details"]["old"]["fingerprint"] == before["checkpoints"]["fingerprint"]
    with db(root) as c:
        note = c.execute("SELECT note FROM evidence_checkpoints ORDER BY id DESC").fetchone()[0]
    assert len(note.rpartition("\n\n")[2].splitlines()) == 2  # the old key and the new
    assert verify(root).returncode == 0


def test_the_alert_names_its_receipt_and_checkpoint(evidence_archive):
    root, _, passes, hook = evidence_archive
    [alert] = hook.accepted
    with db(root) as c:
        (event_id,) = c.execute("SELECT id FROM events").fetchone()
    cp = passes[1]["checkpoint"]
    assert (
        f"receipt: warcwatch receipt {event_id} (evidence checkpoint {cp['size']}, "
        f"root {cp['root_hash']})"
    ) in alert["message"]


def test_a_deleted_capture_row_and_a_planted_key_are_named(evidence_archive, tmp_path):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from storage.evidence import notes

    root = copy(evidence_archive[0], tmp_path)
    capture_id, record_id, warc_file, offset = _response(root, "/same")
    with db(root) as c:
        c.execute("DELETE FROM captures WHERE id = ?", (capture_id,))
    planted = notes.verifier_key("x", Ed25519PrivateKey.generate().public_key())
    with open(root / "archive" / "keys" / "public-keys.txt", "a") as fh:
        fh.write(planted + "\n")
    out = verify(root).stdout
    assert f"{warc_file}:{offset}: record {record_id} is logged (entry " in out
    assert "but has no catalog row" in out
    assert f"public-keys.txt: key {planted.split('+')[1]} was never logged" in out


def test_an_export_is_a_custody_action(evidence_archive, tmp_path):
    root = copy(evidence_archive[0], tmp_path)
    out = tmp_path / "evidence.wacz"
    warcwatch("export", "--out", str(out), "--config", str(root / "warcwatch.toml"))
    [export] = [e for e in entries(root, "custody") if e["action"] == "export"]
    d = export["details"]
    assert d["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    assert d["out"] == str(out.resolve()) and d["selection"] == "all captures"
    with db(root) as c:
        ids = {
            r for (r,) in c.execute("SELECT record_id FROM captures WHERE record_id IS NOT NULL")
        }
    assert set(d["records"]) == ids
    assert export["operator"] and export["host"]
    assert verify(root).returncode == 0  # the log grew past its last checkpoint: still intact


def test_the_log_verifies_on_each_catalog_backend(lookup_archive):  # noqa: F811
    """The shared lookup archive, crawled onto SQLite and onto PostgreSQL (where the writers
    number the entries under the table's lock): every record has its entry, every checkpoint
    holds."""
    proc = warcwatch("verify", "--json", "--config", str(lookup_archive.config), check=False)
    report = json.loads(proc.stdout)
    assert proc.returncode == 0 and report["ok"], report["problems"]
    assert report["records"] > 10 and report["checkpoints"] >= 2 and report["unsigned"] == 0
