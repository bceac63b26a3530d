"""Reading one archived record back: the gzip member at (offset, length) of a WARC file, parsed by
warcio. The HTTP message is kept as the bytes archived (`http_block`), so `--raw` is exact; its
payload can be read decoded (Content-Encoding undone, storage.contentcoding) for display and
text extraction. Every read of a record comes here, from a local file or an object
(storage.objects).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from io import BytesIO

from storage.contentcoding import DecodingError, decode
from storage.errors import ArchiveError
from storage.objects import Warcs, storage_of, where
from storage.warcfile import OPEN_SUFFIX


@dataclass(frozen=True)
class Location:
    """Where a record lies: plain data, as pywb keeps it."""

    filename: str
    offset: int
    length: int


@dataclass(frozen=True)
class ArchivedRecord:
    rec_type: str
    target_uri: str | None
    warc_headers: tuple[tuple[str, str], ...]
    http_block: bytes  # the record block: HTTP head and payload, as archived

    @property
    def http_head_length(self) -> int:
        if self.rec_type == "resource":
            return 0  # a rendered DOM or screenshot: the block is the payload, no HTTP head
        end = self.http_block.find(b"\r\n\r\n")
        if end >= 0:
            return end + 4
        end = self.http_block.find(b"\n\n")
        return end + 2 if end >= 0 else len(self.http_block)

    @property
    def http_head(self) -> bytes:
        return self.http_block[: self.http_head_length]

    @property
    def payload(self) -> bytes:
        """The payload as it crossed the wire (Content-Encoding kept, chunk framing removed)."""
        return self.http_block[self.http_head_length :]

    def header(self, name: str) -> str | None:
        name = name.lower()
        return next((v for k, v in self.warc_headers if k.lower() == name), None)

    def http_headers(self):
        """The HTTP status line and headers, parsed by warcio (a StatusAndHeaders)."""
        from warcio.statusandheaders import StatusAndHeadersParser

        return StatusAndHeadersParser([], verify=False).parse(BytesIO(self.http_head))

    def decoded(self, limit: int | None = None) -> Iterator[bytes]:
        """The payload with its Content-Encoding undone (every coding the crawl accepts: gzip,
        deflate, br, zstd; see storage.contentcoding); an unknown coding, or a body that is not in
        the coding its header says, comes out as is. Decoding stops at `limit` bytes."""
        encoding = (
            None
            if self.rec_type == "resource"
            else self.http_headers().get_header("Content-Encoding")
        )
        total = 0
        try:
            for chunk in decode(self.payload, encoding):
                if limit is not None and total + len(chunk) > limit:
                    yield chunk[: limit - total]
                    return
                total += len(chunk)
                yield chunk
        except DecodingError as exc:
            raise ArchiveError(f"cannot decode the payload: {exc}") from None


def read_member(warcs: Warcs, loc: Location) -> bytes:
    """The gzip member of one record, byte for byte: from the local file while there is one
    (closed, or `.open` while it is written), else by a ranged read of its object."""
    w = storage_of(warcs)
    data: bytes | None = None
    closed, still_open = w.local / loc.filename, w.local / (loc.filename + OPEN_SUFFIX)
    # the closed name asked again last: a writer renames `.open` to closed, and an upload removes
    # the local copy once its object is confirmed, between any two looks
    for path in (closed, still_open, closed):
        try:
            with open(path, "rb") as f:
                f.seek(loc.offset)
                data = f.read(loc.length)
            break
        except FileNotFoundError:
            continue
    if data is None and w.objects is not None:
        data = w.objects.read_range(loc.filename, loc.offset, loc.length)
    if data is None:
        raise ArchiveError(f"WARC file {loc.filename} is not in {where(w, loc.filename)}")
    if len(data) != loc.length or data[:2] != b"\x1f\x8b":
        raise ArchiveError(
            f"{loc.filename}:{loc.offset}: no gzip member of {loc.length} bytes there"
        )
    return data


def read_record(warcs: Warcs, loc: Location) -> ArchivedRecord:
    """The record at `loc`, parsed by warcio's ArchiveIterator from its gzip member alone."""
    from warcio.archiveiterator import ArchiveIterator
    from warcio.exceptions import ArchiveLoadFailed

    data = read_member(warcs, loc)
    try:
        for rec in ArchiveIterator(BytesIO(data), no_record_parse=True, check_digests=False):
            return ArchivedRecord(
                rec_type=rec.rec_type,
                target_uri=rec.rec_headers.get_header("WARC-Target-URI"),
                warc_headers=tuple(rec.rec_headers.headers),
                http_block=rec.raw_stream.read(),
            )
    except (ArchiveLoadFailed, zlib.error, EOFError, ValueError) as exc:
        raise ArchiveError(f"{loc.filename}:{loc.offset}: unreadable record: {exc}") from None
    raise ArchiveError(f"{loc.filename}:{loc.offset}: no record there")
