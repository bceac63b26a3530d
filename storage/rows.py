"""The catalog row of a written WARC record, built from the record itself.

One way to build a row, used twice: by the writer as it writes a record (storage.writer), and by
repair when it finds a record on disk the catalog does not have (a killed writer's last batch,
storage.recatalog). Both read the same headers, so a re-catalogued row is the row the writer
would have committed, except for what only the writer knew (its crawl run's id, when no other
row of the file says it).
"""

from __future__ import annotations

from storage.enums import REPLAYABLE, RecordKind
from storage.models import Capture, rendered_purpose
from storage.records import SERVER_NOT_MODIFIED, ResponseInfo, response_info
from storage.surt import surt
from storage.timestamps import DOWN, parse_instant
from storage.warcfile import Span

CATALOGUED = REPLAYABLE  # the record types (WARC-Type) that get a row of their own
# A request record has none: it is kept on its response's row (request_offset, request_length),
# found through its WARC-Concurrent-To. A warcinfo record is its file's `warc_files` row. A resource
# record (a rendered DOM, a screenshot) has a row of its own, with no status, its purpose read off
# its URI and its WARC-Concurrent-To kept: the record says all of it, so repair rebuilds it too.


def capture_row(
    record,
    span: Span,
    request: Span | None,
    *,
    warc_file: str,
    target: str | None,
    run_id: int | None,
) -> Capture:
    """The row of a response or revisit `record` (a warcio record, as built or as read back)
        written at `span` of `warc_file`, with its request record at `request` (None without one).
        A revisit's `revisit_of` is left to the caller: it names a catalog row, not a record, and so
        is `purpose` (a confirmation fetch): the record does not say why it was fetched (a resource
    record's URI does: its purpose is set here)."""
    h = record.rec_headers
    kind = h.get_header("WARC-Type")
    if kind not in CATALOGUED:
        raise ValueError(f"a {kind} record has no catalog row of its own")
    url = h.get_header("WARC-Target-URI")
    if kind == RecordKind.RESOURCE:
        mime = (h.get_header("Content-Type") or "").split(";", 1)[0].strip().lower() or None
        info = ResponseInfo(status=None, mime=mime, etag=None, last_modified=None, location=None)
    else:
        info = response_info(record.http_headers)
    when = parse_instant(h.get_header("WARC-Date"), DOWN)  # to the microsecond, as written
    row = Capture(
        url=url,
        surt=surt(url),
        timestamp=when.ts,
        micros=when.micros,
        kind=kind,
        status=info.status,
        mime=info.mime,
        etag=info.etag,
        last_modified=info.last_modified,
        location=info.location,
        ip=h.get_header("WARC-IP-Address"),
        run_id=run_id,
        target=target,
        warc_file=warc_file,
        digest=h.get_header("WARC-Payload-Digest"),
        record_id=h.get_header("WARC-Record-ID"),
        offset=span.offset,
        length=span.length,
    )
    if kind == RecordKind.RESOURCE:
        row.purpose = rendered_purpose(url)
        row.concurrent_to = h.get_header("WARC-Concurrent-To")
    if kind == RecordKind.REVISIT:
        not_modified = h.get_header("WARC-Profile") == SERVER_NOT_MODIFIED
        row.revisit_profile = "server-not-modified" if not_modified else "identical-payload"
    if info.status is not None and info.status >= 400:
        row.reason = f"http-{info.status}"
    if request is not None:
        row.request_offset, row.request_length = request.offset, request.length
    return row


def inherit_validators(row: Capture, origin: Capture) -> None:
    """A 304 carries no validators of its own: its revisit row keeps its origin's, still valid."""
    if row.revisit_profile == "server-not-modified" and not row.etag and not row.last_modified:
        row.etag, row.last_modified = origin.etag, origin.last_modified
