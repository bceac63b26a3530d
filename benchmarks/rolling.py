"""How many WARC files a daemon leaves (issue 14, item 6): two targets on a loopback site, checked
on a short schedule by a real `warcwatch run`, for a while; then the files counted against the
passes run, and scaled to files per day for two targets every 30 s.

Time is compressed: `--every 1` and `--max-age 120` are the ratio of a 30 s schedule to the
default 1 h `warc_max_age` (1 : 120), so files per day at 30 s = files per scaled hour × 24.

    python benchmarks/rolling.py [--seconds 240] [--every 1] [--max-age 120] [--src DIR] [--s3]

`--src` runs another checkout's code (e.g. an export of main, for the figure before). `--s3`
keeps the WARC files on moto's S3 server (tests/s3.py) with the catalog on PostgreSQL (a
throwaway cluster, tests/pg.py) and counts the objects and the PUT requests the server saw:
S3 PUTs per day for this workload.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.machine import describe  # noqa: E402
from tests.httpserver import SiteServer, page  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=240)
    ap.add_argument("--every", type=int, default=1)
    ap.add_argument("--max-age", type=int, default=120)
    ap.add_argument("--src", type=Path, default=Path(__file__).resolve().parents[1])
    ap.add_argument("--s3", action="store_true")
    args = ap.parse_args()
    with contextlib.ExitStack() as stack:
        main_with(args, stack)


def _s3(stack: contextlib.ExitStack, tmp: Path) -> tuple[str, object, str, str]:
    """[archive] lines for WARC files on a new moto bucket and a PostgreSQL catalog."""
    from tests.pg import Cluster, server_bindir
    from tests.s3 import moto_server, s3_settings

    bindir = server_bindir()
    assert bindir is not None, "apt-get install postgresql"
    cluster = Cluster.start(bindir)
    stack.callback(cluster.stop)
    server = stack.enter_context(moto_server(tmp / "moto.log"))
    bucket = server.bucket()
    lines = {"database": cluster.database(), **s3_settings(server, bucket)}
    text = "".join(f'{k} = "{v}"\n' for k, v in lines.items())
    return text, server, bucket, lines["database"]


def main_with(args: argparse.Namespace, stack: contextlib.ExitStack) -> None:
    site = SiteServer().start()
    site.routes["/a"] = page("<html><body>a</body></html>")
    site.routes["/b"] = page("<html><body>b</body></html>")
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "warcwatch.toml"
        stored, server, bucket, database = _s3(stack, Path(tmp)) if args.s3 else ("", None, "", "")
        config.write_text(
            f'[archive]\ndir = "archive"\nwarc_max_age = {args.max_age}\n{stored}'
            "[crawl]\nobey_robots = false\nautothrottle = false\n"
            + "".join(
                f'[[targets]]\nname = "{n}"\nurl = "{site.url("/" + n)}"\nevery = "{args.every}s"\n'
                for n in ("a", "b")
            )
        )
        known = "".join(p.read_text() for p in (args.src / "monitor").glob("*.py"))
        if "warc_max_age" not in known:  # code from before files rolled
            config.write_text(config.read_text().replace(f"warc_max_age = {args.max_age}\n", ""))
        env = {**os.environ, "PYTHONPATH": str(args.src)}
        proc = subprocess.Popen(
            [sys.executable, "-m", "monitor.cli", "run", "--config", str(config)],
            cwd=args.src,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(args.seconds)
        proc.send_signal(signal.SIGTERM)
        proc.wait(120)
        archive = Path(tmp) / "archive"
        files = sorted((archive / "warcs").glob("*.warc.gz"))
        s3: dict = {}
        if server is not None:
            from sqlalchemy import create_engine, text

            from tests.s3 import object_names

            objects = object_names(server, bucket)  # type: ignore[attr-defined]
            log = (Path(tmp) / "moto.log").read_text(errors="replace")
            engine = create_engine(database)
            with engine.connect() as c:
                passes = c.execute(
                    text("SELECT count(*) FROM crawl_runs WHERE status = 'finished'")
                ).fetchone()
            engine.dispose()
            s3 = {
                "objects": len(objects),
                "open_objects": sum(n.endswith(".open") for n in objects),
                "put_requests": log.count('"PUT /'),
                "local_files_left": len(files),
            }
            files = objects
        else:
            db = sqlite3.connect(archive / "catalog.sqlite")
            passes = db.execute(
                "SELECT count(*) FROM crawl_runs WHERE status = 'finished'"
            ).fetchone()
            db.close()
    site.stop()
    n_passes = passes[0]
    scaled_hours = args.seconds * (30 / args.every) / 3600
    out = {
        "src": str(args.src),
        "seconds": args.seconds,
        "every_s": args.every,
        "warc_max_age_s": args.max_age,
        "passes": n_passes,
        "warc_files": len(files),
        "files_per_pass": round(len(files) / max(n_passes, 1), 3),
        # the run is `scaled_hours` of a 30 s schedule (its passes: 2 × 120 an hour)
        "scaled_hours": round(scaled_hours, 3),
        "files_per_day_at_30s": round(len(files) / scaled_hours * 24),
        **s3,
        "machine": describe(),
    }
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
