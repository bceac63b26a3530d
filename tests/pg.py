"""A throwaway PostgreSQL cluster for the tests, started from the installed server binaries
(Debian's `postgresql` package: /usr/lib/postgresql/<version>/bin), and the `catalog` fixtures
that run a test on SQLite and on PostgreSQL.

The cluster lives in a temporary folder: `initdb` there (as the `postgres` user when the tests run
as root, since the server refuses to run as root), a server listening only on a unix socket in
that folder (no port to collide with), one fresh database per test, stopped and removed at the end
of the session. Durability is switched off (fsync, synchronous_commit): the cluster is thrown away.
Its databases collate text as English does (ICU), not byte by byte as SQLite does.

When no server binaries are installed, the PostgreSQL cases are skipped with a reason saying so —
unless WARCWATCH_TEST_POSTGRES=required (set by scripts/test, which installs the package), when
they fail: CI must never pass by skipping them.
"""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

BACKENDS = ("sqlite", "postgresql")
_REQUIRED = "WARCWATCH_TEST_POSTGRES"


def server_bindir() -> Path | None:
    """The newest installed PostgreSQL server's bin folder, or None."""
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/postgres"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


@dataclass
class Cluster:
    """A running throwaway cluster: `database()` makes a new empty database and gives its URL."""

    root: Path
    bindir: Path
    owner: str | None  # the OS user the server runs as, when not the current one (root)
    _names = itertools.count(1)

    @property
    def socket_dir(self) -> Path:
        return self.root

    def _run(self, *cmd: str) -> None:
        argv = [str(self.bindir / cmd[0]), *cmd[1:]]
        if self.owner:
            argv = ["runuser", "-u", self.owner, "--", *argv]
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} exited {proc.returncode}: {proc.stderr[-2000:]}")

    @classmethod
    def start(
        cls, bindir: Path, durable: bool = False, settings: dict[str, str] | None = None
    ) -> Cluster:
        """initdb and start; `durable` keeps fsync and synchronous commits on (benchmarks);
        `settings` are more postgresql.conf lines (a benchmark's pg_stat_statements)."""
        owner = "postgres" if os.geteuid() == 0 else None
        root = Path(tempfile.mkdtemp(prefix="warcwatch-pg-"))
        if owner:
            entry = pwd.getpwnam(owner)
            os.chown(root, entry.pw_uid, entry.pw_gid)
        cluster = cls(root=root, bindir=bindir, owner=owner)
        data = root / "data"
        # a language's collation (ICU en-US), as servers are usually set up, not the byte order
        # SQLite compares in: what must sort byte for byte (the CDXJ index) has to say so
        cluster._run(
            "initdb",
            "-D",
            str(data),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "--locale-provider=icu",
            "--icu-locale=en-US",
        )
        conf_lines = {
            "listen_addresses": "''",
            "unix_socket_directories": f"'{root}'",
            **(
                {}
                if durable
                else {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
            ),
            # daemon workers, writer processes and web servers of several tests at once
            "max_connections": "200",
            **(settings or {}),
        }
        with open(data / "postgresql.conf", "a") as conf:
            conf.write("".join(f"{k} = {v}\n" for k, v in conf_lines.items()))
        cluster._run("pg_ctl", "-D", str(data), "-l", str(root / "server.log"), "-w", "start")
        return cluster

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@/{database}?host={self.socket_dir}"

    def database(self, prefix: str = "t") -> str:
        import psycopg

        name = f"{prefix}_{os.getpid()}_{next(self._names)}"
        with psycopg.connect(
            dbname="postgres", user="postgres", host=str(self.socket_dir), autocommit=True
        ) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.root / "data"), "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def _unavailable(reason: str):
    if os.environ.get(_REQUIRED) == "required":
        pytest.fail(f"PostgreSQL tests required ({_REQUIRED}=required) but {reason}")
    pytest.skip(f"PostgreSQL not tested: {reason} (apt-get install postgresql; scripts/test does)")


@pytest.fixture(scope="session")
def pg_cluster():
    bindir = server_bindir()
    if bindir is None:
        _unavailable("no PostgreSQL server binaries installed")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        _unavailable("psycopg is not installed (pip install -e '.[test,postgres]')")
    cluster = Cluster.start(bindir)
    yield cluster
    cluster.stop()


def database_for(request: pytest.FixtureRequest, backend: str) -> str | None:
    """The `[archive] database` a test on `backend` uses: None for SQLite (the default, in the
    archive's folder), a new database of the session's cluster for PostgreSQL."""
    if backend == "sqlite":
        return None
    return request.getfixturevalue("pg_cluster").database()


def archive_settings(database: str | None) -> dict:
    """`write_config`'s `archive` entries for that database."""
    return {} if database is None else {"database": database}


def backends_of_module(metafunc: pytest.Metafunc) -> None:
    """A module that sets `CATALOG_BACKENDS = ("sqlite",)` runs the tests that use one of
    a backend-parametrised archive fixture on those backends alone (pytest_generate_tests in
    tests/conftest.py)."""
    only = getattr(metafunc.module, "CATALOG_BACKENDS", None)
    if only is None:
        return
    for name in ("two_pass_archive", "lookup_archive", "archive", "same_second", "catalog_url"):
        if name in metafunc.fixturenames:
            # as a mark, which pytest applies in place of the fixture's own params
            metafunc.definition.add_marker(pytest.mark.parametrize(name, list(only), indirect=True))


def sqlite_only(fixture: str, why: str) -> pytest.MarkDecorator:
    """Run a test of a backend-parametrised `fixture` on SQLite alone (`why`: for the reader)."""
    assert why
    return pytest.mark.parametrize(fixture, ["sqlite"], indirect=True)


@pytest.fixture(params=BACKENDS)
def catalog_url(request, tmp_path) -> str:
    """A catalog URL of each backend: a SQLite file in tmp_path, a new PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'catalog.sqlite'}"
    return request.getfixturevalue("pg_cluster").database()


@pytest.fixture(params=BACKENDS)
def catalog_database(request) -> str | None:
    """`[archive] database` of each backend: None (SQLite in the archive folder) or PostgreSQL."""
    return database_for(request, request.param)
