"""What the daemon and its worker processes say to each other, one JSON object a line.

Daemon → worker, on the worker's stdin: a `PassOrder` (the targets of one pass and the text of the
daemon's last good watchlist). Worker → daemon, on its stdout: `Ready` once Scrapy is imported,
then per pass one of `Done`, `Interrupted` (the pass was cancelled) or `Error` (the watchlist it
was handed does not load, or the pass failed). Each message is a frozen dataclass written and read
field by field, so a change to one side that the other does not know fails here, by name.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

JSON = dict[str, Any]


@dataclass(frozen=True)
class PassOrder:
    """Run one pass over these targets, as `watchlist` (TOML text) defines them."""

    targets: list[str]
    watchlist: str

    def encode(self) -> str:
        return json.dumps({"targets": self.targets, "watchlist": self.watchlist}) + "\n"

    @classmethod
    def decode(cls, line: str) -> PassOrder:
        msg = json.loads(line)
        return cls(targets=[str(n) for n in msg["targets"]], watchlist=str(msg["watchlist"]))


@dataclass(frozen=True)
class TargetCounts:
    """One target's share of a pass: responses archived, failures by reason."""

    fetched: int = 0
    failed: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Ready:
    """The worker has imported what a pass needs and waits for its first order."""


@dataclass(frozen=True)
class Done:
    """The pass ended: `run` is its crawl run (None when none of its targets was left to crawl)."""

    run: int | None
    summary: JSON
    targets: dict[str, TargetCounts]
    gone: list[str]  # targets of the order that the watchlist no longer has


@dataclass(frozen=True)
class Interrupted:
    """The pass was cancelled (SIGTERM, or the daemon went away): its files are closed."""


@dataclass(frozen=True)
class Error:
    """The pass could not run or failed: `error` is the one line for the run's record."""

    error: str


Report = Done | Interrupted | Error  # what ends a pass
Message = Ready | Report


def encode(msg: Message) -> str:
    """The line that carries `msg`, newline included."""
    out: JSON
    if isinstance(msg, Ready):
        out = {"event": "ready"}
    elif isinstance(msg, Done):
        targets = {
            name: {"fetched": c.fetched, "failed": c.failed} for name, c in msg.targets.items()
        }
        out = {
            "event": "done",
            "run": msg.run,
            "summary": msg.summary,
            "targets": targets,
            "gone": msg.gone,
        }
    elif isinstance(msg, Interrupted):
        out = {"event": "interrupted"}
    else:
        out = {"event": "error", "error": msg.error}
    return json.dumps(out) + "\n"


def decode(line: str) -> Message | None:
    """The message on a line of a worker's stdout, or None for a line that is not one (a library
    printing to stdout must not end a pass)."""
    try:
        msg = json.loads(line)
    except ValueError:
        return None
    if not isinstance(msg, dict):
        return None
    kind = msg.get("event")
    if kind == "ready":
        return Ready()
    if kind == "done":
        targets = {
            str(name): TargetCounts(
                fetched=int(per.get("fetched", 0)),
                failed={str(k): int(v) for k, v in (per.get("failed") or {}).items()},
            )
            for name, per in (msg.get("targets") or {}).items()
        }
        run = msg.get("run")
        return Done(
            run=None if run is None else int(run),
            summary=dict(msg.get("summary") or {}),
            targets=targets,
            gone=[str(n) for n in msg.get("gone") or []],
        )
    if kind == "interrupted":
        return Interrupted()
    if kind == "error":
        return Error(error=str(msg.get("error") or ""))
    return None


def counts(per_target: dict[str, dict[str, Any]]) -> dict[str, TargetCounts]:
    """The daemon's share of a pass report's per-target counts (crawler.report.per_target)."""
    return {
        name: TargetCounts(fetched=int(per.get("fetched", 0)), failed=dict(per.get("failed") or {}))
        for name, per in per_target.items()
    }
