"""Migration 0006 on a catalog that already holds versions: they are kept, with no recorded
rules (`rules_id` NULL: `warcwatch diff` compares them under today's rules, as it always did), and
the new tables are there. Downgrading takes them away again and keeps the versions."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, inspect, text

from storage.catalog import _MIGRATIONS


def _alembic(engine, revision: str, down: bool = False) -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        (command.downgrade if down else command.upgrade)(cfg, revision)


def test_versions_survive_the_migration_both_ways(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'catalog.sqlite'}")
    _alembic(engine, "0005")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO captures (id, url, surt, timestamp, micros, kind) "
                "VALUES (1, 'https://example.org/', 'org,example)/', '20261203120000', 0, "
                "'response')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO versions (id, capture_id, url, timestamp, text, text_hash) "
                "VALUES (1, 1, 'https://example.org/', '20261203120000', 'Hello', 'h')"
            )
        )
    _alembic(engine, "0006")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT id, text, rules_id FROM versions")).all() == [
            (1, "Hello", None)
        ]
    assert {"rule_sets", "timestamp_tokens"} <= set(inspect(engine).get_table_names())
    _alembic(engine, "0005", down=True)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT id, text FROM versions")).all() == [(1, "Hello")]
    assert not {"rule_sets", "timestamp_tokens"} & set(inspect(engine).get_table_names())
    engine.dispose()
