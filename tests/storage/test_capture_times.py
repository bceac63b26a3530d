"""Captures made within one second are told apart: WARC-Dates to the microsecond, read back with
warcio; a revisit's WARC-Refers-To-Date is its original's WARC-Date exactly, also when a later
writer rebuilds it from the catalog; `show --at` reaches each capture by its exact time and
`show --id` by its id; a catalog of the previous schema is migrated with its values kept.

The archive: `tests.same_second` (the real writer, fetch times pinned).
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session
from warcio.archiveiterator import ArchiveIterator

from monitor.config import load_config
from storage.catalog import open_catalog
from storage.models import Capture
from tests.conftest import warcwatch
from tests.pg import BACKENDS, database_for
from tests.same_second import BODY_1, BODY_2, URL, make_archive


@pytest.fixture(scope="module", params=BACKENDS)
def same_second(request, tmp_path_factory) -> Path:
    return make_archive(
        tmp_path_factory.mktemp("same-second"), database_for(request, request.param)
    )


def _records(config_path: Path) -> list:
    warc_dir = load_config(config_path).archive.warc_dir
    out = []
    for path in sorted(warc_dir.glob("*.warc.gz")):
        with open(path, "rb") as f:
            for record in ArchiveIterator(f):
                if record.rec_type in ("response", "revisit"):
                    out.append((record.rec_type, dict(record.rec_headers.headers)))
    return sorted(out, key=lambda r: r[1]["WARC-Date"])


def _captures(config_path: Path) -> list[dict]:
    return json.loads(warcwatch("captures", URL, "--config", str(config_path), "--json").stdout)


def test_two_captures_in_one_second_have_distinct_warc_dates_to_the_microsecond(same_second):
    (_, first), (_, second), (kind, revisit) = _records(same_second)
    assert first["WARC-Date"] == "2026-12-03T07:40:01.123456Z"
    assert second["WARC-Date"] == "2026-12-03T07:40:01.654321Z"
    assert kind == "revisit" and revisit["WARC-Date"] == "2026-12-03T09:00:00.250000Z"


def test_a_revisit_refers_to_the_exact_warc_date_of_its_original(same_second):
    """The later writer read the original from the catalog: its microseconds were kept there."""
    (_, _first), (_, second), (_, revisit) = _records(same_second)
    assert revisit["WARC-Refers-To"] == second["WARC-Record-ID"]
    assert revisit["WARC-Refers-To-Date"] == second["WARC-Date"] == "2026-12-03T07:40:01.654321Z"


def test_the_catalog_keeps_each_captures_warc_date_id_and_purpose(same_second):
    caps = _captures(same_second)
    assert [c["warc_date"] for c in caps] == [r[1]["WARC-Date"] for r in _records(same_second)]
    assert [c["timestamp"] for c in caps] == ["20261203074001", "20261203074001", "20261203090000"]
    assert len({c["id"] for c in caps}) == 3
    assert [c["purpose"] for c in caps] == [None, "confirmation", None]


@pytest.mark.parametrize(
    "at",
    [
        "2026-12-03T07:40:01.123456Z",
        "20261203074001123456",
        "2026-12-03T07:40:01.2Z",
        "2026-12-03T09:40:01.123456+02:00",
    ],
)
def test_show_at_the_first_captures_exact_time_gives_the_first_payload(same_second, at):
    shown = warcwatch("show", URL, "--at", at, "--config", str(same_second))
    assert shown.stdout.encode() == BODY_1
    # the second's other capture by its own exact time; a whole second, as before there were
    # fractions, stands for its whole length: the newest capture made in it
    for other in ("2026-12-03T07:40:01.654321Z", "20261203074001"):
        assert (
            warcwatch("show", URL, "--at", other, "--config", str(same_second)).stdout.encode()
            == BODY_2
        )


def test_show_by_id_reaches_each_capture(same_second):
    caps = _captures(same_second)
    for capture, body in zip(caps, (BODY_1, BODY_2, BODY_2), strict=True):
        shown = warcwatch("show", "--id", str(capture["id"]), "--config", str(same_second))
        assert shown.stdout.encode() == body
        assert f"id {capture['id']}" in shown.stderr
    wrong = warcwatch(
        "show",
        "http://elsewhere.example/",
        "--id",
        str(caps[0]["id"]),
        "--config",
        str(same_second),
        check=False,
    )
    assert (
        wrong.returncode == 2 and wrong.stderr.count("\n") == 1 and "is of " + URL in wrong.stderr
    )
    missing = warcwatch("show", "--id", "999", "--config", str(same_second), check=False)
    assert missing.returncode == 2 and "no capture with id 999" in missing.stderr


def test_a_catalog_of_the_previous_schema_is_migrated_with_its_values(tmp_path):
    """Rows written before microseconds were kept had whole-second WARC-Dates: micros 0 is exact.
    A later capture of a URL by its target in the same run was a confirmation fetch."""
    from alembic import command
    from alembic.config import Config

    database = tmp_path / "catalog.sqlite"
    engine = create_engine(f"sqlite:///{database}")
    cfg = Config()
    cfg.set_main_option(
        "script_location", str(Path(__file__).parents[2] / "storage" / "migrations")
    )
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0003")
    engine.dispose()
    with sqlite3.connect(database) as db:
        db.execute(
            "INSERT INTO crawl_runs (id, started_at, targets, status, stats) VALUES (1, "
            "'2026-11-25', '[]', 'finished', '{}')"
        )
        rows = [
            (1, URL, "20261125130246", "news"),
            (2, URL, "20261125130247", "news"),
            (3, "http://news.example/robots.txt", "20261125130245", "news"),
            (4, "http://news.example/robots.txt", "20261125130248", "news"),
            (5, URL, "20261125140000", "other"),
        ]
        for id_, url, ts, target in rows:
            db.execute(
                "INSERT INTO captures (id, url, surt, timestamp, kind, status, run_id, target) "
                "VALUES (?, ?, ?, ?, 'failed', 500, 1, ?)",
                (id_, url, url, ts, target),
            )
    engine = open_catalog(f"sqlite:///{database}")
    with Session(engine) as s:
        got = [
            (c.id, c.timestamp, c.micros, c.warc_date, c.purpose)
            for c in s.scalars(select(Capture).order_by(Capture.id))
        ]
    engine.dispose()
    assert got == [
        (1, "20261125130246", 0, "2026-11-25T13:02:46Z", None),
        (2, "20261125130247", 0, "2026-11-25T13:02:47Z", "confirmation"),
        (3, "20261125130245", 0, "2026-11-25T13:02:45Z", None),
        (
            4,
            "20261125130248",
            0,
            "2026-11-25T13:02:48Z",
            None,
        ),  # robots.txt: fetched again, not to confirm
        (5, "20261125140000", 0, "2026-11-25T14:00:00Z", None),  # another target's first fetch
    ]
