"""Venvs of their own for test tools that would change the product's environment if installed in it
(pywb's brotlipy replaces Google's `brotli` module that Scrapy decodes br with; wacz pulls chardet,
which requests then prefers to charset_normalizer). Each lives in .cache/<name>-venv, is created
by the first test that needs it and reused after; pip installs it from wherever pip is configured
to look (an index, or the local wheel directories of an offline machine).
"""

from __future__ import annotations

import fcntl
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".cache"


def tool_venv(name: str, *requirements: str) -> Path:
    """The bin directory of .cache/<name>-venv with `requirements` installed (created once)."""
    venv = CACHE / f"{name}-venv"
    done = venv / ".installed"  # written last: a venv whose install was interrupted is redone
    wanted = "\n".join(requirements) + "\n"
    CACHE.mkdir(exist_ok=True)
    with open(CACHE / f"{name}-venv.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two pytest runs in one checkout share the venv
        if done.exists() and done.read_text() == wanted:
            return venv / "bin"
        # from the base interpreter, so that nothing of the product's venv is seen from the new one
        base = getattr(sys, "_base_executable", sys.executable)
        for cmd in (
            [base, "-m", "venv", "--clear", str(venv)],
            [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", *requirements],
        ):
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
            if proc.returncode != 0:
                raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stdout}\n{proc.stderr}")
        done.write_text(wanted)
    return venv / "bin"
