"""WARC files roll by size and age, not per pass (issue 14, item 6): real `warcwatch crawl` passes
append to the youngest file of their folder, each target's records naming that target's warcinfo
in the file (WARC-Warcinfo-ID → isPartOf), until `[archive] warc_max_size` or `warc_max_age`.
(A writer killed mid-append: tests/storage/test_crash_repair.py, whose second pass appends.)"""

from __future__ import annotations

import base64
import hashlib
import json
import time

from tests.conftest import crawl, warcwatch, write_config
from tests.httpserver import page
from tests.storage.crashes import agreement, records
from tests.warcs import check_all_warcs, iter_records, warc_files

CATALOG_BACKENDS = ("sqlite",)  # the files do not depend on where the catalog is


def _noise(seed: str, n: int = 48) -> str:
    """Incompressible text: each page adds its size to the file."""
    return base64.b64encode(
        b"".join(hashlib.sha256(f"{seed}{i}".encode()).digest() for i in range(n))
    ).decode()


def test_two_targets_three_passes_fill_one_file(tmp_path, site):
    site.routes["/a"] = page("<html><body>target a</body></html>")
    site.routes["/b"] = page("<html><body>target b, first</body></html>")
    config = write_config(
        tmp_path,
        [{"name": "a", "url": site.url("/a")}, {"name": "b", "url": site.url("/b")}],
        crawl={"obey_robots": False},
    )
    for n in range(3):
        site.routes["/b"] = page(f"<html><body>target b, version {n}</body></html>")
        crawl(config)
    archive = config.parent / "archive"
    (file,) = check_all_warcs(archive / "warcs")  # one file, not one per target per pass
    recs = list(iter_records(file))
    infos = {r.id: r for r in recs if r.type == "warcinfo"}
    # a warcinfo per target per pass (each pass's writer says what it was run with), the file's
    # name in each
    assert len(infos) == 6
    assert {r.header("WARC-Filename") for r in infos.values()} == {file.name}
    rows = records(
        archive / "catalog.sqlite",
        "SELECT c.*, r.id AS run FROM captures c JOIN crawl_runs r ON r.id = c.run_id"
        " WHERE warc_file IS NOT NULL",
    )
    assert {(r["target"], r["run"]) for r in rows} == {(t, n) for t in "ab" for n in (1, 2, 3)}
    by_offset = {r.offset: r for r in recs}
    for row in rows:
        record = by_offset[row["offset"]]  # the catalog's offsets read back
        assert record.id == row["record_id"] and record.uri == row["url"]
        assert record.length == row["length"]
        info = infos[record.header("WARC-Warcinfo-ID")]
        fields = dict(
            line.split(": ", 1) for line in info.block.decode().splitlines() if ": " in line
        )
        assert fields["isPartOf"] == row["target"]
        assert fields["warcwatch-run"] == str(row["run_id"])
        request = by_offset[row["request_offset"]]
        assert request.header("WARC-Warcinfo-ID") == info.id
    (file_row,) = records(archive / "catalog.sqlite", "SELECT * FROM warc_files")
    assert file_row["name"] == file.name and file_row["size"] == file.stat().st_size
    assert file_row["closed_at"] is not None and file_row["target"] is None
    a = agreement(archive)
    assert a.ok, a
    # the evidence log still agrees with the appended file, record by record
    proc = warcwatch("verify", "--config", str(config), check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_a_file_over_warc_max_size_is_not_appended_to(tmp_path, site):
    site.routes["/big"] = page(f"<html><body>{_noise('big')}</body></html>")  # ~2 KB
    config = write_config(
        tmp_path,
        [{"name": "big", "url": site.url("/big")}],
        archive={"warc_max_size": 1500},
        crawl={"obey_robots": False},
    )
    crawl(config)
    (first,) = warc_files(config.parent / "archive" / "warcs")
    before = first.read_bytes()
    assert len(before) >= 1500
    crawl(config)
    files = warc_files(config.parent / "archive" / "warcs")
    assert len(files) == 2, [f.name for f in files]
    assert first.read_bytes() == before, "a full file is left as it was"


def test_a_file_older_than_warc_max_age_is_not_appended_to(tmp_path, site):
    site.routes["/p"] = page("<html><body>small</body></html>")
    config = write_config(
        tmp_path,
        [{"name": "p", "url": site.url("/p")}],
        archive={"warc_max_age": "1s"},
        crawl={"obey_robots": False},
    )
    crawl(config)
    (first,) = warc_files(config.parent / "archive" / "warcs")
    before = first.read_bytes()
    time.sleep(1.5)  # the file's age passes the limit (a wait, not a timed assertion)
    summary = crawl(config)
    files = warc_files(config.parent / "archive" / "warcs")
    assert len(files) == 2, [f.name for f in files]
    assert first.read_bytes() == before
    assert summary["warc_files"] == 1
    report = json.loads(warcwatch("repair", "--config", str(config), "--json").stdout)
    assert report["recatalogued"] == [] and report["orphans"] == []


def test_two_writers_never_append_to_one_file(tmp_path):
    """The real writer, twice at once (as two passes in processes of their own): the first takes
    the young closed file back, the second finds it claimed (flock) and opens a file of its own;
    the next writer after them appends to the younger of the two."""
    from storage.catalog import open_catalog, start_run
    from storage.writer import ArchiveWriter, WriterSettings
    from tests.storage.test_repair import _exchange

    warc_dir = tmp_path / "warcs"
    engine = open_catalog(f"sqlite:///{tmp_path / 'catalog.sqlite'}")
    run_id = start_run(engine, ["t"], {"t": "page"})
    settings = WriterSettings(warc_dir=warc_dir)

    def write(writer, path):
        writer.write(_exchange(f"http://example.org{path}", 200, path.encode(), run_id, 1))

    first = ArchiveWriter(engine, settings)
    write(first, "/1")
    first.close()
    (closed,) = warc_files(warc_dir)
    one, two = ArchiveWriter(engine, settings), ArchiveWriter(engine, settings)
    write(one, "/2")
    one.flush()  # its commit, as a writer in a process of its own makes every 0.5 s (SQLite)
    write(two, "/3")
    two.flush()
    f1, f2 = one._rolling.file, two._rolling.file
    assert f1 is not None and f1.name == closed.name, "the young file, reopened"
    assert f2 is not None and f2.name != closed.name, "claimed: a new file"
    second = f2.name
    two.close()
    one.close()
    third = ArchiveWriter(engine, settings)
    write(third, "/4")
    f3 = third._rolling.file
    assert f3 is not None and f3.name == second, "the youngest, reopened"
    third.close()
    by_file = check_all_warcs(warc_dir)
    # each writer's warcinfo, response and request, two writers to a file
    assert [len(rs) for rs in by_file.values()] == [6, 6]
    engine.dispose()
