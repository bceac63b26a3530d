"""`warcwatch changes` and `warcwatch diff`: what changed, and exactly how."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from monitor.cli.common import config_option, fail, load, nothing
from monitor.errors import WarcwatchError
from storage.enums import EventKind
from storage.errors import ArchiveError


@click.command()
@config_option
@click.option(
    "--since", metavar="TS", help="only events detected at or after TS (YYYYMMDD… or ISO 8601)"
)
@click.option("--target", metavar="NAME", help="only this target's events")
@click.option("--json", "as_json", is_flag=True, help="a JSON array on stdout")
def changes(config_path: str | None, since: str | None, target: str | None, as_json: bool) -> None:
    """Detected change events, oldest first."""
    from monitor.changes import list_events
    from storage.catalog import open_catalog

    try:
        config = load(config_path, required=False)
        events = list_events(open_catalog(config.archive.database_url), since=since, target=target)
    except (WarcwatchError, ArchiveError) as exc:
        fail(exc)
    if as_json:
        click.echo(json.dumps([e.as_json() for e in events], indent=1, ensure_ascii=False))
        return
    if not events:
        nothing("no change events")
    for e in events:
        s = e.summary or {}
        extra = (
            e.reason
            or e.new_url
            or (
                f"+{s.get('words_added', 0)}/-{s.get('words_removed', 0)} words"
                if e.kind == EventKind.CHANGED
                else ""
            )
        )
        click.echo(f"{e.detected_at}  {e.kind:<8} {e.target or '-':<16} {e.url}  {extra}")


@click.command()
@click.argument("url")
@config_option
@click.option("--from", "at_from", metavar="TS", help="the older version: the capture nearest TS")
@click.option(
    "--to",
    "at_to",
    metavar="TS",
    help="the newer version: the capture nearest TS (default: the newest)",
)
@click.option(
    "--html",
    "html_file",
    metavar="FILE",
    type=click.Path(dir_okay=False, path_type=Path),
    help="write a standalone HTML report (side by side) to FILE",
)
@click.option(
    "--all", "show_volatile", is_flag=True, help="include lines learned as template noise"
)
@click.option(
    "--explain",
    is_flag=True,
    help="list the spans masked as noise and why (learned from which captures, or which built-in "
    "rule)",
)
@click.option(
    "--current-rules",
    is_flag=True,
    help=(
        "compare under today's select, ignore and noise masks, not those recorded with the version"
    ),
)
def diff(
    url: str,
    config_path: str | None,
    at_from: str | None,
    at_to: str | None,
    html_file: Path | None,
    show_volatile: bool,
    explain: bool,
    current_rules: bool,
) -> None:
    """The difference between two versions of URL's text (default: the last two), under the
    rules recorded with the newer version (--current-rules: today's)."""
    from rich.console import Console

    from monitor.diffview import render_terminal, version_pair
    from monitor.web.report import render_html
    from storage.catalog import open_catalog

    try:
        config = load(config_path, required=False)
        engine = open_catalog(config.archive.database_url)
        pair = version_pair(
            engine,
            config,
            url,
            at_from,
            at_to,
            show_volatile=show_volatile,
            explain=explain,
            current_rules=current_rules,
        )
    except (WarcwatchError, ArchiveError) as exc:
        fail(exc)
    if html_file is not None:
        html_file.write_text(render_html(pair), encoding="utf-8")
        click.echo(f"wrote {html_file}", err=True)
        return
    render_terminal(
        Console(highlight=False, force_terminal=None if sys.stdout.isatty() else False),
        engine,
        config,
        pair=pair,
    )
    if explain and not pair.explained:
        click.echo("nothing in these two versions was masked as noise")
