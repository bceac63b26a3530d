"""The project's own user documentation keeps step with the code: every watchlist field and every
command is documented in docs/, and neither the README nor docs/ send readers outside the
project."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
from pathlib import Path

import pytest

from monitor import config as cfg
from monitor.config_storage import STORAGE_KEYS

ROOT = Path(__file__).resolve().parent.parent
WATCHLIST = (ROOT / "docs" / "watchlist.md").read_text()
COMMANDS = (ROOT / "docs" / "commands.md").read_text()

SECTIONS = {
    "archive": cfg.ArchiveSettings,
    "crawl": cfg.CrawlSettings,
    "monitor": cfg.MonitorSettings,
    "alerts": cfg.AlertSettings,
    "serve": cfg.ServeSettings,
    "evidence": cfg.EvidenceSettings,
    "targets": cfg.Target,
}


def _section(name: str) -> str:
    """The text of docs/watchlist.md under the heading naming `[name]` (or `[[targets]]`)."""
    head = re.search(rf"^## `\[\[?{name}\]\]?`.*$", WATCHLIST, re.M)
    assert head, f"docs/watchlist.md has no section for [{name}]"
    rest = WATCHLIST[head.end() :]
    nxt = re.search(r"^## ", rest, re.M)
    return rest[: nxt.start()] if nxt else rest


# fields the watchlist names otherwise (`warc_dir` is the field warc_objects or warc_local)
_KEY = {field: key for key, field in STORAGE_KEYS.items()}


@pytest.mark.parametrize(
    "section,field",
    [(s, _KEY.get(f.name, f.name)) for s, cls in SECTIONS.items() for f in dataclasses.fields(cls)],
)
def test_every_watchlist_field_is_documented_in_its_section(section, field):
    assert re.search(rf"^\| [^|]*`{field}`[^|]*\|", _section(section), re.M), (
        f"[{section}] {field} is read by monitor/config.py but missing from docs/watchlist.md"
    )


def test_every_command_is_documented():
    out = subprocess.run(
        [sys.executable, "-m", "monitor.cli", "--help"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout
    names = re.findall(r"^  (\w[\w-]*)\s", out.split("Commands:", 1)[1], re.M)
    assert len(names) >= 10, out
    missing = [n for n in names if f"`warcwatch {n}" not in COMMANDS]
    assert not missing, f"commands missing from docs/commands.md: {missing}"


@pytest.mark.parametrize(
    "doc", ["README.md", *sorted(p.name for p in (ROOT / "docs").glob("*.md"))]
)
def test_the_docs_link_only_inside_the_project(doc):
    path = ROOT / doc if doc == "README.md" else ROOT / "docs" / doc
    text = path.read_text()
    assert "shared/docs" not in text and "interface.md" not in text
    for target in re.findall(r"\]\(([^)#\s]+)", text):
        if re.match(r"[a-z]+://", target):
            continue
        assert (path.parent / target).resolve().is_relative_to(ROOT), (
            f"{doc} links outside: {target}"
        )
        assert (path.parent / target).exists(), f"{doc} links to a missing file: {target}"
