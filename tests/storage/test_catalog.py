"""The catalog says exactly where every capture lives: each row's (file, offset, length) is one
whole gzip member holding that very record; failed attempts have a reason and no record; the
`captures` command answers in the contract's JSON shape, without importing Scrapy."""

from __future__ import annotations

import json
import subprocess
import sys

from monitor.config import load_config
from tests.conftest import ROOT, warcwatch
from tests.warcs import all_records, catalog_rows, one_member, parse_record, reason_of

CAPTURE_KEYS = {
    "url",
    "timestamp",
    "status",
    "mime",
    "digest",
    "kind",
    "warc_file",
    "offset",
    "length",
    "target",
}


def read_span(warc_dir, name: str, offset: int, length: int):
    path = warc_dir / name
    with open(path, "rb") as fh:
        fh.seek(offset)
        data = fh.read(length)
    assert len(data) == length, f"{name} ends before {offset}+{length}"
    return parse_record(one_member(data), path, offset, length)


def test_rows_point_at_exactly_their_records(two_pass_archive):
    a = two_pass_archive
    rows = [r for r in catalog_rows(a.config) if r.kind != "failed"]
    assert rows
    for row in rows:
        record = read_span(a.warc_dir, row.warc_file, row.offset, row.length)
        assert record.id == row.record_id
        assert record.type == row.kind
        assert record.uri == row.url
        assert record.header("WARC-Payload-Digest") == row.digest
        assert (
            record.header("WARC-Date").replace("-", "").replace(":", "").replace("T", "")[:14]
            == row.timestamp
        )
        assert int(record.first_line.split()[1]) == row.status
        request = read_span(a.warc_dir, row.warc_file, row.request_offset, row.request_length)
        assert request.type == "request"
        assert request.header("WARC-Concurrent-To") == row.record_id


def test_every_record_is_cataloged(two_pass_archive):
    a = two_pass_archive
    spans = set()
    for row in catalog_rows(a.config):
        if row.kind != "failed":
            spans |= {
                (row.warc_file, row.offset, row.length),
                (row.warc_file, row.request_offset, row.request_length),
            }
    records = {
        (r.file.name, r.offset, r.length) for r in all_records(a.warc_dir) if r.type != "warcinfo"
    }
    assert records == spans


def test_rows_record_what_the_response_said(two_pass_archive):
    a = two_pass_archive
    rows = catalog_rows(a.config)
    by_url: dict = {}
    for r in rows:
        by_url.setdefault(r.url.removeprefix(a.server.base), []).append(r)
    gz = by_url["/gz"][0]
    assert (gz.kind, gz.status, gz.mime, gz.ip) == ("response", 200, "text/html", "127.0.0.1")
    etag = by_url["/etag"]
    assert [r.kind for r in etag] == ["response", "revisit"]
    assert etag[0].etag == '"e-1"' and etag[1].revisit_of == etag[0].id
    missing = by_url["/missing"]
    # the same 404 page twice: stored once, then a revisit of it
    assert [(r.kind, r.status, r.reason) for r in missing] == [
        ("response", 404, "http-404"),
        ("revisit", 404, "http-404"),
    ]
    assert missing[1].revisit_of == missing[0].id and missing[1].digest == missing[0].digest
    assert all(len(r.timestamp) == 14 and r.timestamp.isdigit() for r in rows)
    assert all(r.run_id in (a.passes[0]["run"], a.passes[1]["run"]) for r in rows)


def test_failed_captures_have_a_reason_and_no_record(two_pass_archive):
    a = two_pass_archive
    rows = catalog_rows(a.config)
    failed = {}
    for r in rows:
        if r.kind == "failed":
            failed.setdefault(r.url, set()).add(reason_of(r))
            assert (
                r.warc_file is None
                and r.offset is None
                and r.length is None
                and r.record_id is None
            )
            assert r.target == "pages"
    assert failed == {a.url("/denied"): {"robots-denied"}, a.refused_url: {"refused"}}
    assert [r.kind for r in rows if r.url == a.url("/denied")] == ["failed", "failed"]


def test_captures_json_matches_the_contract(two_pass_archive):
    a = two_pass_archive
    out = warcwatch("captures", a.url("/etag"), "--config", str(a.config), "--json").stdout
    captures = json.loads(out)
    assert isinstance(captures, list) and len(captures) == 2
    for c in captures:
        assert CAPTURE_KEYS <= set(c), CAPTURE_KEYS - set(c)
        assert c["url"] == a.url("/etag") and c["target"] == "pages"
        assert len(c["timestamp"]) == 14 and c["timestamp"].isdigit()
        assert c["status"] in (200, 304) and c["mime"] in ("text/html", None)
        assert c["digest"].startswith("sha256:")  # the default for a new archive
        assert (
            isinstance(c["offset"], int)
            and isinstance(c["length"], int)
            and c["warc_file"].endswith(".warc.gz")
        )
    assert [c["kind"] for c in captures] == ["response", "revisit"]  # oldest first
    assert captures[0]["timestamp"] <= captures[1]["timestamp"]
    rows = {r.record_id: r for r in catalog_rows(a.config)}
    assert {(c["warc_file"], c["offset"], c["length"]) for c in captures} <= {
        (r.warc_file, r.offset, r.length) for r in rows.values()
    }


def test_captures_json_shows_failed_attempts(two_pass_archive):
    a = two_pass_archive
    captures = json.loads(
        warcwatch("captures", a.refused_url, "--config", str(a.config), "--json").stdout
    )
    assert [c["kind"] for c in captures] == ["failed", "failed"]
    assert all(
        c["warc_file"] is None and c["offset"] is None and c["status"] is None for c in captures
    )


def test_captures_json_of_an_unknown_url_is_an_empty_array(two_pass_archive):
    a = two_pass_archive
    proc = warcwatch("captures", a.url("/never-crawled"), "--config", str(a.config), "--json")
    assert json.loads(proc.stdout) == []


def test_captures_does_not_import_scrapy(two_pass_archive):
    a = two_pass_archive
    proc = subprocess.run(
        [
            sys.executable,
            "-X",
            "importtime",
            "-m",
            "monitor.cli",
            "captures",
            a.url("/etag"),
            "--config",
            str(a.config),
            "--json",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert len(json.loads(proc.stdout)) == 2  # it did answer
    imported = {
        line.rsplit("|", 1)[-1].strip()
        for line in proc.stderr.splitlines()
        if line.startswith("import time:")
    }
    assert "storage.lookup" in imported  # the probe sees our own imports
    # a current SQLite catalog is read with sqlite3 alone (storage.lookup), another through
    # SQLAlchemy, never with the crawler's libraries
    heavy_roots = ("scrapy", "twisted") + (
        () if load_config(a.config).archive.database else ("sqlalchemy",)
    )
    heavy = sorted(m for m in imported if m.split(".")[0] in heavy_roots)
    assert heavy == [], heavy[:10]
