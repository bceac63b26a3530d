"""The daemon's log file: rotated, and bounded when it cannot be written.

With the disk full, logging's own error handling prints a traceback ("--- Logging error ---") to
stderr for every line that fails: a daemon relaying its workers' output line by line wrote
200,341 such lines in 25 s. Here a failure says so once on stderr, lines are then dropped (and
counted) without trying the disk again for `retry_after` seconds, and the first line that gets
through again is preceded by how many were lost.
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
import time
from pathlib import Path


class BoundedFileHandler(logging.handlers.RotatingFileHandler):
    retry_after = 10.0  # seconds without touching the disk after a failed write

    def __init__(self, path: Path, max_bytes: int, backups: int):
        super().__init__(path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8")
        self._failed_at: float | None = None
        self._dropped = 0
        self._reason = ""
        self._ok = True

    def emit(self, record: logging.LogRecord) -> None:
        if self._failed_at is not None and time.monotonic() - self._failed_at < self.retry_after:
            self._dropped += 1
            return
        if self._dropped:
            note = logging.LogRecord(
                "monitor.logfile",
                logging.WARNING,
                __file__,
                0,
                "log.dropped lines=%d reason=%s",
                (self._dropped, _quoted(self._reason)),
                None,
            )
            if not self._write(note):
                self._dropped += 1
                return
            self._dropped = 0
        if not self._write(record):
            self._dropped += 1

    def _write(self, record: logging.LogRecord) -> bool:
        self._ok = True
        super().emit(record)  # calls handleError when the write fails
        if self._ok:
            self._failed_at = None
        return self._ok

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 - logging's name
        self._ok = False
        exc = sys.exc_info()[1]
        first = self._failed_at is None
        self._failed_at = time.monotonic()
        self._reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        if first:  # once per spell of failures, not once per line
            try:
                sys.stderr.write(
                    f"warcwatch: cannot write the log {self.baseFilename} ({self._reason}): "
                    f"log lines are dropped and counted until it can be written again\n"
                )
                sys.stderr.flush()
            except (OSError, ValueError):
                pass


def _quoted(text: str) -> str:
    return '"' + text.replace('"', "'") + '"'
