"""What every `warcwatch` command shares: the `--config` option, loading the watchlist, and the
exit statuses with the one-line messages that go with them.

Exit statuses (the group's `--help` and docs/commands.md state them):

* 0 (`EXIT_OK`): the command did its job.
* 1 (`EXIT_NOTHING`): a listing found nothing to list (`captures`, `changes`), a run failed, or
  `verify` found a problem.
* 2 (`EXIT_USAGE`): a usage or watchlist mistake, a URL, id or selection that names no capture,
  or an archive that cannot be read or written. Click's own usage errors exit 2 as well.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import click

if TYPE_CHECKING:
    from monitor.config import Config

DEFAULT_CONFIG = "warcwatch.toml"
EXIT_OK = 0
EXIT_NOTHING = 1
EXIT_USAGE = 2


def load(config_path: str | None, required: bool = True) -> Config:
    """The watchlist at `config_path` (default ./warcwatch.toml). A read command (`required`
    False) without one works on ./archive, when there is an archive there."""
    from monitor.config import Config, load_config
    from monitor.errors import ConfigError

    path = Path(config_path or DEFAULT_CONFIG)
    if not required and config_path is None and not path.exists():
        config = Config(path=None)  # lookups work on ./archive without a watchlist…
        # …where there is one: never make an empty one
        if not (config.archive.dir / "catalog.sqlite").exists():
            raise ConfigError(
                f"no watchlist ({DEFAULT_CONFIG}) and no archive ({config.archive.dir}/) here: "
                "pass --config FILE or run from the watchlist's folder"
            )
        return config
    return load_config(path)


def fail(exc: Exception) -> NoReturn:
    """A mistake the user can fix, as one line on stderr: exit 2."""
    click.echo(f"warcwatch: error: {exc}", err=True)
    sys.exit(EXIT_USAGE)


def nothing(message: str) -> NoReturn:
    """A listing with nothing in it, said on stderr: exit 1."""
    click.echo(message, err=True)
    sys.exit(EXIT_NOTHING)


config_option = click.option(
    "--config", "config_path", metavar="FILE", help=f"watchlist (default ./{DEFAULT_CONFIG})"
)
