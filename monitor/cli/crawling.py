"""`warcwatch crawl` (one pass of every target, or some, now) and `warcwatch demo` (a bundled
site crawled, changed and crawled again)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from monitor.cli.common import config_option, fail, load
from monitor.errors import WarcwatchError


@click.command()
@config_option
@click.option(
    "--target", "target_names", multiple=True, metavar="NAME", help="only this target (repeatable)"
)
@click.option("--quiet", is_flag=True, help="no progress display")
@click.option("--json", "as_json", is_flag=True, help="the pass summary as a JSON object on stdout")
def crawl(
    config_path: str | None, target_names: tuple[str, ...], quiet: bool, as_json: bool
) -> None:
    """Run one crawl pass of every target (or --target NAME) now."""
    try:
        config = load(config_path)
        targets = [config.target(n) for n in target_names] if target_names else list(config.targets)
        if not targets:
            raise WarcwatchError(f"{config.path}: no [[targets]] to crawl")
    except WarcwatchError as exc:
        fail(exc)
    from monitor.passes import run_pass_with_progress

    try:
        result = run_pass_with_progress(config, targets, quiet=quiet or as_json)
    except WarcwatchError as exc:
        fail(exc)
    if as_json:
        click.echo(
            json.dumps({"run": result.run_id, **result.summary, "targets": result.per_target})
        )
    else:
        _print_summary(result)


def _print_summary(result) -> None:
    from crawler.report import limit_lines, reasons_text
    from monitor.alerts import summary_line

    s = result.summary
    failed = sum(s["failed"].values())
    gone = f", gone {s['gone']}" if s.get("gone") else ""  # known-removed pages: no failure
    click.echo(
        f"run {result.run_id}: fetched {s['fetched']}, new {s['new']}, revisits {s['revisits']}, "
        f"not modified {s['not_modified']}, failed {failed} {reasons_text(s['failed'])}".rstrip()
        + gone
    )
    req = s.get("requisites") or {}
    if req.get("fetched") or req.get("failed"):  # a page's stylesheets, images, fonts: apart
        click.echo(
            f"requisites: fetched {req['fetched']}, new {req['new']}, revisits {req['revisits']}, "
            f"not modified {req['not_modified']}, failed {sum(req['failed'].values())} "
            f"{reasons_text(req['failed'])}".rstrip()
        )
    for line in limit_lines(s.get("limits", {})):
        click.echo(line)
    if alerts := summary_line(s.get("alerts", {})):
        click.echo(alerts)


@click.command()
@click.option(
    "--dir",
    "workdir",
    default="warcwatch-demo",
    show_default=True,
    help="where the demo archive goes",
)
def demo(workdir: str) -> None:
    """Serve a bundled demo site on 127.0.0.1, crawl it, change it, crawl again, show the result."""
    from monitor.demo import run_demo

    try:
        run_demo(Path(workdir))
    except WarcwatchError as exc:
        fail(exc)
