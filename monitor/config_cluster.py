"""The watchlist's `[cluster]` section: who runs the passes.

`runner = "local"` (the default): `warcwatch run` runs them in its own worker processes, as it
always has. `runner = "procrastinate"`: `warcwatch run` only schedules (one leader among the
daemons that share the catalog) and defers each due pass to a PostgreSQL task queue
(procrastinate), which `warcwatch worker` processes on any machine run (monitor.cluster).
`heartbeat` is how often a worker says it is alive (and a standby daemon looks for a dead
leader); `stalled_after` is how long a silent worker's passes wait before another worker retries
them.
"""

from __future__ import annotations

from dataclasses import dataclass

from monitor.tomltext import toml_text

RUNNERS = ("local", "procrastinate")


@dataclass(frozen=True)
class ClusterSettings:
    runner: str = "local"
    heartbeat: float = 10.0  # seconds between a worker's heartbeats (and a standby's looks)
    stalled_after: float = 30.0  # seconds without a heartbeat before a worker's passes are retried

    @property
    def distributed(self) -> bool:
        return self.runner == "procrastinate"


def runner_name(value) -> str:
    """`runner` as given, checked; ValueError naming what is wrong."""
    if value not in RUNNERS:
        raise ValueError(f"expected one of {', '.join(map(repr, RUNNERS))}, got {toml_text(value)}")
    return str(value)
