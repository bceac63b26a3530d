"""Reading back what a crawl pass wrote: WARC records (each checked by `warcio check` and by our
own digest arithmetic) and catalog rows. Shared by every test that looks at the archive."""

from __future__ import annotations

import base64
import gzip
import hashlib
import subprocess
import sys
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session
from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders

from monitor.config import load_config
from storage.models import Capture

WARCIO = Path(sys.executable).with_name("warcio")
# `warcio check` with warcio's br decoder left out: it needs brotlipy's API (warcio issue #73), not
# Google's brotli that the product installs, and fails on every br record. The check is unchanged:
# warcio's digests are of the bytes as stored; the checker decodes payloads only to read them.
WARCIO_CHECK = [
    sys.executable,
    "-c",
    "import sys; from warcio.bufferedreaders import BufferedReader; "
    "BufferedReader.DECOMPRESSORS.pop('br', None); from warcio.cli import main; main(sys.argv[1:])",
    "check",
]


@dataclass(frozen=True)
class Record:
    """One WARC record as it lies in its file."""

    file: Path
    offset: int  # of its gzip member
    length: int  # of its gzip member
    headers: StatusAndHeaders  # the WARC headers
    block: bytes  # the record block, byte for byte
    http_head: bytes  # status/request line and header block, as stored ("" when not HTTP)
    payload: bytes  # what follows the HTTP head (still Content-Encoded, as received)

    @property
    def type(self) -> str:
        return self.headers.get_header("WARC-Type")

    @property
    def id(self) -> str:
        return self.headers.get_header("WARC-Record-ID")

    @property
    def uri(self) -> str | None:
        return self.headers.get_header("WARC-Target-URI")

    def header(self, name: str) -> str | None:
        return self.headers.get_header(name)

    def http_header(self, name: str) -> str | None:
        """A header of the stored HTTP head (first match, case-insensitive)."""
        for line in self.http_head.split(b"\r\n")[1:]:
            key, sep, value = line.partition(b":")
            if sep and key.strip().lower() == name.lower().encode():
                return value.strip().decode("latin-1")
        return None

    @property
    def first_line(self) -> bytes:
        return self.http_head.split(b"\r\n", 1)[0]


def sha1_b32(data: bytes) -> str:
    return "sha1:" + base64.b32encode(hashlib.sha1(data).digest()).decode()


def sha256_b32(data: bytes) -> str:
    return "sha256:" + base64.b32encode(hashlib.sha256(data).digest()).decode()


def b32_digest(data: bytes, like: str | None) -> str:
    """The digest of `data` in the algorithm of the digest `like` (sha256 by default)."""
    return sha1_b32(data) if (like or "").startswith("sha1:") else sha256_b32(data)


def one_member(data: bytes) -> bytes:
    """The content of `data`, which must be exactly one complete gzip member."""
    d = zlib.decompressobj(zlib.MAX_WBITS | 16)
    out = d.decompress(data) + d.flush()
    assert d.eof, "the bytes end before their gzip member does"
    assert d.unused_data == b"", f"{len(d.unused_data)} bytes follow the first gzip member"
    return out


def parse_record(raw: bytes, file: Path, offset: int, length: int) -> Record:
    """Split one uncompressed WARC record into headers, block, HTTP head and payload."""
    head, sep, rest = raw.partition(b"\r\n\r\n")
    assert sep, "no end of WARC headers"
    lines = head.decode("utf-8").split("\r\n")
    assert lines[0] == "WARC/1.1", lines[0]
    headers = StatusAndHeaders(
        lines[0], [tuple(x.strip() for x in line.split(":", 1)) for line in lines[1:]]
    )
    size = int(headers.get_header("Content-Length"))
    block = rest[:size]
    assert len(block) == size, "record block shorter than its Content-Length"
    assert rest[size:] == b"\r\n\r\n", "a record must end with CRLF CRLF"
    http_head, payload = b"", block
    if (headers.get_header("Content-Type") or "").startswith("application/http"):
        end = block.find(b"\r\n\r\n")
        assert end >= 0, "HTTP head without its blank line"
        http_head, payload = block[: end + 4], block[end + 4 :]
    return Record(file, offset, length, headers, block, http_head, payload)


def iter_records(path: Path) -> Iterator[Record]:
    """Every record of a .warc.gz, in order; warcio walks the file (digests checked, raising on a
    mismatch) and each record's bytes are re-read from its own gzip member."""
    data = path.read_bytes()
    with open(path, "rb") as fh:
        it = ArchiveIterator(fh, check_digests="raise")
        for rec in it:
            rec.raw_stream.read()  # let warcio verify both digests (of the bytes as stored)
            offset = it.get_record_offset()
            it.read_to_end(rec)
            length = it.get_record_length()
            record = parse_record(one_member(data[offset : offset + length]), path, offset, length)
            assert record.id == rec.rec_headers.get_header("WARC-Record-ID")
            verify_digests(record)
            yield record


def verify_digests(record: Record) -> None:
    """Our own arithmetic, independent of warcio's reader."""
    block = record.header("WARC-Block-Digest")
    assert block == b32_digest(record.block, block), f"block digest of {record.id}"
    if record.type in ("response", "request", "resource"):
        payload = record.header("WARC-Payload-Digest")
        assert payload == b32_digest(record.payload, payload), f"payload digest of {record.id}"


def warc_files(warc_dir: Path) -> list[Path]:
    return sorted(warc_dir.glob("*.warc.gz"))


def check_all_warcs(warc_dir: Path) -> dict[Path, list[Record]]:
    """`warcio check` on every WARC file in `warc_dir`, then each read back record by record.
    Also: no file is left `.open` once a pass has ended. Returns the records by file."""
    leftovers = sorted(p.name for p in warc_dir.glob("*.open"))
    assert not leftovers, f"WARC files still open after the pass: {leftovers}"
    files = warc_files(warc_dir)
    if not files:
        return {}
    proc = subprocess.run([*WARCIO_CHECK, *map(str, files)], capture_output=True, text=True)
    assert proc.returncode == 0, f"warcio check failed:\n{proc.stdout}\n{proc.stderr}"
    by_file = {f: list(iter_records(f)) for f in files}
    for f, records in by_file.items():
        # one gzip member per record, back to back, nothing before, between or after them
        ends = [0] + [r.offset + r.length for r in records]
        assert [r.offset for r in records] == ends[:-1], f"{f.name}: gaps between records"
        assert ends[-1] == f.stat().st_size, f"{f.name}: bytes after the last record"
    return by_file


def all_records(warc_dir: Path) -> list[Record]:
    return [r for f in warc_files(warc_dir) for r in iter_records(f)]


def gunzip(data: bytes) -> bytes:
    return gzip.decompress(data)


# --- the catalog ------------------------------------------------------------------------------


def warc_dir_of(config: Path) -> Path:
    return load_config(config).archive.warc_dir


def catalog_rows(config: Path) -> list[Capture]:
    """Every capture row of the watchlist's catalog, in insertion order (detached objects)."""
    engine = create_engine(load_config(config).archive.database_url)
    try:
        with Session(engine, expire_on_commit=False) as s:
            rows = list(s.scalars(select(Capture).order_by(Capture.id)))
            s.expunge_all()
        return rows
    finally:
        engine.dispose()


def reason_of(row: Capture) -> str | None:
    """The short reason of a failed capture (`too-large` of `too-large: 3145728 B > …`)."""
    return row.reason.split(":", 1)[0] if row.reason else None
