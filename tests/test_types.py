"""The type checker's verdict is part of the build (issue 11 item 6): mypy, configured in
pyproject.toml (strict on monitor/daemon and crawler/targets), finds no error in storage/, crawler/
and monitor/. Run as CI would, in a subprocess of this interpreter, from the project root."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHECKED = ("storage", "crawler", "monitor")


def test_mypy_finds_no_error_in_storage_crawler_and_the_daemon(tmp_path: Path) -> None:
    # a cache of its own: a shared one could hold another checkout's verdicts
    command = [sys.executable, "-m", "mypy", "--cache-dir", str(tmp_path / "cache"), *CHECKED]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, (
        f"{' '.join(command[2:])} exited {done.returncode}:\n{done.stdout}{done.stderr}"
    )
