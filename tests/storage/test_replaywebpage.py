"""An exported WACZ replays in ReplayWeb.page, the main WACZ client: its published npm package
(ui.js + sw.js, fetched once with `npm pack` into .cache/) served on 127.0.0.1 beside the WACZ,
in Debian's Chromium driven by Playwright, with the live site stopped. The archived sentence must
appear in the replayed page."""

from __future__ import annotations

import functools
import subprocess
import tarfile
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.conftest import ROOT, crawl, warcwatch, write_config
from tests.httpserver import SiteServer, page

RWP_VERSION = "2.5.3"
CHROMIUM = "/usr/bin/chromium"
SENTENCE = "The tribunal adjourned the hearing on the detention of eleven journalists."


@pytest.fixture(scope="module")
def replaywebpage() -> Path:
    """ReplayWeb.page's ui.js and sw.js, from the npm registry (its bundles need no dependencies)."""
    where = ROOT / ".cache" / f"replaywebpage-{RWP_VERSION}"
    if not (where / "sw.js").exists():
        where.mkdir(parents=True, exist_ok=True)
        subprocess.run(["npm", "pack", f"replaywebpage@{RWP_VERSION}", "--silent"], cwd=where, check=True,
                       capture_output=True, timeout=300)
        with tarfile.open(where / f"replaywebpage-{RWP_VERSION}.tgz") as tar:
            for name in ("ui.js", "sw.js"):
                member = tar.getmember(f"package/{name}")
                (where / name).write_bytes(tar.extractfile(member).read())
    return where


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


def _serve(directory: Path) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(directory)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_exported_wacz_replays_in_replaywebpage(replaywebpage: Path, tmp_path: Path):
    from playwright.sync_api import sync_playwright

    site = SiteServer().start()
    page_html = f"<html><head><title>Hearing</title></head><body><article><h1>Hearing</h1><p>{SENTENCE}</p></article></body></html>"
    site.routes["/news/hearing"] = page(page_html)
    url = site.url("/news/hearing")
    config = write_config(tmp_path, [{"name": "news", "url": url}])
    crawl(config)
    site.stop()  # replay must not touch the live site

    web = tmp_path / "web"
    (web / "replay").mkdir(parents=True)
    warcwatch("export", "--config", str(config), "--out", str(web / "archive.wacz"), "--url", url)
    (web / "ui.js").write_bytes((replaywebpage / "ui.js").read_bytes())
    (web / "replay" / "sw.js").write_bytes((replaywebpage / "sw.js").read_bytes())
    (web / "index.html").write_text(
        '<!doctype html><html><head><script src="/ui.js"></script></head><body>'
        f'<replay-web-page source="/archive.wacz" url="{url}" replayBase="/replay/" embed="replayonly">'
        "</replay-web-page></body></html>")
    server = _serve(web)
    try:
        assert Path(CHROMIUM).exists(), f"{CHROMIUM} missing: scripts/test installs Debian's chromium package"
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"])
            tab = browser.new_page()
            tab.goto(f"http://127.0.0.1:{server.server_address[1]}/index.html")
            found, seen = False, ""
            deadline = time.monotonic() + 60
            while not found and time.monotonic() < deadline:
                for frame in tab.frames:
                    try:
                        text = frame.evaluate("document.body ? document.body.innerText : ''")
                    except Exception:  # noqa: BLE001 - a frame navigating away; look again
                        continue
                    seen += text[:200]
                    found = found or SENTENCE in text
                time.sleep(0.5)
            browser.close()
        assert found, f"the archived sentence never appeared; frames showed: {seen[-1000:]}"
    finally:
        server.shutdown()
