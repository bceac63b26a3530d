"""The daemon's watchlist: read at start, read again on SIGHUP, and the last good one kept.

A watchlist that does not load (bad TOML, a bad cron, `tags = 5`) or that changes `[archive]`
(which only a restart can apply) is refused: the daemon logs one line and goes on with the last
good watchlist. Its workers are handed that watchlist's text with every pass instead of reading the
file, so a broken file on disk never reaches a pass of any target.

Each reload's outcome is written to RELOAD_FILE in the archive folder, which `warcwatch reload`
waits for and reports: which targets were added, changed, removed, and which stayed unchanged.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from monitor.config import Config, loads_config, read_watchlist
from monitor.errors import ConfigError

RELOAD_FILE = "warcwatch.reload.json"


@dataclass(frozen=True)
class Watchlist:
    config: Config
    text: str  # the TOML it was loaded from: what each worker is given for its pass


def read(path: Path) -> Watchlist:
    text = read_watchlist(path)
    return Watchlist(loads_config(text, path), text)


def reread(path: Path, current: Watchlist) -> Watchlist:
    """The watchlist as it is on disk now, or ConfigError (the caller keeps `current`)."""
    new = read(path)
    if new.config.archive != current.config.archive:
        raise ConfigError(f"{path}: [archive] changed: restart the daemon to use another archive")
    return new


def edited(old: Config, new: Config) -> list[str]:
    """Targets present in both whose definition changed (URLs, schedule, rules…)."""
    before = {t.name: t for t in old.targets}
    return [t.name for t in new.targets if t.name in before and before[t.name] != t]


# --- the outcome, for `warcwatch reload` ----------------------------------------------------------


def write_outcome(archive_dir: Path, outcome: dict) -> None:
    """Replace RELOAD_FILE with `outcome` and a sequence number one higher than the last."""
    path = archive_dir / RELOAD_FILE
    outcome = {"seq": last_seq(archive_dir) + 1, **outcome}
    tmp = path.with_name(path.name + ".tmp")
    try:
        tmp.write_text(json.dumps(outcome))
        os.replace(tmp, path)
    except OSError:  # a full disk: `reload` then says it got no answer, the log has the outcome
        pass


def last_seq(archive_dir: Path) -> int:
    try:
        return int(json.loads((archive_dir / RELOAD_FILE).read_text()).get("seq", 0))
    except (OSError, ValueError, AttributeError):
        return 0


def wait_outcome(archive_dir: Path, after_seq: int, timeout: float = 15.0) -> dict | None:
    """The outcome of the first reload after `after_seq`, or None if none came within `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            outcome = json.loads((archive_dir / RELOAD_FILE).read_text())
        except (OSError, ValueError):
            outcome = {}
        if isinstance(outcome, dict) and outcome.get("seq", 0) > after_seq:
            return outcome
        time.sleep(0.1)
    return None


def describe(outcome: dict) -> str:
    """`reload`'s line: `watchlist reloaded: added new; changed keep (rescheduled); removed drop;
    unchanged 3`."""
    parts = []
    for key in ("added", "changed", "removed"):
        names = outcome.get(key) or []
        if names:
            rescheduled = set(outcome.get("rescheduled") or ())
            shown = [
                f"{n} (rescheduled)" if key == "changed" and n in rescheduled else n for n in names
            ]
            parts.append(f"{key} {', '.join(shown)}")
    parts.append(f"unchanged {len(outcome.get('unchanged') or [])}")
    return "watchlist reloaded: " + "; ".join(parts)
