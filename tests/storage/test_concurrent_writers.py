"""Several processes writing one catalog (daemons and `warcwatch repair` on PostgreSQL, or on
SQLite): the catalog itself keeps a record catalogued once per target and a change one event, so
two repairs of the same dead writer's file, or two analysers meeting the same change, add nothing
twice. On SQLite and on PostgreSQL, with real catalogs and WARC files written by the real writer."""

from __future__ import annotations

import threading
from datetime import datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from monitor.events import record_event
from storage.catalog import open_catalog, start_run
from storage.models import Capture, ChangeEvent, OutboxMessage
from storage.repair import repair_archive
from storage.writer import ArchiveWriter, WriterSettings
from tests.storage.test_repair import _exchange

NOW = datetime(2026, 12, 3, 17, 0, 0)


def _dead_writers_file(catalog_url: str, warc_dir) -> int:
    """A closed WARC file of 3 records whose writer died before committing any row (kill -9
    between the fsync and the commit); the number of records."""
    engine = open_catalog(catalog_url)
    run_id = start_run(engine, ["t"], {"t": "page"})
    writer = ArchiveWriter(engine, WriterSettings(warc_dir=warc_dir, commit_every=3600))
    body = b"<html><body>the statement</body></html>"
    for i, path in enumerate(("/a", "/b", "/c")):
        writer.write(_exchange(f"http://example.org{path}", 200, body + path.encode(), run_id, i))
    f = writer._rolling.file
    assert f is not None
    writer._session.rollback()  # nothing committed, not even the file's row
    f._raw.close()
    engine.dispose()
    return 3


def test_two_repairs_at_once_catalogue_a_dead_writers_records_once(catalog_url, tmp_path):
    warc_dir = tmp_path / "warcs"
    n = _dead_writers_file(catalog_url, warc_dir)
    engines = [open_catalog(catalog_url) for _ in range(2)]
    start = threading.Barrier(2)
    reports, errors = [], []

    def repair(engine) -> None:
        start.wait()
        try:
            reports.append(repair_archive(engine, warc_dir, mark_runs=False))
        except Exception as exc:  # the assertion below names it
            errors.append(exc)

    threads = [threading.Thread(target=repair, args=(e,)) for e in engines]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    assert sorted(r.records_recatalogued for r in reports) == [0, n]
    with Session(engines[0]) as s:
        per_record = s.execute(
            select(Capture.record_id, func.count()).group_by(Capture.record_id)
        ).all()
    assert len(per_record) == n and {count for _, count in per_record} == {1}
    for e in engines:
        e.dispose()


def test_a_record_cannot_be_catalogued_twice_for_one_target(catalog_url, tmp_path):
    """Whatever a buggy writer tries, the catalog refuses a second row of one record for the same
    target (another target's row on the same record is how a shared URL is catalogued)."""
    warc_dir = tmp_path / "warcs"
    _dead_writers_file(catalog_url, warc_dir)
    engine = open_catalog(catalog_url)
    repair_archive(engine, warc_dir, mark_runs=False)
    with Session(engine) as s:
        row = s.scalars(select(Capture).limit(1)).one()
        columns = {c.key: getattr(row, c.key) for c in Capture.__table__.columns if c.key != "id"}
    with Session(engine) as s, s.begin():
        s.add(Capture(**(columns | {"target": "another"})))  # a shared URL's second target
    with pytest.raises(IntegrityError), Session(engine) as s, s.begin():
        s.add(Capture(**columns))
    engine.dispose()


def _record(engine, channels=("json://hook.example/a", "json://hook.example/b")):
    with Session(engine) as s, s.begin():
        capture = s.scalars(select(Capture).order_by(Capture.id).limit(1)).one()
        event = record_event(
            s,
            kind="changed",
            url=capture.url,
            target="t",
            detected_at="20261203170000",
            run_id=capture.run_id,
            channels=channels,
            now=NOW,
            from_capture=None,
            to_capture=capture.id,
        )
        return event.id


def test_a_change_met_by_two_analysers_is_one_event_with_one_alert_per_channel(
    catalog_url, tmp_path
):
    warc_dir = tmp_path / "warcs"
    _dead_writers_file(catalog_url, warc_dir)
    first, second = open_catalog(catalog_url), open_catalog(catalog_url)
    repair_archive(first, warc_dir, mark_runs=False)
    ids = [_record(first), _record(second)]
    assert ids[0] == ids[1]
    with Session(first) as s:
        assert s.scalar(select(func.count()).select_from(ChangeEvent)) == 1
        assert sorted(s.scalars(select(OutboxMessage.channel))) == [
            "json://hook.example/a",
            "json://hook.example/b",
        ]
    first.dispose()
    second.dispose()


def _written(catalog_url: str, warc_dir, path: str) -> None:
    """One capture written and committed by the real writer into a WARC file of its own in
    `warc_dir` (full at once: the next writer does not append to it)."""
    engine = open_catalog(catalog_url)
    run_id = start_run(engine, ["t"], {"t": "page"})
    writer = ArchiveWriter(engine, WriterSettings(warc_dir=warc_dir, max_size=1))
    writer.write(_exchange(f"http://example.org{path}", 200, b"<p>kept</p>", run_id, 1))
    writer.close()
    engine.dispose()


def test_a_repair_leaves_the_rows_of_another_folders_files_alone(catalog_url, tmp_path):
    """Two machines share the catalog, each with a WARC folder of its own: a repair on one finds
    the other's files missing from its folder, and must not take them for lost. A file of its own
    folder that is gone is still an orphan."""
    here, there = tmp_path / "here" / "warcs", tmp_path / "there" / "warcs"
    _written(catalog_url, here, "/mine")
    _written(catalog_url, there, "/theirs")
    _written(catalog_url, here, "/lost")
    engine = open_catalog(catalog_url)
    with Session(engine) as s:
        lost = s.scalars(select(Capture.warc_file).where(Capture.url.endswith("/lost"))).one()
    (here / lost).unlink()  # removed by hand
    report = repair_archive(engine, here, mark_runs=False)
    assert [(o.url, o.reason) for o in report.orphans] == [
        ("http://example.org/lost", "file-missing")
    ]
    with Session(engine) as s:
        assert sorted(s.scalars(select(Capture.url))) == [
            "http://example.org/mine",
            "http://example.org/theirs",
        ]
    engine.dispose()
