"""Benchmark of the daemon (`warcwatch run`): N targets on a loopback site, each every S seconds,
for D seconds. Reports runs per minute sustained, scheduling lateness (start − due time, p50/p99),
runs skipped because the previous one was still going, and the RSS of the daemon and of the whole
process tree at start and end.

    python benchmarks/daemon.py --targets 1000 --every 10 --duration 240 --write

Goals (issue 5): no RSS growth after warm-up, p99 lateness under 2 s.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.machine import cpu_model  # noqa: E402

PAGES = 50  # distinct pages on the site; targets share them round-robin


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):  # noqa: N802
        n = self.path.strip("/").removeprefix("p") or "0"
        body = (
            f"<html><head><title>page {n}</title></head><body><article><p>statement {n}</p>"
            f"<p>minute {int(time.time() // 60)}</p></article></body></html>".encode()
        )
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = (
        1024  # the default backlog (5) drops SYNs when a pass opens 100s of connections
    )


def _serve(port_q) -> None:
    server = _Server(("127.0.0.1", 0), _Handler)
    port_q.put(server.server_address[1])
    server.serve_forever()


def _rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _tree(pid: int) -> list[int]:
    out = [pid]
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            for c in (task / "children").read_text().split():
                out += _tree(int(c))
        except OSError:
            continue
    return out


def _pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--targets", type=int, default=1000)
    ap.add_argument("--every", type=float, default=10)
    ap.add_argument("--duration", type=float, default=240, help="seconds of daemon run time")
    ap.add_argument(
        "--warmup", type=float, default=60, help="seconds left out of the sustained figures"
    )
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument(
        "--write", action="store_true", help="append the figures to benchmarks/RESULTS-daemon.md"
    )
    args = ap.parse_args()

    port_q = mp.Queue()
    server = mp.Process(target=_serve, args=(port_q,), daemon=True)
    server.start()
    port = port_q.get(timeout=10)
    work = Path(tempfile.mkdtemp(prefix="warcwatch-bench-daemon-"))
    lines = [
        "[archive]",
        'dir = "archive"',
        "[crawl]",
        "obey_robots = false",
        "autothrottle = false",
        "download_timeout = 10",
        "retries = 0",
    ]
    for i in range(args.targets):
        lines += [
            "",
            "[[targets]]",
            f'name = "t{i:05d}"',
            f'url = "http://127.0.0.1:{port}/p{i % PAGES}"',
            f'every = "{args.every:g}s"',
        ]
    config = work / "warcwatch.toml"
    config.write_text("\n".join(lines) + "\n")
    cmd = [sys.executable, "-m", "monitor.cli", "run", "--config", str(config)]
    if args.workers:
        cmd += ["--workers", str(args.workers)]
    log = open(work / "daemon.out", "wb")
    started = time.time()
    daemon = subprocess.Popen(
        cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    samples = []  # (seconds since start, daemon RSS kB, tree RSS kB, processes)
    try:
        while time.time() - started < args.duration:
            time.sleep(5)
            if daemon.poll() is not None:
                raise SystemExit(f"daemon exited {daemon.returncode}; see {work / 'daemon.out'}")
            tree = _tree(daemon.pid)
            samples.append(
                (
                    time.time() - started,
                    _rss_kb(daemon.pid),
                    sum(_rss_kb(p) for p in tree),
                    len(tree),
                )
            )
            print(
                f"{samples[-1][0]:6.0f}s  daemon RSS {samples[-1][1] / 1024:6.1f} MB  "
                f"tree {samples[-1][2] / 1024:7.1f} MB"
                f"  processes {samples[-1][3]}",
                flush=True,
            )
    finally:
        daemon.send_signal(signal.SIGTERM)
        code = daemon.wait(120)
        server.terminate()
    stopped = time.time()

    db = sqlite3.connect(work / "archive" / "catalog.sqlite")
    rows = db.execute(
        "SELECT target, scheduled_at, started_at, finished_at, outcome FROM daemon_runs"
    ).fetchall()

    def ts(s):
        return datetime.fromisoformat(s).replace(tzinfo=UTC).timestamp()

    steady_from = started + args.warmup
    steady = [r for r in rows if ts(r[2]) >= steady_from and ts(r[2]) < stopped - 5]
    window_min = (stopped - 5 - steady_from) / 60
    late = [ts(r[2]) - ts(r[1]) for r in steady]
    ok = [r for r in steady if r[4] == "ok"]
    durations = [ts(r[3]) - ts(r[2]) for r in steady if r[3]]
    outcomes: dict[str, int] = {}
    for r in rows:
        outcomes[r[4]] = outcomes.get(r[4], 0) + 1
    logtext = (work / "archive" / "warcwatch.log").read_text(errors="replace")
    skipped = logtext.count("run.skip ")
    batches = [
        int(x.split("batch=")[1].split()[0]) for x in logtext.splitlines() if "run.start " in x
    ]
    leftovers = list((work / "archive" / "warcs").glob("*.open"))
    warm = [s for s in samples if s[0] >= args.warmup]
    result = {
        "targets": args.targets,
        "every_s": args.every,
        "duration_s": round(stopped - started),
        "warmup_s": args.warmup,
        "scheduled_runs_per_min": round(args.targets * 60 / args.every),
        "runs_per_min_sustained": round(len(steady) / window_min, 1) if window_min > 0 else None,
        "ok_runs_per_min_sustained": round(len(ok) / window_min, 1) if window_min > 0 else None,
        "lateness_p50_s": round(_pct(late, 50), 3),
        "lateness_p99_s": round(_pct(late, 99), 3),
        "lateness_max_s": round(max(late), 3) if late else None,
        "pass_seconds_p50": round(_pct(durations, 50), 2),
        "pass_seconds_p99": round(_pct(durations, 99), 2),
        "targets_per_pass_mean": round(statistics.mean(batches), 1) if batches else None,
        "skipped_still_running": skipped,
        "outcomes": outcomes,
        "daemon_rss_mb_first": round(samples[0][1] / 1024, 1) if samples else None,
        "daemon_rss_mb_after_warmup": round(warm[0][1] / 1024, 1) if warm else None,
        "daemon_rss_mb_end": round(samples[-1][1] / 1024, 1) if samples else None,
        "tree_rss_mb_after_warmup": round(warm[0][2] / 1024, 1) if warm else None,
        "tree_rss_mb_end": round(samples[-1][2] / 1024, 1) if samples else None,
        "tree_rss_mb_max": round(max(s[2] for s in samples) / 1024, 1) if samples else None,
        "exit_code": code,
        "open_warcs_left": len(leftovers),
    }
    print(json.dumps(result, indent=1))
    if args.write:
        _write(result, samples)


def _write(result: dict, samples: list) -> None:
    cpu = cpu_model()
    load = os.getloadavg()
    out = ROOT / "benchmarks" / "RESULTS-daemon.md"
    text = (
        out.read_text() if out.exists() else "# Daemon benchmark results (`benchmarks/daemon.py`)\n"
    )
    text += (
        f"\n## {datetime.now(UTC):%Y-%m-%d %H:%M} UTC — {result['targets']} targets "
        f"every {result['every_s']:g} s, "
        f"{result['duration_s']} s\n\n"
        f"Machine: {os.cpu_count()} CPUs ({cpu}), "
        f"Python {platform.python_version()}, {platform.system()} "
        f"{platform.release()}; load average at the end {load[0]:.1f} / {load[1]:.1f} "
        f"/ {load[2]:.1f}.\n\n"
        "```json\n" + json.dumps(result, indent=1) + "\n```\n\n"
        "RSS samples (s, daemon MB, whole tree MB, processes): "
        + ", ".join(
            f"({s[0]:.0f}, {s[1] / 1024:.0f}, {s[2] / 1024:.0f}, {s[3]})"
            for s in samples[:: max(1, len(samples) // 12)]
        )
        + "\n"
    )
    out.write_text(text)


if __name__ == "__main__":
    main()
