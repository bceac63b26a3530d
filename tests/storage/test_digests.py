"""WARC digests (issue 12, item 1): SHA-256 by default, sha1 when configured, and an archive that
holds both keeps finding revisits (a payload compared with a stored digest in that digest's
algorithm). warcio (check and our own arithmetic, tests.warcs) and pywb read the mixed archive."""

from __future__ import annotations

import subprocess
import time
import urllib.error
import urllib.request

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.catalog import open_catalog
from storage.digests import digest_of, same_payload
from storage.models import Capture
from tests.conftest import crawl, write_config
from tests.httpserver import SiteServer, page
from tests.storage.test_pywb import free_port, tool
from tests.toolvenv import tool_venv
from tests.warcs import all_records, check_all_warcs

SAME = "<html><body>the same payload, pass after pass</body></html>"


def test_same_payload_compares_in_the_stored_algorithm():
    body = b"payload"
    new = digest_of(body, "sha256")
    assert new.startswith("sha256:") and len(new) == len("sha256:") + 56
    assert same_payload(body, new, digest_of(body, "sha1"))
    assert same_payload(body, new, new)
    assert not same_payload(body, new, digest_of(b"other", "sha1"))
    assert not same_payload(body, new, "md5:XYZ")


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    """A sha1 pass, then the watchlist switched to sha256 (the default) and a second pass."""
    s = SiteServer().start()
    s.routes["/same"] = page(SAME)
    s.routes["/edited"] = page("<html><body>first text</body></html>")
    root = tmp_path_factory.mktemp("mixed")
    targets = [{"name": "pages", "urls": [s.url("/same"), s.url("/edited")]}]
    config = write_config(root, targets, archive={"digest": "sha1"})
    crawl(config)
    s.routes["/edited"] = page("<html><body>second text</body></html>")
    config = write_config(root, targets)
    crawl(config)  # checks every WARC: warcio check, then each digest recomputed in its algorithm
    yield s, config
    s.stop()


def test_an_archive_holding_both_algorithms_keeps_its_revisits(mixed):
    s, config = mixed
    warc_dir = config.parent / "archive" / "warcs"
    check_all_warcs(warc_dir)
    records = all_records(warc_dir)
    same = [r for r in records if r.uri == s.url("/same") and r.type in ("response", "revisit")]
    assert [r.type for r in same] == ["response", "revisit"]
    original, revisit = same
    assert original.header("WARC-Payload-Digest").startswith("sha1:")
    assert original.header("WARC-Block-Digest").startswith("sha1:")
    # the revisit refers to its sha1 origin by the origin's digest; its own block is sha256
    assert revisit.header("WARC-Payload-Digest") == original.header("WARC-Payload-Digest")
    assert revisit.header("WARC-Block-Digest").startswith("sha256:")
    edited = [r for r in records if r.uri == s.url("/edited") and r.type == "response"]
    assert [r.header("WARC-Payload-Digest")[:5] for r in edited][:2] == ["sha1:", "sha25"]
    with Session(open_catalog(f"sqlite:///{config.parent / 'archive' / 'catalog.sqlite'}")) as ses:
        rows = ses.scalars(select(Capture).where(Capture.url == s.url("/same"))).all()
        assert [r.kind for r in rows] == ["response", "revisit"]
        assert rows[1].revisit_of == rows[0].id and rows[1].digest == rows[0].digest


def test_a_watchlist_digest_must_be_known(tmp_path):
    from tests.conftest import warcwatch

    config = write_config(
        tmp_path, [{"name": "p", "url": "http://127.0.0.1:9/"}], {}, {"digest": "md5"}
    )
    proc = warcwatch("crawl", "--config", str(config), check=False)
    assert proc.returncode == 2
    assert "field 'digest': 'md5' is not one of sha256, sha1" in proc.stderr


def test_pywb_replays_the_mixed_archive(mixed, tmp_path):
    s, config = mixed
    bin_dir = tool_venv("pywb", "pywb>=2.8")
    warcs = sorted((config.parent / "archive" / "warcs").glob("*.warc.gz"))
    tool(bin_dir, "wb-manager", "init", "mixed", cwd=tmp_path)
    tool(bin_dir, "wb-manager", "add", "mixed", *map(str, warcs), cwd=tmp_path)
    (tmp_path / "config.yaml").write_text("framed_replay: false\n")
    port = free_port()
    proc = subprocess.Popen(
        [str(bin_dir / "wayback"), "-p", str(port), "-b", "127.0.0.1"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        with Session(
            open_catalog(f"sqlite:///{config.parent / 'archive' / 'catalog.sqlite'}")
        ) as ses:
            revisit = ses.scalars(
                select(Capture).where(Capture.url == s.url("/same"), Capture.kind == "revisit")
            ).one()
        url = f"http://127.0.0.1:{port}/mixed/{revisit.timestamp}id_/{s.url('/same')}"
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(url, timeout=10) as r:
                    body = r.read().decode()
                break
            except (urllib.error.URLError, ConnectionError, OSError):
                assert proc.poll() is None and time.monotonic() < deadline, "wayback did not start"
                time.sleep(0.3)
        assert body == SAME  # the sha256-era revisit resolves to its sha1 origin's payload
    finally:
        proc.terminate()
        proc.wait(timeout=10)
