"""What people read in a terminal: summaries without Python reprs, and read commands that say
there is no archive here instead of making an empty one."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, write_config
from tests.httpserver import SiteServer, not_found, page


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env_path = {"PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "monitor.cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120, env={**__import__("os").environ, **env_path})


@pytest.mark.parametrize("args", [["captures", "https://example.org/"], ["show", "https://example.org/"],
                                  ["changes"], ["diff", "https://example.org/"]])
def test_read_commands_without_watchlist_or_archive_say_so_and_create_nothing(tmp_path: Path, args):
    proc = _run(*args, cwd=tmp_path)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "no watchlist" in lines[0] and "Traceback" not in proc.stderr
    assert list(tmp_path.iterdir()) == []  # no ./archive/catalog.sqlite made


def test_crawl_summary_names_failures_without_python_reprs(site: SiteServer, tmp_path: Path):
    site.routes["/ok"] = page("<html><body><p>Fine.</p></body></html>")
    site.routes["/gone"] = not_found()
    config = write_config(tmp_path, [{"name": "t", "urls": [site.url("/ok"), site.url("/gone")]}])
    proc = _run("crawl", "--config", str(config), "--quiet", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "failed 1 (http-404: 1)" in proc.stdout
    assert "{" not in proc.stdout and "'" not in proc.stdout
