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
    """The archive, with its catalog on each backend (SQLite, PostgreSQL)."""
    database = database_for(request, request.param)
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
        archive={"prefix": PREFIX, **archive_settings(database)},
    )
    started = time.time()
    first = crawl(config)
    r["/changes"] = page("<html><body>second version</body></html>")
    second = crawl(config)
    finished = time.time()
    yield Archive(
        s, config, config.parent / "archive" / "warcs", [first, second], refused, started, finished
    )
    s.stop()
