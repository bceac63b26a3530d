"""The `warcwatch` command line: thin click commands over the library's functions.

The group below is lazy: `monitor.cli.commands.COMMANDS` names every command and the module it
lives in, and a command's module is imported only when that command runs (or `--help` lists
it). So `CliRunner().invoke(monitor.cli.cli, ["status"])` works without any other import, and
`captures` and `show` answer without importing Scrapy. A user's mistake is one line on stderr
and a non-zero exit, never a traceback; the exit statuses are in `monitor.cli.common`.
"""

from __future__ import annotations

import importlib
import sys

import click

from monitor.cli.commands import COMMANDS
from monitor.cli.common import DEFAULT_CONFIG, EXIT_NOTHING, EXIT_OK, EXIT_USAGE, config_option
from monitor.cli.common import fail as _fail
from monitor.cli.common import load as _load

__all__ = [
    "DEFAULT_CONFIG",
    "EXIT_NOTHING",
    "EXIT_OK",
    "EXIT_USAGE",
    "_fail",
    "_load",
    "cli",
    "config_option",
    "main",
]


class LazyGroup(click.Group):
    """A group whose commands are imported from `COMMANDS` when first asked for."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*COMMANDS, *self.commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            module, _, name = COMMANDS[cmd_name].partition(":")
            command = getattr(importlib.import_module(module), name)
            self.add_command(command, cmd_name)
        return self.commands.get(cmd_name)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", count=True, help="more log output (-vv for debug)")
@click.version_option(package_name="warcwatch")
def cli(verbose: int) -> None:
    """Archive web pages as WARC and tell when they change.

    \b
    Exit status:
      0  the command did its job
      1  a listing found nothing (captures, changes), a run failed, or
         verify found the archive or a receipt tampered or damaged
      2  a usage or watchlist mistake, a URL, id or selection that names
         no capture, or an archive that cannot be read or written
    """
    import logging

    level = {0: logging.WARNING, 1: logging.INFO}.get(verbose, logging.DEBUG)
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    # Scrapy and Twisted are chatty at INFO; their details only with -vv.
    for name in ("scrapy", "twisted", "py.warnings"):
        logging.getLogger(name).setLevel(level if verbose >= 2 else logging.WARNING)


def main() -> None:
    cli(prog_name="warcwatch")


if __name__ == "__main__":
    main()
