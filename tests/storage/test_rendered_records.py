"""What a browser made of a page (crawler.render) in the archive: its DOM and screenshot as WARC
`resource` records WARC-Concurrent-To the page's record, catalogued with their purpose and page,
re-catalogued by repair field for field, indexed in the CDXJ under their own URI and exported
with their page."""

from __future__ import annotations

import hashlib
from base64 import b32encode
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session
from warcio.archiveiterator import ArchiveIterator

from storage.catalog import open_catalog, start_run
from storage.cdxj import archive_lines
from storage.exchange import Rendered
from storage.export import Selection, write_warc
from storage.models import Capture
from storage.repair import repair_archive
from storage.writer import ArchiveWriter, WriterSettings
from tests.storage.test_repair import _exchange, _fields
from tests.warcs import check_all_warcs

PAGE = "http://example.org/a"
DOM = b"<html><body><article>the text a script wrote</article></body></html>"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256))  # the bytes are stored as given


def _rendered(run_id: int, uri: str, content_type: str, body: bytes) -> Rendered:
    return Rendered(
        uri=uri,
        page=PAGE,
        target="t",
        run_id=run_id,
        fetched_at=datetime(2026, 1, 2, 3, 4, 6),
        content_type=content_type,
        body=body,
    )


def _sha256(data: bytes) -> str:
    """A WARC digest in the archive's default algorithm, computed here by hand."""
    return "sha256:" + b32encode(hashlib.sha256(data).digest()).decode()


def _archive(tmp_path):
    warc_dir = tmp_path / "warcs"
    engine = open_catalog(f"sqlite:///{tmp_path / 'catalog.sqlite'}")
    run_id = start_run(engine, ["t"], {"t": "page"})
    writer = ArchiveWriter(engine, WriterSettings(warc_dir=warc_dir, commit_every=3600))
    page = writer.write(_exchange(PAGE, 200, b"<html><body>Loading</body></html>", run_id, 5))
    dom = writer.resource(_rendered(run_id, "urn:dom:" + PAGE, "text/html; charset=utf-8", DOM))
    shot = writer.resource(_rendered(run_id, "urn:screenshot:" + PAGE, "image/png", PNG))
    return warc_dir, engine, writer, (page, dom, shot)


def test_the_dom_and_screenshot_are_resource_records_of_the_page(tmp_path):
    warc_dir, engine, writer, (page, dom, shot) = _archive(tmp_path)
    writer.close()
    check_all_warcs(warc_dir)  # warcio check: digests recomputed
    records = {}
    for path in warc_dir.glob("*.warc.gz"):
        with open(path, "rb") as f:
            for rec in ArchiveIterator(f):
                records[rec.rec_headers.get_header("WARC-Target-URI"), rec.rec_type] = (
                    rec.rec_headers,
                    rec.content_stream().read(),
                )
    page_id = records[PAGE, "response"][0].get_header("WARC-Record-ID")
    for uri, mime, body in (("urn:dom:", "text/html", DOM), ("urn:screenshot:", "image/png", PNG)):
        headers, stored = records[uri + PAGE, "resource"]
        assert stored == body
        assert headers.get_header("WARC-Concurrent-To") == page_id
        assert headers.get_header("Content-Type").startswith(mime)
        assert headers.get_header("WARC-Payload-Digest") == _sha256(body)
    with Session(engine) as s:
        rows = {c.url: c for c in s.scalars(select(Capture))}
    assert (rows["urn:dom:" + PAGE].kind, rows["urn:dom:" + PAGE].purpose) == ("resource", "dom")
    assert rows["urn:screenshot:" + PAGE].purpose == "screenshot"
    assert rows["urn:screenshot:" + PAGE].mime == "image/png"
    assert {
        rows["urn:dom:" + PAGE].concurrent_to,
        rows["urn:screenshot:" + PAGE].concurrent_to,
    } == {page_id}
    assert rows["urn:dom:" + PAGE].status is None


def test_repair_recatalogues_them_as_the_writer_did(tmp_path):
    warc_dir, engine, writer, written = _archive(tmp_path)
    writer._session.flush()
    expected = [
        _fields(row, [w.id for w in written]) | {"concurrent_to": row.concurrent_to}
        for row in written
    ]
    f = writer._rolling.file
    writer._session.rollback()  # kill -9: nothing committed
    f._raw.close()

    report = repair_archive(engine, warc_dir)

    assert report.records_recatalogued == 3
    with Session(engine) as s:
        rows = list(s.scalars(select(Capture).order_by(Capture.offset)))
        got = [_fields(r, [x.id for x in rows]) | {"concurrent_to": r.concurrent_to} for r in rows]
    assert got == expected


def test_cdxj_and_export_carry_them_with_their_page(tmp_path):
    warc_dir, engine, writer, _ = _archive(tmp_path)
    writer.close()
    with Session(engine) as s:
        lines = list(archive_lines(s))
        assert any(line.startswith("urn:dom:http://example.org/a ") for line in lines)
        assert any('"mime": "image/png"' in line for line in lines)
        result = write_warc(s, warc_dir, Selection(urls=(PAGE,)), tmp_path / "out.warc.gz")
    assert {c.url for c, _ in result.written} == {PAGE, "urn:dom:" + PAGE, "urn:screenshot:" + PAGE}
    with open(tmp_path / "out.warc.gz", "rb") as f:
        kinds = [rec.rec_type for rec in ArchiveIterator(f)]
    assert kinds.count("resource") == 2
