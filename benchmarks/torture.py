"""kill -9 torture: the daemon (`warcwatch run`), one of its workers and a WARC writer, each killed
N times at random moments while a `warcwatch crawl` runs beside the daemon on the same archive,
against a local site whose pages are slow enough that every kill lands mid-pass. After each kill
what died is started again (the daemon; the crawl once it has ended). At the end the daemon is
stopped, `warcwatch repair` is run, and the archive is checked:

- corrupt files: WARC files warcio cannot read to the end, every digest checked;
- rows lost: capture rows seen in the catalog at any time during the torture that are gone at
  the end (repair removed them, or they never were);
- records uncatalogued: response/revisit/request records with no catalog row (and doubled rows,
  rows pointing at no record, files without their `warc_files` row);
- stale `.open` files: WARC files left `.open` that no live process holds, at the end (and the
  most seen at once during the torture, with how long the oldest had been stale).

    python benchmarks/torture.py --kills 20 --write

The checks are tests.storage.crashes.agreement, the ones the crash tests use.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.machine import describe  # noqa: E402
from tests.storage.crashes import agreement, holders, sql  # noqa: E402

DELAY = 0.15  # seconds per page: a daemon pass takes a second or two, the crawl beside ~10 s


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):  # noqa: N802
        time.sleep(DELAY)
        n = int(self.path.strip("/").removeprefix("p") or "0")
        # a third of the pages change every 20 s (responses), a third answer conditional GETs
        # (304 revisits), the rest stay the same (identical-payload revisits)
        version = int(time.time() // 20) if n % 3 == 0 else 0
        body = (
            f"<html><body><article><p>statement {n}</p><p>version {version}</p></article></body"
            "></html>"
        ).encode()
        etag = f'"p{n}-{version}"'
        if n % 3 == 1 and self.headers.get("If-None-Match") == etag:
            self.send_response(304)
            self.send_header("ETag", etag)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        if n % 3 == 1:
            self.send_header("ETag", etag)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256

    def handle_error(self, request, client_address) -> None:
        pass  # a killed crawl leaves broken pipes behind: expected here, not worth a traceback


def _serve(port_q) -> None:
    server = _Server(("127.0.0.1", 0), _Handler)
    port_q.put(server.server_address[1])
    server.serve_forever()


def _watchlist(work: Path, port: int, targets: int, pages: int, beside_pages: int) -> Path:
    lines = [
        "[archive]",
        'dir = "archive"',
        "[crawl]",
        "obey_robots = false",
        "autothrottle = false",
        "download_timeout = 20",
        "retries = 0",
        "concurrency_per_host = 2",
    ]
    for i in range(targets):
        urls = ", ".join(f'"http://127.0.0.1:{port}/p{i * pages + j}"' for j in range(pages))
        lines += ["", "[[targets]]", f'name = "d{i}"', f"urls = [{urls}]", 'every = "3s"']
    urls = ", ".join(f'"http://127.0.0.1:{port}/p{1000 + j}"' for j in range(beside_pages))
    lines += ["", "[[targets]]", 'name = "beside"', f"urls = [{urls}]"]  # no schedule: the crawl's
    config = work / "warcwatch.toml"
    config.write_text("\n".join(lines) + "\n")
    return config


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _pgid(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except ProcessLookupError:
        return None


def _workers() -> list[int]:
    """Live `warcwatch _worker` processes of this torture (the daemon's, and orphans of a killed
    daemon), by their command line."""
    return [
        int(p.name)
        for p in Path("/proc").iterdir()
        if p.name.isdigit()
        and " _worker --config " in _cmdline(int(p.name))
        and _MARK in _cmdline(int(p.name))
    ]


_MARK = ""  # the watchlist path: tells our processes from anyone else's


class Torture:
    def __init__(self, work: Path, config: Path, workers: int):
        self.work, self.config, self.workers = work, config, workers
        self.archive = work / "archive"
        self.warc_dir, self.db = self.archive / "warcs", self.archive / "catalog.sqlite"
        self.daemon: subprocess.Popen | None = None
        self.crawl: subprocess.Popen | None = None
        self.daemon_starts = 0
        self.crawls = Counter()  # exit codes of the crawls beside
        self.seen: set[int] = set()  # capture ids ever seen
        self.stale_max = 0
        self.stale_since: dict[str, float] = {}
        self.stale_longest = 0.0
        self.kills = Counter()
        self.writer_kills = Counter()  # whose writer: crawl | daemon

    # --- processes ---------------------------------------------------------------------------

    def start_daemon(self) -> None:
        out = open(self.work / "daemon.out", "ab")
        self.daemon = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "monitor.cli",
                "run",
                "--config",
                str(self.config),
                "--workers",
                str(self.workers),
            ],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        out.close()
        self.daemon_starts += 1
        log = self.archive / "warcwatch.log"
        self._wait(
            lambda: (
                log.exists()
                and log.read_text(errors="replace").count("daemon.start pid=") >= self.daemon_starts
            ),
            60,
            "the daemon to start",
        )

    def keep_crawling(self) -> None:
        if self.crawl is not None and self.crawl.poll() is None:
            return
        if self.crawl is not None:
            self.crawls[self.crawl.returncode] += 1
        out = open(self.work / "crawl.out", "ab")
        self.crawl = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "monitor.cli",
                "crawl",
                "--config",
                str(self.config),
                "--target",
                "beside",
            ],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        out.close()

    def _wait(self, what, timeout: float, label: str):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = what()
            if value:
                return value
            time.sleep(0.1)
        raise SystemExit(f"timed out waiting for {label}; see {self.work}")

    def observe(self) -> None:
        """What the catalog holds now, and which `.open` files nobody holds."""
        self.seen.update(i for (i,) in sql(self.db, "SELECT id FROM captures"))
        held = {p.name for paths in holders(self.warc_dir).values() for p in paths}
        now = time.monotonic()
        stale = (
            {p.name for p in self.warc_dir.glob("*.open")} - held
            if self.warc_dir.exists()
            else set()
        )
        # a file just opened may not be held yet when listed: count it stale on its second sighting
        for name in list(self.stale_since):
            if name not in stale:
                del self.stale_since[name]
        for name in stale:
            self.stale_since.setdefault(name, now)
        lasting = [n for n, t in self.stale_since.items() if now - t > 1.0]
        self.stale_max = max(self.stale_max, len(lasting))
        if self.stale_since:
            self.stale_longest = max(self.stale_longest, now - min(self.stale_since.values()))

    # --- victims ------------------------------------------------------------------------------

    def victim(self, kind: str) -> int | None:
        if kind == "daemon":
            return self.daemon.pid if self.daemon and self.daemon.poll() is None else None
        # a WARC writer holds its `.open` file; so, for a moment, does the daemon repairing a dead
        # writer's file (monitor.daemon.repairs): that one is no writer to kill
        writers = set(holders(self.warc_dir)) - {self.daemon.pid if self.daemon else -1}
        if kind == "writer":
            return random.choice(sorted(writers)) if writers else None
        busy = {_pgid(w) for w in writers}  # a worker and its writer share a process group
        candidates = [w for w in _workers() if w in busy]
        return random.choice(candidates) if candidates else None

    def kill(self, kind: str) -> None:
        pid = self._wait(lambda: self.victim(kind), 120, f"a {kind} to kill")
        time.sleep(random.uniform(0.2, 1.5))  # somewhere in the middle of its pass
        if kind == "writer":
            whose = "crawl" if self.crawl and _pgid(pid) == self.crawl.pid else "daemon"
        self.observe()
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            return self.kill(kind)  # it ended meanwhile: pick another
        self.kills[kind] += 1
        if kind == "writer":
            self.writer_kills[whose] += 1
        if kind == "daemon":
            self.daemon.wait(10)
            time.sleep(random.uniform(0.5, 2.0))  # its orphaned workers write on meanwhile
            self.observe()
            self.start_daemon()
        time.sleep(0.5)
        self.observe()

    def stop(self) -> int:
        if self.crawl is not None:
            code = self.crawl.wait(300)
            self.crawls[code] += 1
        self.daemon.send_signal(signal.SIGTERM)
        code = self.daemon.wait(300)
        for pid in _workers():  # orphans of a killed daemon finish their pass and exit
            self._wait(
                lambda pid=pid: not Path(f"/proc/{pid}").exists(), 120, f"worker {pid} to exit"
            )
        return code


def main() -> None:
    global _MARK
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--kills", type=int, default=20, help="kill -9s of each kind")
    ap.add_argument("--targets", type=int, default=4, help="daemon targets, every 3 s")
    ap.add_argument("--pages", type=int, default=12, help="pages per daemon target")
    ap.add_argument("--beside", type=int, default=120, help="pages of the crawl beside the daemon")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=9)
    ap.add_argument(
        "--write", action="store_true", help="append the figures to benchmarks/RESULTS-torture.md"
    )
    args = ap.parse_args()
    random.seed(args.seed)
    machine = describe()

    port_q = mp.Queue()
    server = mp.Process(target=_serve, args=(port_q,), daemon=True)
    server.start()
    port = port_q.get(timeout=10)
    work = Path(tempfile.mkdtemp(prefix="warcwatch-torture-"))
    config = _watchlist(work, port, args.targets, args.pages, args.beside)
    _MARK = str(config)
    t = Torture(work, config, args.workers)
    started = time.time()
    t.start_daemon()
    order = ["daemon", "worker", "writer"] * args.kills
    random.shuffle(order)
    try:
        for i, kind in enumerate(order, 1):
            t.keep_crawling()
            t.kill(kind)
            print(
                f"{time.time() - started:6.0f}s  kill {i:3d}/{len(order)}  {kind:6s}  "
                f"captures seen {len(t.seen)}  stale .open now {len(t.stale_since)}",
                flush=True,
            )
        daemon_exit = t.stop()
    finally:
        for p in (t.daemon, t.crawl):
            if p is not None and p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
        server.terminate()
    before = agreement(t.archive)
    t.observe()
    repair = subprocess.run(
        [sys.executable, "-m", "monitor.cli", "repair", "--config", str(config), "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    report = (
        json.loads(repair.stdout) if repair.returncode == 0 else {"error": repair.stderr.strip()}
    )
    after = agreement(t.archive)
    final_ids = {i for (i,) in sql(t.db, "SELECT id FROM captures")}
    log = (t.archive / "warcwatch.log").read_text(errors="replace")
    result = {
        "kills": dict(t.kills),
        "writer_kills": dict(t.writer_kills),
        "daemon_starts": t.daemon_starts,
        "crawls_beside": dict(Counter({str(k): v for k, v in t.crawls.items()})),
        "seconds": round(time.time() - started),
        "daemon_exit": daemon_exit,
        "files": len(list(t.warc_dir.glob("*.warc.gz"))),
        "records": after.records,
        "rows": after.rows,
        "corrupt_files": len(after.corrupt),
        "rows_lost": len(t.seen - final_ids),
        "records_uncatalogued": len(after.uncatalogued),
        "rows_doubled": len(after.doubled),
        "rows_dangling": len(after.dangling),
        "files_without_row": len(after.files_without_row),
        "stale_open_files": len(after.stale_open),
        "runs_left_running": sql(t.db, "SELECT count(*) FROM crawl_runs WHERE status = 'running'")[
            0
        ][0],
        "before_final_repair": {
            "stale_open_files": len(before.stale_open),
            "records_uncatalogued": len(before.uncatalogued),
            "rows_dangling": len(before.dangling),
        },
        "during": {
            "stale_open_max_at_once": t.stale_max,
            "stale_open_longest_s": round(t.stale_longest, 1),
            "daemon_repairs_logged": log.count("daemon.repair "),
            "orphans_removed_by_repairs": sum(
                int(x.split("orphans=")[1].split()[0])
                for x in log.splitlines()
                if "daemon.repair " in x and "orphans=" in x  # a mid-run repair names what it did
            ),
            "records_recatalogued_by_daemon": sum(
                int(x.split("recatalogued=")[1].split()[0])
                for x in log.splitlines()
                if "recatalogued=" in x
            ),
        },
        "final_repair": {
            "files_closed": len(report.get("files", [])),
            "orphans": len(report.get("orphans", [])),
            "records_recatalogued": sum(
                r["captures"] + r["requests"] for r in report.get("recatalogued", [])
            ),
            "runs_interrupted": len(report.get("interrupted_runs", [])),
        },
        "work": str(work),
    }
    if after.corrupt:
        result["corrupt"] = after.corrupt[:5]
    print(json.dumps(result, indent=1))
    if args.write:
        out = ROOT / "benchmarks" / "RESULTS-torture.md"
        text = (
            out.read_text()
            if out.exists()
            else "# kill -9 torture results (`benchmarks/torture.py`)\n"
        )
        text += (
            f"\n## {datetime.now(UTC):%Y-%m-%d %H:%M} UTC — {args.kills} kills of each kind\n\n"
            f"Machine: {machine}.\n"
            f"`python benchmarks/torture.py --kills {args.kills} --targets {args.targets} "
            f"--pages {args.pages}"
            f" --beside {args.beside} --workers {args.workers} --seed {args.seed}`\n\n"
            "```json\n" + json.dumps(result, indent=1) + "\n```\n"
        )
        out.write_text(text)


if __name__ == "__main__":
    main()
