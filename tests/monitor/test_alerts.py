"""Alerts are never lost and never sent twice: a json:// webhook on 127.0.0.1 that answers 500
before it answers 200, or is down for a whole pass, gets each alert exactly once; the outbox row
ends 'sent'; later passes (new processes, i.e. restarts) send nothing again."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from storage.models import ChangeEvent, OutboxMessage
from tests.conftest import crawl, write_config
from tests.httpserver import SiteServer
from tests.monitor.pages import article, noisy


class HookServer(ThreadingHTTPServer):
    """A webhook that fails its next `fail_next` POSTs with 500 (or all of them while `down`)."""

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Hook)
        self.fail_next = 0
        self.down = False
        self.accepted: list[dict] = []
        self.refused = 0
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
        rows = s.execute(select(ChangeEvent.url, OutboxMessage.status, OutboxMessage.attempts)
                         .join(ChangeEvent, ChangeEvent.id == OutboxMessage.event_id).order_by(OutboxMessage.id)).all()
    return [tuple(r) for r in rows]


def test_failing_webhook_gets_each_alert_exactly_once(site: SiteServer, hook: HookServer, tmp_path):
    docs = {p: article(p.strip("/")) for p in ("/a", "/b")}
    for i, (path, doc) in enumerate(docs.items()):
        site.routes[path] = noisy(doc, seed=i)
    config = write_config(tmp_path, [{"name": "news", "urls": [site.url(p) for p in docs]}],
                          extra=f'\n[alerts]\nnotify = ["{hook.url}"]\nretry_for = 2\n')

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
    assert "Page changed" in alert["title"] and "Inquiry into a publishes its findings" in alert["title"]
    assert site.url("/a") in alert["message"] and "+ The minister resigned on Friday evening." in alert["message"]
    assert "Last updated" not in alert["message"], "template noise in the alert"
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
        s.add_all(OutboxMessage(channel=hook.url, title=f"alert {i}", body=f"message {i}", status="pending",
                                attempts=0, next_attempt_at=now, created_at=now) for i in range(n))
    engine.dispose()


def test_concurrent_senders_send_each_message_once(hook: HookServer, tmp_path):
    """Two passes (or daemon workers) finishing together deliver the same outbox: each message
    is claimed by one of them and reaches the channel exactly once."""
    import subprocess
    import sys
    import time

    db = f"sqlite:///{tmp_path / 'catalog.sqlite'}"
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


def test_a_sender_killed_mid_delivery_leaves_a_claim_taken_over_once_its_lease_ends(hook: HookServer, tmp_path):
    """A claimed message whose sender died is not sent by anyone while its lease holds, then is
    sent once by the next delivery, with the unknown first outcome recorded."""
    from datetime import datetime, timedelta

    from monitor.alerts import LEASE, UNKNOWN_OUTCOME, claim, deliver_due

    db = f"sqlite:///{tmp_path / 'catalog.sqlite'}"
    _pending_messages(db, hook, 1)
    engine = create_engine(db)
    t0 = datetime(2026, 1, 1)
    assert len(claim(engine, t0)) == 1  # a sender claims it, then is killed before sending
    assert deliver_due(engine, clock=lambda: t0 + LEASE / 2).sent == 0
    assert hook.accepted == []
    later = t0 + LEASE + timedelta(seconds=1)
    (taken,) = claim(engine, later)  # the next sender takes it over, knowing the first try's fate is unknown
    assert (taken.attempts, taken.last_error) == (2, UNKNOWN_OUTCOME)
    after = later + LEASE + timedelta(seconds=1)  # …and is killed too; a third one sends it
    assert deliver_due(engine, clock=lambda: after).sent == 1
    assert deliver_due(engine, clock=lambda: after + LEASE * 2).sent == 0
    assert len(hook.accepted) == 1
    with Session(engine) as s:
        row = s.scalars(select(OutboxMessage)).one()
        assert (row.status, row.attempts) == ("sent", 3)
