"""Export of a real crawled archive: WARC (records copied byte for byte, request records and
revisit targets included, `warcio check` clean), WACZ (`wacz validate` clean, hashes right) and
CDXJ (sorted, identical to what pywb's own cdxj-indexer writes)."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import zipfile
from io import BytesIO
from pathlib import Path

import pytest
from sqlalchemy.orm import Session
from warcio.archiveiterator import ArchiveIterator

from monitor.softremoval import PROBE_PATH
from storage.catalog import open_catalog
from storage.cdxj import archive_lines
from storage.errors import CaptureNotFound
from storage.export import Selection, write_warc
from storage.wacz import write_wacz
from storage.warcread import Location, read_member
from tests.lookup_archive import PATHS, lookup_archive  # noqa: F401 - fixture
from tests.toolvenv import tool_venv

BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def wacz_bin() -> Path:
    """py-wacz's `wacz` and its `cdxj-indexer` (pywb's indexer), from a venv of their own."""
    return tool_venv("wacz", "wacz>=0.5")


@pytest.fixture
def session(lookup_archive):  # noqa: F811
    engine = open_catalog(lookup_archive.database_url)
    with Session(engine) as s:
        yield s
    engine.dispose()


def records(path: Path) -> list[tuple[str, str | None, object]]:
    out = []
    with open(path, "rb") as f:
        for rec in ArchiveIterator(f):
            out.append((rec.rec_type, rec.rec_headers.get_header("WARC-Target-URI"), rec))
            rec.content_stream().read()
    return out


def warcio_check(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [BIN / "warcio", "check", "-v", str(path)], capture_output=True, text=True
    )


def test_export_of_a_revisit_brings_its_target_and_request_records(
    lookup_archive, session, tmp_path
):  # noqa: F811
    arc = lookup_archive
    revisit = arc.captures["/gz"][-1]
    assert revisit.kind == "revisit"
    out = tmp_path / "one.warc.gz"
    result = write_warc(
        session, arc.warcs, Selection(urls=(arc.url("/gz"),), since=revisit.timestamp), out
    )
    assert [c.id for c in result.selected] == [revisit.id]
    assert result.revisit_targets == 1
    check = warcio_check(out)
    assert check.returncode == 0, check.stdout + check.stderr
    types = [(t, uri) for t, uri, _ in records(out)]
    url = arc.url("/gz")
    assert types == [
        ("warcinfo", None),
        ("response", url),
        ("request", url),
        ("revisit", url),
        ("request", url),
    ]
    assert result.records == 5


def test_records_are_copied_byte_for_byte(lookup_archive, session, tmp_path):  # noqa: F811
    arc = lookup_archive
    out = tmp_path / "all.warc.gz"
    result = write_warc(session, arc.warcs, Selection(), out)
    data = out.read_bytes()
    for capture, where in result.written:
        original = read_member(
            arc.warcs, Location(capture.warc_file, capture.offset, capture.length)
        )
        assert data[where.offset : where.offset + where.length] == original
    # every response and revisit of the archive, each once (besides robots.txt and the host's
    # not-found probe, archived as evidence of its template: monitor.softremoval)
    expected = sum(1 for p in PATHS for c in arc.captures[p] if c.kind != "failed")
    pages = [
        c for c in result.selected if c.url != arc.url("/robots.txt") and PROBE_PATH not in c.url
    ]
    assert len(pages) == expected


def test_warcinfo_says_what_was_selected(lookup_archive, session, tmp_path):  # noqa: F811
    arc = lookup_archive
    out = tmp_path / "sel.warc.gz"
    t1 = arc.ts("/page", 0)
    write_warc(
        session, arc.warcs, Selection(urls=(arc.url("/page"),), target="lookup", until=t1), out
    )
    kind, _, rec = records(out)[0]
    assert kind == "warcinfo"
    with open(out, "rb") as f:
        info = next(iter(ArchiveIterator(f))).content_stream().read().decode()
    assert f"url={arc.url('/page')}" in info and "target=lookup" in info and f"until={t1}" in info
    assert "selected-captures: 1" in info
    assert [t for t, _, _ in records(out)] == ["warcinfo", "response", "request"]


def test_nothing_selected_is_an_error_and_writes_nothing(lookup_archive, session, tmp_path):  # noqa: F811
    out = tmp_path / "none.warc.gz"
    with pytest.raises(CaptureNotFound):
        write_warc(session, lookup_archive.warcs, Selection(target="no-such-target"), out)
    assert not out.exists() and not list(tmp_path.iterdir())


def test_wacz_passes_wacz_validate(lookup_archive, session, tmp_path, wacz_bin):  # noqa: F811
    arc = lookup_archive
    out = tmp_path / "lookup.wacz"
    result = write_wacz(session, arc.warcs, Selection(target="lookup"), out)
    proc = subprocess.run(
        [wacz_bin / "wacz", "validate", "-f", str(out)], capture_output=True, text=True
    )
    assert proc.returncode == 0 and "passed WACZ is valid" in proc.stdout, proc.stdout + proc.stderr
    with zipfile.ZipFile(out) as z:
        names = z.namelist()
        assert names == [
            "archive/data.warc.gz",
            "indexes/index.cdx",
            "pages/pages.jsonl",
            "datapackage.json",
            "datapackage-digest.json",
        ]
        assert z.getinfo("archive/data.warc.gz").compress_type == zipfile.ZIP_STORED
        package = json.loads(z.read("datapackage.json"))
        assert package["wacz_version"] == "1.1.1"
        for res in package["resources"]:
            data = z.read(res["path"])
            assert res["hash"] == "sha256:" + hashlib.sha256(data).hexdigest() and res[
                "bytes"
            ] == len(data)
        digest = json.loads(z.read("datapackage-digest.json"))
        assert digest["hash"] == "sha256:" + hashlib.sha256(z.read("datapackage.json")).hexdigest()
        # the index points into the packaged WARC
        warc = z.read("archive/data.warc.gz")
        lines = z.read("indexes/index.cdx").decode().splitlines()
        assert lines == sorted(lines) and len(lines) == len(result.written)
        for line in lines:
            fields = json.loads(line.split(" ", 2)[2])
            member = warc[int(fields["offset"]) : int(fields["offset"]) + int(fields["length"])]
            rec = next(iter(ArchiveIterator(BytesIO(member))))
            assert rec.rec_headers.get_header("WARC-Target-URI") == fields["url"]
        pages = [json.loads(p) for p in z.read("pages/pages.jsonl").decode().splitlines()]
        assert pages[0]["format"] == "json-pages-1.0"
        assert {p["url"] for p in pages[1:]} >= {arc.url("/page"), arc.url("/gz"), arc.url("/etag")}


def test_broken_wacz_fails_wacz_validate(lookup_archive, session, tmp_path, wacz_bin):  # noqa: F811
    """The validator is not a rubber stamp: a WACZ whose WARC was altered after hashing fails."""
    good = tmp_path / "good.wacz"
    write_wacz(session, lookup_archive.warcs, Selection(target="lookup"), good)
    bad = tmp_path / "bad.wacz"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(bad, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            dst.writestr(info, data + b"\0" if info.filename.startswith("archive/") else data)
    proc = subprocess.run(
        [wacz_bin / "wacz", "validate", "-f", str(bad)], capture_output=True, text=True
    )
    assert proc.returncode != 0, proc.stdout


def test_cdxj_is_sorted_and_identical_to_pywbs_indexer(lookup_archive, session, wacz_bin):  # noqa: F811
    ours = list(archive_lines(session))
    assert ours == sorted(ours)
    warcs = sorted(str(p) for p in lookup_archive.warc_dir.glob("*.warc.gz"))
    proc = subprocess.run(
        [wacz_bin / "cdxj-indexer", "--sort", *warcs], capture_output=True, text=True, check=True
    )
    assert ours == proc.stdout.splitlines()


def test_wacz_local_headers_agree_with_the_central_directory(lookup_archive, session, tmp_path):  # noqa: F811
    """ReplayWeb.page reads an entry at its local header's offset + 30 + name + extra field: the
    local extra field must be the central directory's, and the bytes there must be the entry's."""
    import struct
    import zipfile

    out = tmp_path / "lookup.wacz"
    write_wacz(session, lookup_archive.warcs, Selection(target="lookup"), out)
    raw = out.read_bytes()
    with zipfile.ZipFile(out) as z:
        for info in z.infolist():
            head = raw[info.header_offset : info.header_offset + 30]
            name_len, extra_len = struct.unpack("<HH", head[26:30])
            assert head[:4] == b"PK\x03\x04"
            assert extra_len == len(info.extra), info.filename
            start = info.header_offset + 30 + name_len + extra_len
            if info.compress_type == zipfile.ZIP_STORED:
                assert raw[start : start + info.file_size] == z.read(info), info.filename
