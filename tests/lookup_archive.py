"""An archive for the retrieval, export and pywb tests, made by two real crawl passes at least three
seconds apart: a page that changes between them, a 304 (server-not-modified) revisit, an
identical-payload revisit of a gzip page, a page whose exact response bytes are recorded as sent,
and a URL with query arguments.

Import the `lookup_archive` fixture into a test module to use it (session scope: crawled once).
"""

from __future__ import annotations

import gzip
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from monitor.config import load_config
from storage.models import Capture
from storage.objects import WarcStorage
from tests.conftest import crawl, write_config
from tests.httpserver import SiteServer, gzipped, page
from tests.pg import BACKENDS, archive_settings, database_for
from tests.s3 import s3_settings, uploaded_and_fetched_back

V1 = (
    "<html><head><title>Statement</title></head><body><p>Version one of the "
    "statement.</p></body></html>"
)
V2 = "<html><head><title>Statement</title></head><body><p>Version two, edited.</p></body></html>"
GZ = "<html><body><p>" + "A compressed press release. " * 30 + "</p></body></html>"
RAW_BODY = gzip.compress(
    ("<html><body><p>" + "Raw bytes as sent. " * 20 + "</p></body></html>").encode(), mtime=0
)
# header case, spacing and order a normalising writer would change
RAW_HEAD = (
    b"HTTP/1.1 200 Fine Thanks\r\n"
    b"content-type: text/html;charset=UTF-8\r\n"
    b"X-Odd-Spacing:   kept  \r\n"
    b"Content-Encoding: gzip\r\n"
    b"Content-Length: %d\r\n\r\n" % len(RAW_BODY)
)
PATHS = ["/page", "/etag", "/gz", "/raw", "/q?b=2&a=1"]


@dataclass
class LookupArchive:
    server: SiteServer
    config: Path
    # the WARC files as files: the archive's folder, or (WARC files on S3) the objects fetched back
    files: Path | None = None
    sent_raw: list[bytes] = field(default_factory=list)  # what /raw sent, byte for byte, per fetch
    captures: dict[str, list[Capture]] = field(
        default_factory=dict
    )  # path → captures, oldest first

    def url(self, path: str) -> str:
        return self.server.url(path)

    @property
    def warc_dir(self) -> Path:
        """A folder holding every WARC file of the archive, to read the files themselves."""
        return self.files or load_config(self.config).archive.warc_dir

    @property
    def warcs(self) -> WarcStorage:
        """Where warcwatch reads the records from: the local folder, or the objects on S3."""
        return load_config(self.config).archive.warcs

    @property
    def database_url(self) -> str:
        return load_config(self.config).archive.database_url

    def ts(self, path: str, n: int) -> str:
        return self.captures[path][n].timestamp


def _recorded(sent: list[bytes]):
    def respond(h) -> None:
        data = RAW_HEAD + RAW_BODY
        sent.append(data)
        h.wfile.write(data)

    return respond


@pytest.fixture(scope="session", params=BACKENDS)
def lookup_archive(request, tmp_path_factory) -> LookupArchive:
    """The archive, with its catalog on each backend: SQLite with its WARC files local, and
    PostgreSQL with its WARC files on S3 (moto's server, tests/s3.py), uploaded by `warcwatch
    repair` after the passes: warcwatch then reads every record by a ranged read of its object."""
    database = database_for(request, request.param)
    s3 = request.getfixturevalue("s3_server") if database is not None else None
    bucket = s3.bucket() if s3 is not None else None
    stored = s3_settings(s3, bucket) if s3 is not None and bucket is not None else {}
    server = SiteServer().start()
    root = tmp_path_factory.mktemp("lookup")
    arc = LookupArchive(server=server, config=root / "warcwatch.toml")
    r = server.routes
    r["/robots.txt"] = page("User-agent: *\nAllow: /\n", content_type="text/plain")
    r["/page"] = page(V1)
    r["/etag"] = page("<html><body><p>Stable, with an ETag.</p></body></html>", etag='"v1"')
    r["/gz"] = gzipped(GZ)
    r["/raw"] = _recorded(arc.sent_raw)
    r["/q"] = page("<html><body><p>query page</p></body></html>")
    write_config(
        root,
        [{"name": "lookup", "urls": [server.url(p) for p in PATHS]}],
        archive={**archive_settings(database), **stored},
    )
    crawl(arc.config)
    time.sleep(3.2)  # the passes' timestamps differ by ≥ 3 s: room for "between" and "nearer" cases
    r["/page"] = page(V2)
    crawl(arc.config)
    if s3 is not None:
        spool = load_config(arc.config).archive.warc_dir
        arc.files = uploaded_and_fetched_back(arc.config, s3, f"{bucket}/warcs", spool)
    engine = create_engine(arc.database_url)
    with Session(engine) as s:
        for p in PATHS:
            rows = s.scalars(
                select(Capture)
                .where(Capture.url == server.url(p))
                .order_by(Capture.timestamp, Capture.id)
            )
            arc.captures[p] = list(rows)
            s.expunge_all()
    engine.dispose()
    yield arc
    server.stop()
