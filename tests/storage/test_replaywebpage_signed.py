"""A WACZ signed by `warcwatch export --sign` is verified by ReplayWeb.page itself: its service
worker checks the anonymous signature (wabac.js `verifyWACZSignature`: the SPKI public key as
ECDSA P-384, SHA-256, raw r‖s over the hash string) and records the result in its IndexedDB
"verification" store, which its Archive Info panel shows. The harness (ReplayWeb.page's npm
bundles beside the WACZ on 127.0.0.1, Debian's Chromium under Playwright) is
tests/storage/test_replaywebpage.py's."""

from __future__ import annotations

import json
import time
import zipfile

import pytest

from tests.conftest import crawl, warcwatch, write_config
from tests.httpserver import SiteServer, page
from tests.storage.test_replaywebpage import (
    SENTENCE,
    VERIFICATION,
    Replay,
    _serve,
    chromium,
    replaywebpage,  # noqa: F401 - fixture
    wait_for_sentence,
)


@pytest.fixture(scope="module")
def signed(replaywebpage, tmp_path_factory):  # noqa: F811
    tmp = tmp_path_factory.mktemp("rwp-signed")
    site = SiteServer().start()
    html = (
        "<html><head><title>Hearing</title></head><body><article>"
        f"<p>{SENTENCE}</p></article></body></html>"
    )
    site.routes["/news/hearing"] = page(html)
    url = site.url("/news/hearing")
    config = write_config(tmp, [{"name": "news", "url": url}])
    crawl(config)
    site.stop()
    web = tmp / "web"
    (web / "replay").mkdir(parents=True)
    warcwatch(
        "export",
        "--config",
        str(config),
        "--out",
        str(web / "archive.wacz"),
        "--url",
        url,
        "--sign",
    )
    (web / "ui.js").write_bytes((replaywebpage / "ui.js").read_bytes())
    (web / "replay" / "sw.js").write_bytes((replaywebpage / "sw.js").read_bytes())
    (web / "full.html").write_text(
        '<!doctype html><html><head><script src="/ui.js"></script></head><body>'
        f'<replay-web-page source="/archive.wacz" url="{url}" replayBase="/replay/" '
        'embed="default">'
        "</replay-web-page></body></html>"
    )
    server = _serve(web)
    yield Replay(url, web / "archive.wacz", f"http://127.0.0.1:{server.server_address[1]}")
    server.shutdown()


def _verification(tab) -> dict[str, dict]:
    """ReplayWeb.page's verification entries of the package, by id (once it has any)."""
    app = next(f for f in tab.frames if "/replay/?source=" in f.url)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        stores = app.evaluate(VERIFICATION)
        rows = next((r for n, r in stores.items() if n.startswith("db:") and r), None)
        if rows and any(e["id"] == "signature" for e in rows):
            return {e["id"]: e for e in rows}
        time.sleep(0.5)
    raise AssertionError(f"no verification entries: {stores}")


def test_replaywebpage_reports_the_signature_valid(signed: Replay):
    with zipfile.ZipFile(signed.wacz) as z:
        digest = json.loads(z.read("datapackage-digest.json"))
    with chromium() as tab:
        tab.goto(signed.base + "/full.html")
        found, seen = wait_for_sentence(tab)
        assert found, f"the archived sentence never appeared; frames showed: {seen[-1000:]}"
        by_id = _verification(tab)
    assert by_id["signature"]["matched"] is True, by_id
    assert by_id["publicKey"]["expected"] == digest["signedData"]["publicKey"]
    assert by_id["datapackageHash"]["expected"] == digest["hash"]
