"""`[evidence] tsa` (none by default), checked at load like every field, and the pass's hook: the
time-stamp requests waiting in the queue are sent to a real TSA on 127.0.0.1 after `warcwatch
crawl`'s pass (tests/tsaserver.py), and the pass summary says so."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.config import load_config
from monitor.errors import ConfigError
from storage.catalog import open_catalog
from storage.evidence.tsa import queue_timestamp
from storage.models import EvidenceCheckpoint, TimestampToken
from tests.conftest import crawl, warcwatch, write_config
from tests.httpserver import page
from tests.tsaserver import TsaServer


def test_no_tsa_by_default(tmp_path: Path):
    config = load_config(write_config(tmp_path, []))
    assert config.evidence.tsa == ()


@pytest.mark.parametrize(
    "value, words",
    [
        ('"ftp://tsa.example.org"', ["'ftp://tsa.example.org' is not an http(s) URL"]),
        ("[5]", ["expected a list of time-stamping authority URLs"]),
        ("true", ["expected a list of time-stamping authority URLs"]),
    ],
    ids=["not-http", "not-a-string", "not-a-list"],
)
def test_a_bad_tsa_is_one_line_naming_file_line_and_field(tmp_path: Path, value, words):
    path = tmp_path / "warcwatch.toml"
    path.write_text(f'[archive]\ndir = "archive"\n\n[evidence]\ntsa = {value}\n')
    with pytest.raises(ConfigError) as err:
        load_config(path)
    message = str(err.value)
    assert message.startswith(f"{path}:5: field 'tsa': ") and "\n" not in message, message
    for w in words:
        assert w in message


def test_an_unknown_evidence_field_is_refused(tmp_path: Path):
    path = tmp_path / "warcwatch.toml"
    path.write_text('[evidence]\ntsa = []\ntsaa = ["http://x.example"]\n')
    with pytest.raises(ConfigError, match=r"warcwatch.toml:3: field 'tsaa': unknown field"):
        load_config(path)


def test_a_pass_sends_the_waiting_timestamps(tmp_path: Path, site):
    tsa = TsaServer(tmp_path / "tsa").start()
    try:
        site.routes["/p"] = page("<html><body><p>Statement of 3 December.</p></body></html>")
        config = write_config(
            tmp_path,
            [{"name": "p", "url": site.url("/p")}],
            extra=f'\n[evidence]\ntsa = ["{tsa.url}"]\n',
        )
        engine = open_catalog(load_config(config).archive.database_url)
        with Session(engine) as s, s.begin():  # one waiting from before, and the pass's own
            queue_timestamp(s, "note", "earlier", b"a note of an earlier pass", tsa=[tsa.url])
        summary = crawl(config)
        assert summary["timestamps"] == {"stamped": 2, "pending": 0}, summary
        with Session(engine) as s:
            rows = s.scalars(select(TimestampToken).order_by(TimestampToken.id)).all()
            assert [r.status for r in rows] == ["stamped", "stamped"] and all(r.token for r in rows)
            # the pass's checkpoint, its signed note byte for byte (issue 12)
            (note,) = s.scalars(select(EvidenceCheckpoint.note)).all()
            assert (rows[1].subject_kind, rows[1].data) == ("checkpoint", note.encode())
        engine.dispose()
        status = json.loads(warcwatch("status", "--json", "--config", str(config)).stdout)
        assert status["timestamps"] == {"stamped": 2}
    finally:
        tsa.stop()
