"""Errors the storage package raises; warcio and SQLAlchemy errors are converted to these at its boundary."""

from monitor.errors import WarcwatchError


class ArchiveError(WarcwatchError):
    """The archive (WARC files or catalog) cannot be read or written."""


class CaptureNotFound(ArchiveError):
    """No capture matches the URL (and time) asked for."""
