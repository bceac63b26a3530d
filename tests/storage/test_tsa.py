"""Trusted time (issue 12 item 3): RFC 3161 time-stamps from a real TSA on 127.0.0.1 (a throwaway
CA, a TSA certificate with critical extendedKeyUsage timeStamping, `openssl ts -reply` behind an
HTTP server: tests/tsaserver.py). `openssl ts -verify` accepts the tokens warcwatch stored; a TSA
down, then up, stamps the subject once; a tampered token is rejected by openssl and by
`verify_token`."""

from __future__ import annotations

import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography import x509
from rfc3161_client import decode_timestamp_response
from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.catalog import open_catalog, utcnow
from storage.evidence.tsa import (
    LEASE,
    TsaError,
    claim_next,
    deliver_timestamps,
    queue_timestamp,
    verify_token,
)
from storage.models import TimestampToken
from tests.tsaserver import TsaServer

NOTE = (
    b"warcwatch.example/archive\n42\nq5Jc0m5n0ylC0nAx0DOqvrqCg9bQ3iYbq5FX0ZQJ9Y8=\n\n"
    b"\xe2\x80\x94 key sig\n"
)


@pytest.fixture
def engine(tmp_path):
    e = open_catalog(f"sqlite:///{tmp_path / 'catalog.sqlite'}")
    yield e
    e.dispose()


@pytest.fixture
def tsa(tmp_path):
    server = TsaServer(tmp_path / "tsa").start()
    yield server
    server.stop()


def queue(engine, url: str, subject_id: str = "42", data: bytes = NOTE) -> None:
    with Session(engine) as s, s.begin():
        queue_timestamp(s, "checkpoint", subject_id, data, tsa=[url])


def stored(engine) -> list[TimestampToken]:
    with Session(engine, expire_on_commit=False) as s:
        rows = list(s.scalars(select(TimestampToken).order_by(TimestampToken.id)))
        s.expunge_all()
    return rows


def openssl_verify(tsa: TsaServer, token: bytes, data: bytes, tmp: Path):
    (tmp / "token.tsr").write_bytes(token)
    (tmp / "data.bin").write_bytes(data)
    return subprocess.run(
        ["openssl", "ts", "-verify", "-in", tmp / "token.tsr", "-data", tmp / "data.bin",
         "-CAfile", tsa.dir / "ca.pem"],
        capture_output=True, text=True,
    )  # fmt: skip


def root(tsa: TsaServer) -> x509.Certificate:
    return x509.load_pem_x509_certificate((tsa.dir / "ca.pem").read_bytes())


def test_a_stored_token_verifies_with_openssl(engine, tsa, tmp_path):
    queue(engine, tsa.url)
    delivery = deliver_timestamps(engine)
    assert (delivery.stamped, delivery.pending) == (1, 0), delivery
    (row,) = stored(engine)
    assert row.status == "stamped" and row.attempts == 1 and row.last_error is None
    assert row.data == NOTE and row.gen_time is not None

    done = openssl_verify(tsa, row.token, NOTE, tmp_path)
    assert done.returncode == 0 and "Verification: OK" in done.stdout, done.stdout + done.stderr
    assert verify_token(row.token, NOTE, [root(tsa)]) is not None

    # what was asked: a SHA-256 imprint, a nonce (the one stored), the TSA's certificate
    text = subprocess.run(
        ["openssl", "ts", "-reply", "-in", "/dev/stdin", "-text"],
        input=row.token, capture_output=True,
    ).stdout.decode()  # fmt: skip
    assert "Hash Algorithm: sha256" in text and "Status: Granted." in text, text
    response = decode_timestamp_response(row.token)
    assert str(response.tst_info.nonce) == row.nonce
    assert response.signed_data.certificates  # certReq was set


def test_a_tsa_down_then_up_stamps_once(engine, tmp_path):
    tsa = TsaServer(tmp_path / "tsa")  # its port chosen, nothing listening yet
    queue(engine, tsa.url)
    down = deliver_timestamps(engine)
    assert (down.stamped, down.failed, down.pending) == (0, 1, 1), down
    (row,) = stored(engine)
    assert row.status == "pending" and row.attempts == 1 and "unreachable" in row.last_error
    assert tsa.url in down.errors

    tsa.start()
    try:
        later = lambda: utcnow() + timedelta(hours=1)  # noqa: E731 - past the backoff
        up = deliver_timestamps(engine, clock=later)
        assert (up.stamped, up.pending) == (1, 0), up
        assert deliver_timestamps(engine, clock=later).stamped == 0
        queue(engine, tsa.url)  # asked again for the same checkpoint: nothing new
        assert deliver_timestamps(engine, clock=later).stamped == 0
    finally:
        tsa.stop()
    (row,) = stored(engine)
    assert row.status == "stamped" and row.attempts == 2 and row.last_error is None
    assert tsa.requests == 1
    assert openssl_verify(tsa, row.token, NOTE, tmp_path).returncode == 0


def test_a_tampered_token_is_rejected(engine, tsa, tmp_path):
    queue(engine, tsa.url)
    deliver_timestamps(engine)
    (row,) = stored(engine)
    stamp = row.gen_time.strftime("%Y%m%d%H%M%S").encode()
    assert row.token.count(stamp) == 1  # the genTime in the signed TSTInfo
    forged = row.token.replace(stamp, stamp[:-1] + (b"0" if stamp[-1:] != b"0" else b"1"))

    assert openssl_verify(tsa, forged, NOTE, tmp_path).returncode != 0
    with pytest.raises(TsaError):
        verify_token(forged, NOTE, [root(tsa)])
    # and the genuine token is for these bytes, not others
    assert openssl_verify(tsa, row.token, NOTE + b"x", tmp_path).returncode != 0
    with pytest.raises(TsaError, match="does not verify"):
        verify_token(row.token, NOTE + b"x", [root(tsa)])


def test_a_tsa_that_answers_for_other_data_is_not_stored(engine, tsa, tmp_path):
    """An answer is kept only for our imprint and nonce: a TSA replaying an old token fails."""
    queue(engine, tsa.url, "1", b"first checkpoint")
    deliver_timestamps(engine)
    (first,) = stored(engine)
    queue(engine, tsa.url, "2", b"second checkpoint")
    replay = deliver_timestamps(engine, post=lambda url, req, timeout: first.token)
    assert (replay.stamped, replay.failed) == (0, 1)
    second = stored(engine)[1]
    assert second.status == "pending" and "other data" in second.last_error and second.token is None


def test_a_request_whose_sender_died_is_sent_again_after_its_lease(engine, tsa):
    """A sender killed between its claim and its answer leaves the row claimed: nobody else sends
    it while the lease holds, and the next delivery after the lease does (asking twice is
    harmless)."""
    queue(engine, tsa.url)
    assert claim_next(engine, utcnow()) is not None  # …and this sender dies here
    assert deliver_timestamps(engine).stamped == 0
    after = lambda: utcnow() + LEASE + timedelta(seconds=1)  # noqa: E731
    assert deliver_timestamps(engine, clock=after).stamped == 1
    (row,) = stored(engine)
    assert row.status == "stamped" and row.attempts == 2 and tsa.requests == 1
