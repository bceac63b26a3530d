"""The machine a benchmark ran on, as one line for its RESULTS file."""

from __future__ import annotations

import os
import platform
from pathlib import Path


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "?"


def describe(load: bool = True) -> str:
    """`host: CPU, N CPUs, Python x.y, OS release[, load average L at start]`"""
    text = (
        f"{platform.node()}: {cpu_model()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}"
    )
    if load and hasattr(os, "getloadavg"):
        text += f", load average {os.getloadavg()[0]:.2f} at start"
    return text
