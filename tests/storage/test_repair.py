"""Crash repair (storage.repair): `.open` WARC files cut after their last complete record and
closed, catalog rows without bytes removed, dead runs marked interrupted. Real files and a real
catalog; the torn files are made the way a kill -9 or a lost write leaves them."""

from __future__ import annotations

import subprocess
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from warcio.statusandheaders import StatusAndHeaders

from storage.catalog import open_catalog, start_run
from storage.exchange import Exchange
from storage.models import Capture, CrawlRun
from storage.models import WarcFile as WarcFileRow
from storage.repair import close_open_file, complete_prefix, repair_archive
from storage.warcfile import WarcFile
from storage.writer import ArchiveWriter, WriterSettings
from tests.warcs import WARCIO, iter_records

WHEN = datetime(2026, 1, 2, 3, 4, 5)


def _response(writer, url: str, body: bytes):
    http = StatusAndHeaders(
        "200 OK",
        [("Content-Type", "text/html"), ("Content-Length", str(len(body)))],
        protocol="HTTP/1.1",
    )
    import io

    return writer.create_warc_record(
        url,
        "response",
        payload=io.BytesIO(body),
        http_headers=http,
        warc_headers_dict={"WARC-Date": "2026-01-02T03:04:05Z"},
    )


def write_open_warc(directory: Path, name: str, n: int) -> tuple[Path, list[tuple[int, int]]]:
    """An `.open` WARC as the writer leaves it mid-pass: `n` records, not closed. Returns its
    path and the (offset, length) of each record."""
    f = WarcFile(directory, name)
    spans = []
    for i in range(n):
        body = (f"<html><body>page {i} ".encode() + b"x" * (200 * i)) + b"</body></html>"
        (span,) = f.write(_response(f.writer, f"http://example.org/p{i}", body))
        spans.append((span.offset, span.length))
    f.sync()
    f._raw.close()  # the process dies: no close(), no rename
    return f.open_path, spans


def _tear(path: Path, how: str, spans: list[tuple[int, int]]) -> None:
    data = path.read_bytes()
    last_off, last_len = spans[-1]
    if how == "mid-member":  # the last record's gzip member is cut halfway
        path.write_bytes(data[: last_off + last_len // 2])
    elif how == "mid-header":  # only the first bytes of the last member made it
        path.write_bytes(data[: last_off + 5])
    elif how == "garbage-after":  # a torn write: bytes that are not gzip at all
        path.write_bytes(data + b"\x1f\x8b\x08\x00garbage-from-a-torn-write")
    elif how == "intact":
        pass
    else:
        raise AssertionError(how)


CASES = [
    # how the file was torn, records expected to survive (of 4)
    pytest.param("intact", 4, id="intact-just-not-closed"),
    pytest.param("mid-member", 3, id="last-member-cut-halfway"),
    pytest.param("mid-header", 3, id="last-member-cut-in-gzip-header"),
    pytest.param("garbage-after", 4, id="garbage-after-last-member"),
]


@pytest.mark.parametrize("how,kept", CASES)
def test_open_warc_is_cut_after_its_last_complete_record(tmp_path, how, kept):
    path, spans = write_open_warc(tmp_path, "t-20260102030405-00001-h.warc.gz", 4)
    _tear(path, how, spans)

    fixed = close_open_file(path)

    closed = tmp_path / "t-20260102030405-00001-h.warc.gz"
    assert not path.exists() and closed.exists()
    assert (fixed.records, fixed.removed) == (kept, False)
    assert closed.stat().st_size == spans[kept - 1][0] + spans[kept - 1][1] == fixed.kept
    proc = subprocess.run([str(WARCIO), "check", str(closed)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    records = list(iter_records(closed))
    assert [(r.offset, r.length) for r in records] == spans[:kept]


def test_open_warc_without_a_complete_record_is_removed(tmp_path):
    path, spans = write_open_warc(tmp_path, "t-20260102030405-00002-h.warc.gz", 1)
    _tear(path, "mid-member", spans)
    fixed = close_open_file(path)
    assert fixed.removed and fixed.records == 0
    assert list(tmp_path.iterdir()) == []


def test_complete_prefix_walks_members_across_read_chunks(tmp_path, monkeypatch):
    import storage.repair as repair

    monkeypatch.setattr(repair, "_CHUNK", 7)  # members straddle every read boundary
    path, spans = write_open_warc(tmp_path, "t-20260102030405-00003-h.warc.gz", 5)
    assert complete_prefix(path) == (spans[-1][0] + spans[-1][1], 5)


def _capture(
    url: str, warc_file: str | None, offset: int | None, length: int | None, run_id: int, **kw
) -> Capture:
    return Capture(
        url=url,
        surt=url,
        timestamp="20260102030405",
        kind=kw.pop("kind", "response"),
        status=200,
        warc_file=warc_file,
        offset=offset,
        length=length,
        run_id=run_id,
        target="t",
        **kw,
    )


def test_repair_archive_closes_files_and_drops_rows_without_bytes(tmp_path):
    warc_dir = tmp_path / "warcs"
    engine = open_catalog(f"sqlite:///{tmp_path / 'catalog.sqlite'}")
    torn, spans = write_open_warc(warc_dir, "t-20260102030405-00004-h.warc.gz", 3)
    _tear(torn, "mid-member", spans)
    torn_name = "t-20260102030405-00004-h.warc.gz"
    with Session(engine) as s, s.begin():
        run = CrawlRun(started_at=WHEN, targets=["t"], status="running", stats={})
        done = CrawlRun(started_at=WHEN, targets=["t"], status="finished", stats={})
        s.add_all([run, done])
        s.flush()
        s.add(WarcFileRow(name=torn_name, target="t", opened_at=WHEN))
        kept = [
            _capture(f"http://example.org/p{i}", torn_name, *spans[i], run.id) for i in range(2)
        ]
        cut = _capture("http://example.org/p2", torn_name, *spans[2], run.id)  # its member was cut
        gone = _capture(
            "http://example.org/gone", "t-gone.warc.gz", 0, 100, done.id
        )  # file deleted
        failed = _capture("http://example.org/failed", None, None, None, run.id, kind="failed")
        s.add_all([*kept, cut, gone, failed])
        s.flush()
        revisit = _capture(
            "http://example.org/p2", torn_name, *spans[1], run.id, kind="revisit", revisit_of=cut.id
        )
        s.add(revisit)
        ids = {
            "kept": [c.id for c in kept],
            "cut": cut.id,
            "gone": gone.id,
            "failed": failed.id,
            "revisit": None,
        }
        s.flush()
        ids["revisit"] = revisit.id
        run_id, done_id = run.id, done.id

    report = repair_archive(engine, warc_dir)

    assert [(f.name, f.records) for f in report.files] == [(torn_name, 2)]
    assert sorted((o.capture_id, o.reason) for o in report.orphans) == sorted(
        [(ids["cut"], "beyond-end"), (ids["gone"], "file-missing")]
    )
    assert report.interrupted_runs == [run_id]
    with Session(engine) as s:
        left = {c.id: c for c in s.scalars(select(Capture))}
        assert set(left) == {*ids["kept"], ids["failed"], ids["revisit"]}
        assert left[ids["revisit"]].revisit_of is None  # its original lost its bytes
        assert s.get(CrawlRun, run_id).status == "interrupted"
        assert s.get(CrawlRun, done_id).status == "finished"
        row = s.scalars(select(WarcFileRow).where(WarcFileRow.name == torn_name)).one()
        assert row.closed_at is not None and row.size == (warc_dir / torn_name).stat().st_size
    # a second repair finds nothing left to do
    assert repair_archive(engine, warc_dir).clean


def test_open_file_held_by_a_live_writer_is_left_alone(tmp_path):
    warc_dir = tmp_path / "warcs"
    engine = open_catalog(f"sqlite:///{tmp_path / 'catalog.sqlite'}")
    f = WarcFile(warc_dir, "t-20260102030405-00005-h.warc.gz")
    f.write(_response(f.writer, "http://example.org/", b"<html></html>"))
    f.sync()
    with Session(engine) as s, s.begin():
        s.add(CrawlRun(started_at=WHEN, targets=["t"], status="running", stats={}))
    try:
        report = repair_archive(engine, warc_dir)
        assert report.skipped == ["t-20260102030405-00005-h.warc.gz.open"] and not report.files
        assert report.interrupted_runs == []  # a crawl is writing: its run is alive
        assert f.open_path.exists()
    finally:
        f.close()


def test_rows_of_a_file_a_live_writer_holds_are_kept(tmp_path):
    """Repair while a crawl writes (the daemon starting, or `warcwatch repair` by hand): the rows
    already committed for the `.open` file it is writing point at bytes that exist and stay."""
    warc_dir = tmp_path / "warcs"
    engine = open_catalog(f"sqlite:///{tmp_path / 'catalog.sqlite'}")
    name = "t-20260102030405-00006-h.warc.gz"
    f = WarcFile(warc_dir, name)
    (span,) = f.write(_response(f.writer, "http://example.org/live", b"<html>live</html>"))
    f.sync()
    with Session(engine) as s, s.begin():
        run = CrawlRun(started_at=WHEN, targets=["t"], status="running", stats={})
        s.add(run)
        s.flush()
        s.add(WarcFileRow(name=name, target="t", opened_at=WHEN))
        s.add(_capture("http://example.org/live", name, span.offset, span.length, run.id))
    try:
        report = repair_archive(engine, warc_dir)
        assert report.orphans == []
        with Session(engine) as s:
            assert [c.url for c in s.scalars(select(Capture))] == ["http://example.org/live"]
    finally:
        f.close()


def test_rows_of_an_open_file_no_one_holds_are_kept_when_their_bytes_exist(tmp_path):
    """An `.open` file whose writer is gone is closed by repair first; its rows stay."""
    warc_dir = tmp_path / "warcs"
    engine = open_catalog(f"sqlite:///{tmp_path / 'catalog.sqlite'}")
    name = "t-20260102030405-00007-h.warc.gz"
    path, spans = write_open_warc(warc_dir, name, 2)
    with Session(engine) as s, s.begin():
        run = CrawlRun(started_at=WHEN, targets=["t"], status="running", stats={})
        s.add(run)
        s.flush()
        s.add(WarcFileRow(name=name, target="t", opened_at=WHEN))
        s.add_all(_capture(f"http://example.org/p{i}", name, *spans[i], run.id) for i in range(2))
    report = repair_archive(engine, warc_dir)
    assert report.orphans == [] and [f.records for f in report.files] == [2]
    with Session(engine) as s:
        assert len(s.scalars(select(Capture)).all()) == 2


def _exchange(
    url: str, status: int, body: bytes, run_id: int, second: int, headers: str = ""
) -> Exchange:
    reason = {200: "OK", 304: "Not Modified", 404: "Not Found"}[status]
    head = f"HTTP/1.1 {status} {reason}\r\n{headers}"
    if status != 304:
        head += f"Content-Type: text/html; charset=utf-8\r\nContent-Length: {len(body)}\r\n"
    return Exchange(
        url=url,
        target="t",
        run_id=run_id,
        fetched_at=WHEN.replace(second=second),
        request_head=f"GET {url.removeprefix('http://example.org')} HTTP/1.1\r\nHost: "
        f"example.org\r\n\r\n".encode(),
        response_head=(head + "\r\n").encode(),
        body=body,
        status=status,
        ip="127.0.0.1",
    )


def _fields(row: Capture, ids: list[int]) -> dict:
    """Everything a capture row says, its revisit_of as the position of its origin in `ids`."""
    return row.as_json() | {
        "record_id": row.record_id,
        "revisit_profile": row.revisit_profile,
        "run_id": row.run_id,
        "request": (row.request_offset, row.request_length),
        "ip": row.ip,
        "etag": row.etag,
        "last_modified": row.last_modified,
        "location": row.location,
        "revisit_of": ids.index(row.revisit_of) if row.revisit_of else None,
    }


def test_records_a_killed_writer_never_catalogued_get_the_rows_it_would_have_committed(tmp_path):
    """The writer's last batch, lost with the writer (its rows were never committed, nor its
    file's row): repair builds them from the records, field for field as the writer built them,
    revisits of records of the same batch included."""
    warc_dir = tmp_path / "warcs"
    engine = open_catalog(f"sqlite:///{tmp_path / 'catalog.sqlite'}")
    run_id = start_run(engine, ["t"], {"t": "page"})
    writer = ArchiveWriter(engine, WriterSettings(warc_dir=warc_dir, commit_every=3600))
    page_ = b"<html><body>the statement</body></html>"
    written = [
        writer.write(_exchange("http://example.org/a", 200, page_, run_id, 1, 'ETag: "v1"\r\n')),
        writer.write(_exchange("http://example.org/gone", 404, b"<html>no</html>", run_id, 2)),
        writer.write(_exchange("http://example.org/a", 200, page_, run_id, 3, 'ETag: "v1"\r\n')),
        writer.write(_exchange("http://example.org/a", 304, b"", run_id, 4)),
    ]
    writer._session.flush()  # the writer's rows as it would have committed them (ids, revisit_of)
    expected = [_fields(row, [w.id for w in written]) for row in written]
    assert [r["kind"] for r in expected] == ["response", "response", "revisit", "revisit"]
    f = writer._rolling.file
    assert f is not None
    writer._session.rollback()  # kill -9: nothing was committed, not even the file's row
    f._raw.close()

    report = repair_archive(engine, warc_dir)

    assert [(r.name, r.captures, r.file_row) for r in report.recatalogued] == [(f.name, 4, True)]
    assert report.records_recatalogued == 4 and report.orphans == []
    with Session(engine) as s:
        rows = list(s.scalars(select(Capture).order_by(Capture.offset)))
        assert [_fields(row, [r.id for r in rows]) for row in rows] == expected
        file_row = s.scalars(select(WarcFileRow)).one()
        assert (file_row.name, file_row.target, file_row.size) == (
            f.name,
            "t",
            (warc_dir / f.name).stat().st_size,
        )
    assert repair_archive(engine, warc_dir).clean
