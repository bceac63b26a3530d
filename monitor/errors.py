"""Errors the monitor package raises; the CLI turns each into one line on stderr."""


class WarcwatchError(Exception):
    """Base of the errors a user can cause and fix."""


class ConfigError(WarcwatchError):
    """The watchlist is wrong: the message names the file, line, target and field."""
