"""The WARC files a crawl writes: valid WARC/1.1 (`warcio check`, digests recomputed), each file
opened by a warcinfo record, request/response pairs, revisits for identical payloads, HTTP stored
as it crossed the wire (encoding kept, chunking removed and said so, the server's reason phrase,
the request line as sent), the file naming scheme and rotation."""

from __future__ import annotations

import base64
import hashlib
import re
import socket
import zlib
from datetime import UTC, datetime

import pytest

from storage.warcfile import FOLDER_ID
from tests.conftest import crawl, write_config
from tests.httpserver import SiteServer, page
from tests.storage.conftest import CHUNKED_PAGE, GZ_PAGE, PREFIX
from tests.warcs import all_records, check_all_warcs, gunzip, iter_records, one_member, warc_files

# the WARC files do not depend on where the catalog is: one backend is enough
CATALOG_BACKENDS = ("sqlite",)  # for its two_pass_archive (tests.pg.backends_of_module)

IDENTICAL_PAYLOAD = "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest"
NAME = re.compile(
    rf"^{PREFIX}-(?P<ts>\d{{14}})-(?P<serial>\d{{5}})-(?P<host>[A-Za-z0-9_]+)\.warc\.gz$"
)


def by_uri(records, kind: str) -> dict:
    out: dict = {}
    for r in records:
        if r.type == kind:
            out.setdefault(r.uri, []).append(r)
    return out


def test_every_warc_passes_warcio_check_and_reads_back(two_pass_archive):
    by_file = check_all_warcs(two_pass_archive.warc_dir)
    # two passes × two targets, one file: the second pass appends to the first's (files roll by
    # size and age, not per pass: tests/storage/test_rolling.py)
    assert len(by_file) == 1
    records = [r for rs in by_file.values() for r in rs]
    assert {r.type for r in records} == {"warcinfo", "request", "response", "revisit"}


def test_the_check_catches_a_corrupted_record(two_pass_archive, tmp_path):
    """check_all_warcs is what vouches for every WARC of the suite: it must fail on a bad digest."""
    source = next(
        f
        for f in warc_files(two_pass_archive.warc_dir)
        if any(r.uri == two_pass_archive.url("/same") for r in iter_records(f))
    )
    target = next(
        r
        for r in iter_records(source)
        if r.type == "response" and r.uri == two_pass_archive.url("/same")
    )
    data = source.read_bytes()
    raw = one_member(data[target.offset : target.offset + target.length])
    tampered = raw.replace(b"the same every time", b"the same every tine")
    assert tampered != raw
    comp = zlib.compressobj(6, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    member = comp.compress(tampered) + comp.flush()
    bad_dir = tmp_path / "bad"
    bad_dir.mkdir()
    (bad_dir / source.name).write_bytes(
        data[: target.offset] + member + data[target.offset + target.length :]
    )
    with pytest.raises(AssertionError, match="warcio check failed"):
        check_all_warcs(bad_dir)


def _fields(info) -> dict[str, str]:
    return dict(line.split(": ", 1) for line in info.block.decode().splitlines() if line)


def test_each_file_starts_with_a_warcinfo_one_per_target_and_pass(two_pass_archive):
    for f in warc_files(two_pass_archive.warc_dir):
        records = list(iter_records(f))
        assert records[0].type == "warcinfo"
        infos = [r for r in records if r.type == "warcinfo"]
        # a file holds the records of many targets and passes: each pass's writer writes a
        # warcinfo for each target when it first writes a record of that target to the file
        assert sorted(_fields(i)["isPartOf"] for i in infos) == [
            "pages",
            "pages",
            "second",
            "second",
        ]
        for info in infos:
            assert info.header("WARC-Filename") == f.name
            assert info.header("Content-Type") == "application/warc-fields"
            fields = _fields(info)
            assert fields["format"] == "WARC File Format 1.1"
            assert "warcwatch/" in fields["software"] and "warcio/" in fields["software"]
            assert "warc-1.1" in fields["conformsTo"]
            assert fields["robots"] == "obey"
            assert fields["warcwatch-run"] in {"1", "2"}


def test_each_record_names_its_targets_warcinfo(two_pass_archive):
    for f in warc_files(two_pass_archive.warc_dir):
        records = list(iter_records(f))
        infos = {r.id: _fields(r) for r in records if r.type == "warcinfo"}
        uris: dict[str, set[str]] = {"pages": set(), "second": set()}
        for r in records:
            if r.type != "warcinfo":
                uris[infos[r.header("WARC-Warcinfo-ID")]["isPartOf"]].add(r.uri)
        # robots.txt is read once per host and pass, and filed with the host's first target
        assert uris["second"] == {two_pass_archive.url("/second")}
        assert two_pass_archive.url("/second") not in uris["pages"]


def test_request_and_response_records_are_paired(two_pass_archive):
    records = all_records(two_pass_archive.warc_dir)
    captures = {r.id: r for r in records if r.type in ("response", "revisit")}
    requests = [r for r in records if r.type == "request"]
    assert captures and len(requests) == len(captures)
    paired = {}
    for req in requests:
        capture = captures[req.header("WARC-Concurrent-To")]
        assert req.uri == capture.uri
        assert req.header("WARC-Date") == capture.header("WARC-Date")
        paired[capture.id] = req
    assert set(paired) == set(captures)  # one request each, none shared


def test_responses_and_revisits_carry_the_ip_address(two_pass_archive):
    captures = [
        r for r in all_records(two_pass_archive.warc_dir) if r.type in ("response", "revisit")
    ]
    assert captures
    assert {r.header("WARC-IP-Address") for r in captures} == {"127.0.0.1"}


def test_records_carry_both_digests(two_pass_archive):
    for r in all_records(two_pass_archive.warc_dir):
        if r.type in ("response", "request"):
            assert r.header("WARC-Payload-Digest") and r.header(
                "WARC-Block-Digest"
            )  # recomputed by iter_records
        if r.type == "revisit":
            assert r.header("WARC-Payload-Digest")


def test_identical_payload_becomes_a_revisit(two_pass_archive):
    records = all_records(two_pass_archive.warc_dir)
    url = two_pass_archive.url("/same")
    [original] = by_uri(records, "response")[url]
    [revisit] = by_uri(records, "revisit")[url]
    assert revisit.header("WARC-Profile") == IDENTICAL_PAYLOAD
    assert revisit.header("WARC-Payload-Digest") == original.header("WARC-Payload-Digest")
    assert revisit.header("WARC-Refers-To-Target-URI") == url
    assert revisit.header("WARC-Refers-To-Date") == original.header("WARC-Date")
    assert revisit.header("WARC-Refers-To") == original.id
    assert revisit.first_line == original.first_line  # the HTTP head of the second fetch is kept
    assert revisit.payload == b""  # but not a second copy of the payload
    assert two_pass_archive.passes[1]["revisits"] >= 1


def test_changed_payload_is_a_new_response(two_pass_archive):
    records = all_records(two_pass_archive.warc_dir)
    url = two_pass_archive.url("/changes")
    first, second = by_uri(records, "response")[url]
    assert first.payload == b"<html><body>first version</body></html>"
    assert second.payload == b"<html><body>second version</body></html>"
    # the monitor fetches a changed page again at once: that copy may only refer to the new one
    for revisit in by_uri(records, "revisit").get(url, []):
        assert revisit.header("WARC-Refers-To") == second.id


def test_gzip_encoded_response_is_stored_encoded(two_pass_archive):
    [record] = by_uri(all_records(two_pass_archive.warc_dir), "response")[
        two_pass_archive.url("/gz")
    ]
    assert record.http_header("Content-Encoding") == "gzip"
    assert record.payload[:2] == b"\x1f\x8b"
    assert gunzip(record.payload) == GZ_PAGE.encode()
    assert record.http_header("Content-Length") == str(len(record.payload))


def test_chunked_response_is_stored_dechunked(two_pass_archive):
    [record] = by_uri(all_records(two_pass_archive.warc_dir), "response")[
        two_pass_archive.url("/chunked")
    ]
    assert record.http_header("Transfer-Encoding") is None
    assert record.http_header("X-Archive-Orig-Transfer-Encoding") == "chunked"
    assert record.payload == CHUNKED_PAGE.encode()


def test_status_line_keeps_the_reason_phrase(two_pass_archive):
    records = all_records(two_pass_archive.warc_dir)
    [reason] = by_uri(records, "response")[two_pass_archive.url("/reason")]
    assert reason.first_line == b"HTTP/1.1 200 Very OK"
    [missing] = by_uri(records, "response")[two_pass_archive.url("/missing")]
    assert missing.first_line == b"HTTP/1.1 404 Not Found"
    # the same 404 page again is a revisit, with its own status line kept
    [again] = by_uri(records, "revisit")[two_pass_archive.url("/missing")]
    assert again.first_line == b"HTTP/1.1 404 Not Found"
    assert again.headers.get_header("WARC-Refers-To") == missing.id


def test_request_record_holds_the_request_as_sent(two_pass_archive):
    s = two_pass_archive.server
    [request, _] = by_uri(all_records(two_pass_archive.warc_dir), "request")[
        two_pass_archive.url("/q?b=2&a=1")
    ]
    assert request.first_line == b"GET /q?b=2&a=1 HTTP/1.1"
    host = s.base.removeprefix("http://")
    assert request.http_header("Host") == host
    sent = {}
    for line in request.http_head.split(b"\r\n")[1:]:
        if line:
            name, _, value = line.decode().partition(":")
            sent[name] = value.strip()
    assert sent == s.hits("/q?b=2&a=1")[0]  # what the server received, header for header


def test_file_names_follow_the_scheme(two_pass_archive):
    files = warc_files(two_pass_archive.warc_dir)
    assert files
    assert not list(two_pass_archive.warc_dir.glob("*.open"))
    # (and the folder's id, which the catalog's warc_files rows name)
    assert sorted(p.name for p in two_pass_archive.warc_dir.iterdir()) == sorted(
        [FOLDER_ID] + [f.name for f in files]
    )
    hostname = socket.gethostname()
    for f in files:
        m = NAME.match(f.name)
        assert m, f.name
        when = datetime.strptime(m["ts"], "%Y%m%d%H%M%S").replace(tzinfo=UTC).timestamp()
        assert two_pass_archive.started - 2 <= when <= two_pass_archive.finished + 2, (
            f"{m['ts']} is not the UTC time of the pass"
        )
        assert m["host"].replace("_", "") == re.sub(r"[-.]", "", hostname)


@pytest.fixture(scope="module")
def rotated(tmp_path_factory):
    s = SiteServer().start()
    s.routes["/robots.txt"] = page("User-agent: *\nAllow: /\n", content_type="text/plain")
    paths = [f"/p{i}" for i in range(8)]
    for p in paths:
        # incompressible, so every exchange adds ~2 KB to the file
        noise = base64.b64encode(
            b"".join(hashlib.sha256(f"{p}{i}".encode()).digest() for i in range(48))
        ).decode()
        s.routes[p] = page(f"<html><body>{noise}</body></html>")
    config = write_config(
        tmp_path_factory.mktemp("rotation"),
        [{"name": "rot", "urls": [s.url(p) for p in paths]}],
        archive={"warc_max_size": 4000, "prefix": PREFIX},
        crawl={"concurrency_per_host": 1},
    )
    summary = crawl(config)
    yield config.parent / "archive" / "warcs", summary, [s.url(p) for p in paths]
    s.stop()


def test_rotation_at_warc_max_size(rotated):
    warc_dir, summary, urls = rotated
    files = warc_files(warc_dir)
    assert len(files) >= 3, [f.name for f in files]
    assert summary["warc_files"] == len(files)
    captured = []
    for f in files:
        records = list(iter_records(f))
        assert records[0].type == "warcinfo" and records[0].header("WARC-Filename") == f.name
        captures = [r for r in records if r.type in ("response", "revisit")]
        assert captures, f"{f.name} holds no capture"
        # a file takes no new exchange once it has reached the limit
        assert captures[-1].offset < 4000
        captured += [r.uri for r in captures]
    for f in files[:-1]:
        assert f.stat().st_size >= 4000, f"{f.name} was closed before it was full"
    assert set(urls) <= set(captured)
    serials = [NAME.match(f.name)["serial"] for f in files]
    assert len(set(serials)) == len(serials)
