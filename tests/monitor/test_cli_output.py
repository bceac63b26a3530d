"""What people read in a terminal: summaries without Python reprs, and read commands that say
there is no archive here instead of making an empty one."""

from __future__ import annotations

import gzip
import io
import subprocess
import sys
from pathlib import Path

import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from monitor.config import load_config
from tests.conftest import ROOT, write_config
from tests.httpserver import SiteServer, not_found, page


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env_path = {"PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "monitor.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={**__import__("os").environ, **env_path},
    )


@pytest.mark.parametrize(
    "args",
    [
        ["captures", "https://example.org/"],
        ["show", "https://example.org/"],
        ["changes"],
        ["diff", "https://example.org/"],
    ],
)
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


T = '[[targets]]\nname = "t"\nurl = "https://example.org/"\n'


@pytest.mark.parametrize(
    "text,shown",
    [
        ("[crawl]\nconcurrency = true\n", "expected a number, got true"),
        (T + "tags = {a = 1}\n", "expected a list of strings, got {a = 1}"),
        ("[archive]\ndir = {a = 1}\n", "got {a = 1}"),
        (T + "cron = false\n", "false is not a 5-field cron expression"),
        (T + "deny = ['\\d((']\n", "bad regex '\\d((':"),
        ("[archive]\nwarc_max_size = true\n", "true is not a size"),  # was taken as 1 byte
        ("targets = [true]\n", "got true"),
    ],
    ids=[
        "number-bool",
        "tags-table",
        "dir-table",
        "cron-bool",
        "regex",
        "size-bool",
        "target-bool",
    ],
)
def test_a_watchlist_error_shows_the_value_as_written_in_toml(tmp_path: Path, text, shown):
    """What the user wrote (`true`, `{a = 1}`, a regex with a backslash), not Python's `True`,
    `{'a': 1}` or a doubled backslash."""
    (tmp_path / "warcwatch.toml").write_text(text)
    proc = _run("crawl", cwd=tmp_path)
    assert proc.returncode == 2 and proc.stdout == ""
    assert shown in proc.stderr and proc.stderr.count("\n") == 1, proc.stderr
    assert not any(r in proc.stderr for r in ("True", "False", "{'", "\\\\"))


def test_repair_names_a_records_failed_digests_in_words(tmp_path: Path):
    """A crash left an `.open` file whose record's bytes no longer match their digests: repair
    refuses it in one line listing the failed digests, not a Python list."""
    config = write_config(tmp_path, [{"name": "t", "url": "https://example.org/"}])
    warc_dir = load_config(config).archive.warc_dir
    warc_dir.mkdir(parents=True)
    buf = io.BytesIO()
    writer = WARCWriter(buf, gzip=False, warc_version="WARC/1.1")
    http = StatusAndHeaders("200 OK", [("Content-Length", "5")], protocol="HTTP/1.1")
    writer.write_record(
        writer.create_warc_record(
            "https://example.org/", "response", payload=io.BytesIO(b"hello"), http_headers=http
        )
    )
    corrupt = buf.getvalue().replace(b"hello", b"jello")  # after the digests were computed
    (warc_dir / "warcwatch-20261203000000-00000-x.warc.gz.open").write_bytes(gzip.compress(corrupt))
    proc = _run("repair", cwd=tmp_path)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert "block digest failed: sha1:" in proc.stderr and "; payload digest failed" in proc.stderr
    assert "[" not in proc.stderr and "'" not in proc.stderr
