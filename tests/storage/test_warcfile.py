"""A WARC file name is taken once: two writers (daemon workers fork from one server and may pick
the same name in the same second) never both write under it. Its records are standard gzip
members, through ISA-L at level 1 and stdlib zlib otherwise."""

from __future__ import annotations

import base64
import hashlib
import io
import random
import subprocess
import sys
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders

from storage.warcfile import OPEN_SUFFIX, WarcFile
from tests.warcs import WARCIO_CHECK


def test_a_name_whose_closed_file_exists_is_refused(tmp_path):
    name = "t-20260102030405-00001-h.warc.gz"
    (tmp_path / name).write_bytes(b"closed by another writer")
    with pytest.raises(FileExistsError):
        WarcFile(tmp_path, name)
    assert not (tmp_path / (name + OPEN_SUFFIX)).exists()  # our claim is withdrawn
    assert (tmp_path / name).read_bytes() == b"closed by another writer"


def test_a_name_another_writer_holds_open_is_refused(tmp_path):
    name = "t-20260102030405-00002-h.warc.gz"
    first = WarcFile(tmp_path, name)
    with pytest.raises(FileExistsError):
        WarcFile(tmp_path, name)
    first.close()
    assert (tmp_path / name).exists() and not (tmp_path / (name + OPEN_SUFFIX)).exists()


def _write_pages(directory, level: int, pages: list[bytes]):
    """Response records of `pages` through WarcFile at `level`; the closed file's path."""
    f = WarcFile(directory, f"t-20260102030405-{level:05d}-h.warc.gz", gzip_level=level)
    for n, body in enumerate(pages):
        head = StatusAndHeaders(
            "200 OK",
            [("Content-Type", "text/html"), ("Content-Length", str(len(body)))],
            protocol="HTTP/1.1",
        )
        record = f.writer.create_warc_record(
            f"http://127.0.0.1/{n}", "response", payload=io.BytesIO(body), http_headers=head
        )
        f.write(record)
    return f.close()


def _pages() -> list[bytes]:
    rnd = random.Random(15)
    words = [bytes(rnd.choices(b"abcdefghij <>/", k=rnd.randint(2, 9))) for _ in range(500)]
    # one page larger than warcio's copy buffer (16 KB), one empty, several of text
    return [b" ".join(rnd.choices(words, k=k)) for k in (20_000, 1, 300, 5000)] + [b""]


def _check_standard_gzip(path, pages: list[bytes]) -> bytes:
    """What every WARC tool needs: warcio reads each record back byte-equal, `warcio check`
    recomputes every digest, `gzip -t` reads the members. Returns the first member's header."""
    with open(path, "rb") as fh:
        got = [r.content_stream().read() for r in ArchiveIterator(fh, check_digests="raise")]
    assert got == pages
    proc = subprocess.run([*WARCIO_CHECK, str(path)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    proc = subprocess.run(["gzip", "-t", str(path)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return path.read_bytes()[:10]


def test_level_1_members_are_isal_and_standard_gzip(tmp_path):
    pages = _pages()
    header = _check_standard_gzip(_write_pages(tmp_path, 1, pages), pages)
    # ISA-L writes XFL 0 and OS 255 in the gzip header where zlib writes XFL 4 (fastest), OS 3
    assert header[8:10] == b"\x00\xff", header.hex()


def test_other_levels_stay_zlib(tmp_path):
    pages = _pages()
    header = _check_standard_gzip(_write_pages(tmp_path, 9, pages), pages)
    assert header[8:10] == b"\x02\x03", header.hex()  # zlib's XFL for its slowest level, Unix


def test_without_isal_level_1_is_zlib(tmp_path):
    """Where isal cannot be imported (no wheel for the platform), the writer falls back to
    stdlib zlib at the same level: run in a Python that cannot import isal."""
    code = (
        "import sys; sys.modules['isal'] = None\n"
        "from pathlib import Path\n"
        "from tests.storage.test_warcfile import _write_pages, _pages\n"
        "print(_write_pages(Path(sys.argv[1]), 1, _pages()))\n"
    )
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, cwd=root
    )
    assert proc.returncode == 0, proc.stderr
    pages = _pages()
    header = _check_standard_gzip(Path(proc.stdout.strip()), pages)
    assert header[8:10] == b"\x04\x03", header.hex()  # zlib's level 1: XFL 4 (fastest), Unix


def test_a_resource_records_block_digest_is_its_payloads(tmp_path):
    """A resource record (a rendered DOM) has no HTTP head: its block is its payload, and the
    one digest warcio computed names both (storage.records)."""
    from datetime import UTC, datetime

    from storage.records import resource_record

    body = _pages()[0]
    f = WarcFile(tmp_path, "t-20260102030405-00003-h.warc.gz")
    when = datetime(2026, 12, 4, tzinfo=UTC)
    f.write(resource_record(f.writer, "urn:dom:x", "text/html", body, when, None))
    path = f.close()
    with open(path, "rb") as fh:
        records = [
            (r, r.content_stream().read()) for r in ArchiveIterator(fh, check_digests="raise")
        ]
    ((record, payload),) = records
    assert payload == body
    expected = "sha256:" + base64.b32encode(hashlib.sha256(body).digest()).decode()
    headers = record.rec_headers.headers
    assert [v for k, v in headers if k == "WARC-Block-Digest"] == [expected]
    assert [v for k, v in headers if k == "WARC-Payload-Digest"] == [expected]
    _check_standard_gzip(path, [body])
