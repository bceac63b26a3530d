#!/usr/bin/env python
"""The HTTP API's nearest-capture lookup (issue 6, Benchmark): `GET /api/show?url=&at=` of
`warcwatch serve`, through one keep-alive client, over the synthetic catalog of benchmarks/lookup.py
(1,000,000 captures over 100,000 URLs, plus one URL with 10,000 captures and one with 1).

    python benchmarks/api.py --dir /tmp/bench   # build or reuse the catalog, measure, write results
    python benchmarks/api.py --urls 10000 --no-write

For each URL size (1, 10, 10,000 captures) it sends --queries random (URL, time) asks, after a
warm-up, on one `http.client.HTTPConnection` (HTTP/1.1 keep-alive), and reports p50/p99 of the
round trip as the client sees it. The server is `warcwatch serve` itself (uvicorn, which sets
TCP_NODELAY); `--http h11` runs the same app on uvicorn's pure-Python HTTP parser for comparison.
`measure()` runs on the catalog benchmarks/lookup.py's `build` makes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import random
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.lookup import HOT, SINGLE, build, percentiles, ts_of, url_of  # noqa: E402
from benchmarks.machine import describe  # noqa: E402

RESULTS = ROOT / "benchmarks" / "RESULTS-api.md"
_LAUNCH = """
import sys, uvicorn
from monitor.config import load_config
from monitor.web.app import create_app
app = create_app(load_config(sys.argv[1]))
config = uvicorn.Config(app, host="127.0.0.1", port=0, http=sys.argv[2], log_level="warning",
                        access_log=False, lifespan="off")
server = uvicorn.Server(config)
import socket
sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
sock.bind(("127.0.0.1", 0))
sock.listen(128)
print("serving http://127.0.0.1:%d/" % sock.getsockname()[1], file=sys.stderr, flush=True)
server.run(sockets=[sock])
"""


def _start(config: Path, http_impl: str) -> tuple[subprocess.Popen, int]:
    if http_impl == "serve":
        cmd = [sys.executable, "-m", "monitor.cli", "serve", "--config", str(config), "--port", "0"]
    else:
        cmd = [sys.executable, "-c", _LAUNCH, str(config), http_impl]
    proc = subprocess.Popen(cmd, cwd=ROOT, stderr=subprocess.PIPE, text=True)
    line = proc.stderr.readline()
    if "serving http://" not in line:
        proc.kill()
        raise SystemExit(f"the server did not start: {line}{proc.stderr.read()}")
    threading.Thread(target=proc.stderr.read, daemon=True).start()
    return proc, int(line.split("serving http://127.0.0.1:", 1)[1].split("/")[0])


def _which_parser() -> str:
    try:
        import httptools  # noqa: F401

        return "httptools"
    except ImportError:
        return "h11"


def measure(
    workdir: Path, urls: int, queries: int = 2_000, http_impl: str = "serve"
) -> dict[str, tuple[float, float]]:
    """p50/p99 seconds of `/api/show` per URL size, one keep-alive client."""
    config = workdir / "bench-serve.toml"
    config.write_text(f'[archive]\ndir = "{workdir}"\n')
    proc, port = _start(config, http_impl)
    label = {
        "serve": f"`warcwatch serve` ({_which_parser()})",
        "h11": "uvicorn h11 parser",
        "httptools": "uvicorn httptools parser",
    }[http_impl]
    results: dict[str, tuple[float, float]] = {}
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port)
        rng = random.Random(6)

        def ask(url: str, at: str) -> float:
            t0 = time.perf_counter()
            conn.request("GET", "/api/show?" + urlencode({"url": url, "at": at}))
            res = conn.getresponse()
            body = res.read()
            took = time.perf_counter() - t0
            if res.status != 200:
                raise SystemExit(f"/api/show {url} {at}: {res.status} {body[:200]!r}")
            return took

        for _ in range(300):  # warm-up: connections, statement cache, page cache
            ask(url_of(rng.randrange(urls)), ts_of(rng.randrange(40_000_000)))
        cases = [
            ("1 capture", lambda r: SINGLE),
            ("10 captures", lambda r: url_of(r.randrange(urls))),
            ("10,000 captures", lambda r: HOT),
        ]
        for name, pick in cases:
            samples = [ask(pick(rng), ts_of(rng.randrange(40_000_000))) for _ in range(queries)]
            results[f"HTTP API keep-alive, {label}, URL with {name}"] = percentiles(samples)
        # the answer is the contract's capture shape
        conn.request("GET", "/api/show?" + urlencode({"url": HOT, "at": "2020-06"}))
        shown = json.loads(conn.getresponse().read())
        assert set(shown) >= {
            "url",
            "timestamp",
            "status",
            "mime",
            "digest",
            "kind",
            "warc_file",
            "offset",
            "length",
            "target",
        }, shown
        conn.close()
    finally:
        proc.terminate()
        proc.wait()
    return results


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument(
        "--urls", type=int, default=100_000, help="URLs with 10 captures each (default 100,000)"
    )
    p.add_argument(
        "--hot", type=int, default=10_000, help="captures of the one busy URL (default 10,000)"
    )
    p.add_argument("--queries", type=int, default=2_000, help="asks per URL size")
    p.add_argument(
        "--dir", type=Path, help="work directory to keep and reuse (default: a temp dir)"
    )
    p.add_argument(
        "--http",
        choices=("serve", "h11", "httptools", "all"),
        default="all",
        help="the server: `warcwatch serve` as shipped, or the app on one uvicorn parser "
        "(default: all)",
    )
    p.add_argument(
        "--no-write", action="store_true", help=f"do not write {RESULTS.relative_to(ROOT)}"
    )
    args = p.parse_args()
    tmp = None
    if args.dir is None:
        tmp = tempfile.TemporaryDirectory(prefix="warcwatch-bench-")
        args.dir = Path(tmp.name)
    args.dir.mkdir(parents=True, exist_ok=True)
    header = describe()
    print(header, flush=True)
    _, _, info = build(args.dir, args.urls, args.hot)
    total = args.urls * 10 + args.hot + 1
    print(f"catalog: {total:,} captures over {args.urls + 2:,} URLs {info}", flush=True)
    impls = ["serve", "h11"] if args.http == "all" else [args.http]
    results: dict[str, tuple[float, float]] = {}
    for impl in impls:
        for label, (p50, p99) in measure(args.dir, args.urls, args.queries, impl).items():
            results[label] = (p50, p99)
            print(f"{label:<75} p50 {p50 * 1000:7.3f} ms   p99 {p99 * 1000:7.3f} ms", flush=True)
    if not args.no_write:
        lines = [
            "# HTTP API benchmark (`benchmarks/api.py`)",
            "",
            f"- date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC",
            f"- machine: {header}",
            f"- catalog: {total:,} synthetic captures (SQLite, WAL) over {args.urls + 2:,} URLs, "
            "built by "
            "`benchmarks/lookup.py`'s `build` (rows point at a real 200-record WARC)",
            f"- {args.queries:,} random (URL, time) asks per row, after 300 warm-up asks, on ONE "
            "keep-alive "
            "`http.client.HTTPConnection`; client and server on the same 2-core machine; round "
            "trip as the client sees it",
            "- endpoint: `GET /api/show?url=URL&at=TS` → the nearest capture as the contract's "
            "JSON shape "
            "(one SQL statement: the two index probes of `storage.retrieval.nearest` joined by "
            "UNION ALL)",
            "",
            "| what | p50 | p99 |",
            "|---|---:|---:|",
        ]
        lines += [
            f"| {label} | {p50 * 1000:.3f} ms | {p99 * 1000:.3f} ms |"
            for label, (p50, p99) in results.items()
        ]
        RESULTS.write_text("\n".join(lines) + "\n")
        print(f"wrote {RESULTS}")
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
