"""WARC files on S3-compatible object storage (moto's server on 127.0.0.1, tests/s3.py), beside
the same on local files: a crawl to `s3://`, every catalog row read back by byte range from the
object once the local copy is gone (`show`, `export`, `verify`, the library's reads), repair after
a writer killed before its upload, after an upload cut off half-way and beside a store it cannot
reach, and never an `.open` object."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

from sqlalchemy import create_engine, select, update
from sqlalchemy.orm import Session
from warcio.archiveiterator import ArchiveIterator

from monitor.config import load_config
from storage.models import Capture, WarcFile
from storage.repair import repair_archive
from tests.conftest import crawl, warcwatch, write_config
from tests.httpserver import gzipped, page
from tests.s3 import (  # noqa: F401 - warc_backend: a fixture
    Backend,
    local_warcs,
    object_names,
    rows_are_records,
    s3_settings,
    warc_backend,
)
from tests.storage.crashes import gated, holders, kill_group, start_crawl, wait_until

PATHS = ["/a", "/b", "/gz", "/gone"]


def _serve(site, version: str = "first") -> None:
    site.routes["/a"] = page(f"<html><body><p>statement a, {version}</p></body></html>")
    site.routes["/b"] = page("<html><body><p>statement b, the same</p></body></html>", etag='"b"')
    site.routes["/gz"] = gzipped("<html><body>" + "compressible text " * 50 + "</body></html>")
    site.routes["/gone"] = page("<html><body>not here</body></html>", status=404)


def _config(tmp_path: Path, site, backend: Backend, **archive) -> Path:
    return write_config(
        tmp_path,
        [{"name": "news", "urls": [site.url(p) for p in PATHS]}],
        crawl={"obey_robots": False},
        archive={**backend.archive, **archive},
    )


def _no_open_objects(backend: Backend) -> list[str]:
    assert backend.server is not None and backend.bucket is not None
    names = object_names(backend.server, backend.bucket)
    assert not [n for n in names if n.endswith(".open")], names
    return names


def test_a_crawl_reads_back_from_either_backend_with_local_copies_gone(
    tmp_path, site, warc_backend
):
    """Two passes (files finished after 1 s, so the second pass's writer uploads the first's at
    its close), then `repair` uploads what is left: the spool holds no WARC file, and `show`,
    `export`, `verify` and every row's byte range read the records from the objects."""
    _serve(site)
    config = _config(tmp_path, site, warc_backend, warc_max_age="1s", prefix="wwt")
    crawl(config)
    time.sleep(1.1)  # the first pass's file is then finished (warc_max_age): not reopened
    _serve(site, "second")
    crawl(config)
    if warc_backend.s3:
        assert _no_open_objects(warc_backend), "the second pass's writer uploaded the first file"
    report = json.loads(warcwatch("repair", "--config", str(config), "--json").stdout)
    assert report["orphans"] == []
    if warc_backend.s3:
        assert local_warcs(config) == [], "every local copy removed once its object is confirmed"
        objects = _no_open_objects(warc_backend)
        assert objects and all(n.startswith("warcs/wwt-") for n in objects), objects
    assert rows_are_records(config) >= 8

    shown = warcwatch("show", site.url("/a"), "--config", str(config))
    assert "statement a, second" in shown.stdout
    old = warcwatch("show", site.url("/gz"), "--config", str(config))
    assert "compressible text" in old.stdout
    out = tmp_path / "export.warc.gz"
    warcwatch("export", "--out", str(out), "--config", str(config))
    with open(out, "rb") as f:
        uris = {r.rec_headers.get_header("WARC-Target-URI") for r in ArchiveIterator(f)}
    assert {site.url(p) for p in PATHS} <= uris
    verified = warcwatch("verify", "--config", str(config))
    assert verified.stdout.startswith("intact"), verified.stdout + verified.stderr


def test_repair_uploads_the_file_of_a_writer_killed_before_its_upload(
    tmp_path, site, pg_cluster, s3_server
):
    """kill -9 of a crawl mid-pass (its `.open` file in the spool, nothing uploaded): repair cuts
    the file after its last whole record, catalogues what the writer had not, uploads it and
    removes the local copy; every row then reads from the object, and no `.open` object was
    ever made."""
    gate = threading.Event()
    _serve(site)
    site.routes["/hang"] = gated(page("late"), gate)
    bucket = s3_server.bucket()
    backend = Backend("pg-s3", None, s3_settings(s3_server, bucket), s3_server, bucket)
    config = write_config(
        tmp_path,
        [{"name": "news", "urls": [site.url(p) for p in [*PATHS, "/hang"]]}],
        crawl={"obey_robots": False, "download_timeout": 60},
        archive={"database": pg_cluster.database(), **backend.archive},
    )
    warc_dir = load_config(config).archive.warc_dir
    proc = start_crawl(config)
    try:
        wait_until(lambda: warc_dir.exists() and holders(warc_dir), timeout=60)
        wait_until(lambda: _rows_committed(config) >= len(PATHS), timeout=60)
    finally:
        kill_group(proc)
        gate.set()
    assert [n for n in local_warcs(config) if n.endswith(".open")], "the kill left it open"
    assert object_names(s3_server, bucket) == [], "nothing was uploaded before the kill"

    report = json.loads(warcwatch("repair", "--config", str(config), "--json").stdout)

    (fixed,) = report["files"]
    assert report["uploaded"] == [fixed["name"]] and report["orphans"] == []
    assert local_warcs(config) == []
    assert _no_open_objects(backend) == [f"warcs/{fixed['name']}"]
    assert rows_are_records(config) >= len(PATHS)
    again = json.loads(warcwatch("repair", "--config", str(config), "--json").stdout)
    assert again["uploaded"] == [] and again["orphans"] == [] and again["files"] == []


def _rows_committed(config: Path) -> int:
    engine = create_engine(load_config(config).archive.database_url)
    with Session(engine) as s:
        n = len(list(s.scalars(select(Capture.id).where(Capture.warc_file.is_not(None)))))
    engine.dispose()
    return n


def test_an_upload_cut_off_or_unconfirmed_is_finished_by_repair(tmp_path, site, s3_server):
    """What a kill -9 mid-upload leaves (a multipart upload started and never completed: S3
    shows no object), what a kill between the upload and its row's commit leaves (an object the
    row does not name), and one between that commit and the local copy's removal: repair ends
    each with the object confirmed, the row naming it and the local copy gone, rows intact."""
    bucket = s3_server.bucket()
    backend = Backend("s3", None, s3_settings(s3_server, bucket), s3_server, bucket)
    _serve(site)
    config = _config(tmp_path, site, backend, prefix="cut")
    crawl(config)
    cfg = load_config(config)
    store = cfg.archive.objects
    assert store is not None
    (name,) = local_warcs(config)
    fs = s3_server.fs()
    key = store.path(name)
    mpu = fs.call_s3("create_multipart_upload", Bucket=bucket, Key=key.split("/", 1)[1])
    fs.call_s3(
        "upload_part",
        Bucket=bucket,
        Key=key.split("/", 1)[1],
        UploadId=mpu["UploadId"],
        PartNumber=1,
        Body=(cfg.archive.warc_dir / name).read_bytes()[:1000],
    )
    assert object_names(s3_server, bucket) == [], "an upload cut off half-way shows no object"
    rows = _rows_committed(config)

    report = repair_archive(create_engine(cfg.archive.database_url), cfg.archive.warcs)
    assert report.uploaded == [name] and not report.orphans
    assert local_warcs(config) == [] and object_names(s3_server, bucket) == [f"warcs/{name}"]
    assert _rows_committed(config) == rows and rows_are_records(config) == rows

    # killed after the upload, before the row said so: the local copy is back, the row says local
    fs.get_file(key, str(cfg.archive.warc_dir / name))
    engine = create_engine(cfg.archive.database_url)
    with Session(engine) as s, s.begin():
        s.execute(update(WarcFile).values(object=None, uploaded_at=None))
    report = repair_archive(engine, cfg.archive.warcs)
    assert report.uploaded == [name] and local_warcs(config) == []

    # killed after the row's commit, before the local copy was removed
    fs.get_file(key, str(cfg.archive.warc_dir / name))
    report = repair_archive(engine, cfg.archive.warcs)
    assert report.local_removed == [name] and report.uploaded == []
    assert local_warcs(config) == [] and rows_are_records(config) == rows


def test_repair_drops_no_row_of_a_file_it_cannot_find_while_the_store_is_unreachable(
    tmp_path, site, s3_server
):
    """Uploaded files are missing from the folder by design: repair keeps their rows (it looks in
    the store), and with the store unreachable it takes nothing for lost; a file gone from both
    has its rows removed as before."""
    bucket = s3_server.bucket()
    backend = Backend("s3", None, s3_settings(s3_server, bucket), s3_server, bucket)
    _serve(site)
    config = _config(tmp_path, site, backend)
    crawl(config)
    warcwatch("repair", "--config", str(config))
    rows = _rows_committed(config)
    assert rows and local_warcs(config) == []
    text = config.read_text()
    config.write_text(text.replace(s3_server.endpoint, "http://127.0.0.1:9"))
    down = json.loads(warcwatch("repair", "--config", str(config), "--json").stdout)
    assert down["orphans"] == [] and _rows_committed(config) == rows
    shown = warcwatch("show", site.url("/a"), "--config", str(config), check=False)
    assert shown.returncode != 0 and len(shown.stderr.strip().splitlines()) == 1, shown.stderr
    config.write_text(text)
    s3_server.fs().rm(f"{bucket}/warcs", recursive=True)
    gone = json.loads(warcwatch("repair", "--config", str(config), "--json").stdout)
    assert {o["reason"] for o in gone["orphans"]} == {"file-missing"}
    assert _rows_committed(config) == 0


def test_a_bad_warc_dir_is_one_line(tmp_path):
    config = write_config(tmp_path, [], archive={"warc_dir": "ftp://example.org/x"})
    proc = subprocess.run(
        [sys.executable, "-m", "monitor.cli", "captures", "http://x/", "--config", str(config)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode != 0 and "s3://bucket/prefix" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
