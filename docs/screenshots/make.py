"""Makes the README's screenshots of the web UI from the demo archive (`warcwatch demo`):
the dashboard and the diff of the edited article, in Debian's Chromium through Playwright.

    python docs/screenshots/make.py          # writes docs/screenshots/dashboard.png and diff.png
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _watchlist(work: Path) -> str:
    """The demo's targets as a watchlist, so the dashboard shows their kinds and schedules."""
    import sqlite3
    from urllib.parse import urlsplit

    db = sqlite3.connect(work / "archive" / "catalog.sqlite")
    parts = urlsplit(db.execute("SELECT url FROM captures LIMIT 1").fetchone()[0])
    db.close()
    base = f"{parts.scheme}://{parts.netloc}"
    return (
        f'[archive]\ndir = "archive"\n\n[[targets]]\nname = "demo-news"\nurl = '
        f'"{base}/feed.xml"\nkind = "feed"\n'
        f'every = "6h"\nselect = "article"\n\n[[targets]]\nname = "demo-statements"\nurl = '
        f'"{base}/"\nkind = "site"\n'
        f'every = "1d"\nallow = ["/statements/"]\nselect = "article"\n'
    )


def main() -> None:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        subprocess.run(
            [sys.executable, "-m", "monitor.cli", "demo", "--dir", str(work)],
            check=True,
            capture_output=True,
            cwd=ROOT,
        )
        (work / "warcwatch.toml").write_text(_watchlist(work))
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "monitor.cli",
                "serve",
                "--config",
                str(work / "warcwatch.toml"),
                "--port",
                "0",
            ],
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        try:
            base = server.stderr.readline().split("serving ", 1)[1].split()[0].rstrip("/")
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
                page = browser.new_page(
                    viewport={"width": 1280, "height": 760}, device_scale_factor=1
                )
                page.goto(base + "/")
                page.screenshot(path=HERE / "dashboard.png", full_page=True)
                page.locator("li.event.changed a.event-link").first.click()
                page.wait_for_url("**/diff?**")
                page.screenshot(path=HERE / "diff.png", full_page=True)
                browser.close()
        finally:
            server.terminate()
            server.wait()
    print(f"wrote {HERE / 'dashboard.png'} and {HERE / 'diff.png'}")


if __name__ == "__main__":
    main()
