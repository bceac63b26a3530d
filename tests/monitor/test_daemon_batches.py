"""Batch planning (monitor.daemon.batches.plan): which due targets go into which pass, given the
queue, the targets that ran slow, and when each running pass started. A pure function: no
processes, no clock (`now` is given)."""

from __future__ import annotations

from datetime import UTC, datetime

from monitor.daemon.batches import Due, plan
from monitor.daemon.options import DaemonOptions

NOW = 1000.0
DUE_AT = datetime(2026, 1, 1, tzinfo=UTC)


def due(*names: str, waited: float = 1.0) -> list[Due]:
    return [Due(name, DUE_AT, NOW - waited) for name in names]


def names(batches: list[list[Due]]) -> list[list[str]]:
    return [[d.name for d in batch] for batch in batches]


def options(workers: int = 2, batch_max: int = 500, stall_after: float = 60.0) -> DaemonOptions:
    return DaemonOptions(
        workers=workers, batch_window=0.2, batch_max=batch_max, stall_after=stall_after
    )


def test_nothing_pending_starts_nothing():
    assert plan([], set(), [], NOW, options()) is None


def test_a_target_due_just_now_waits_for_the_batch_window_so_others_due_with_it_can_join():
    assert plan(due("a", waited=0.1), set(), [], NOW, options()) is None
    p = plan(due("a", waited=0.2), set(), [], NOW, options())
    assert p is not None and names(p.batches) == [["a"]]


def test_a_full_batch_does_not_wait_for_the_window():
    p = plan(due("a", "b", "c", waited=0.0), set(), [], NOW, options(workers=1, batch_max=3))
    assert p is not None and names(p.batches) == [["a", "b", "c"]] and p.back == []


def test_while_workers_are_free_due_targets_are_spread_one_per_worker():
    p = plan(due("a", "b", "c"), set(), [], NOW, options(workers=4))
    assert p is not None and names(p.batches) == [["a"], ["b"], ["c"]]


def test_under_pressure_targets_are_dealt_round_robin_over_the_free_workers():
    p = plan(due("a", "b", "c", "d", "e"), set(), [], NOW, options(workers=2))
    assert p is not None and names(p.batches) == [["a", "c", "e"], ["b", "d"]] and p.back == []


def test_a_target_that_ran_slow_runs_alone_and_first():
    p = plan(due("a", "b", "c"), {"b"}, [], NOW, options(workers=2))
    assert p is not None and names(p.batches) == [["b"], ["a", "c"]]


def test_slow_targets_beyond_the_free_workers_wait_ahead_of_the_others():
    p = plan(due("a", "b", "c", "d"), {"a", "b", "c"}, [], NOW, options(workers=2))
    assert p is not None and names(p.batches) == [["a"], ["b"]]
    assert [d.name for d in p.back] == ["c", "d"]


def test_at_most_batch_max_targets_go_into_a_pass_and_the_rest_wait_in_order():
    p = plan(due("a", "b", "c", "d", "e"), set(), [], NOW, options(workers=1, batch_max=2))
    assert p is not None and names(p.batches) == [["a", "b"]]
    assert [d.name for d in p.back] == ["c", "d", "e"]


def test_with_every_worker_busy_the_queue_waits():
    running = [NOW - 1, NOW - 1]
    assert plan(due("a"), set(), running, NOW, options(workers=2)) is None


def test_only_the_free_workers_get_a_pass():
    p = plan(due("a", "b", "c"), set(), [NOW - 1], NOW, options(workers=2))
    assert p is not None and names(p.batches) == [["a", "b", "c"]]


def test_a_pass_running_past_stall_after_no_longer_holds_a_worker():
    p = plan(due("a"), set(), [NOW - 61], NOW, options(workers=1, stall_after=60))
    assert p is not None and names(p.batches) == [["a"]]


def test_even_stalled_at_most_four_times_the_workers_passes_run_at_once():
    stalled = [NOW - 100] * 4
    assert plan(due("a"), set(), stalled, NOW, options(workers=1, stall_after=60)) is None
