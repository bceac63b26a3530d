"""An archive made by two real crawl passes, shared by the storage tests: every kind of record
(warcinfo, request, response, both revisit profiles, error responses) and failed captures."""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import crawl, write_config
from tests.httpserver import SiteServer, chunked, gzipped, page
from tests.pg import BACKENDS, archive_settings, database_for
from tests.s3 import s3_settings, uploaded_and_fetched_back

PREFIX = "wwtest"
GZ_PAGE = "<html><body>" + "compressible statement text " * 40 + "</body></html>"
CHUNKED_PAGE = "<html><body>" + "".join(f"<p>chunk {i}</p>" for i in range(40)) + "</body></html>"
PATHS = [
    "/reason",
    "/q?b=2&a=1",
    "/gz",
    "/chunked",
    "/same",
    "/changes",
    "/etag",
    "/missing",
    "/denied",
]


@dataclass
class Archive:
    server: SiteServer
    config: Path
    warc_dir: Path
    passes: list[dict]
    refused_url: str
    started: float  # time.time() before the first pass
    finished: float

    def url(self, path: str) -> str:
        return self.server.url(path)


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (connections are refused at once)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session", params=BACKENDS)
def two_pass_archive(request, tmp_path_factory) -> Archive:
    """The archive, with its catalog on each backend: SQLite with its WARC files local, and
    PostgreSQL with its WARC files on S3 (moto's server, tests/s3.py), uploaded by `warcwatch
    repair` after the passes, so that every read the tests make through warcwatch (`show`,
    `captures`…) is a ranged read of an object; `warc_dir` then holds the objects as fetched back
    whole, for the tests that read the files themselves (and the spool's folder id)."""
    database = database_for(request, request.param)
    server = request.getfixturevalue("s3_server") if database is not None else None
    bucket = server.bucket() if server is not None else None
    stored = s3_settings(server, bucket) if server is not None and bucket is not None else {}
    s = SiteServer().start()
    r = s.routes
    r["/robots.txt"] = page("User-agent: *\nDisallow: /denied\n", content_type="text/plain")
    r["/reason"] = page("<html><body>reason phrase</body></html>", reason="Very OK")
    r["/q?b=2&a=1"] = page("<html><body>query</body></html>")
    r["/gz"] = gzipped(GZ_PAGE)
    r["/chunked"] = chunked(CHUNKED_PAGE, pieces=4)
    r["/same"] = page("<html><body>the same every time</body></html>")
    r["/changes"] = page("<html><body>first version</body></html>")
    r["/etag"] = page("<html><body>validated</body></html>", etag='"e-1"')
    r["/missing"] = page("<html><body>gone</body></html>", status=404)
    r["/denied"] = page("<html><body>robots say no</body></html>")
    r["/second"] = page("<html><body>another target</body></html>")
    refused = f"http://127.0.0.1:{closed_port()}/nobody-home"
    config = write_config(
        tmp_path_factory.mktemp("storage"),
        [
            {"name": "pages", "urls": [s.url(p) for p in PATHS] + [refused]},
            {"name": "second", "url": s.url("/second")},
        ],
        archive={"prefix": PREFIX, **archive_settings(database), **stored},
    )
    started = time.time()
    first = crawl(config)
    r["/changes"] = page("<html><body>second version</body></html>")
    second = crawl(config)
    finished = time.time()
    warc_dir = config.parent / "archive" / "warcs"
    if server is not None:
        warc_dir = uploaded_and_fetched_back(config, server, f"{bucket}/warcs", warc_dir)
    yield Archive(s, config, warc_dir, [first, second], refused, started, finished)
    s.stop()
