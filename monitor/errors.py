"""Errors the monitor package raises; the CLI turns each into one line on stderr."""

from storage.errors import WarcwatchError

__all__ = ["ConfigError", "WarcwatchError"]


class ConfigError(WarcwatchError):
    """The watchlist is wrong: the message names the file, line, target and field."""
