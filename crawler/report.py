"""The pass report: counts kept while a pass runs (shown live with rich) and its final summary.

Per-target counts say what each target saw; the totals count each fetch once, although a URL that
several targets list is fetched once and counted for each of them (crawler.spiders.watchlist).
Page requisites (crawler.requisites) are counted apart: they are not the pages a target watches,
and a missing image is not a failed page.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class PassReport:
    responses: Counter = field(default_factory=Counter)  # target → responses received
    failures: defaultdict = field(
        default_factory=lambda: defaultdict(Counter)
    )  # target → reason → n
    gone: Counter = field(default_factory=Counter)  # target → answers of pages known to be removed
    limits: dict = field(
        default_factory=dict
    )  # target → the max_pages it stopped at (more links found)
    archive: dict = field(default_factory=dict)  # the writer's stats, once it has closed
    on_change: Callable[[], None] | None = None  # refreshes a progress display
    fetched: int = 0  # responses, each fetch once
    failed: Counter = field(default_factory=Counter)  # reason → n, each fetch once
    gone_total: int = 0
    requisites: Counter = field(default_factory=Counter)  # target → requisite responses
    requisites_fetched: int = 0  # requisite responses, each fetch once
    requisites_failed: Counter = field(default_factory=Counter)  # reason → n, each fetch once

    def on_response(
        self,
        target: str,
        status: int,
        is_robots: bool = False,
        gone: bool = False,
        shared: bool = False,
        confirm: bool = False,
        requisite: bool = False,
    ) -> None:
        """One response for `target`. `shared`: the fetch was counted for another target already;
        `gone`: the page is known to be removed, its error answer is no failure any more;
        `confirm`: a confirmation fetch, whose error was counted with the first fetch;
        `requisite`: a page requisite's, counted apart (its error status too)."""
        if requisite:
            self.requisites[target] += 1
            self.requisites_fetched += not shared
            if status >= 400 and not shared:
                self.requisites_failed[f"http-{status}"] += 1
            return self._changed()
        self.responses[target] += 1
        self.fetched += not shared
        if (
            status >= 400 and not is_robots and not confirm
        ):  # a site without robots.txt is not a failure
            if gone:
                self.gone[target] += 1
                self.gone_total += not shared
            else:
                self.failures[target][f"http-{status}"] += 1
                self.failed[f"http-{status}"] += not shared
        self._changed()

    def on_failure(
        self, target: str, reason: str, shared: bool = False, requisite: bool = False
    ) -> None:
        if requisite:
            self.requisites_failed[reason] += not shared
            return self._changed()
        self.failures[target][reason] += 1
        self.failed[reason] += not shared
        self._changed()

    def on_limit(self, target: str, max_pages: int) -> None:
        self.limits[target] = max_pages

    def _changed(self) -> None:
        if self.on_change:
            self.on_change()

    def failed_total(self) -> Counter:
        return +self.failed

    def summary(self) -> dict:
        a = self.archive
        return {
            "fetched": self.fetched,
            "new": a.get("captures/new", 0),
            "revisits": a.get("captures/revisit", 0),
            "not_modified": a.get("captures/not-modified", 0),
            "failed": dict(sorted(self.failed_total().items())),
            "gone": self.gone_total,
            "limits": dict(sorted(self.limits.items())),
            "warc_records": a.get("warc/records", 0),
            "requisites": {
                "fetched": self.requisites_fetched,
                "new": a.get("requisites/new", 0),
                "revisits": a.get("requisites/revisit", 0),
                "not_modified": a.get("requisites/not-modified", 0),
                "failed": dict(sorted((+self.requisites_failed).items())),
            },
            "warc_files": a.get("warc/files", 0),
        }

    def per_target(self, names: list[str]) -> dict[str, dict]:
        out = {}
        for name in names:
            out[name] = {
                "fetched": self.responses[name],
                "failed": dict(+self.failures[name]),
                "gone": self.gone[name],
                "requisites": self.requisites[name],
            }
            if name in self.limits:
                out[name]["max_pages_reached"] = self.limits[name]
        return out


def reasons_text(failed: dict[str, int]) -> str:
    """`(http-404: 2, timeout: 1)` for a summary line; empty when nothing failed."""
    return f"({', '.join(f'{reason}: {n}' for reason, n in failed.items())})" if failed else ""


def limit_lines(limits: dict[str, int]) -> list[str]:
    """One line per target that stopped at its max_pages, for the crawl summary and `status`."""
    return [limit_text(name, n) for name, n in limits.items()]


def limit_text(name: str, max_pages: int) -> str:
    return f"{name}: stopped at max_pages {max_pages} (more links found)"
