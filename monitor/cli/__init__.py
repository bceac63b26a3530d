"""The `warcwatch` command line: thin click commands over the library's functions.

Imports stay inside the commands: `captures` and `show` must answer without importing Scrapy.
A user's mistake is one line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from monitor.errors import WarcwatchError

DEFAULT_CONFIG = "warcwatch.toml"


def _load(config_path: str | None, required: bool = True):
    from monitor.config import Config, load_config
    from monitor.errors import ConfigError

    path = Path(config_path or DEFAULT_CONFIG)
    if not required and config_path is None and not path.exists():
        config = Config(path=None)  # lookups work on ./archive without a watchlist…
        if not (config.archive.dir / "catalog.sqlite").exists():  # …where there is one: never make an empty one
            raise ConfigError(f"no watchlist ({DEFAULT_CONFIG}) and no archive ({config.archive.dir}/) here: "
                              "pass --config FILE or run from the watchlist's folder")
        return config
    return load_config(path)


def _fail(exc: Exception) -> None:
    click.echo(f"warcwatch: error: {exc}", err=True)
    sys.exit(2)


config_option = click.option("--config", "config_path", metavar="FILE", help=f"watchlist (default ./{DEFAULT_CONFIG})")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", count=True, help="more log output (-vv for debug)")
@click.version_option(package_name="warcwatch")
def cli(verbose: int) -> None:
    """Archive web pages as WARC and tell when they change."""
    import logging

    level = {0: logging.WARNING, 1: logging.INFO}.get(verbose, logging.DEBUG)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    # Scrapy and Twisted are chatty at INFO; their details only with -vv.
    for name in ("scrapy", "twisted", "py.warnings"):
        logging.getLogger(name).setLevel(level if verbose >= 2 else logging.WARNING)


@cli.command()
@config_option
@click.option("--target", "target_names", multiple=True, metavar="NAME", help="only this target (repeatable)")
@click.option("--quiet", is_flag=True, help="no progress display")
@click.option("--json", "as_json", is_flag=True, help="the pass summary as a JSON object on stdout")
def crawl(config_path: str | None, target_names: tuple[str, ...], quiet: bool, as_json: bool) -> None:
    """Run one crawl pass of every target (or --target NAME) now."""
    try:
        config = _load(config_path)
        targets = [config.target(n) for n in target_names] if target_names else list(config.targets)
        if not targets:
            raise WarcwatchError(f"{config.path}: no [[targets]] to crawl")
    except WarcwatchError as exc:
        _fail(exc)
    from monitor.passes import run_pass_with_progress

    try:
        result = run_pass_with_progress(config, targets, quiet=quiet or as_json)
    except WarcwatchError as exc:
        _fail(exc)
    if as_json:
        click.echo(json.dumps({"run": result.run_id, **result.summary, "targets": result.per_target}))
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
        f"not modified {s['not_modified']}, failed {failed} {reasons_text(s['failed'])}".rstrip() + gone
    )
    for line in limit_lines(s.get("limits", {})):
        click.echo(line)
    if line := summary_line(s.get("alerts", {})):
        click.echo(line)


@cli.command()
@click.argument("url")
@config_option
@click.option("--json", "as_json", is_flag=True, help="a JSON array on stdout")
def captures(url: str, config_path: str | None, as_json: bool) -> None:
    """Every capture of URL, oldest first."""
    try:
        config = _load(config_path, required=False)
        rows = _capture_rows(config.archive.database_url, url)
    except WarcwatchError as exc:
        _fail(exc)
    if as_json:
        click.echo(json.dumps(rows, indent=1))
        return
    if not rows:
        click.echo(f"no captures of {url}", err=True)
        sys.exit(1)
    for line in _captures_table(rows):
        click.echo(line)


def _captures_table(rows: list[dict]) -> list[str]:
    """`captures`' lines: a header, one row per capture (its id and exact time, both usable in
    `show --id` / `show --at`), the location (or the failure's reason) last and never cut."""
    from monitor.cli.table import render, terminal_width

    headers = ("ID", "TIME (UTC)", "KIND", "STATUS", "DIGEST", "NOTE", "LOCATION")
    cells = [(
        str(r["id"]), r["warc_date"], r["kind"], str(r["status"] or "-"),
        (r["digest"] or "").partition(":")[2][:8],  # enough to tell payloads apart; --json has it whole
        r["purpose"] or "",
        f"{r['warc_file']}:{r['offset']}" if r["warc_file"] else r.get("reason") or "",
    ) for r in rows]
    return render(headers, cells, right=(0, 3), width=terminal_width())


def _capture_rows(database_url: str, url: str) -> list[dict]:
    """`captures`' rows: through sqlite3 alone on a current SQLite catalog (no SQLAlchemy import),
    else through the ORM, which creates or migrates the catalog first."""
    from contextlib import closing

    from storage import lookup

    conn = lookup.open_sqlite(database_url)
    if conn is not None:
        with closing(conn):
            return [c.as_json() for c in lookup.captures_of(conn, url)]
    from sqlalchemy.orm import Session

    from storage.catalog import captures_of, open_catalog

    with Session(open_catalog(database_url)) as s:
        return [c.as_json() for c in captures_of(s, url)]

@cli.command()
@click.option("--dir", "workdir", default="warcwatch-demo", show_default=True, help="where the demo archive goes")
def demo(workdir: str) -> None:
    """Serve a bundled demo site on 127.0.0.1, crawl it, change it, crawl again, show the result."""
    from monitor.demo import run_demo

    try:
        run_demo(Path(workdir))
    except WarcwatchError as exc:
        _fail(exc)


def main() -> None:
    from monitor.cli import commands  # noqa: F401 - registers the commands kept in their own modules

    cli(prog_name="warcwatch")


if __name__ == "__main__":
    main()
