"""The CLI's SQLAlchemy-free reader (`storage.lookup` over sqlite3) against the ORM one
(`storage.retrieval`): the same capture, origin and bytes for every URL of a real archive at many
times, the same timeline, and a fall back to the ORM whenever the SQLite file is not a current
catalog."""

from __future__ import annotations

import shutil
import sqlite3
from contextlib import closing
from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from storage import lookup, retrieval
from storage.catalog import captures_of, open_catalog
from storage.errors import CaptureNotFound
from storage.models import Capture
from storage.timestamps import from_datetime, to_datetime
from tests.lookup_archive import PATHS, lookup_archive  # noqa: F401 - fixture

# the sqlite3 fast path: SQLite catalogs only
CATALOG_BACKENDS = ("sqlite",)  # for its lookup_archive (tests.pg.backends_of_module)


@pytest.fixture
def readers(lookup_archive):  # noqa: F811
    engine = open_catalog(lookup_archive.database_url)
    conn = lookup.open_sqlite(lookup_archive.database_url)
    assert conn is not None, "the crawled catalog is current: the fast path must take it"
    with Session(engine) as s, closing(conn):
        yield s, conn
    engine.dispose()


def shift(ts: str, seconds: int) -> str:
    return from_datetime(to_datetime(ts) + timedelta(seconds=seconds))


def times(stamps: list[str]) -> list[str | None]:
    """Each capture's time, the seconds around it, its day and year (a period's last second),
    and times long before and after."""
    out: list[str | None] = [None, "1999", "29991231"]
    for ts in stamps:
        out += [ts, shift(ts, -2), shift(ts, -1), shift(ts, 1), shift(ts, 2), ts[:8], ts[:4]]
    return out


@pytest.mark.parametrize("path", PATHS)
def test_both_readers_pick_and_read_the_same_capture(lookup_archive, readers, path):  # noqa: F811
    session, conn = readers
    arc, url = lookup_archive, lookup_archive.url(path)
    for at in times([c.timestamp for c in arc.captures[path]]):
        slow = retrieval.snapshot(session, arc.warc_dir, url, at)
        fast = lookup.snapshot(conn, arc.warc_dir, url, at)
        assert (fast.capture.id, fast.origin.id) == (slow.capture.id, slow.origin.id), at
        assert fast.capture.as_json() == slow.capture.as_json(), at
        assert (fast.http_head, fast.raw(), b"".join(fast.decoded())) == (
            slow.http_head,
            slow.raw(),
            b"".join(slow.decoded()),
        ), at


def test_revisits_resolve_to_the_same_origin(lookup_archive, readers):  # noqa: F811
    session, conn = readers
    revisits = [
        r
        for p in PATHS
        for r in lookup.captures_of(conn, lookup_archive.url(p))
        if r.kind == "revisit"
    ]
    assert len(revisits) >= 3  # /etag (304), /gz and /raw (identical payload)
    for row in revisits:
        slow = retrieval.origin_of(session, session.get(Capture, row.id))
        assert lookup.origin_of(conn, row).as_json() == slow.as_json()


@pytest.mark.parametrize("path", [*PATHS, "/never-crawled"])
def test_both_readers_list_the_same_timeline(lookup_archive, readers, path):  # noqa: F811
    session, conn = readers
    url = lookup_archive.url(path)
    assert [c.as_json() for c in lookup.captures_of(conn, url)] == [
        c.as_json() for c in captures_of(session, url)
    ]


def test_unknown_url(lookup_archive, readers):  # noqa: F811
    _, conn = readers
    with pytest.raises(CaptureNotFound, match="no capture of"):
        lookup.nearest(conn, lookup_archive.url("/never-crawled"))


def _copy(lookup_archive, tmp_path, version: str | None):  # noqa: F811
    path = tmp_path / "catalog.sqlite"
    shutil.copy(lookup_archive.database_url.removeprefix("sqlite:///"), path)
    with closing(sqlite3.connect(path)) as db, db:
        if version is None:
            db.execute("DROP TABLE alembic_version")
        else:
            db.execute("UPDATE alembic_version SET version_num = ?", (version,))
    return f"sqlite:///{path}"


@pytest.mark.parametrize(
    "case",
    ["current-copy", "stale-schema", "not-a-catalog", "missing-file", "url-options", "postgresql"],
)
def test_fast_path_only_on_a_current_sqlite_catalog(lookup_archive, tmp_path, case):  # noqa: F811
    from storage.migrations import HEAD

    url = {
        "current-copy": lambda: _copy(lookup_archive, tmp_path, HEAD),
        "stale-schema": lambda: _copy(lookup_archive, tmp_path, "0001"),
        "not-a-catalog": lambda: _copy(lookup_archive, tmp_path, None),
        "missing-file": lambda: f"sqlite:///{tmp_path / 'none' / 'catalog.sqlite'}",
        "url-options": lambda: lookup_archive.database_url + "?timeout=5",
        "postgresql": lambda: "postgresql://localhost/warcwatch",
    }[case]()
    conn = lookup.open_sqlite(url)
    assert (conn is not None) == (case == "current-copy")
    if conn is not None:
        with closing(conn):
            with pytest.raises(sqlite3.OperationalError, match="readonly"):
                conn.execute("DELETE FROM captures")
    assert not (tmp_path / "none").exists()  # a lookup never creates a catalog of its own


def test_capture_row_follows_the_model():
    from dataclasses import fields

    assert {f.name for f in fields(lookup.CaptureRow)} <= set(Capture.__table__.columns.keys())
    assert tuple(Capture().as_json()) == lookup.JSON_FIELDS  # `captures --json` keeps its key order
