"""Fixtures shared by the web UI tests: an archive made by real crawls of the local test server
(a baseline, then an edit and a new page), and `warcwatch serve` running on it in a subprocess."""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import ROOT, crawl, write_config
from tests.httpserver import SiteServer, page
from tests.pg import BACKENDS, archive_settings, database_for
from tests.s3 import storage_for, upload_all

TOKEN = "test-token-0123456789abcdef"

NEWS_V1 = """<!doctype html><html><head><title>Ceasefire talks</title></head><body>
<nav><a href="/">Home</a></nav>
<article><h1>Ceasefire talks resume</h1>
<p>Delegations returned to the negotiating table on Monday.</p>
<p>At least 41 civilians were killed in the fighting last week, according to local monitors.</p>
<p>Human rights groups urged accountability.</p></article></body></html>"""
NEWS_V2 = NEWS_V1.replace("41", "12").replace("local monitors", "government sources")

# A hostile archived page: it tries to reach the UI that frames it, and reports what it got.
EVIL = """<!doctype html><html><head><title>Hostile archived page</title></head><body>
<article><h1>Hostile archived page</h1><p>This page tries to read the archive viewer around it.</p>\
</article>
<pre id="out">script did not run</pre><pre id="fetch">pending</pre>
<script>
var r = {ran: true, origin: String(self.origin)};
function t(name, f) { try { r[name] = "READ:" + String(f()); } catch (e) { r[name] = e.name; } }
t("parent_title", function () { return window.parent.document.title; });
t("top_cookie", function () { return top.document.cookie; });
t("own_cookie", function () { return document.cookie; });
t("storage", function () { return window.localStorage.length; });
document.getElementById("out").textContent = JSON.stringify(r);
fetch("/api/status", {credentials: "include"}).then(function (res) { return res.text(); })
  .then(function (t) { document.getElementById("fetch").textContent = "READ:" + t.slice(0, 40); })
  .catch(function (e) { document.getElementById("fetch").textContent = e.name; });
</script></body></html>"""


def index(extra: str = "") -> str:
    return (
        '<html><body><article><h1>Index</h1><a href="/news.html">News</a> <a '
        'href="/evil.html">Evil</a>'
        f"{extra}</article></body></html>"
    )


@dataclass
class Archive:
    config: Path
    site: SiteServer
    base: str

    @property
    def news(self) -> str:
        return self.base + "/news.html"

    @property
    def evil(self) -> str:
        return self.base + "/evil.html"


@pytest.fixture(scope="module", params=BACKENDS)
def archive(request, tmp_path_factory) -> Archive:
    """The archive, with its catalog on each backend: SQLite with local WARC files, PostgreSQL
    with its WARC files on S3 (moto, tests/s3.py; uploaded after the passes, so that the pages
    read every record from an object)."""
    database = database_for(request, request.param)
    tmp = tmp_path_factory.mktemp("web")
    site = SiteServer().start()
    site.routes.update(
        {
            "/": page(index()),
            "/news.html": page(NEWS_V1),
            "/evil.html": page(EVIL),
            "/robots.txt": page("User-agent: *\nAllow: /\n", content_type="text/plain"),
        }
    )
    config = write_config(
        tmp,
        [{"name": "site-a", "url": site.url("/"), "kind": "site", "depth": 1, "select": "article"}],
        archive={**archive_settings(database), **storage_for(request, database)},
    )
    crawl(config)  # the baseline
    site.routes.update(
        {
            "/": page(index('<a href="/fresh.html">Fresh</a>')),
            "/news.html": page(NEWS_V2),
            "/fresh.html": page(
                "<html><body><article><p>A fresh page.</p></article></body></html>"
            ),
        }
    )
    crawl(config)  # an edit and a new page
    if database is not None:
        upload_all(config)
    yield Archive(config, site, site.base)
    site.stop()


class Server:
    """`warcwatch serve` in a subprocess on a free port of 127.0.0.1."""

    def __init__(self, config: Path, *args: str):
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "monitor.cli",
                "serve",
                "--config",
                str(config),
                "--port",
                "0",
                *args,
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        line = _readline(self.proc, timeout=30)
        if "serving http://" not in line:
            self.stop()
            raise AssertionError(f"warcwatch serve did not start: {line}{self.proc.stderr.read()}")
        self.base = line.split("serving ", 1)[1].split()[0].rstrip("/")
        self.port = int(self.base.rsplit(":", 1)[1])
        self.log: list[str] = []
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        for line in self.proc.stderr:
            self.log.append(line)

    def get(
        self, path: str, headers: dict | None = None
    ) -> tuple[int, http.client.HTTPMessage, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request("GET", path, headers=headers or {})
            res = conn.getresponse()
            return res.status, res.headers, res.read()
        finally:
            conn.close()

    def json(self, path: str, status: int = 200, headers: dict | None = None):
        got, _, body = self.get(path, headers)
        assert got == status, f"{path}: {got} {body[:500]!r}\n{''.join(self.log)}"
        return json.loads(body)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def _readline(proc: subprocess.Popen, timeout: float) -> str:
    out: list[str] = []
    reader = threading.Thread(target=lambda: out.append(proc.stderr.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    return out[0] if out else f"(nothing on stderr after {timeout}s)"


def token_config(archive: Archive, tmp: Path) -> Path:
    """A second watchlist on the same archive, with a bearer token."""
    archive_dir = (archive.config.parent / "archive").resolve()
    # the first watchlist's [archive] lines (the catalog, where WARC files are), but its `dir`
    section = archive.config.read_text().split("\n\n", 1)[0].splitlines()[1:]
    rest = [line for line in section if not line.startswith("dir =")]
    path = tmp / "token.toml"
    path.write_text(
        f'[archive]\ndir = "{archive_dir}"\n'
        + "".join(f"{line}\n" for line in rest)
        + f'\n[serve]\ntoken = "{TOKEN}"\n'
    )
    return path


@pytest.fixture(scope="module")
def server(archive):
    srv = Server(archive.config)
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def token_server(archive, tmp_path_factory):
    srv = Server(token_config(archive, tmp_path_factory.mktemp("token")))
    yield srv
    srv.stop()
