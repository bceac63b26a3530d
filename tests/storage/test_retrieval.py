"""Retrieval on a real crawled archive: nearest capture as Wayback resolves it, SURT matching,
revisits resolved to their payload, and records read back byte for byte."""

from __future__ import annotations

import gzip
from contextlib import closing
from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from storage import lookup
from storage.catalog import open_catalog
from storage.errors import CaptureNotFound
from storage.models import Capture
from storage.retrieval import nearest, snapshot
from storage.timestamps import BadTimestamp, from_datetime, iso, parse_timestamp, to_datetime
from tests.lookup_archive import GZ, RAW_BODY, V1, V2, lookup_archive  # noqa: F401 - fixture


@pytest.fixture
def session(lookup_archive):  # noqa: F811
    engine = open_catalog(lookup_archive.database_url)
    with Session(engine) as s:
        yield s
    engine.dispose()


def shift(ts: str, seconds: int) -> str:
    return from_datetime(to_datetime(ts) + timedelta(seconds=seconds))


def test_the_passes_are_far_enough_apart_for_these_tests(lookup_archive):  # noqa: F811
    t1, t2 = lookup_archive.ts("/page", 0), lookup_archive.ts("/page", -1)
    assert (to_datetime(t2) - to_datetime(t1)).total_seconds() >= 3
    assert lookup_archive.captures["/page"][0].kind == "response"


def brute_force_nearest(stamps: list[str], at: str) -> str:
    """The oracle: every capture's distance, computed one by one; the earlier wins a tie."""
    target = to_datetime(at)
    return min(sorted(stamps), key=lambda ts: abs((to_datetime(ts) - target).total_seconds()))


@pytest.mark.parametrize(
    "case",
    [
        "latest",
        "exact-first",
        "exact-last",
        "long-before",
        "long-after",
        "just-after-first",
        "just-before-last",
        "iso-first",
        "iso-offset-last",
    ],
)
def test_nearest_capture(lookup_archive, session, case):  # noqa: F811
    stamps = [c.timestamp for c in lookup_archive.captures["/page"]]
    t1, t2 = stamps[0], stamps[-1]
    at, expected = {
        "latest": (None, t2),
        "exact-first": (t1, t1),
        "exact-last": (t2, t2),
        "long-before": ("1999", t1),
        "long-after": ("29991231", t2),
        "just-after-first": (shift(t1, 1), t1),
        "just-before-last": (shift(t2, -1), brute_force_nearest(stamps, shift(t2, -1))),
        "iso-first": (iso(t1), t1),
        # the same instant as t2, written as local time two hours east of UTC
        "iso-offset-last": (f"{to_datetime(t2) + timedelta(hours=2):%Y-%m-%dT%H:%M:%S}+02:00", t2),
    }[case]
    assert nearest(session, lookup_archive.url("/page"), at).timestamp == expected


def test_nearest_agrees_with_brute_force_every_second(lookup_archive, session):  # noqa: F811
    stamps = [c.timestamp for c in lookup_archive.captures["/page"]]
    span = int((to_datetime(stamps[-1]) - to_datetime(stamps[0])).total_seconds())
    for offset in range(-2, span + 3):
        at = shift(stamps[0], offset)
        assert nearest(session, lookup_archive.url("/page"), at).timestamp == brute_force_nearest(
            stamps, at
        ), at


def test_a_prefix_means_the_end_of_its_period(lookup_archive, session):  # noqa: F811
    t1, t2 = lookup_archive.ts("/page", 0), lookup_archive.ts("/page", -1)
    url = lookup_archive.url("/page")
    # "the day" stands for its last second: the later capture is nearer, unless the passes
    # straddle midnight, when the first is the last of its day
    assert nearest(session, url, t1[:8]).timestamp == (t2 if t2[:8] == t1[:8] else t1)
    assert nearest(session, url, t1[:4]).timestamp == (t2 if t2[:4] == t1[:4] else t1)


def _synthetic(tmp_path, stamps: list[tuple[str, str]]):
    """A real catalog holding captures of one URL at chosen times (no records: lookup only)."""
    engine = open_catalog(f"sqlite:///{tmp_path / 'catalog.sqlite'}")
    with Session(engine) as s, s.begin():
        for ts, kind in stamps:
            s.add(
                Capture(
                    url="http://example.org/",
                    surt="org,example)/",
                    timestamp=ts,
                    kind=kind,
                    status=200,
                )
            )
    return engine


@pytest.mark.parametrize(
    ("stamps", "at", "expected"),
    [
        (
            [("20260101000000", "response"), ("20260101000010", "response")],
            "20260101000005",
            "20260101000000",
        ),
        (
            [("20260101000000", "response"), ("20260101000010", "response")],
            "20260101000006",
            "20260101000010",
        ),
        # across a month end the digits mislead: 20260201000001 is 2 s after 20260131235959
        (
            [("20260131235950", "response"), ("20260201000001", "response")],
            "20260131235959",
            "20260201000001",
        ),
        # failed fetches have no record: never the answer
        (
            [("20260101000000", "response"), ("20260101000005", "failed")],
            "20260101000005",
            "20260101000000",
        ),
        (
            [("20260115000000", "revisit"), ("20260301000000", "response")],
            "202601",
            "20260115000000",
        ),
    ],
    ids=["tie-earlier", "nearer-later", "month-end", "failed-skipped", "revisit-counts"],
)
def test_nearest_on_chosen_times(tmp_path, stamps, at, expected):
    engine = _synthetic(tmp_path, stamps)
    with Session(engine) as s:
        assert nearest(s, "http://www.example.org:80/", at).timestamp == expected
    engine.dispose()
    # the CLI's sqlite3 reader (storage.lookup) makes the same choice
    with closing(lookup.open_sqlite(f"sqlite:///{tmp_path / 'catalog.sqlite'}")) as conn:
        assert lookup.nearest(conn, "http://www.example.org:80/", at).timestamp == expected


@pytest.mark.parametrize(
    "variant",
    [
        "{base}/q?a=1&b=2",
        "{base}/q?b=2&a=1",
        "{base}/Q?A=1&B=2",
        "{base}/q/?a=1&b=2#top",
        "{hostport}/q?a=1&b=2",
        "https://{hostport}/q?a=1&b=2",
    ],
)
def test_urls_match_by_surt(lookup_archive, session, variant):  # noqa: F811
    base = lookup_archive.server.base
    url = variant.format(base=base, hostport=base.removeprefix("http://"))
    found = nearest(session, url)
    assert found.url == lookup_archive.url("/q?b=2&a=1")


def test_no_capture_and_bad_timestamp(lookup_archive, session):  # noqa: F811
    with pytest.raises(CaptureNotFound):
        nearest(session, lookup_archive.url("/never-crawled"))
    with pytest.raises(BadTimestamp):
        nearest(session, lookup_archive.url("/page"), "yesterday")


def test_changed_page_reads_back_each_version(lookup_archive, session):  # noqa: F811
    arc = lookup_archive
    first = snapshot(session, arc.warcs, arc.url("/page"), arc.ts("/page", 0))
    second = snapshot(session, arc.warcs, arc.url("/page"), arc.ts("/page", -1))
    assert b"".join(first.decoded()) == V1.encode()
    assert b"".join(second.decoded()) == V2.encode()
    assert first.http_head.startswith(b"HTTP/1.1 200")


def test_identical_payload_revisit_resolves_to_the_first_response(lookup_archive, session):  # noqa: F811
    arc = lookup_archive
    later = arc.captures["/gz"][1]
    assert later.kind == "revisit"
    snap = snapshot(session, arc.warcs, arc.url("/gz"), later.timestamp)
    assert snap.capture.id == later.id and snap.origin.id == arc.captures["/gz"][0].id
    assert snap.record.rec_type == "revisit" and snap.payload_record.rec_type == "response"
    assert b"".join(snap.decoded()) == GZ.encode()
    assert gzip.decompress(snap.payload_record.payload) == GZ.encode()
    # the revisit's own head: it was really received at that time
    assert snap.http_head == snap.record.http_head and b"Content-Encoding: gzip" in snap.http_head


def test_not_modified_revisit_takes_payload_and_headers_of_the_original(lookup_archive, session):  # noqa: F811
    arc = lookup_archive
    later = arc.captures["/etag"][1]
    assert later.kind == "revisit" and later.status == 304
    snap = snapshot(session, arc.warcs, arc.url("/etag"), later.timestamp)
    assert snap.record.http_head.startswith(b"HTTP/1.1 304")
    assert snap.http_head.startswith(b"HTTP/1.1 200")
    assert b"Stable, with an ETag." in b"".join(snap.decoded())


def test_raw_is_byte_identical_to_what_the_server_sent(lookup_archive, session):  # noqa: F811
    arc = lookup_archive
    assert len(arc.sent_raw) == 2
    for n in (0, 1):  # the response, then its identical-payload revisit
        snap = snapshot(session, arc.warcs, arc.url("/raw"), arc.ts("/raw", n))
        assert snap.raw() == arc.sent_raw[n]
    assert b"".join(snap.decoded()) == gzip.decompress(RAW_BODY)


@pytest.mark.parametrize(
    ("text", "pad", "expected"),
    [
        ("2026", "up", "20261231235959"),
        ("2026", "down", "20260101000000"),
        ("202602", "up", "20260228235959"),
        ("202402", "up", "20240229235959"),
        ("20261125", "down", "20261125000000"),
        ("20261125130246", "up", "20261125130246"),
        ("2026-11-25", "up", "20261125235959"),
        ("2026-11-25T13:02:46Z", "up", "20261125130246"),
        ("2026-11-25T13:02", "down", "20261125130200"),
        ("2026-11-25T13:02:46.123Z", "up", "20261125130246"),
        ("2026-11-25T01:00:00+02:00", "up", "20261124230000"),
        ("2026-11-25T23:30:00-01:30", "up", "20261126010000"),
    ],
    ids=lambda v: str(v),
)
def test_timestamp_parsing(text, pad, expected):
    assert parse_timestamp(text, pad) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "20",
        "202613",
        "20261132",
        "2026-02-30",
        "20261125250000",
        "2026/11/25",
        "123456789012345",
    ],
)
def test_bad_timestamps(text):
    with pytest.raises(BadTimestamp):
        parse_timestamp(text)
