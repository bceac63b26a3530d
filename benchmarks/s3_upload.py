"""Uploading WARC files to S3-compatible storage and reading records back by range, against moto's
server on 127.0.0.1 (tests/s3.py): a loopback figure, of what warcwatch's side costs (s3fs, the
ETag computed to confirm the upload), not of any real store's network.

    python benchmarks/s3_upload.py [--sizes 32,160] [--reads 200]

For each size (MiB; incompressible bytes, as gzip members are): the wall time and this process's
CPU time of `ObjectStore.upload` (a PUT below 128 MiB, a multipart upload of 64 MiB parts above;
then HEAD, and the file's MD5s to compare with the ETag), MB/s; then `--reads` ranged reads of
10 kB at random offsets (`ObjectStore.read_range`, one GET each), p50 and p99 in ms.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.machine import describe  # noqa: E402
from storage.objects import ObjectStore  # noqa: E402
from tests.s3 import KEY, REGION, SECRET, moto_server  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="32,160")
    ap.add_argument("--reads", type=int, default=200)
    args = ap.parse_args()
    machine = describe()
    out: dict = {"machine": machine, "uploads": [], "reads": {}}
    with tempfile.TemporaryDirectory() as tmp, moto_server(Path(tmp) / "moto.log") as server:
        bucket = server.bucket()
        store = ObjectStore(f"s3://{bucket}/warcs", server.endpoint, REGION, KEY, SECRET)
        for mib in (int(x) for x in args.sizes.split(",")):
            path = Path(tmp) / f"bench-{mib}.warc.gz"
            path.write_bytes(os.urandom(mib * 2**20))
            cpu0, t0 = time.process_time(), time.perf_counter()
            store.upload(path, path.name)
            wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
            out["uploads"].append(
                {
                    "MiB": mib,
                    "wall_s": round(wall, 2),
                    "cpu_s": round(cpu, 2),
                    "MB_per_s": round(mib * 2**20 / 1e6 / wall, 1),
                }
            )
        name, size = f"bench-{mib}.warc.gz", mib * 2**20
        rng = random.Random(1)
        times = []
        for _ in range(args.reads):
            off = rng.randrange(0, size - 10_000)
            t0 = time.perf_counter()
            data = store.read_range(name, off, 10_000)
            times.append((time.perf_counter() - t0) * 1000)
            assert data is not None and len(data) == 10_000
        times.sort()
        out["reads"] = {
            "n": len(times),
            "p50_ms": round(statistics.median(times), 2),
            "p99_ms": round(times[int(len(times) * 0.99) - 1], 2),
        }
    out["load_after"] = round(os.getloadavg()[0], 2)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
