"""The pass report: counts kept while a pass runs (shown live with rich) and its final summary."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class PassReport:
    responses: Counter = field(default_factory=Counter)  # target → responses received
    failures: defaultdict = field(default_factory=lambda: defaultdict(Counter))  # target → reason → n
    archive: dict = field(default_factory=dict)  # the writer's stats, once it has closed
    on_change: Callable[[], None] | None = None  # refreshes a progress display

    def on_response(self, target: str, status: int, is_robots: bool = False) -> None:
        self.responses[target] += 1
        if status >= 400 and not is_robots:  # a site without robots.txt is not a failure
            self.failures[target][f"http-{status}"] += 1
        if self.on_change:
            self.on_change()

    def on_failure(self, target: str, reason: str) -> None:
        self.failures[target][reason] += 1
        if self.on_change:
            self.on_change()

    def failed_total(self) -> Counter:
        total: Counter = Counter()
        for reasons in self.failures.values():
            total.update(reasons)
        return total

    def summary(self) -> dict:
        a = self.archive
        return {
            "fetched": sum(self.responses.values()),
            "new": a.get("captures/new", 0),
            "revisits": a.get("captures/revisit", 0),
            "not_modified": a.get("captures/not-modified", 0),
            "failed": dict(sorted(self.failed_total().items())),
            "warc_records": a.get("warc/records", 0),
            "warc_files": a.get("warc/files", 0),
        }


def reasons_text(failed: dict[str, int]) -> str:
    """`(http-404: 2, timeout: 1)` for a summary line; empty when nothing failed."""
    return f"({', '.join(f'{reason}: {n}' for reason, n in failed.items())})" if failed else ""
