"""The daemon's pid file in the archive folder: locked while the daemon runs (a second daemon on
the same archive is refused), and read by `warcwatch status` and `warcwatch reload`."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from monitor.errors import WarcwatchError
from monitor.status import daemon_info


class PidFile:
    def __init__(self, path: Path, handle: TextIO) -> None:
        self.path = path
        self._handle: TextIO | None = handle

    @classmethod
    def acquire(cls, path: Path, config_path: Path) -> PidFile:
        """Lock `path` and write this process's pid into it, or WarcwatchError if a daemon holds
        it."""
        f = open(path, "a+")  # noqa: SIM115 - held open (and locked) until release
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.close()
            info = daemon_info(path.parent)
            raise WarcwatchError(
                f"a daemon already runs on {path.parent} (pid {info.get('pid')})"
            ) from None
        f.seek(0)
        f.truncate()
        started = datetime.now(UTC).isoformat()
        json.dump({"pid": os.getpid(), "started_at": started, "config": str(config_path)}, f)
        f.flush()
        return cls(path, f)

    def release(self) -> None:
        if self._handle is not None:
            with contextlib.suppress(OSError):
                self.path.unlink()
            self._handle.close()
            self._handle = None
