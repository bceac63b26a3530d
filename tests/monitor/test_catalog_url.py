"""`[archive] database`: a PostgreSQL catalog given as libpq writes it (`postgresql://…`) is opened
with psycopg 3, migrated on first use and used by `status`, `captures` and `repair`; one it cannot
reach is one line on stderr that names it without its password."""

from __future__ import annotations

import json

from tests.conftest import warcwatch, write_config


def test_a_bare_postgresql_url_is_opened_with_psycopg(tmp_path, pg_cluster):
    url = pg_cluster.database().replace("postgresql+psycopg://", "postgresql://")
    config = write_config(
        tmp_path,
        [{"name": "a", "url": "http://127.0.0.1:9/", "every": "1h"}],
        {},
        {"database": url},
    )
    status = json.loads(warcwatch("status", "--json", "--config", str(config)).stdout)
    assert status["targets"], status
    assert [t["name"] for t in status["targets"]] == ["a"]
    assert (
        warcwatch(
            "captures", "http://127.0.0.1:9/", "--json", "--config", str(config)
        ).stdout.strip()
        == "[]"
    )
    repaired = json.loads(warcwatch("repair", "--json", "--config", str(config)).stdout)
    assert repaired["files"] == [] and repaired["orphans"] == []
    assert not (tmp_path / "archive" / "catalog.sqlite").exists()


def test_an_unreachable_catalog_is_one_line_without_its_password(tmp_path):
    config = write_config(
        tmp_path,
        [{"name": "a", "url": "http://127.0.0.1:9/"}],
        {},
        {"database": "postgresql://warcwatch:s3cret@127.0.0.1:9/catalog"},
    )
    for command in (["status"], ["captures", "http://127.0.0.1:9/"], ["changes"]):
        proc = warcwatch(*command, "--config", str(config), check=False)
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr, proc.stderr
        assert "cannot open catalog postgresql+psycopg://warcwatch:***@127.0.0.1:9/catalog" in (
            proc.stderr
        )
        assert "s3cret" not in proc.stderr
