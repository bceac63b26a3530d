"""Which due targets go into which pass: a pure function of the queue, the workers' load and the
options, so that the rules can be read (and tested) apart from processes and clocks.

Batching happens only under pressure: while workers are free, due targets are spread one per
worker, so a slow target shares its pass with as few others as possible; a target that was slow
or timed out last time always runs alone (`slow_after`); a worker that has run past `stall_after`
stops counting against the worker limit, so hanging targets cannot starve the rest (up to four
times `workers` passes may then run at once).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from monitor.daemon.options import DaemonOptions


@dataclass
class Due:
    """A target whose job fired: queued for the next pass that has room for it."""

    name: str
    scheduled_at: datetime
    queued: float  # monotonic
    row_id: int | None = None  # its `daemon_runs` row, once its pass is recorded


@dataclass(frozen=True)
class Plan:
    batches: list[list[Due]]  # one pass each, to start now
    back: list[Due]  # stay queued, in this order, ahead of anything queued since


def plan(
    pending: Sequence[Due],
    slow: Collection[str],
    running_since: Sequence[float],
    now: float,
    options: DaemonOptions,
) -> Plan | None:
    """The passes to start now from `pending` (oldest first), or None to wait: the first target
    has not waited `batch_window` yet (unless a full batch is there), or no worker is free.
    `running_since` holds when each running pass started (monotonic, like `now`)."""
    if not pending:
        return None
    if len(pending) < options.batch_max and now - pending[0].queued < options.batch_window:
        return None  # let the targets due in the same tick gather
    holding = [t for t in running_since if now - t < options.stall_after]
    free = options.workers - len(holding)
    if free <= 0 or len(running_since) >= options.workers * 4:
        return None
    return split(pending, slow, free, options.batch_max)


def split(pending: Sequence[Due], slow: Collection[str], free: int, batch_max: int) -> Plan:
    """At most `free` passes: slow targets first, one each; the others dealt round-robin over the
    workers left, at most `batch_max` to a pass. What does not fit goes back, slow ones first."""
    solo = [d for d in pending if d.name in slow]
    rest = [d for d in pending if d.name not in slow]
    batches = [[d] for d in solo[:free]]
    back = solo[free:]
    left = free - len(batches)
    if rest and left > 0:
        n = min(left, len(rest))
        take = rest[: n * batch_max]
        back += rest[n * batch_max :]
        batches += [take[i::n] for i in range(n)]
    else:
        back += rest
    return Plan(batches, back)
