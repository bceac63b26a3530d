"""Turning an HTTP exchange into warcio records: request, response, revisit, resource (a
rendered page) and warcinfo.

The HTTP status line and header block are stored byte for byte as they crossed the wire; the only
rewrite is the one the WARC spec asks of a de-chunked payload (Transfer-Encoding renamed to
X-Archive-Orig-Transfer-Encoding, so the record stays self-consistent).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from io import BytesIO

from warcio.recordbuilder import RecordBuilder
from warcio.statusandheaders import StatusAndHeaders, StatusAndHeadersParser

from storage import timestamps

SERVER_NOT_MODIFIED = "http://netpreserve.org/warc/1.1/revisit/server-not-modified"
_parser = StatusAndHeadersParser([], verify=False)


class WireHeaders(StatusAndHeaders):
    """warcio headers that serialise to the exact bytes received, not a normalised rebuild."""

    raw: bytes = b""

    @classmethod
    def parse(cls, raw: bytes) -> WireHeaders:
        parsed = _parser.parse(BytesIO(raw))
        headers = cls(parsed.statusline, parsed.headers, parsed.protocol, total_len=len(raw))
        headers.raw = raw if raw.endswith(b"\n\n") or raw.endswith(b"\r\n\r\n") else raw + b"\r\n"
        return headers

    def compute_headers_buffer(self, header_filter=None) -> None:
        self.headers_buff = self.raw


def dechunked_head(head: bytes) -> bytes:
    """Rename a Transfer-Encoding header: the payload we store has had its chunk framing removed."""
    lines = head.split(b"\n")
    for i in range(1, len(lines)):
        name, sep, _ = lines[i].partition(b":")
        if sep and name.strip().lower() == b"transfer-encoding":
            lines[i] = b"X-Archive-Orig-" + lines[i].lstrip()
    return b"\n".join(lines)


@dataclass(frozen=True)
class ResponseInfo:
    """What the catalog keeps from a response head."""

    status: int | None
    mime: str | None
    etag: str | None
    last_modified: str | None
    location: str | None


def response_info(head: WireHeaders) -> ResponseInfo:
    try:
        status = int(head.get_statuscode())
    except (TypeError, ValueError):
        status = None
    mime = head.get_header("Content-Type")
    if mime:
        mime = mime.split(";", 1)[0].strip().lower()
    return ResponseInfo(
        status=status,
        mime=mime or None,
        etag=head.get_header("ETag"),
        last_modified=head.get_header("Last-Modified"),
        location=head.get_header("Location"),
    )


def warc_date(when: datetime) -> str:
    # To the microsecond (WARC 1.1 allows it): captures of one URL in one second are told apart.
    # The catalog keeps (timestamp, micros), from which a revisit written in a later pass rebuilds
    # its WARC-Refers-To-Date: the same function makes both, so they are equal.
    return timestamps.warc_date(when)


def _headers(when: datetime, warcinfo_id: str | None) -> dict[str, str]:
    # One WARC file holds the records of several targets (storage.writer): each record names the
    # warcinfo record of its own target (isPartOf) in that file.
    headers = {"WARC-Date": warc_date(when)}
    if warcinfo_id:
        headers["WARC-Warcinfo-ID"] = warcinfo_id
    return headers


def response_record(
    builder: RecordBuilder,
    url: str,
    head: WireHeaders,
    body: bytes,
    when: datetime,
    ip: str | None,
    warcinfo_id: str | None = None,
):
    headers = _headers(when, warcinfo_id)
    if ip:
        headers["WARC-IP-Address"] = ip
    return builder.create_warc_record(
        url,
        "response",
        payload=BytesIO(body),
        length=len(body),
        http_headers=head,
        warc_headers_dict=headers,
    )


def request_record(
    builder: RecordBuilder,
    url: str,
    request_head: bytes,
    when: datetime,
    response_id: str,
    warcinfo_id: str | None = None,
):
    headers = {**_headers(when, warcinfo_id), "WARC-Concurrent-To": response_id}
    return builder.create_warc_record(
        url,
        "request",
        payload=BytesIO(b""),
        length=0,
        http_headers=WireHeaders.parse(request_head),
        warc_headers_dict=headers,
    )


def revisit_record(
    builder: RecordBuilder,
    url: str,
    head: WireHeaders,
    when: datetime,
    ip: str | None,
    digest: str,
    refers_to_uri: str,
    refers_to_date: str,
    refers_to_id: str | None,
    not_modified: bool,
    warcinfo_id: str | None = None,
):
    headers = _headers(when, warcinfo_id)
    if ip:
        headers["WARC-IP-Address"] = ip
    if refers_to_id:
        headers["WARC-Refers-To"] = refers_to_id
    record = builder.create_revisit_record(
        url, digest, refers_to_uri, refers_to_date, http_headers=head, warc_headers_dict=headers
    )
    if not_modified:
        record.rec_headers.replace_header("WARC-Profile", SERVER_NOT_MODIFIED)
    return record


def resource_record(
    builder: RecordBuilder,
    uri: str,
    content_type: str,
    body: bytes,
    when: datetime,
    concurrent_to: str | None,
    warcinfo_id: str | None = None,
):
    """A resource record (a page's rendered DOM, its screenshot): the bytes themselves, no HTTP
    head; its payload digest is warcio's."""
    headers = _headers(when, warcinfo_id)
    if concurrent_to:
        headers["WARC-Concurrent-To"] = concurrent_to
    record = builder.create_warc_record(
        uri,
        "resource",
        payload=BytesIO(body),
        length=len(body),
        warc_content_type=content_type,
        warc_headers_dict=headers,
    )
    # Without an HTTP head the block is the payload, byte for byte: its digest is the one warcio
    # has just computed. Named now, warcio's writer does not hash the bytes a second time (it
    # computes only the digests a record lacks).
    record.rec_headers.add_header(
        "WARC-Block-Digest", record.rec_headers.get_header("WARC-Payload-Digest")
    )
    return record


def warcinfo_record(builder: RecordBuilder, filename: str, info: dict[str, str]):
    return builder.create_warcinfo_record(filename, info)


# The warcinfo field naming the crawl run a target's records in the file were written for: one
# file holds the records of many passes (storage.writer), and a repair re-cataloguing a killed
# writer's last records gives them this run (storage.recatalog).
RUN_FIELD = "warcwatch-run"
