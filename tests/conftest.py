"""Shared fixtures: a real HTTP server on 127.0.0.1, watchlists written to tmp_path, and crawl
passes run the way users run them (`warcwatch crawl`, in a subprocess: a Twisted reactor cannot
be restarted inside one test process)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.httpserver import SiteServer
from tests.pg import catalog_database, catalog_url, pg_cluster  # noqa: F401 - fixtures
from tests.s3 import s3_server  # noqa: F401 - fixture
from tests.warcs import check_all_warcs, warc_dir_of

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def site():
    server = SiteServer().start()
    yield server
    server.stop()


def toml_value(v) -> str:
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    return str(v)


def write_config(
    tmp_path: Path,
    targets: list[dict],
    crawl: dict | None = None,
    archive: dict | None = None,
    extra: str = "",
) -> Path:
    """A watchlist with fast, test-friendly crawl settings."""
    crawl = {"download_timeout": 3, "autothrottle": False, "retries": 0, **(crawl or {})}
    lines = ["[archive]", 'dir = "archive"']
    lines += [f"{k} = {toml_value(v)}" for k, v in (archive or {}).items()]
    lines += ["", "[crawl]"] + [f"{k} = {toml_value(v)}" for k, v in crawl.items()]
    for t in targets:
        lines += ["", "[[targets]]"] + [f"{k} = {toml_value(v)}" for k, v in t.items()]
    path = tmp_path / "warcwatch.toml"
    path.write_text("\n".join(lines) + "\n" + extra)
    return path


def warcwatch(*args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [sys.executable, "-m", "monitor.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"warcwatch {' '.join(args)} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
        )
    return proc


def crawl(config: Path, *targets: str, timeout: float = 120) -> dict:
    """One pass; returns the summary (`warcwatch crawl --json`). Every WARC the pass leaves is
    checked (`warcio check`, then read back record by record), so every WARC the suite writes is."""
    args = ["crawl", "--config", str(config), "--json"]
    for t in targets:
        args += ["--target", t]
    out = warcwatch(*args, timeout=timeout).stdout
    check_all_warcs(warc_dir_of(config))
    return json.loads(out.strip().splitlines()[-1])


@pytest.hookimpl(tryfirst=True)  # before the fixtures' own params are applied
def pytest_generate_tests(metafunc) -> None:
    from tests.pg import backends_of_module

    backends_of_module(metafunc)


def pytest_report_header(config) -> str:
    """Say at the top of the run which catalog backends the tests run on."""
    from tests.pg import server_bindir

    bindir = server_bindir()
    if bindir is not None:
        return f"catalog backends: sqlite, postgresql (a throwaway cluster from {bindir})"
    return "catalog backends: sqlite only (no PostgreSQL server installed: its cases are skipped)"


# Tests that kill processes at chosen moments or hold a daemon to its schedule: they run on their
# own, after the rest (scripts/test), since a parallel neighbour's load moves the moments they aim
# at. Everything else runs in parallel (pytest-xdist).
SERIAL = {
    "tests/monitor/test_cluster_faults.py",
    "tests/monitor/test_daemon.py",
    "tests/monitor/test_daemon_storage.py",
    "tests/monitor/test_daemon_watchlist.py",
    "tests/monitor/test_disk_full.py",
    "tests/storage/test_crash_repair.py",
    "tests/storage/test_repair_beside_a_hidden_writer.py",
}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if Path(item.fspath).relative_to(ROOT).as_posix() in SERIAL:
            item.add_marker(pytest.mark.serial)
