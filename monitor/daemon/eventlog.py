"""The daemon's log: one logfmt line per event (`run.end target=… outcome=ok`), written to a
rotated file that stays bounded when it cannot be written.

With the disk full, logging's own error handling prints a traceback ("--- Logging error ---") to
stderr for every line that fails: a daemon relaying its workers' output line by line wrote
200,341 such lines in 25 s. Here a failure says so once on stderr, lines are then dropped (and
counted) without trying the disk again for `retry_after` seconds, and the first line that gets
through again is preceded by how many were lost.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import sys
import time
from datetime import datetime
from pathlib import Path

# the names the lines have always carried (`%(name)s`): whoever reads the log greps for them
log = logging.getLogger("monitor.daemon")
worker_log = logging.getLogger("monitor.worker")


def fmt(value: object) -> str:
    """A value as logfmt writes it: floats to the millisecond, containers as compact JSON, and
    quoted when empty or holding a space, a quote, `=` or a newline."""
    if isinstance(value, float):
        value = f"{value:.3f}"
    elif isinstance(value, datetime):
        value = value.isoformat(timespec="milliseconds")
    elif isinstance(value, (dict, list, tuple)):
        value = json.dumps(value, separators=(",", ":"), default=str)
    s = str(value)
    return json.dumps(s) if not s or any(c in s for c in ' "=\n') else s


def event(name: str, level: int = logging.INFO, **fields: object) -> None:
    """One log line per event: `name key=value …` (logfmt), always with the target where there is
    one."""
    log.log(level, "%s %s", name, " ".join(f"{k}={fmt(v)}" for k, v in fields.items()))


def setup_logging(path: Path, max_bytes: int, backups: int) -> logging.Handler:
    """Add the daemon's rotated log file to the root logger; stderr keeps its own verbosity."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # a full disk must not turn it into a flood
    handler = BoundedFileHandler(path, max_bytes, backups)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    handler.setLevel(logging.INFO)
    root = logging.getLogger()
    for h in root.handlers:  # stderr keeps the verbosity the user chose
        if h.level == logging.NOTSET:
            h.setLevel(root.level)
    root.addHandler(handler)
    root.setLevel(min(root.level, logging.INFO))
    logging.getLogger("apscheduler").setLevel(logging.ERROR)  # its lines repeat ours (run.skip)
    return handler


class BoundedFileHandler(logging.handlers.RotatingFileHandler):
    """A RotatingFileHandler that, once a write fails, drops and counts lines for a while."""

    retry_after = 10.0  # seconds without touching the disk after a failed write

    def __init__(self, path: Path, max_bytes: int, backups: int) -> None:
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
