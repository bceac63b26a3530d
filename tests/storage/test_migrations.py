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


def test_the_migrations_build_the_catalog_the_models_describe(tmp_path):
    diff = _diff(f"sqlite:///{tmp_path / 'catalog.sqlite'}")
    assert diff == [], f"models and migrations disagree (write a migration): {diff}"


def test_the_head_names_the_newest_migration():
    """HEAD is the one revision that no other revises (read from the files, whatever their ids:
    a branch's migration is named after the branch until it is chained)."""
    import re
    from pathlib import Path

    versions = Path(__file__).resolve().parents[2] / "storage" / "migrations" / "versions"
    revises, revisions = set(), set()
    for p in versions.glob("*.py"):
        text = p.read_text()
        revisions.add(re.search(r'^revision = "([^"]+)"', text, re.M).group(1))
        down = re.search(r'^down_revision = "([^"]+)"', text, re.M)
        if down:
            revises.add(down.group(1))
    assert revisions - revises == {HEAD}
