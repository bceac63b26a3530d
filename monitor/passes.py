"""Running crawl passes for people: a live rich progress display on stderr around
monitor.pass_run's passes, and a sequence of passes in one reactor (the demo, `warcwatch crawl`)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from monitor.config import Config, Target

SHOWN_TARGETS = 8  # the busiest targets listed under the totals


def _progress(report, targets: list[Target], quiet: bool):
    """A live display on a terminal: totals, elapsed time and the busiest targets."""
    from rich.console import Console, Group
    from rich.live import Live
    from rich.spinner import Spinner
    from rich.table import Table

    if quiet:
        return None
    console = Console(stderr=True)
    if not console.is_terminal:
        return None
    started = time.monotonic()
    spinner = Spinner("dots")

    def render():
        fetched = report.fetched
        failed = sum(report.failed_total().values())
        spinner.update(
            text=f"crawling {len(targets)} target{'s' * (len(targets) != 1)}: "
            f"{fetched} fetched, {failed} failed, {time.monotonic() - started:.0f} s"
        )
        busiest = sorted(targets, key=lambda t: -report.responses[t.name])[:SHOWN_TARGETS]
        table = Table("target", "fetched", "failed", box=None, padding=(0, 2))
        for t in busiest:
            table.add_row(
                t.name, str(report.responses[t.name]), str(sum(report.failures[t.name].values()))
            )
        rest = len(targets) - len(busiest)
        parts = [spinner, table] + ([f"  … and {rest} more targets"] if rest > 0 else [])
        return Group(*parts)

    live = Live(
        render(), console=console, refresh_per_second=8, transient=True, get_renderable=render
    )
    last = [0.0]

    def on_change():
        now = time.monotonic()
        if now - last[0] > 0.2:  # rendering is not free: at most 5 times a second
            last[0] = now
            live.refresh()

    report.on_change = on_change
    return live


def run_passes(config: Config, steps: list[Callable[[], Awaitable] | tuple[list[Target], bool]]):
    """Run crawl passes (and plain callables between them) in one reactor; returns pass results."""
    from crawler.report import PassReport
    from crawler.runner import run_in_reactor
    from monitor.pass_run import crawl_pass

    async def main():
        results = []
        for step in steps:
            if callable(step):
                step()
                continue
            targets, quiet = step
            report = PassReport()
            live = _progress(report, targets, quiet)
            if live is None:
                results.append(await crawl_pass(config, targets, report))
            else:
                with live:
                    results.append(await crawl_pass(config, targets, report))
        return results

    return run_in_reactor(main)


def run_pass_with_progress(config: Config, targets: list[Target], quiet: bool = False):
    return run_passes(config, [(targets, quiet)])[0]
