"""Alerts are never lost and never sent twice: a json:// webhook on 127.0.0.1 that answers 500
before it answers 200, or is down for a whole pass, gets each alert exactly once; the outbox row
ends 'sent'; later passes (new processes, i.e. restarts) send nothing again."""

from __future__ import annotations

import json
import re
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from storage.models import ChangeEvent, OutboxMessage
from tests.conftest import crawl, write_config
from tests.httpserver import SiteServer, not_found
from tests.monitor.pages import article, noisy


class HookServer(ThreadingHTTPServer):
    """A webhook that fails its next `fail_next` POSTs with 500 (or all of them while `down`), or
    holds its answers (see `hold`)."""

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Hook)
        self.fail_next = 0
        self.down = False
        self.accepted: list[dict] = []
        self.refused = 0
        # once set, requests after the first `hold_after` are recorded, then left unanswered
        # until `hold` is set
        self.hold: threading.Event | None = None
        self.hold_after = 0
        self.lock = threading.Lock()
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"json://127.0.0.1:{self.server_address[1]}/hook"


class _Hook(BaseHTTPRequestHandler):
    server: HookServer

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with self.server.lock:
            fail = self.server.down or self.server.fail_next > 0
            if fail:
                self.server.fail_next = max(0, self.server.fail_next - 1)
                self.server.refused += 1
            else:
                self.server.accepted.append({"path": self.path, **json.loads(body)})
            held = self.server.hold if len(self.server.accepted) > self.server.hold_after else None
        if held is not None and not fail:
            held.wait()
        self.send_response(500 if fail else 200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def hook():
    server = HookServer()
    yield server
    server.shutdown()
    server.server_close()


def outbox(config) -> list[tuple[str, str, int]]:
    engine = create_engine(f"sqlite:///{config.parent / 'archive' / 'catalog.sqlite'}")
    with Session(engine) as s:
        rows = s.execute(
            select(ChangeEvent.url, OutboxMessage.status, OutboxMessage.attempts)
            .join(ChangeEvent, ChangeEvent.id == OutboxMessage.event_id)
            .order_by(OutboxMessage.id)
        ).all()
    return [tuple(r) for r in rows]


def test_failing_webhook_gets_each_alert_exactly_once(site: SiteServer, hook: HookServer, tmp_path):
    docs = {p: article(p.strip("/")) for p in ("/a", "/b")}
    for i, (path, doc) in enumerate(docs.items()):
        site.routes[path] = noisy(doc, seed=i)
    config = write_config(
        tmp_path,
        [{"name": "news", "urls": [site.url(p) for p in docs]}],
        extra=f'\n[alerts]\nnotify = ["{hook.url}"]\nretry_for = 2\n',
    )

    crawl(config)  # baseline
    assert hook.accepted == [] and hook.refused == 0 and outbox(config) == []

    # an edit; the hook answers 500 once, then 200: retried with backoff within the pass
    docs["/a"].paragraphs.append("The minister resigned on Friday evening.")
    hook.fail_next = 1
    summary = crawl(config)
    assert summary["alerts"] == {"sent": 1, "pending": 0}, summary
    assert hook.refused == 1 and len(hook.accepted) == 1, hook.accepted
    alert = hook.accepted[0]
    assert alert["path"] == "/hook"
    assert (
        "Page changed" in alert["title"]
        and "Inquiry into a publishes its findings" in alert["title"]
    )
    assert (
        site.url("/a") in alert["message"]
        and "{+The minister resigned on Friday evening.+}" in alert["message"]
    )
    assert "Last updated" not in alert["message"], "template noise in the alert"
    assert not re.search(r"^(diff|snapshot|record): ", alert["message"], re.M), (
        "links without [serve] public_url"
    )
    assert outbox(config) == [(site.url("/a"), "sent", 2)]

    # another edit while the hook is down for the whole pass: the alert waits in the outbox
    docs["/b"].paragraphs[0] = "Officials now say the harbour will stay closed until June."
    hook.down = True
    summary = crawl(config)
    assert summary["alerts"]["pending"] == 1, summary
    assert len(hook.accepted) == 1 and hook.refused >= 2
    assert outbox(config)[1][:2] == (site.url("/b"), "pending")

    # the next pass (a new process: a restart) sends it, once; the first alert is not sent again
    hook.down = False
    summary = crawl(config)
    assert summary["alerts"] == {"sent": 1, "pending": 0}, summary
    assert [site.url("/b") in a["message"] for a in hook.accepted] == [False, True]
    assert [status for _, status, _ in outbox(config)] == ["sent", "sent"]

    # and another restart sends nothing at all
    summary = crawl(config)
    assert summary["alerts"] == {"sent": 0, "pending": 0}, summary
    assert len(hook.accepted) == 2
    assert summary["events"] == {}, summary


_DELIVER = """
import sys, time
from sqlalchemy import create_engine
from monitor.alerts import deliver_due
engine = create_engine(sys.argv[1])
time.sleep(max(0.0, float(sys.argv[2]) - time.time()))  # all senders start together
deliver_due(engine)
"""


def _pending_messages(db: str, hook: HookServer, n: int) -> None:
    from datetime import datetime

    from storage.catalog import open_catalog

    engine = open_catalog(db)
    now = datetime(2026, 1, 1)
    with Session(engine) as s, s.begin():
        s.add_all(
            OutboxMessage(
                channel=hook.url,
                title=f"alert {i}",
                body=f"message {i}",
                status="pending",
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
            for i in range(n)
        )
    engine.dispose()


def test_concurrent_senders_send_each_message_once(hook: HookServer, catalog_url):
    """Two passes (or daemon workers) finishing together deliver the same outbox: each message
    is claimed by one of them and reaches the channel exactly once (SQLite and PostgreSQL)."""
    import subprocess
    import sys
    import time

    db = catalog_url
    _pending_messages(db, hook, 30)
    start = time.time() + 3
    procs = [subprocess.Popen([sys.executable, "-c", _DELIVER, db, str(start)]) for _ in range(4)]
    for p in procs:
        assert p.wait(timeout=120) == 0
    bodies = sorted(m["message"] for m in hook.accepted)
    assert bodies == sorted(f"message {i}" for i in range(30))
    with Session(create_engine(db)) as s:
        assert set(s.scalars(select(OutboxMessage.status))) == {"sent"}
        assert set(s.scalars(select(OutboxMessage.attempts))) == {1}


def test_on_postgresql_a_claim_passes_by_a_row_another_sender_holds(hook: HookServer, pg_cluster):
    """FOR UPDATE SKIP LOCKED: while another sender's transaction holds the first due message,
    a claim takes the next one instead of waiting (a wait would hit the lock timeout and fail)."""
    from datetime import datetime

    from monitor.alerts import claim_next

    db = pg_cluster.database()
    _pending_messages(db, hook, 2)
    other = create_engine(db)
    mine = create_engine(db, connect_args={"options": "-c lock_timeout=5000"})
    try:
        with other.begin() as held:
            first = held.execute(
                select(OutboxMessage.id).order_by(OutboxMessage.id).limit(1).with_for_update()
            ).scalar_one()
            claimed = claim_next(mine, datetime(2026, 1, 1))
            assert [m.body for m in claimed] == ["message 1"] and claimed[0].id != first
        # once the other sender lets go, the first one is claimable again
        assert [m.body for m in claim_next(mine, datetime(2026, 1, 1))] == ["message 0"]
    finally:
        other.dispose()
        mine.dispose()


def test_a_message_whose_senders_keep_dying_is_sent_again_once_then_marked_unknown(
    hook: HookServer, tmp_path
):
    """A claimed message whose sender died is not sent by anyone while its lease holds, then is
    sent again once; if that sender dies too, the message is marked 'unknown' (its channel may or
    may not have it) instead of being sent blind after every crash, and `status` says so."""
    from datetime import datetime, timedelta

    from monitor.alerts import LEASE, UNKNOWN_OUTCOME, claim, deliver_due, outbox_counts

    db = f"sqlite:///{tmp_path / 'catalog.sqlite'}"
    _pending_messages(db, hook, 2)
    engine = create_engine(db)
    t0 = datetime(2026, 1, 1)
    first, _ = claim(engine, t0)  # a sender claims both, then is killed before sending
    assert deliver_due(engine, clock=lambda: t0 + LEASE / 2).sent == 0
    assert hook.accepted == []
    later = t0 + LEASE + timedelta(seconds=1)
    # the next sender takes them over, knowing the first try's fate is unknown
    taken = claim(engine, later)
    assert [(m.attempts, m.last_error.startswith(UNKNOWN_OUTCOME)) for m in taken] == [
        (2, True),
        (2, True),
    ]
    # …and is killed too: a third sender sends neither again
    after = later + LEASE + timedelta(seconds=1)
    result = deliver_due(engine, clock=lambda: after)
    assert (result.sent, result.unknown) == (0, 2)
    assert deliver_due(engine, clock=lambda: after + LEASE * 2).sent == 0
    assert hook.accepted == []
    assert outbox_counts(engine) == {"unknown": 2}
    with Session(engine) as s:
        row = s.get(OutboxMessage, first.id)
        assert (row.status, row.attempts) == ("unknown", 2)
        assert row.last_error == f"{UNKNOWN_OUTCOME} [outcome unknown 2×]"

    # `status` says so
    from tests.conftest import warcwatch

    config = tmp_path / "warcwatch.toml"
    config.write_text(f'[archive]\ndir = "{tmp_path}"\n')
    assert json.loads(warcwatch("status", "--config", str(config), "--json").stdout)["alerts"] == {
        "unknown": 2
    }
    text = warcwatch("status", "--config", str(config)).stdout
    assert (
        "alerts: 2 with unknown outcome (their sender stopped mid-delivery; not sent again)" in text
    ), text


def test_a_sender_killed_mid_delivery_leaves_one_message_unknown_and_the_next_one_resends_it_once(
    hook: HookServer, tmp_path
):
    """Each sender claims one message just before sending it: one killed while its channel holds
    the request leaves that message alone with an unknown outcome (not every message it had
    seen due), and the next delivery sends it again, once, and all the others once."""
    import os
    import signal
    import subprocess
    import sys
    import time

    db = f"sqlite:///{tmp_path / 'catalog.sqlite'}"
    _pending_messages(db, hook, 5)
    hook.hold = threading.Event()  # the webhook records the third request, then never answers it
    hook.hold_after = 2
    proc = subprocess.Popen([sys.executable, "-c", _DELIVER, db, "0"])
    while len(hook.accepted) < 3:
        assert proc.poll() is None
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    hook.hold.set()
    engine = create_engine(db)
    with Session(engine) as s:
        states = [
            tuple(r)
            for r in s.execute(
                select(OutboxMessage.status, OutboxMessage.attempts).order_by(OutboxMessage.id)
            )
        ]
    assert states == [("sent", 1), ("sent", 1), ("sending", 1), ("pending", 0), ("pending", 0)]

    from datetime import timedelta

    from monitor.alerts import LEASE, deliver_due
    from storage.catalog import utcnow

    result = deliver_due(engine, clock=lambda: utcnow() + LEASE + timedelta(seconds=1))
    assert (result.sent, result.unknown) == (3, 0)
    bodies = [m["message"] for m in hook.accepted]
    assert sorted(bodies) == sorted(
        ["message 0", "message 1", "message 2", "message 2", "message 3", "message 4"]
    )


def test_an_alert_links_to_the_diff_the_snapshot_and_the_record_and_marks_the_changed_words(
    site: SiteServer, hook: HookServer, tmp_path
):
    """With `[serve] public_url`, a change alert carries absolute links that `warcwatch serve`
    answers (the diff of the two versions, the new snapshot, the WARC record itself), the time
    in ISO 8601 UTC, and the edited words marked inside their paragraph."""
    import http.client
    import io
    from urllib.parse import urlsplit

    from warcio.archiveiterator import ArchiveIterator

    from tests.monitor.webarchive import Server

    doc = article("harbour")
    site.routes["/a"] = noisy(doc)
    config = write_config(
        tmp_path,
        [{"name": "news", "urls": [site.url("/a")]}],
        extra=f'\n[alerts]\nnotify = ["{hook.url}"]\n\n[serve]\npublic_url = "https://archive.example.org/"\n',
    )
    crawl(config)
    doc.paragraphs[1] = doc.paragraphs[1].replace("over 4 months", "over 14 months")
    crawl(config)

    [alert] = hook.accepted
    message = alert["message"]
    assert re.search(r"detected: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", message, re.M), message
    engine = create_engine(f"sqlite:///{config.parent / 'archive' / 'catalog.sqlite'}")
    with Session(engine) as s:
        [event_id] = s.scalars(select(ChangeEvent.id)).all()
    assert re.search(rf"^event: {event_id}$", message, re.M), (
        "the number a receiver drops repeats by"
    )
    # the edit is marked inside its paragraph, with the unchanged words around it for context
    assert (
        "the evidence gathered over [-4-]{+14+} months pointed to serious shortcomings" in message
    ), message
    assert doc.paragraphs[0] not in message, "an unchanged paragraph in the alert"
    links = dict(re.findall(r"^(diff|snapshot|record): (\S+)$", message, re.M))
    assert set(links) == {"diff", "snapshot", "record"}, message
    assert links["diff"].startswith("https://archive.example.org/diff?"), links
    assert links["snapshot"].startswith("https://archive.example.org/snapshot/"), links
    assert links["record"].startswith("https://archive.example.org/record/warc/"), links

    server = Server(config)
    try:

        def get(url: str) -> tuple[int, bytes]:
            parts = urlsplit(url)
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
            conn.request("GET", parts.path + (f"?{parts.query}" if parts.query else ""))
            res = conn.getresponse()
            return res.status, res.read()

        status, body = get(links["diff"])
        assert (
            status == 200
            and b"over <del>4</del> months" in body
            and b"over <ins>14</ins> months" in body
        )
        status, body = get(links["snapshot"])
        assert status == 200 and site.url("/a").encode() in body, body[:300]
        # the snapshot shown is the edited version, the one whose record is linked
        assert links["snapshot"].split("/")[4] == links["record"].split("/")[5]
        status, body = get(links["record"])
        assert status == 200
        records = [
            (r.rec_type, r.rec_headers.get_header("WARC-Target-URI"), r.content_stream().read())
            for r in ArchiveIterator(io.BytesIO(body))
        ]
        assert [r[:2] for r in records] == [("response", site.url("/a"))]
        assert b"over 14 months" in records[0][2]

        # a removal links to the last version still there, and to the 404 response as its record
        site.routes["/a"] = not_found()
        for _ in range(2):  # a removal is confirmed within one pass, or at the latest the next
            crawl(config)
            if len(hook.accepted) > 1:
                break
        [removal] = hook.accepted[1:]
        assert "Page removed" in removal["title"], removal
        gone = dict(re.findall(r"^(diff|snapshot|record): (\S+)$", removal["message"], re.M))
        assert set(gone) == {"snapshot", "record"}, removal["message"]
        # the edited version (or a later fetch of it), before the 404
        stamp = gone["snapshot"].split("/")[4]
        assert links["snapshot"].split("/")[4] <= stamp < gone["record"].split("/")[5], gone
        assert get(gone["snapshot"])[0] == 200
        status, body = get(gone["record"])
        assert status == 200
        [(kind, url, code)] = [
            (
                r.rec_type,
                r.rec_headers.get_header("WARC-Target-URI"),
                r.http_headers.get_statuscode(),
            )
            for r in ArchiveIterator(io.BytesIO(body))
        ]
        assert (kind, url, code) == ("response", site.url("/a"), "404")
    finally:
        server.stop()


class SilentHook:
    """A webhook that accepts connections and never answers, counting them."""

    def __init__(self):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)

    @property
    def url(self) -> str:
        return f"json://127.0.0.1:{self.sock.getsockname()[1]}/hook"

    def close(self) -> None:
        for conn in self.held:
            conn.close()
        self.sock.close()


def _closed_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as s:
        return s.getsockname()[1]


@pytest.mark.parametrize("down", ["refusing", "silent"])
def test_a_channel_that_is_down_is_named_in_the_crawl_summary_with_the_reason(
    site: SiteServer, tmp_path, down
):
    """A channel that refuses connections, or accepts them and never answers, is tried once per
    pass (not once per message, each waiting out its timeout), and `crawl` says in one line which
    channel is down and why; the alerts wait in the outbox."""
    from tests.conftest import warcwatch

    silent = SilentHook() if down == "silent" else None
    channel = silent.url if silent else f"json://127.0.0.1:{_closed_port()}/hook"
    docs = {p: article(p.strip("/")) for p in ("/a", "/b")}
    for path, doc in docs.items():
        site.routes[path] = noisy(doc)
    config = write_config(
        tmp_path,
        [{"name": "news", "urls": [site.url(p) for p in docs]}],
        extra=f'\n[alerts]\nnotify = ["{channel}"]\ntimeout = 1\nretry_for = 30\n',
    )
    try:
        crawl(config)
        for doc in docs.values():
            doc.paragraphs.append("The port authority issued a statement.")
        out = warcwatch("crawl", "--config", str(config), "--quiet").stdout
        reason = "timed out" if silent else "connection refused"
        lines = [line for line in out.splitlines() if line.startswith("alerts: ")]
        assert lines == [
            f"alerts: 2 queued, channel {channel} unreachable: {reason}; will retry"
        ], out
        if silent:
            assert len(silent.held) == 1, "the silent channel was tried more than once in the pass"
    finally:
        if silent:
            silent.close()
    assert [status for _, status, _ in outbox(config)] == ["pending", "pending"]
