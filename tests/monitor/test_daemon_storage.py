"""The daemon with its WARC files on each backend: SQLite with local files, PostgreSQL with files
on S3 (moto, tests/s3.py). Its passes roll files by age; each pass's writer uploads the files that
are finished when it closes, and the daemon's repair at shutdown uploads the rest: afterwards
the local folder holds no WARC file, no `.open` object was ever made, and every catalog row reads
back by byte range (from its object) to the record with its WARC-Record-ID."""

from __future__ import annotations

from tests.conftest import write_config
from tests.httpserver import page
from tests.monitor.test_daemon import FAST, DaemonProc, _no_daemon_left_behind  # noqa: F401
from tests.s3 import (  # noqa: F401 - warc_backend: a fixture
    local_warcs,
    object_names,
    rows_are_records,
    warc_backend,
)


def test_the_daemon_uploads_finished_files_and_the_rest_at_shutdown(tmp_path, site, warc_backend):
    site.routes["/a"] = page("<html><body>a</body></html>")
    site.routes["/b"] = page("<html><body>b</body></html>")
    config = write_config(
        tmp_path,
        [
            {"name": "ra", "url": site.url("/a"), "every": "1s"},
            {"name": "rb", "url": site.url("/b"), "every": "1s"},
        ],
        crawl=FAST,
        archive={**warc_backend.archive, "warc_max_age": "2s"},
    )
    d = DaemonProc(config)

    def enough():
        ok = [r for r in d.runs() if r["outcome"] == "ok"]
        if warc_backend.s3 and not object_names(warc_backend.server, warc_backend.bucket):
            return False  # until a pass's writer has uploaded a finished file
        return len(ok) >= 6

    d.wait_for(enough, timeout=120)
    assert d.stop() == 0, d.output()
    if warc_backend.s3:
        assert local_warcs(config) == [], "the repair at shutdown uploaded the rest"
        names = object_names(warc_backend.server, warc_backend.bucket)
        assert len(names) >= 2 and not [n for n in names if not n.endswith(".warc.gz")], names
    else:
        assert local_warcs(config)
    assert rows_are_records(config) >= 6
