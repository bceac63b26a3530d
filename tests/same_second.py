"""An archive holding two captures of one URL made within one second, with different payloads
(a fetch and its confirmation fetch), and a revisit of the second one written by a later writer.

Written by the real `ArchiveWriter` into real WARC files and a real SQLite catalog from exchanges
whose fetch times are pinned: a crawl makes such pairs, but not on demand.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from monitor.config import load_config
from storage.catalog import open_catalog
from storage.exchange import Exchange
from storage.writer import ArchiveWriter, WriterSettings
from tests.conftest import write_config

URL = "http://news.example/statement"
FIRST = datetime(2026, 12, 3, 7, 40, 1, 123456)
SECOND = datetime(2026, 12, 3, 7, 40, 1, 654321)
LATER = datetime(2026, 12, 3, 9, 0, 0, 250000)  # a later pass: the second version again
BODY_1 = b"<html><body><p>The ministry confirms 41 casualties.</p></body></html>"
BODY_2 = b"<html><body><p>The ministry confirms 12 casualties.</p></body></html>"


def _exchange(body: bytes, when: datetime, **meta) -> Exchange:
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n" % len(body)
    request = b"GET /statement HTTP/1.1\r\nHost: news.example\r\n\r\n"
    return Exchange(
        url=URL,
        target="news",
        run_id=None,
        fetched_at=when,
        request_head=request,
        response_head=head,
        body=body,
        status=200,
        meta=meta,
    )


def make_archive(tmp: Path, database: str | None = None) -> Path:
    """The watchlist of an archive with BODY_1 at FIRST, BODY_2 at SECOND (a confirmation fetch,
    the same second), and, written by another writer as a later pass is, BODY_2 again (a
    revisit)."""
    config_path = write_config(
        tmp, [{"name": "news", "url": URL}], archive={"database": database} if database else None
    )
    config = load_config(config_path)
    engine = open_catalog(config.archive.database_url)
    config.archive.warc_dir.mkdir(parents=True, exist_ok=True)
    first_pass = ArchiveWriter(engine, WriterSettings(warc_dir=config.archive.warc_dir))
    first_pass.write(_exchange(BODY_1, FIRST))
    first_pass.write(_exchange(BODY_2, SECOND, confirm=True))
    first_pass.close()
    later_pass = ArchiveWriter(
        engine, WriterSettings(warc_dir=config.archive.warc_dir, targets=("news",))
    )
    later_pass.write(_exchange(BODY_2, LATER))
    later_pass.close()
    engine.dispose()
    return config_path
