"""The CDXJ index is sorted byte for byte (pywb binary-searches it), on PostgreSQL too, where the
database's own collation is a language's (the test cluster's is ICU en-US: `_` before `-`)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from storage.catalog import open_catalog
from storage.cdxj import archive_lines
from storage.models import Capture
from storage.surt import surt

URLS = [
    "http://x.example/a_b",
    "http://x.example/a-b",
    "http://x.example/a.b",
    "http://x.example/aB",
]


def test_index_lines_come_in_byte_order(catalog_url):
    engine = open_catalog(catalog_url)
    with Session(engine) as s, s.begin():
        for i, url in enumerate(URLS):
            s.add(
                Capture(
                    url=url,
                    surt=surt(url),
                    timestamp="20261203170000",
                    kind="response",
                    status=200,
                    mime="text/html",
                    digest=f"sha1:{i}",
                    length=100,
                    offset=100 * i,
                    warc_file="a.warc.gz",
                    record_id=f"<urn:uuid:{i}>",
                    target="t",
                )
            )
    with Session(engine) as s:
        lines = list(archive_lines(s))
    engine.dispose()
    keys = [line.split(" ", 1)[0] for line in lines]
    assert len(keys) == len(URLS) and keys == sorted(keys, key=str.encode)
