"""scrapy.cfg says what Scrapy's own commands do from the project folder: each command it
advertises runs there and answers."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
SCRAPY = Path(sys.executable).parent / "scrapy"


def test_every_scrapy_command_scrapy_cfg_advertises_works_from_the_project_folder():
    commands = re.findall(r"`(scrapy [^`]*)`", (ROOT / "scrapy.cfg").read_text())
    assert commands, "scrapy.cfg advertises no scrapy command"
    for command in commands:
        # NAME stands for a target in a watchlist or a setting: one of each exists
        args = (
            command.replace("target=NAME", "target=example").replace("NAME", "USER_AGENT").split()
        )
        done = subprocess.run(
            [str(SCRAPY), *args[1:]], cwd=ROOT, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, f"`{command}` failed: {done.stderr.strip().splitlines()[-1:]}"
        assert done.stdout.strip(), f"`{command}` printed nothing"


def test_scrapy_list_names_the_watchlist_spider():
    done = subprocess.run(
        [str(SCRAPY), "list"], cwd=ROOT, capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.split() == ["warcwatch"]
