"""Trusted time: RFC 3161 time-stamps of evidence (a signed checkpoint's note text, or any other
bytes) from the time-stamping authorities listed in `[evidence] tsa`, queued and delivered with
bounded retries like the alert outbox (monitor.alerts), and stored as the TSA's whole answer.

`queue_timestamp` adds one row per TSA in the caller's transaction (so a stamp is asked for
exactly when the subject is committed); `deliver_timestamps` claims due rows one at a time (a
conditional UPDATE to 'sending' with a lease, so two processes never send one row; `FOR UPDATE
SKIP LOCKED` on PostgreSQL), sends the request and records the token, or the error with a backoff
(1 s, 2 s, … up to an hour), marking a row 'dead' after `max_attempts` tries. A row whose sender
died mid-request is claimed again when its lease runs out: asking a TSA twice is harmless.

Requests and answers are `rfc3161-client`'s (Trail of Bits' maintained RFC 3161 library, in Rust
with pyca/cryptography types): SHA-256 message imprint, a random nonce, certReq set so the token
carries the TSA's certificate. An answer is kept only when it is granted, for our imprint and our
nonce. Whether the TSA is to be trusted is the verifier's question (`verify_token` with the TSA's
roots, or `openssl ts -verify -CAfile`), not the queue's: the token is kept as received (DER
TimeStampResp, as `openssl ts -reply -in` writes and `openssl ts -verify -in` reads).
"""

from __future__ import annotations

import hashlib
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session

from storage.catalog import utcnow
from storage.errors import WarcwatchError
from storage.models import TimestampToken

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 72  # at an hour apart once backed off: about three days of a TSA down
MAX_BACKOFF = timedelta(hours=1)
LEASE = timedelta(minutes=5)
TIMEOUT = 10.0
QUERY_TYPE = "application/timestamp-query"
REPLY_TYPE = "application/timestamp-reply"

# (TSA URL, DER TimeStampReq, timeout in seconds) → DER TimeStampResp; raises TsaError
Post = Callable[[str, bytes, float], bytes]


class TsaError(WarcwatchError):
    """A time-stamp could not be had (TSA unreachable, refused, or its answer not for us), or a
    token does not verify."""

    def __init__(self, message: str, unreachable: bool = False):
        super().__init__(message)
        self.unreachable = unreachable


@dataclass(frozen=True)
class TsaDelivery:
    stamped: int = 0
    failed: int = 0
    pending: int = 0
    errors: dict[str, str] = field(default_factory=dict)  # TSA → why it still has rows waiting

    def as_summary(self) -> dict:
        out: dict = {"stamped": self.stamped, "pending": self.pending}
        if self.errors:
            out["tsa"] = dict(self.errors)
        return out


def queue_timestamp(
    session: Session,
    subject_kind: str,
    subject_id: str,
    data: bytes,
    *,
    tsa: Sequence[str],
    clock: Callable[[], datetime] = utcnow,
) -> list[TimestampToken]:
    """Ask each TSA in `tsa` for a time-stamp of `data` (what it is: `subject_kind`, e.g.
    "checkpoint", and `subject_id`), in the caller's transaction. Asking again for the same
    subject and TSA adds nothing."""
    if not data:
        raise ValueError("nothing to time-stamp: data is empty")
    now = clock()
    digest = hashlib.sha256(data).hexdigest()
    rows = []
    for url in dict.fromkeys(tsa):
        row = session.scalars(
            select(TimestampToken).where(
                TimestampToken.subject_kind == subject_kind,
                TimestampToken.subject_id == subject_id,
                TimestampToken.tsa == url,
            )
        ).first()
        if row is None:
            row = TimestampToken(
                subject_kind=subject_kind,
                subject_id=subject_id,
                data=data,
                digest=digest,
                tsa=url,
                status="pending",
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
            session.add(row)
        rows.append(row)
    session.flush()
    return rows


def http_post(url: str, request: bytes, timeout: float) -> bytes:
    """POST a TimeStampReq to a TSA over HTTP(S) (RFC 3161 section 3.4)."""
    req = urllib.request.Request(
        url,
        data=request,
        headers={"Content-Type": QUERY_TYPE, "Accept": REPLY_TYPE},
        method="POST",
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:
            return bytes(response.read())
    except urllib.error.HTTPError as exc:
        raise TsaError(f"refused: HTTP {exc.code}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise TsaError(f"unreachable: {getattr(exc, 'reason', exc)}", unreachable=True) from None


def request_for(data: bytes):
    """A TimeStampReq for `data`: SHA-256 imprint, a nonce, certReq."""
    from rfc3161_client import HashAlgorithm, TimestampRequestBuilder

    return (
        TimestampRequestBuilder()
        .data(data)
        .hash_algorithm(HashAlgorithm.SHA256)
        .nonce(nonce=True)
        .cert_request(cert_request=True)
        .build()
    )


def check_answer(answer: bytes, data: bytes, nonce: int | None):
    """The TSA's answer parsed, if it grants a time-stamp of `data` (and of our nonce)."""
    from rfc3161_client import PKIStatus, decode_timestamp_response

    try:
        response = decode_timestamp_response(answer)
    except ValueError as exc:
        raise TsaError(f"answered something that is not a TimeStampResp: {exc}") from None
    if response.status not in (PKIStatus.GRANTED, PKIStatus.GRANTED_WITH_MODS):
        detail = "; ".join(response.status_string) or f"status {response.status}"
        raise TsaError(f"refused the request: {detail}")
    info = response.tst_info
    if info.message_imprint.message != hashlib.sha256(data).digest():
        raise TsaError("answered with a time-stamp of other data")
    if nonce is not None and info.nonce != nonce:
        raise TsaError("answered with a time-stamp of another request (nonce differs)")
    return response


def backoff(attempts: int) -> timedelta:
    return min(timedelta(seconds=2 ** max(0, attempts - 1)), MAX_BACKOFF)


def _due(now: datetime, skip: Collection[str] = ()):
    due = [
        TimestampToken.status.in_(("pending", "sending")),
        TimestampToken.next_attempt_at <= now,
    ]
    if skip:
        due.append(TimestampToken.tsa.not_in(list(skip)))
    return due


def claim_next(
    engine: Engine, now: datetime, lease: timedelta = LEASE, skip: Collection[str] = ()
) -> TimestampToken | None:
    """Claim the next due row for this process, committed before anything is sent."""
    cols = (TimestampToken.id, TimestampToken.status, TimestampToken.attempts)
    with engine.begin() as conn:
        while True:
            row = conn.execute(
                select(*cols)
                .where(*_due(now, skip))
                .order_by(TimestampToken.id)
                .limit(1)
                .with_for_update(skip_locked=True)
            ).first()
            if row is None:
                return None
            taken = conn.execute(
                update(TimestampToken)
                .where(
                    TimestampToken.id == row.id,
                    TimestampToken.status == row.status,
                    TimestampToken.attempts == row.attempts,
                    *_due(now),
                )
                .values(status="sending", attempts=row.attempts + 1, next_attempt_at=now + lease)
            )
            if taken.rowcount == 1:
                break
    with Session(engine, expire_on_commit=False) as s:
        claimed = s.get(TimestampToken, row.id)
        s.expunge_all()
    return claimed


def _record(
    engine: Engine,
    claimed: TimestampToken,
    now: datetime,
    max_attempts: int,
    answer: bytes | None = None,
    gen_time: datetime | None = None,
    nonce: int | None = None,
    error: TsaError | None = None,
) -> None:
    with Session(engine) as s, s.begin():
        row = s.get(TimestampToken, claimed.id)
        if row is None or row.status != "sending" or row.attempts != claimed.attempts:
            return  # our lease ran out and another sender took the row over
        if error is None:
            row.status, row.token, row.stamped_at, row.last_error = "stamped", answer, now, None
            row.gen_time = gen_time.astimezone(UTC).replace(tzinfo=None) if gen_time else None
            row.nonce = str(nonce) if nonce is not None else None
            return
        row.status, row.last_error = "pending", str(error)[:500]
        row.next_attempt_at = now + backoff(row.attempts)
        if row.attempts >= max_attempts:
            row.status = "dead"


def stamp_one(claimed: TimestampToken, post: Post, timeout: float):
    """Ask `claimed`'s TSA for its time-stamp: (answer, parsed response, nonce)."""
    request = request_for(claimed.data)
    answer = post(claimed.tsa, request.as_bytes(), timeout)
    return answer, check_answer(answer, claimed.data, request.nonce), request.nonce


def deliver_timestamps(
    engine: Engine,
    *,
    post: Post = http_post,
    clock: Callable[[], datetime] = utcnow,
    timeout: float = TIMEOUT,
    retry_for: float | None = 10.0,
    max_attempts: int = MAX_ATTEMPTS,
    lease: timedelta = LEASE,
    monotonic: Callable[[], float] = time.monotonic,
) -> TsaDelivery:
    """Send every due time-stamp request, one claim at a time, starting nothing after `retry_for`
    seconds; a TSA found unreachable is not asked again in this delivery. What is left waits,
    with its backoff, for the next delivery (the next pass, or the daemon's)."""
    deadline = None if retry_for is None else monotonic() + retry_for
    skip: set[str] = set()
    errors: dict[str, str] = {}
    stamped = failed = 0
    while deadline is None or monotonic() < deadline:
        claimed = claim_next(engine, clock(), lease, skip)
        if claimed is None:
            break
        try:
            answer, response, nonce = stamp_one(claimed, post, timeout)
        except TsaError as exc:
            _record(engine, claimed, clock(), max_attempts, error=exc)
            failed += 1
            errors[claimed.tsa] = str(exc)
            if exc.unreachable:
                skip.add(claimed.tsa)
            log.warning("time-stamp from %s failed (%s); will retry", claimed.tsa, exc)
            continue
        gen_time = response.tst_info.gen_time
        _record(engine, claimed, clock(), max_attempts, answer, gen_time, nonce)
        stamped += 1
        errors.pop(claimed.tsa, None)
    return TsaDelivery(stamped, failed, pending_count(engine), errors)


def pending_count(engine: Engine) -> int:
    with Session(engine) as s:
        return (
            s.scalar(
                select(func.count())
                .select_from(TimestampToken)
                .where(TimestampToken.status.in_(("pending", "sending")))
            )
            or 0
        )


def token_counts(engine: Engine) -> dict[str, int]:
    """Time-stamp requests per state (pending, sending, stamped, dead), for `status`."""
    with Session(engine) as s:
        rows = s.execute(
            select(TimestampToken.status, func.count()).group_by(TimestampToken.status)
        ).all()
    return {status: count for status, count in rows}


def tokens_of(session: Session, subject_kind: str, subject_id: str) -> list[TimestampToken]:
    """The stamped tokens of a subject (a receipt carries them)."""
    return list(
        session.scalars(
            select(TimestampToken)
            .where(
                TimestampToken.subject_kind == subject_kind,
                TimestampToken.subject_id == subject_id,
                TimestampToken.status == "stamped",
            )
            .order_by(TimestampToken.id)
        )
    )


def verify_token(token: bytes, data: bytes, roots: Sequence, intermediates: Sequence = ()):
    """Check a stored token against `data` and the TSA's trust roots (cryptography x509
    certificates): granted, signed by a certificate chaining to a root with the critical
    timeStamping extended key usage, over the SHA-256 of `data`. Returns the TSA's genTime;
    raises TsaError naming what failed."""
    from rfc3161_client import VerificationError, VerifierBuilder, decode_timestamp_response

    try:
        response = decode_timestamp_response(token)
    except ValueError as exc:
        raise TsaError(f"not a time-stamp token: {exc}") from None
    builder = VerifierBuilder()
    for cert in roots:
        builder = builder.add_root_certificate(cert)
    for cert in intermediates:
        builder = builder.add_intermediate_certificate(cert)
    try:
        builder.build().verify_message(response, data)
    except VerificationError as exc:
        raise TsaError(f"time-stamp does not verify: {exc}") from None
    return response.tst_info.gen_time
