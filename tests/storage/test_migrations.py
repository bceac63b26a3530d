"""The typed models and the Alembic migrations describe the same catalog: a catalog built by the
migrations alone, compared with storage.models by Alembic's autogenerate, shows no difference."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from storage.catalog import open_catalog
from storage.migrations import HEAD
from storage.models import Base


def _diff(url: str) -> list:
    engine = open_catalog(url)  # migrated from nothing to HEAD
    with engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() == HEAD
        ctx = MigrationContext.configure(
            conn,
            opts={
                "compare_type": True,
                "compare_server_default": False,  # SQLite reflects defaults as text: not comparable
                # APScheduler's job store shares the database, not the models (as env.py says)
                "include_object": lambda obj, name, type_, reflected, compare_to: (
                    not (type_ == "table" and name == "apscheduler_jobs")
                ),
            },
        )
        return compare_metadata(ctx, Base.metadata)


def test_the_migrations_build_the_catalog_the_models_describe(catalog_url):
    diff = _diff(catalog_url)
    assert diff == [], f"models and migrations disagree (write a migration): {diff}"


def test_the_head_names_the_newest_migration():
    """HEAD is the one revision that no other revises (read from the files, whatever their ids:
    a branch's migration is named after the branch until it is chained)."""
    from pathlib import Path

    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option(
        "script_location", str(Path(__file__).resolve().parents[2] / "storage" / "migrations")
    )
    assert ScriptDirectory.from_config(cfg).get_heads() == [HEAD]


def test_every_migration_goes_down_and_up_again(catalog_url):
    """Each revision's downgrade undoes its upgrade, on SQLite and on PostgreSQL: down to
    nothing, then up to the head, gives the catalog the models describe."""
    from pathlib import Path

    from alembic import command
    from alembic.config import Config

    engine = open_catalog(catalog_url)
    cfg = Config()
    cfg.set_main_option(
        "script_location", str(Path(__file__).resolve().parents[2] / "storage" / "migrations")
    )
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "base")
    engine.dispose()
    assert _diff(catalog_url) == []


def test_repeated_rows_of_older_catalogs_are_merged_by_the_upgrade(catalog_url):
    """Before migration 0007 a shared URL's capture could be attributed twice to another target: two
    rows of one record for one target, each with what referred to it. The upgrade keeps the older
    row, and what referred to the copy refers to it; events that become one are merged, their
    alert messages kept."""
    from pathlib import Path

    from alembic import command
    from alembic.config import Config
    from sqlalchemy import create_engine, text

    engine = create_engine(catalog_url)
    cfg = Config()
    cfg.set_main_option(
        "script_location", str(Path(__file__).resolve().parents[2] / "storage" / "migrations")
    )
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0005")
    url = "http://example.org/article"
    with engine.begin() as conn:
        run = (
            "INSERT INTO crawl_runs (id, started_at, targets, status, stats) "
            "VALUES (1, '2026-12-01 00:00:00', '[]', 'finished', '{}')"
        )
        conn.execute(text(run))
        cap = (
            "INSERT INTO captures (id, url, surt, timestamp, kind, status, record_id, target, "
            "revisit_of, run_id) VALUES (:id, :url, 'org,example)/article', :ts, :kind, 200, :rid, "
            "'front', :of, 1)"
        )
        for id_, ts, kind, rid, of in [
            (1, "20261201000000", "response", "<urn:uuid:a>", None),
            (2, "20261201000000", "response", "<urn:uuid:a>", None),  # the copy
            (3, "20261202000000", "revisit", "<urn:uuid:b>", 2),  # a revisit of the copy
        ]:
            conn.execute(
                text(cap), {"id": id_, "url": url, "ts": ts, "kind": kind, "rid": rid, "of": of}
            )
        conn.execute(
            text(
                "INSERT INTO versions (id, capture_id, url, target, timestamp, text, text_hash) "
                "VALUES (1, 2, :url, 'front', '20261201000000', 'text', 'h')"
            ),
            {"url": url},
        )
        ev = (
            "INSERT INTO events (id, url, target, kind, detected_at, run_id, to_capture, summary) "
            "VALUES (:id, :url, 'front', 'added', '20261201000000', 1, :to, '{}')"
        )
        conn.execute(text(ev), {"id": 1, "url": url, "to": 1})
        conn.execute(text(ev), {"id": 2, "url": url, "to": 2})  # the same event, on the copy
        for id_, event in [(1, 1), (2, 2)]:
            conn.execute(
                text(
                    "INSERT INTO outbox (id, event_id, channel, digest, title, body, status, "
                    "attempts, next_attempt_at, created_at) VALUES (:id, :ev, 'json://h', false, "
                    "'t', 'b', 'sent', 1, '2026-12-01 00:00:00', '2026-12-01 00:00:00')"
                ),
                {"id": id_, "ev": event},
            )
    engine.dispose()

    engine = open_catalog(catalog_url)  # upgraded to the head
    with engine.connect() as conn:
        rows = lambda sql: [tuple(r) for r in conn.execute(text(sql))]  # noqa: E731
        assert rows("SELECT id, revisit_of FROM captures ORDER BY id") == [(1, None), (3, 1)]
        assert rows("SELECT id, capture_id FROM versions") == [(1, 1)]
        assert rows("SELECT id, to_capture FROM events") == [(1, 1)]
        assert rows("SELECT id, event_id FROM outbox ORDER BY id") == [(1, 1), (2, 1)]
    engine.dispose()
