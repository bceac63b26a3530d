# ruff: noqa: F811 - pytest fixtures imported from tests.monitor.webarchive are redefined as arguments
"""The web UI in a real browser: Playwright driving Debian's Chromium (/usr/bin/chromium, installed
by .ci/run; no browser is ever downloaded). Log in with the token, open the dashboard, follow a
change to its diff, open a snapshot, and check that a script inside an archived page cannot reach
the UI.

Set WARCWATCH_SCREENSHOTS=DIR to keep the screenshots (docs/screenshots/make.py makes the README's
from the demo archive)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from urllib.parse import urlencode

import pytest

from tests.monitor.webarchive import TOKEN, archive, token_server  # noqa: F401 - fixtures

# the browser sees what the server sends, whatever the catalog: one backend is enough
CATALOG_BACKENDS = ("sqlite",)  # for its archive (tests.pg.backends_of_module)

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), (
        f"{CHROMIUM} missing: .ci/run installs Debian's chromium package"
    )
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def _keep(shot: Path) -> None:
    out = os.environ.get("WARCWATCH_SCREENSHOTS")
    if out:
        Path(out).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(out) / shot.name)


def _outcome(frame_or_page) -> dict:
    """What the hostile archived page's script wrote into its own DOM."""
    out = frame_or_page.locator("#out")
    out.wait_for()
    text = out.text_content(timeout=10_000)
    assert text != "script did not run", (
        "the archived page's script must run (sandbox allow-scripts)"
    )
    return json.loads(text)


def _assert_isolated(result: dict, fetched: str) -> None:
    assert result["ran"] is True
    assert result["origin"] == "null"  # an opaque origin
    for probe in ("parent_title", "top_cookie", "own_cookie", "storage"):
        assert result[probe] == "SecurityError", (probe, result)
    assert fetched == "TypeError", (
        fetched
    )  # the UI's API is cross-origin to it and sends no CORS headers


def test_dashboard_diff_and_isolated_snapshot(browser, token_server, archive, tmp_path):
    base = token_server.base
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    page = context.new_page()
    try:
        # log in: ?token= sets an HttpOnly cookie and redirects to the bare address
        page.goto(f"{base}/?token={TOKEN}")
        assert page.url == f"{base}/"
        (cookie,) = context.cookies()
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["value"] != TOKEN
        assert page.title() == "Dashboard · warcwatch"
        assert page.locator("table.targets").get_by_text("site-a").count() == 1
        page.screenshot(path=tmp_path / "dashboard.png", full_page=True)
        _keep(tmp_path / "dashboard.png")

        # follow the change to its diff
        page.locator("li.event.changed a.event-link", has_text=archive.news).click()
        page.wait_for_url("**/diff?from_id=*")
        assert page.locator("table.diff.side del").first.text_content() == "41"
        assert page.locator("table.diff.side ins").first.text_content() == "12"
        page.screenshot(path=tmp_path / "diff.png", full_page=True)
        _keep(tmp_path / "diff.png")
        page.get_by_role("link", name="Inline").click()
        assert page.locator("table.diff.inline tr.mixed del").first.text_content() == "41"

        # a snapshot of the hostile page, framed by the UI
        page.goto(f"{base}/url?" + urlencode({"url": archive.evil}))
        page.locator("ol.timeline a.ts").first.click()
        page.wait_for_url("**/snapshot/**")
        ui_title = page.title()
        assert "warcwatch" in ui_title
        iframe = page.locator("iframe.archived")
        assert iframe.get_attribute("sandbox") == "allow-scripts"
        frame = page.frame_locator("iframe.archived")
        result = _outcome(frame)
        frame.locator("#fetch").filter(has_not_text="pending").wait_for(timeout=10_000)
        _assert_isolated(result, frame.locator("#fetch").text_content())
        assert frame.locator("h1").text_content() == "Hostile archived page"
        page.screenshot(path=tmp_path / "snapshot.png")
        _keep(tmp_path / "snapshot.png")

        # the same payload opened directly, outside the UI: the CSP sandbox still makes it opaque
        src = iframe.get_attribute("src")
        page.goto(base + src)
        direct = _outcome(page)
        assert direct["origin"] == "null" and direct["own_cookie"] == "SecurityError"
        assert direct["storage"] == "SecurityError"
        # the page itself (parent is itself here) is readable; the viewer's cookie is not
        assert direct["parent_title"] == "READ:Hostile archived page"
        page.locator("#fetch").filter(has_not_text="pending").wait_for(timeout=10_000)
        assert page.locator("#fetch").text_content() == "TypeError"

        # the text view and the record links
        page.goto(f"{base}/snapshot/9999/{archive.evil}")
        page.get_by_role("link", name="Text", exact=True).click()
        assert (
            "This page tries to read the archive viewer around it."
            in page.locator("article.text").text_content()
        )
    finally:
        context.close()


def test_ui_pages_run_no_script_and_cannot_be_framed(browser, token_server):
    """The UI's own pages: no script may run in them, and no other page may frame them."""
    context = browser.new_context()
    page = context.new_page()
    try:
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text))
        page.goto(f"{token_server.base}/?token={TOKEN}")
        page.evaluate("""() => { const s = document.createElement('script'); s.textContent = \
"document.title='injected'";
                                 document.body.appendChild(s); }""")
        assert (
            page.title() == "Dashboard · warcwatch"
        )  # the inline script was refused by the UI's CSP
        assert any("Content Security Policy" in e for e in errors), errors
        # framed by another page (about:blank here): refused, frame-ancestors 'none'
        page.goto("about:blank")
        page.set_content(f'<iframe src="{token_server.base}/changes"></iframe>')
        page.wait_for_timeout(1000)
        (child,) = page.main_frame.child_frames
        assert child.url.startswith("chrome-error://") or "warcwatch" not in child.content()
    finally:
        context.close()
