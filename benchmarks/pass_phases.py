"""The fixed cost of a crawl pass, phase by phase, timed from outside the code (benchmarks/crawl.py
`--phases`): a 1-page pass of warcwatch run in the benchmark's worker with timers wrapped around
the functions `monitor.pass_run.crawl_pass` calls, so that nothing in warcwatch is changed.

Also the WARC writer process's own start-up, apart from the pass: the fork server's first start
(what a one-shot `warcwatch crawl` pays; the daemon's warm workers start it before their first
pass), then a writer spawned from it until it answers its first flush (its imports, the catalog
opened, the pass's previous payloads loaded), then its close.
"""

from __future__ import annotations

import functools
import time
from collections import defaultdict

# (module, attribute, phase): what crawl_pass calls, in its order
_WRAPPED = (
    ("storage.catalog", "start_run", "run bookkeeping (start_run, finish_run, event_counts)"),
    ("storage.catalog", "finish_run", "run bookkeeping (start_run, finish_run, event_counts)"),
    ("storage.catalog", "event_counts", "run bookkeeping (start_run, finish_run, event_counts)"),
    ("storage.catalog", "latest_validators", "pre-crawl queries (validators, rechecks, removed)"),
    ("monitor.pass_run", "due_by_target", "pre-crawl queries (validators, rechecks, removed)"),
    ("monitor.pass_run", "removed_by_target", "pre-crawl queries (validators, rechecks, removed)"),
    ("storage.writer_process.WriterClient", "__init__", "writer spawn (WriterClient())"),
    ("crawler.runner.RunCrawler", "__init__", "crawler set-up (RunCrawler())"),
    ("monitor.analysis.Analyser", "__init__", "analysis set-up (Analyser())"),
    ("crawler.runner.RunCrawler", "crawl", "crawl (robots.txt, sitemap, the page)"),
    ("storage.writer_process.WriterClient", "flush", "writer flush (drain, fsync, commit)"),
    ("monitor.analysis.Analyser", "inspect", "analysis (inspect, probes, soft removals, settle)"),
    (
        "monitor.analysis.Analyser",
        "probes_needed",
        "analysis (inspect, probes, soft removals, settle)",
    ),
    (
        "monitor.analysis.Analyser",
        "soft_removals",
        "analysis (inspect, probes, soft removals, settle)",
    ),
    ("monitor.analysis.Analyser", "settle", "analysis (inspect, probes, soft removals, settle)"),
    ("storage.writer_process.WriterClient", "close", "writer close (files closed, process joined)"),
    ("monitor.pass_run", "_checkpoint", "evidence checkpoint (signed)"),
    ("monitor.pass_run", "deliver", "alerts delivery"),
    ("monitor.pass_run", "deliver_after_pass", "time-stamp requests"),
)


def _resolve(path: str):
    import importlib

    parts = path.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        for p in parts[i:]:
            obj = getattr(obj, p)
        return obj
    raise ImportError(path)


def install() -> dict[str, float]:
    """Wrap the pass's steps in timers; returns the dict of wall seconds per phase it fills."""
    spent: dict[str, float] = defaultdict(float)
    for where, name, phase in _WRAPPED:
        owner = _resolve(where)
        inner = getattr(owner, name)

        if name == "crawl":  # a coroutine function

            def wrap(inner=inner, phase=phase):
                @functools.wraps(inner)
                async def timed(*a, **k):
                    t = time.perf_counter()
                    try:
                        return await inner(*a, **k)
                    finally:
                        spent[phase] += time.perf_counter() - t

                return timed

        else:

            def wrap(inner=inner, phase=phase):
                @functools.wraps(inner)
                def timed(*a, **k):
                    t = time.perf_counter()
                    try:
                        return inner(*a, **k)
                    finally:
                        spent[phase] += time.perf_counter() - t

                return timed

        setattr(owner, name, wrap())
    return spent


def writer_startup(config) -> dict[str, float]:
    """The writer process on its own, wall seconds: the first writer of a process (the fork
    server started and its imports done, what a one-shot `warcwatch crawl` pays), then a second
    one (warm fork server, as in the daemon's warm workers), each until its first flush is
    answered, then its close."""
    from monitor.pass_run import writer_settings
    from storage.writer_process import WriterClient, warm_up

    settings = writer_settings(config, config.targets)
    times = {}
    t0 = time.perf_counter()
    warm_up()
    for label in ("cold: fork server started, then", "warm:"):
        t1 = time.perf_counter()
        client = WriterClient(config.archive.database_url, settings)
        client.flush()
        t2 = time.perf_counter()
        client.close()
        t3 = time.perf_counter()
        times[f"writer start-up, {label} spawn until its first flush is answered"] = t2 - (
            t0 if label.startswith("cold") else t1
        )
        times[f"writer close ({label.split(':')[0]}, no files open)"] = t3 - t2
    return times
