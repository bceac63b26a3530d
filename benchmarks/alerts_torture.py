"""Alerts under torture (issue 9, "Figures"): a daemon with `--workers 3` watching targets whose
pages change, a json:// webhook on 127.0.0.1 that answers 500 for a while, then is down (connection
refused), then recovers, and kill -9s of the worker that is sending, while the webhook holds its
request. Counts, per outbox message, how often the webhook received it: duplicates and losses.

    python benchmarks/alerts_torture.py --duration 180 --write

After the daemon stops, one more delivery runs with the clock moved past the claim lease (as the
next pass would, minutes later), so messages whose sender was killed get their one resend.

Duplicates are split by cause: a kill between the webhook's reading a message and the sender's
recording it as sent leaves its outcome unknown, and the message is sent again once by design (an
at-least-once window no sender can close without the channel's help); any other duplicate (two
senders of one message) is a bug. Losses: messages the webhook never received, and events without
an outbox row. Run by hand, not in the suite.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.machine import describe  # noqa: E402

PERIOD = 10.0  # seconds between edits of one page
# what an edit changes: words, not a number (a changing number is learned as a counter, i.e. noise)
WORDS = (
    "resume",
    "stall",
    "collapse",
    "restart",
    "widen",
    "narrow",
    "pause",
    "move abroad",
    "go public",
    "close",
    "reopen",
    "split",
    "merge",
    "slow down",
    "speed up",
    "end",
    "begin again",
    "drift",
    "harden",
    "soften",
    "falter",
    "recover",
    "expand",
    "shrink",
    "continue",
    "break off",
)
HOLD = 0.4  # seconds the webhook holds its answer: the window a kill lands in


class _Site(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):  # noqa: N802
        n = int(self.path.strip("/").removeprefix("p") or 0)
        version = int((time.time() + n * PERIOD / 7) // PERIOD)  # pages change at staggered times
        body = (
            f"<html><head><title>statement {n}</title></head><body><article><h1>Statement {n}</h1>"
            f"<p>The ministry said that talks on item {n} will {WORDS[version % len(WORDS)]}.</p>"
            f"<p>Background that does not change for item {n}.</p></article></body></html>"
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class Hook:
    """The webhook: its phase decides the answer (`ok`, `fail`: 500, `down`: not listening)."""

    def __init__(self):
        self.port = 0
        self.phase = "ok"
        self.received: list[tuple[str, str]] = []  # (title, message) of every request read while up
        self.refused = 0
        self.lock = threading.Lock()
        self.on_hold: dict[
            int, tuple[str, str]
        ] = {}  # client port → message, of requests held right now
        self.server: ThreadingHTTPServer | None = None
        self.up()

    def up(self) -> None:
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                data = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                if hook.phase == "fail":
                    with hook.lock:
                        hook.refused += 1
                    self.send_response(500)
                else:
                    with hook.lock:
                        hook.received.append((data.get("title", ""), data.get("message", "")))
                        hook.on_hold[self.client_address[1]] = (
                            data.get("title", ""),
                            data.get("message", ""),
                        )
                    time.sleep(HOLD)
                    with hook.lock:
                        hook.on_hold.pop(self.client_address[1])
                    self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def down(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _tree(pid: int) -> list[int]:
    out = [pid]
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            for c in (task / "children").read_text().split():
                out += _tree(int(c))
        except OSError:
            continue
    return out


def _sender_of(client_port: int, hook_port: int, pids: list[int]) -> int | None:
    """The process owning the TCP connection 127.0.0.1:client_port → the webhook."""
    want = f"0100007F:{client_port:04X} 0100007F:{hook_port:04X}"
    inode = None
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if f"{fields[1]} {fields[2]}" == want:
            inode = fields[9]
            break
    if inode is None:
        return None
    for pid in pids:
        try:
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                if os.readlink(fd) == f"socket:[{inode}]":
                    return pid
        except OSError:
            continue
    return None


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--targets", type=int, default=6)
    ap.add_argument("--every", type=float, default=3)
    ap.add_argument("--duration", type=float, default=180, help="seconds of daemon run time")
    ap.add_argument("--kills", type=int, default=12, help="kill -9s of the sending worker at most")
    ap.add_argument(
        "--write", action="store_true", help="append the figures to benchmarks/RESULTS-alerts.md"
    )
    args = ap.parse_args()
    machine = describe()

    site = ThreadingHTTPServer(("127.0.0.1", 0), _Site)
    site.daemon_threads = True
    threading.Thread(target=site.serve_forever, daemon=True).start()
    sport = site.server_address[1]
    hook = Hook()
    work = Path(tempfile.mkdtemp(prefix="warcwatch-bench-alerts-"))
    lines = [
        "[archive]",
        'dir = "archive"',
        "[crawl]",
        "obey_robots = false",
        "autothrottle = false",
        "download_timeout = 5",
        "retries = 0",
        "[alerts]",
        f'notify = ["json://127.0.0.1:{hook.port}/hook"]',
        "retry_for = 5",
        "timeout = 2",
    ]
    for i in range(args.targets):
        lines += [
            "",
            "[[targets]]",
            f'name = "t{i}"',
            f'url = "http://127.0.0.1:{sport}/p{i}"',
            f'every = "{args.every:g}s"',
        ]
    config = work / "warcwatch.toml"
    config.write_text("\n".join(lines) + "\n")
    log = open(work / "daemon.out", "wb")
    daemon = subprocess.Popen(
        [sys.executable, "-m", "monitor.cli", "run", "--workers", "3", "--config", str(config)],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    # phases: ok, then 500s, then down (connection refused), then ok again until the end
    third = args.duration / 6
    phases = [(0, "ok"), (2 * third, "fail"), (3 * third, "down"), (4 * third, "ok")]
    started = time.time()
    kills: list[dict] = []
    killed_ports: set[int] = set()
    killed_keys: set[tuple[str, str]] = set()  # messages whose sender was killed
    seen_requests = 0
    try:
        while (elapsed := time.time() - started) < args.duration:
            phase = [p for t, p in phases if elapsed >= t][-1]
            if phase != hook.phase:
                if hook.phase == "down":
                    hook.up()
                hook.phase = phase
                if phase == "down":
                    hook.down()
                print(f"{elapsed:6.1f}s webhook {phase}", flush=True)
            with hook.lock:
                held = [(p, key) for p, key in hook.on_hold.items() if p not in killed_ports]
                n = len(hook.received)
            # kill the sender of every other request received, while the webhook holds it
            if held and len(kills) < args.kills and n >= seen_requests + 2:
                pid = _sender_of(held[0][0], hook.port, _tree(daemon.pid)[1:])
                if pid is not None:
                    os.kill(pid, signal.SIGKILL)
                    killed_ports.add(held[0][0])
                    killed_keys.add(held[0][1])
                    seen_requests = n
                    kills.append({"at": round(elapsed, 1), "pid": pid, "request": n})
                    print(f"{elapsed:6.1f}s kill -9 {pid} (sending request {n})", flush=True)
            if daemon.poll() is not None:
                raise SystemExit(f"daemon exited {daemon.returncode}; see {work / 'daemon.out'}")
            time.sleep(0.02)
    finally:
        daemon.send_signal(signal.SIGTERM)
        code = daemon.wait(120)

    # minutes later: the claims of killed senders have run out; the next delivery resends them once
    from sqlalchemy import create_engine

    from monitor.alerts import LEASE, deliver_due
    from storage.catalog import utcnow

    if hook.phase == "down":
        hook.up()
    hook.phase = "ok"
    engine = create_engine(f"sqlite:///{work / 'archive' / 'catalog.sqlite'}")
    later = timedelta(0)
    for _ in range(5):
        later += LEASE + timedelta(seconds=1)
        deliver_due(engine, clock=lambda shift=later: utcnow() + shift)
    engine.dispose()

    db = sqlite3.connect(work / "archive" / "catalog.sqlite")
    rows = db.execute("SELECT id, title, body, status, attempts, last_error FROM outbox").fetchall()
    events = db.execute("SELECT count(*) FROM events").fetchone()[0]
    orphans = db.execute(
        "SELECT count(*) FROM events e WHERE NOT EXISTS "
        "(SELECT 1 FROM outbox o WHERE o.event_id = e.id)"
    ).fetchone()[0]
    got = Counter(hook.received)
    by_key = {(t, b) for _, t, b, _, _, _ in rows}
    dup_kill = dup_other = lost = 0
    for key in by_key:
        n = got.get(key, 0)
        if n == 0:
            lost += 1
        elif n > 1:
            if key in killed_keys:
                dup_kill += n - 1
            else:
                dup_other += n - 1
    strays = sum(n for k, n in got.items() if k not in by_key)
    statuses = Counter(st for _, _, _, st, _, _ in rows)
    runs = Counter(o for (o,) in db.execute("SELECT outcome FROM daemon_runs"))
    result = {
        "targets": args.targets,
        "every_s": args.every,
        "workers": 3,
        "duration_s": round(args.duration),
        "events": events,
        "outbox_messages": len(rows),
        "events_without_message": orphans,
        "webhook_requests_received": len(hook.received),
        "webhook_500s": hook.refused,
        "kills_during_delivery": len(kills),
        "daemon_runs": dict(runs),
        "outbox_states": dict(statuses),
        "duplicates_two_senders": dup_other,
        "duplicates_resent_after_kill_mid_delivery": dup_kill,
        "losses": lost + orphans,
        "received_not_in_outbox": strays,
        "daemon_exit": code,
    }
    print(json.dumps(result, indent=1))
    if args.write:
        _write(result, machine)


def _write(result: dict, machine: str) -> None:
    out = ROOT / "benchmarks" / "RESULTS-alerts.md"
    text = (
        out.read_text()
        if out.exists()
        else "# Alerts torture results (`benchmarks/alerts_torture.py`)\n"
    )
    text += (
        f"\n## {datetime.now(UTC):%Y-%m-%d %H:%M} UTC — {result['targets']} targets every "
        f"{result['every_s']:g} s, --workers 3, {result['duration_s']} s\n\nMachine: {machine}.\n\n"
        "```json\n" + json.dumps(result, indent=1) + "\n```\n"
    )
    out.write_text(text)


if __name__ == "__main__":
    main()
