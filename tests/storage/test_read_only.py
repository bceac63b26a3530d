"""An archive copied to read-only media (an evidence copy) can be read by every read command:
a tmpfs holding a copy of a real archive, remounted read-only (tests run as root on Linux)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import crawl, warcwatch, write_config
from tests.httpserver import page


@pytest.fixture
def read_only_copy(site, tmp_path: Path):
    site.routes["/statement"] = page(
        "<html><body><p>The embassy confirms the visit.</p></body></html>"
    )
    config = write_config(tmp_path, [{"name": "t", "url": site.url("/statement")}])
    crawl(config)
    site.routes["/statement"] = page(
        "<html><body><p>The embassy denies the visit.</p></body></html>"
    )
    crawl(config)
    mnt = tmp_path / "ro"
    mnt.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(mnt)], check=True)
    try:
        shutil.copytree(config.parent / "archive", mnt / "archive")
        shutil.copy(config, mnt / "warcwatch.toml")
        subprocess.run(["mount", "-o", "remount,ro", str(mnt)], check=True)
        yield mnt / "warcwatch.toml", site.url("/statement")
    finally:
        subprocess.run(["umount", str(mnt)], check=False)


def test_read_commands_work_on_a_read_only_copy(read_only_copy, tmp_path: Path):
    config, url = read_only_copy
    caps = json.loads(warcwatch("captures", url, "--config", str(config), "--json").stdout)
    responses = [c for c in caps if c["kind"] == "response"]
    assert len(responses) == 2
    assert "denies" in warcwatch("show", url, "--config", str(config), "--text").stdout
    assert (
        "confirms"
        in warcwatch(
            "show", url, "--config", str(config), "--text", "--at", responses[0]["timestamp"]
        ).stdout
    )
    changes = json.loads(warcwatch("changes", "--config", str(config), "--json").stdout)
    assert [e["kind"] for e in changes] == ["changed"]
    assert "denies" in warcwatch("diff", url, "--config", str(config)).stdout
    out = tmp_path / "copy.warc.gz"
    warcwatch("export", "--config", str(config), "--out", str(out), "--url", url)
    assert out.stat().st_size > 0
    assert not (config.parent / "archive" / "catalog.sqlite-shm").exists()
    # an evidence copy on read-only media is verified where it lies (issue 12)
    assert warcwatch("verify", "--config", str(config)).stdout.startswith("intact: ")
