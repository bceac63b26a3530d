"""An exported WACZ replays in ReplayWeb.page, the main WACZ client: its published npm package
(ui.js + sw.js, fetched once with `npm pack` into .cache/) served on 127.0.0.1 beside the WACZ,
in Debian's Chromium driven by Playwright, with the live site stopped. The archived sentence must
appear in the replayed page, and its Archive Info must show what it verified of the package.

What ReplayWeb.page 2.5.3 verifies (read in its sw.js, seen in its IndexedDB "verification" store):
only a *signed* package's signature and datapackage hash. Of an unsigned package it keeps the
expected hashes datapackage.json gives for pages/pages.jsonl and the .cdx/.idx index, with
`matched: false`, and never compares them: hashing is off unless its service worker is registered
with `?useHashCheck=1`, which its UI never does (and even forced on, these two stay unmatched). Its
unsigned-package placeholder entry "signature" (expected "") is counted as valid. So an unsigned
WACZ, warcwatch's or py-wacz's own alike, shows "1 hashes verified, N invalid" where N is the
number of those unchecked entries: 2 here (py-wacz's `wacz create` output shows 1, its index.idx).
"""

from __future__ import annotations

import functools
import hashlib
import json
import subprocess
import tarfile
import threading
import time
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.conftest import ROOT, crawl, warcwatch, write_config
from tests.httpserver import SiteServer, page

RWP_VERSION = "2.5.3"
CHROMIUM = "/usr/bin/chromium"
SENTENCE = "The tribunal adjourned the hearing on the detention of eleven journalists."


def replaywebpage_files() -> Path:
    """ReplayWeb.page's ui.js and sw.js, from the npm registry (its bundles need no dependencies),
    fetched once into .cache/ (benchmarks/wacz_replay.py uses them too)."""
    where = ROOT / ".cache" / f"replaywebpage-{RWP_VERSION}"
    if not (where / "sw.js").exists():
        where.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["npm", "pack", f"replaywebpage@{RWP_VERSION}", "--silent"],
            cwd=where,
            check=True,
            capture_output=True,
            timeout=300,
        )
        with tarfile.open(where / f"replaywebpage-{RWP_VERSION}.tgz") as tar:
            for name in ("ui.js", "sw.js"):
                member = tar.getmember(f"package/{name}")
                (where / name).write_bytes(tar.extractfile(member).read())
    return where


@pytest.fixture(scope="module")
def replaywebpage() -> Path:
    return replaywebpage_files()


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


def _serve(directory: Path) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_Quiet, directory=str(directory))
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@dataclass
class Replay:
    url: str  # the archived page
    wacz: Path
    base: str  # where index.html, ui.js and the WACZ are served


@pytest.fixture(scope="module")
def exported(replaywebpage: Path, tmp_path_factory):
    """A crawled page exported as a WACZ, served beside ReplayWeb.page, the live site stopped."""
    tmp = tmp_path_factory.mktemp("rwp")
    site = SiteServer().start()
    page_html = (
        "<html><head><title>Hearing</title></head><body><article><h1>Hearing</h1><p"
        f">{SENTENCE}</p></article></body></html>"
    )
    site.routes["/news/hearing"] = page(page_html)
    url = site.url("/news/hearing")
    config = write_config(tmp, [{"name": "news", "url": url}])
    crawl(config)
    site.stop()  # replay must not touch the live site

    web = tmp / "web"
    (web / "replay").mkdir(parents=True)
    warcwatch("export", "--config", str(config), "--out", str(web / "archive.wacz"), "--url", url)
    (web / "ui.js").write_bytes((replaywebpage / "ui.js").read_bytes())
    (web / "replay" / "sw.js").write_bytes((replaywebpage / "sw.js").read_bytes())
    for name, embed in (
        ("index.html", "replayonly"),
        ("full.html", "default"),
    ):  # default: with its UI
        (web / name).write_text(
            '<!doctype html><html><head><script src="/ui.js"></script></head><body>'
            f'<replay-web-page source="/archive.wacz" url="{url}" replayBase="/replay/" '
            f'embed="{embed}">'
            "</replay-web-page></body></html>"
        )
    server = _serve(web)
    yield Replay(url, web / "archive.wacz", f"http://127.0.0.1:{server.server_address[1]}")
    server.shutdown()


@contextmanager
def chromium():
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), (
        f"{CHROMIUM} missing: scripts/test installs Debian's chromium package"
    )
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        try:
            yield browser.new_page()
        finally:
            browser.close()


def wait_for_sentence(tab, sentence: str = SENTENCE, timeout: float = 60) -> tuple[bool, str]:
    """Whether `sentence` appears in a frame of `tab` within `timeout` s, and what the frames
    showed."""
    found, seen = False, ""
    deadline = time.monotonic() + timeout
    while not found and time.monotonic() < deadline:
        for frame in tab.frames:
            try:
                text = frame.evaluate("document.body ? document.body.innerText : ''")
            except Exception:  # noqa: BLE001 - a frame navigating away; look again
                continue
            seen += text[:200]
            # white space as rendered varies; soft hyphens are in the text, not in what one reads
            found = found or sentence in " ".join(text.replace("\u00ad", "").split())
            if text.startswith("Directory listing for /replay/"):
                # the frame loaded before ReplayWeb.page's service worker took control (a race of
                # its first install, more likely on a busy machine): the plain server answered
                tab.reload()
                break
        time.sleep(0.5)
    return found, seen


def test_exported_wacz_replays_in_replaywebpage(exported: Replay):
    with chromium() as tab:
        tab.goto(exported.base + "/index.html")
        found, seen = wait_for_sentence(tab)
    assert found, f"the archived sentence never appeared; frames showed: {seen[-1000:]}"


# the text of every shadow root under a document (ReplayWeb.page's UI is web components)
SHADOW_TEXT = """() => { const out = []; const walk = (root) => { for (const el of \
root.querySelectorAll('*')) {
  if (el.shadowRoot) { out.push([el.tagName, el.shadowRoot.textContent.replace(/\\s+/g, ' ')]); \
walk(el.shadowRoot); } } };
  walk(document); return out; }"""
VERIFICATION = """async () => { const out = {}; for (const d of await indexedDB.databases()) {
  out[d.name] = await new Promise((res, rej) => { const r = indexedDB.open(d.name); r.onerror = () \
=> rej(r.error);
    r.onsuccess = () => { const db = r.result; if (!db.objectStoreNames.contains('verification')) \
{ db.close(); res(null); return; }
      const q = db.transaction('verification').objectStore('verification').getAll();
      q.onsuccess = () => { db.close(); res(q.result); }; q.onerror = () => rej(q.error); }; }); }
  return out; }"""


def test_replaywebpage_shows_what_it_verified_of_the_package(exported: Replay):
    with zipfile.ZipFile(exported.wacz) as z:
        package = json.loads(z.read("datapackage.json"))
        ours = {r["path"]: r["hash"] for r in package["resources"]}
        for path, digest in ours.items():  # the hashes are right (test_export checks it too)
            assert digest == "sha256:" + hashlib.sha256(z.read(path)).hexdigest()
    with chromium() as tab:
        tab.goto(exported.base + "/full.html")
        found, seen = wait_for_sentence(tab)
        assert found, f"the archived sentence never appeared; frames showed: {seen[-1000:]}"
        app = next(f for f in tab.frames if "/replay/?source=" in f.url)
        deadline = time.monotonic() + 30
        info = ""
        while "hashes verified" not in info and time.monotonic() < deadline:
            info = " ".join(
                text for tag, text in app.evaluate(SHADOW_TEXT) if tag == "WR-ITEM-INFO"
            )
            time.sleep(0.5)
        stores = app.evaluate(VERIFICATION)
    entries = next(rows for name, rows in stores.items() if name.startswith("db:") and rows)
    by_id = {e["id"]: e for e in entries}
    # what it read: our datapackage.json's hashes of the pages and the index, and no signature
    checked = {
        i.removeprefix("default"): e["expected"] for i, e in by_id.items() if i != "signature"
    }
    assert checked == {p: ours[p] for p in ("pages/pages.jsonl", "indexes/index.cdx")}
    assert by_id["signature"]["expected"] == ""  # an unsigned package: no signature to check
    # what it shows: the placeholder counted as verified, the two hashes it never compared as
    # invalid
    assert all(e["matched"] is False for e in entries)
    assert "1 hashes verified, 2 invalid" in info, info
