"""`warcwatch demo`: a small news-and-statements site served on 127.0.0.1 from package data,
crawled, changed (an article edited, a statement deleted, a new article published), crawled again.

Every page carries template noise on every request (a timestamp, a view counter, a rotating
"trending" line, a CSRF token), so the demo also shows that noise raises no alert.
"""

from __future__ import annotations

import random
import secrets
import shlex
import shutil
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.resources import files
from pathlib import Path

from crawler.report import reasons_text
from monitor.config import Config, load_config
from storage.enums import EventKind
from storage.timestamps import from_datetime, readable, utcnow

_TRENDING = [
    "Election results",
    "Climate summit",
    "Football final",
    "Storm warning",
    "Market update",
]
_REMOVED_IN_PHASE_2 = {"/statements/embassy-2026-11.html"}


class DemoSite(ThreadingHTTPServer):
    """The demo site. `phase` 1 is the original; `advance()` moves to phase 2 (the edits)."""

    daemon_threads = True

    def __init__(self, port: int = 0):
        super().__init__(("127.0.0.1", port), _DemoHandler)
        self.phase = 1
        self.root = files("monitor") / "demo_site"
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def start(self) -> DemoSite:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()

    def advance(self) -> None:
        self.phase += 1

    def resolve(self, path: str) -> bytes | None:
        path = path.split("?", 1)[0]
        if ".v2." in path or ".." in path:
            return None  # phase files are not addressable by name
        if path == "/":
            path = "/index.html"
        if self.phase >= 2 and path in _REMOVED_IN_PHASE_2:
            return None
        stem, dot, ext = path.rpartition(".")
        candidates = [f"{stem}.v2.{ext}"] if self.phase >= 2 and dot else []
        candidates.append(path)
        for candidate in candidates:
            res = self.root.joinpath(*candidate.strip("/").split("/"))
            if res.is_file():
                return res.read_bytes()
        return None


class _DemoHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: DemoSite

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        body = self.server.resolve(self.path)
        if body is None:
            self._send(
                404,
                b"<!doctype html><html><body><h1>Page not found</h1></body></html>",
                "text/html; charset=utf-8",
            )
            return
        if self.path.endswith(".xml"):
            ctype = "application/rss+xml"
        elif self.path.endswith(".txt"):
            ctype = "text/plain"
        else:
            ctype = "text/html; charset=utf-8"
            body = (
                body.replace(
                    b"{{now}}", readable(from_datetime(now := utcnow()), now.microsecond).encode()
                )
                .replace(b"{{views}}", str(random.randint(1000, 99999)).encode())
                .replace(b"{{trending}}", random.choice(_TRENDING).encode())
                .replace(b"{{token}}", secrets.token_hex(16).encode())
            )
        self._send(200, body, ctype)

    def _send(self, status: int, body: bytes, ctype: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


_WATCHLIST = """\
# The demo's watchlist (its site is gone once the demo ends; the archive stays).
# Look around from this folder: warcwatch changes, warcwatch captures URL, warcwatch serve
[archive]
dir = "archive"

[crawl]
autothrottle = false
download_timeout = 10

[[targets]]
name = "demo-news"
url = "{base}/feed.xml"
kind = "feed"
select = "article"

[[targets]]
name = "demo-statements"
url = "{base}/"
kind = "site"
depth = 1
allow = ["/statements/"]
select = "article"
"""


def demo_config(workdir: Path, base: str) -> Config:
    """Writes the demo's watchlist into `workdir` (so the archive can be explored from there)."""
    path = workdir / "warcwatch.toml"
    path.write_text(_WATCHLIST.format(base=base), encoding="utf-8")
    return load_config(path)


def run_demo(workdir: Path) -> None:
    from rich.console import Console

    from monitor.passes import run_passes

    console = Console()
    workdir.mkdir(parents=True, exist_ok=True)
    site = DemoSite().start()
    config = demo_config(workdir, site.base)
    targets = list(config.targets)
    console.print(
        f"[bold]warcwatch demo[/]: demo site on {site.base}, archive in {config.archive.dir}"
    )

    def change_site():
        site.advance()
        console.print(
            "[bold]The site changes:[/] an article is edited, a statement deleted, a new article "
            "published."
        )

    try:
        # a removal is confirmed on two checks in a row, hence the third pass
        results = run_passes(
            config, [(targets, True), change_site, (targets, True), (targets, True)]
        )
    finally:
        site.stop()
    for n, result in enumerate(results, 1):
        s = result.summary
        console.print(
            f"pass {n}: fetched {s['fetched']}, new {s['new']}, revisits {s['revisits']}, "
            f"not modified {s['not_modified']}, "
            f"failed {sum(s['failed'].values())} {reasons_text(s['failed'])}, "
            f"changes {s.get('events') or 'none'}"
        )
    _show_archive(console, config, site.base)
    _show_changes(console, config)


def _show_changes(console, config: Config) -> None:
    from monitor.changes import list_events
    from monitor.diffview import render_terminal
    from storage.catalog import open_catalog

    engine = open_catalog(config.archive.database_url)
    events = list_events(engine)
    console.print(
        f"[bold]{len(events)} change events[/] (the template noise on every page raised none):"
    )
    for e in events:
        console.print(f"  [bold]{e.kind:<8}[/] {e.url}  {e.reason or ''}{e.new_url or ''}")
    for e in events:
        if e.kind == EventKind.CHANGED:
            console.print(f"\n[bold]warcwatch diff {e.url}[/]")
            render_terminal(console, engine, config, e.from_capture, e.to_capture)


def _show_archive(console, config: Config, base: str) -> None:
    from rich.table import Table
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from storage.catalog import open_catalog
    from storage.models import Capture

    engine = open_catalog(config.archive.database_url)
    table = Table(
        "time", "kind", "status", "path", "WARC file:offset", title=f"What was archived from {base}"
    )
    with Session(engine) as s:
        for c in s.scalars(select(Capture).order_by(Capture.id)):
            table.add_row(
                c.timestamp,
                c.kind,
                str(c.status or "-"),
                c.url.removeprefix(base),
                f"{c.warc_file}:{c.offset}" if c.warc_file else (c.reason or ""),
            )
    console.print(table)
    exe = _executable()
    console.print(f"WARC files are in {config.archive.warc_dir}. Look around:")
    for command in ("changes", f"captures {base}/news/ceasefire-talks.html", "serve"):
        console.print(
            f"  cd {shlex.quote(str(config.file.parent))} && {exe} {command}", soft_wrap=True
        )


def _executable() -> str:
    """How to call warcwatch from a shell: its bare name when that is the one on PATH, else the
    full path of this installation's script (the demo is usually run as .venv/bin/warcwatch, with
    the venv not activated)."""
    mine = Path(sys.executable).with_name("warcwatch")
    on_path = shutil.which("warcwatch")
    if on_path and (not mine.exists() or Path(on_path).resolve() == mine.resolve()):
        return "warcwatch"
    return (
        shlex.quote(str(mine.absolute()))
        if mine.exists()
        else f"{shlex.quote(sys.executable)} -m monitor.cli"
    )
