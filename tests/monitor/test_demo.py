"""`warcwatch demo` as a newcomer runs it: the installed script, venv not activated, and the
commands it suggests at the end pasted into a shell as printed."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path


def test_demo_hints_work_as_printed(tmp_path: Path):
    script = Path(sys.executable).with_name("warcwatch")
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    env["PATH"] = "/usr/bin:/bin"  # the venv is not activated
    out = subprocess.run(
        [str(script), "demo"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=True,
    ).stdout
    assert "changed" in out and "removed" in out
    hints = [
        line.strip()
        for line in out.splitlines()
        if re.match(r"\s+cd .+ && .+ (changes|captures) ", line + " ")
    ]
    assert len(hints) >= 2, out[-2000:]
    for hint in hints:
        proc = subprocess.run(
            ["bash", "-c", hint], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
        )
        assert proc.returncode == 0, f"{hint}\n{proc.stdout}\n{proc.stderr}"
        assert proc.stdout.strip(), hint
