"""`warcwatch show`, `export` and `index --cdxj` through click's CliRunner, and `show`/`captures`
as a user runs them: in a fresh process that must not import Scrapy, nor SQLAlchemy on a current
SQLite catalog, and with the same output as through the ORM."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.cli import (
    cli,
    commands,  # noqa: F401 - registers show, export, index
)
from tests.conftest import ROOT
from tests.lookup_archive import GZ, RAW_BODY, V1, V2, lookup_archive  # noqa: F401 - fixture
from tests.pg import sqlite_only


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_show_default_is_the_latest_payload_decoded(lookup_archive):  # noqa: F811
    r = run("show", lookup_archive.url("/page"), "--config", str(lookup_archive.config))
    assert r.exit_code == 0, r.output
    assert r.stdout == V2


def test_show_at_a_timestamp(lookup_archive):  # noqa: F811
    arc = lookup_archive
    r = run("show", arc.url("/page"), "--at", arc.ts("/page", 0), "--config", str(arc.config))
    assert r.exit_code == 0, r.output
    assert r.stdout == V1
    assert arc.ts("/page", 0) in r.stderr


def test_show_matches_by_surt(lookup_archive):  # noqa: F811
    hostport = lookup_archive.server.base.removeprefix("http://")
    r = run("show", f"{hostport}/q?a=1&b=2", "--config", str(lookup_archive.config))
    assert r.exit_code == 0, r.output
    assert "query page" in r.stdout


def test_show_revisit_headers_and_raw(lookup_archive):  # noqa: F811
    arc = lookup_archive
    r = run("show", arc.url("/gz"), "--headers", "--config", str(arc.config))
    assert r.exit_code == 0, r.output
    assert r.stdout.startswith("HTTP/1.1 200") and "Content-Encoding: gzip" in r.stdout
    assert "revisit" in r.stderr and f"payload of {arc.ts('/gz', 0)}" in r.stderr
    r = run("show", arc.url("/gz"), "--config", str(arc.config))
    assert r.stdout == GZ
    r = run(
        "show", arc.url("/raw"), "--raw", "--at", arc.ts("/raw", 0), "--config", str(arc.config)
    )
    assert r.stdout_bytes == arc.sent_raw[0]
    assert r.stdout_bytes.endswith(RAW_BODY)


def test_show_text(lookup_archive):  # noqa: F811
    r = run("show", lookup_archive.url("/page"), "--text", "--config", str(lookup_archive.config))
    assert r.exit_code == 0, r.output
    assert "Version two, edited." in r.stdout and "<p>" not in r.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["show", "http://never.example/"], "no capture of http://never.example/"),
        (["show", "{page}", "--at", "last tuesday"], "Invalid value for '--at'"),
        (["show", "{page}", "--raw", "--text"], "choose one of --text, --raw, --headers"),
        (["export", "--out", "{tmp}/x.zip"], "must end in .warc.gz or .wacz"),
        (
            ["export", "--out", "{tmp}/x.warc.gz", "--target", "nobody"],
            "no captures match (target=nobody)",
        ),
        (["export", "--out", "{tmp}/x.wacz", "--since", "2026-13"], "Invalid value for '--since'"),
        (["index"], "choose an index format: --cdxj"),
    ],
    ids=[
        "unknown-url",
        "bad-at",
        "two-modes",
        "bad-suffix",
        "empty-selection",
        "bad-since",
        "no-format",
    ],
)
@sqlite_only("lookup_archive", "the command line's own checks, before any catalog")
def test_mistakes_are_one_line(lookup_archive, tmp_path, args, message):  # noqa: F811
    args = [a.format(page=lookup_archive.url("/page"), tmp=tmp_path) for a in args]
    r = run(*args, "--config", str(lookup_archive.config))
    assert r.exit_code == 2, r.output
    assert message in r.output and "Traceback" not in r.output


def test_export_warc_and_wacz(lookup_archive, tmp_path):  # noqa: F811
    arc = lookup_archive
    r = run(
        "export",
        "--out",
        str(tmp_path / "page.warc.gz"),
        "--url",
        arc.url("/etag"),
        "--config",
        str(arc.config),
    )
    assert r.exit_code == 0, r.output
    assert "2 captures, 0 revisit targets, 5 WARC records" in r.stdout
    warcio = Path(sys.executable).with_name("warcio")
    check = subprocess.run(
        [str(warcio), "check", str(tmp_path / "page.warc.gz")], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout + check.stderr
    r = run("export", "--out", str(tmp_path / "all.wacz"), "--config", str(arc.config))
    assert r.exit_code == 0, r.output
    with zipfile.ZipFile(tmp_path / "all.wacz") as z:
        assert "indexes/index.cdx" in z.namelist()


def test_index_cdxj(lookup_archive, tmp_path):  # noqa: F811
    arc = lookup_archive
    r = run("index", "--cdxj", "--config", str(arc.config))
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    assert lines == sorted(lines) and len(lines) >= 10
    key, ts, fields = lines[0].split(" ", 2)
    assert len(ts) == 14 and set(json.loads(fields)) >= {
        "url",
        "mime",
        "status",
        "digest",
        "length",
        "offset",
        "filename",
    }
    r = run("index", "--cdxj", "--out", str(tmp_path / "index.cdxj"), "--config", str(arc.config))
    assert r.exit_code == 0, r.output
    assert (tmp_path / "index.cdxj").read_text().splitlines() == lines


PROBE = """
import sys
from monitor.cli import main
sys.argv = ["warcwatch", *sys.argv[1:]]
try:
    main()
except SystemExit as exit:
    code = exit.code
heavy = sorted(m for m in ("scrapy", "twisted", "trafilatura", "alembic", "sqlalchemy") if m in \
sys.modules)
print("HEAVY:" + ",".join(heavy), file=sys.stderr)
sys.exit(code)
"""


@pytest.mark.parametrize("command", ["show", "captures"])
def test_lookups_do_not_import_scrapy(lookup_archive, command):  # noqa: F811
    arc = lookup_archive
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, command, arc.url("/gz"), "--config", str(arc.config)],
        capture_output=True,
        cwd=ROOT,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr.decode()
    # on PostgreSQL the catalog is read through SQLAlchemy (the sqlite3 fast path is SQLite's)
    light = b"HEAVY:\n" if arc.database_url.startswith("sqlite") else b"HEAVY:sqlalchemy\n"
    assert light in proc.stderr, proc.stderr.decode()
    if command == "show":
        assert proc.stdout.decode() == GZ


def _through_the_orm(monkeypatch) -> None:
    import storage.lookup

    monkeypatch.setattr(storage.lookup, "open_sqlite", lambda _url: None)


@sqlite_only("lookup_archive", "the sqlite3 fast path against the ORM's: SQLite's alone")
@pytest.mark.parametrize(
    "mode", [[], ["--headers"], ["--raw"], ["--text"]], ids=["payload", "headers", "raw", "text"]
)
@pytest.mark.parametrize("path", ["/page", "/etag", "/gz", "/raw", "/q?b=2&a=1"])
def test_show_output_is_the_same_without_sqlalchemy(lookup_archive, monkeypatch, path, mode):  # noqa: F811
    arc = lookup_archive
    stamps = [c.timestamp for c in arc.captures[path]]
    for at in [None, *stamps, "1999", stamps[0][:8]]:
        args = ["show", arc.url(path), *mode, "--config", str(arc.config)] + (
            ["--at", at] if at else []
        )
        fast = run(*args)
        with monkeypatch.context() as m:
            _through_the_orm(m)
            slow = run(*args)
        assert fast.exit_code == slow.exit_code == 0, fast.output + slow.output
        assert (fast.stdout_bytes, fast.stderr_bytes) == (slow.stdout_bytes, slow.stderr_bytes), at


@sqlite_only("lookup_archive", "the sqlite3 fast path against the ORM's: SQLite's alone")
@pytest.mark.parametrize("json_flag", [[], ["--json"]], ids=["lines", "json"])
@pytest.mark.parametrize("path", ["/page", "/etag", "/never-crawled"])
def test_captures_output_is_the_same_without_sqlalchemy(
    lookup_archive, monkeypatch, path, json_flag
):  # noqa: F811
    args = [
        "captures",
        lookup_archive.url(path),
        *json_flag,
        "--config",
        str(lookup_archive.config),
    ]
    fast = run(*args)
    _through_the_orm(monkeypatch)
    slow = run(*args)
    assert (fast.exit_code, fast.stdout_bytes, fast.stderr_bytes) == (
        slow.exit_code,
        slow.stdout_bytes,
        slow.stderr_bytes,
    )
