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
