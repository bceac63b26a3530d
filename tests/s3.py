"""An S3-compatible server for the tests: moto's (`moto_server`) on 127.0.0.1 on a free port, run
from a venv of its own (tests/toolvenv.py: moto pulls boto3, Flask and Werkzeug, which would
change the product's environment), one per test session; a fresh bucket per test. And the
`warc_backend` fixture: the storage tests' archives with their WARC files local (SQLite catalog)
or on S3 (PostgreSQL catalog), as the two deployments issue 14 names.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session
from warcio.archiveiterator import ArchiveIterator

from monitor.config import load_config
from storage.models import Capture, WarcFile
from storage.objects import open_warc
from storage.retrieval import location
from storage.warcfile import FOLDER_ID
from storage.warcread import read_record
from tests.toolvenv import tool_venv

MOTO = "moto[server]>=5"
KEY, SECRET, REGION = "testing-key", "testing-secret", "us-east-1"


@dataclass(frozen=True)
class S3Server:
    endpoint: str

    def fs(self):
        import s3fs

        return s3fs.S3FileSystem(
            key=KEY,
            secret=SECRET,
            client_kwargs={"endpoint_url": self.endpoint, "region_name": REGION},
            skip_instance_cache=True,
        )

    def bucket(self) -> str:
        """A new empty bucket's name."""
        name = f"t-{uuid.uuid4().hex[:12]}"
        self.fs().call_s3("create_bucket", Bucket=name)
        return name


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def moto_server(log: Path) -> Iterator[S3Server]:
    """moto's S3 server on a free port of 127.0.0.1 for the block, its request log in `log`
    (one line per request: the benchmarks count the PUTs there)."""
    bindir = tool_venv("moto", MOTO)
    port = free_port()
    out = open(log, "wb")
    proc = subprocess.Popen(
        [str(bindir / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=out,
        stderr=subprocess.STDOUT,
        env={**os.environ, "AWS_ACCESS_KEY_ID": KEY, "AWS_SECRET_ACCESS_KEY": SECRET},
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"moto_server did not start (see {log})") from None
                time.sleep(0.1)
        yield S3Server(f"http://127.0.0.1:{port}")
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        out.close()


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory) -> Iterator[S3Server]:
    with moto_server(tmp_path_factory.mktemp("moto") / "moto.log") as server:
        yield server


def s3_settings(server: S3Server, bucket: str, prefix: str = "warcs") -> dict:
    """`write_config`'s `archive` entries for WARC files in `bucket`, credentials in the
    watchlist (the tests' processes then need no AWS environment)."""
    return {
        "warc_dir": f"s3://{bucket}/{prefix}",
        "s3_endpoint_url": server.endpoint,
        "s3_region": REGION,
        "s3_access_key_id": KEY,
        "s3_secret_access_key": SECRET,
    }


def object_names(server: S3Server, bucket: str) -> list[str]:
    """Every object's key in `bucket` (under any prefix)."""
    fs = server.fs()
    return sorted(p.removeprefix(bucket + "/") for p in fs.find(bucket, refresh=True))


def storage_for(request: pytest.FixtureRequest, database: str | None) -> dict:
    """The shared archives' storage: local WARC files with a SQLite catalog (`database` None),
    WARC files on S3 (a new bucket) with a PostgreSQL one; `write_config` archive entries."""
    if database is None:
        return {}
    server = request.getfixturevalue("s3_server")
    return s3_settings(server, server.bucket())


def upload_all(config: Path) -> None:
    """Upload an archive's WARC files (`warcwatch repair`: the passes' last file is young, kept
    for the next pass) and check that the local folder holds none any more."""
    from tests.conftest import warcwatch

    warcwatch("repair", "--config", str(config))
    spool = load_config(config).archive.warc_dir
    assert sorted(p.name for p in spool.iterdir()) == [FOLDER_ID], "uploaded, local copies gone"


def uploaded_and_fetched_back(config: Path, server: S3Server, prefix: str, spool: Path) -> Path:
    """Upload an archive's files (`warcwatch repair`), check that nothing is left in the spool
    but its folder id, and fetch every object back whole into a folder of its own (with a copy of
    the folder id), for tests that read WARC files themselves."""
    upload_all(config)
    objects = config.parent / "objects"
    objects.mkdir()
    fs = server.fs()
    for path in fs.find(prefix):
        assert not path.endswith(".open"), path
        fs.get_file(path, str(objects / path.rsplit("/", 1)[1]))
    shutil.copy(spool / FOLDER_ID, objects / FOLDER_ID)
    return objects


# (catalog, WARC storage) pairs: SQLite with local files, PostgreSQL with files on S3
WARC_BACKENDS = ("sqlite-local", "postgresql-s3")


@dataclass(frozen=True)
class Backend:
    name: str
    database: str | None  # `[archive] database`: None is SQLite in the archive folder
    archive: dict  # `write_config`'s archive entries (database and storage)
    server: S3Server | None = None
    bucket: str | None = None

    @property
    def s3(self) -> bool:
        return self.server is not None


def backend_for(request: pytest.FixtureRequest, name: str) -> Backend:
    if name == "sqlite-local":
        return Backend(name, None, {})
    database = request.getfixturevalue("pg_cluster").database()
    server = request.getfixturevalue("s3_server")
    bucket = server.bucket()
    return Backend(
        name, database, {"database": database, **s3_settings(server, bucket)}, server, bucket
    )


@pytest.fixture(params=WARC_BACKENDS)
def warc_backend(request) -> Backend:
    """Each deployment: SQLite with local WARC files, PostgreSQL with WARC files on S3."""
    return backend_for(request, request.param)


# --- reading an archive back, from wherever its files are ----------------------------------


def _files(config: Path) -> dict[str, dict[int, tuple[int, str]]]:
    """Every WARC file the catalog names, read whole from wherever it is (local copy, else its
    object) by warcio: file → offset → (length, record id)."""
    cfg = load_config(config)
    engine = create_engine(cfg.archive.database_url)
    with Session(engine) as s:
        names = list(s.scalars(select(WarcFile.name)))
    engine.dispose()
    out: dict[str, dict[int, tuple[int, str]]] = {}
    for name in names:
        found = open_warc(cfg.archive.warcs, name)
        assert found is not None, f"{name} is neither local nor an object"
        f, closed = found
        assert closed, f"{name} is still open"
        with f:
            data = f.read()
        members: dict[int, tuple[int, str]] = {}
        it = ArchiveIterator(io.BytesIO(data), check_digests=True)
        for rec in it:
            rec.raw_stream.read()
            assert not rec.digest_checker.problems, rec.digest_checker.problems
            off = it.get_record_offset()
            members[off] = (it.get_record_length(), rec.rec_headers.get_header("WARC-Record-ID"))
        out[name] = members
    return out


def rows_are_records(config: Path) -> int:
    """Every catalog row's byte range parses, through storage.warcread, to the record with its
    WARC-Record-ID, at a record boundary of its file; returns the number of rows checked."""
    cfg = load_config(config)
    files = _files(config)
    engine = create_engine(cfg.archive.database_url)
    n = 0
    with Session(engine) as s:
        for c in s.scalars(select(Capture).where(Capture.warc_file.is_not(None))):
            rec = read_record(cfg.archive.warcs, location(c))
            assert rec.header("WARC-Record-ID") == c.record_id
            assert files[c.warc_file][c.offset] == (c.length, c.record_id)
            n += 1
    engine.dispose()
    return n


def local_warcs(config: Path) -> list[str]:
    folder = load_config(config).archive.warc_dir
    return sorted(p.name for p in folder.glob("*.warc.gz*")) if folder.exists() else []
