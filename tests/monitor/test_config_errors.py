"""Broken watchlists, each refused at load with one line naming file:line, the target and the
field — never a traceback, never accepted silently."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from monitor.config import load_config
from monitor.errors import ConfigError
from tests.conftest import ROOT

T = '[[targets]]\nname = "t"\nurl = "https://example.org/"\n'

CASES = [
    # (watchlist text, line expected, words the message must hold)
    (T + "tags = 5\n", 4, ["target 't'", "'tags'"]),
    (T + "allow = 5\n", 4, ["target 't'", "'allow'"]),
    (T + "deny = [5]\n", 4, ["target 't'", "'deny'"]),
    (T + "ignore = 5\n", 4, ["target 't'", "'ignore'"]),
    (T + "notify = 5\n", 4, ["target 't'", "'notify'"]),
    (T + "notify = [5]\n", 4, ["target 't'", "'notify'"]),
    (T + 'notify = ["not a url"]\n', 4, ["target 't'", "'notify'"]),
    (T + 'cron = "61 25 * * *"\n', 4, ["target 't'", "'cron'"]),
    (T + 'cron = "0 */6 * *"\n', 4, ["target 't'", "'cron'"]),
    (T + "max_pages = true\n", 4, ["target 't'", "'max_pages'"]),
    (T + "max_pages = 0\n", 4, ["target 't'", "'max_pages'"]),
    (T + "depth = -1\n", 4, ["target 't'", "'depth'"]),
    (T + 'render = "yes"\n', 4, ["target 't'", "'render'", "true or false"]),
    (T + "screenshot = 1\n", 4, ["target 't'", "'screenshot'", "true or false"]),
    (T + "render_wait = 5\n", 4, ["target 't'", "'render_wait'", "render = true"]),
    (T + 'render = true\nrender_wait = "soon"\n', 5, ["target 't'", "'render_wait'", "duration"]),
    (T + "render = true\nrender_wait = 600\n", 5, ["target 't'", "'render_wait'", "120"]),
    (T + "render = true\nrender_wait = true\n", 5, ["target 't'", "'render_wait'", "seconds"]),
    (T + "render_scroll = 3\n", 4, ["target 't'", "'render_scroll'", "render = true"]),
    (T + 'render = true\nrender_scroll = "lots"\n', 5, ["'render_scroll'", '"auto"', "'lots'"]),
    (T + "render = true\nrender_scroll = 1.5\n", 5, ["'render_scroll'", "screen-heights"]),
    (T + "render = true\nrender_scroll = 99\n", 5, ["'render_scroll'", "between 0 and 50"]),
    ("[crawl]\nrender_contexts = 0\n", 2, ["'render_contexts'"]),
    (T + 'every = "often"\n', 4, ["target 't'", "'every'"]),
    (T + 'kind = "rss"\n', 4, ["target 't'", "'kind'"]),
    (T + 'select = "div[["\n', 4, ["target 't'", "'select'"]),
    (T + 'colour = "red"\n', 4, ["target 't'", "'colour'"]),
    ('[[targets]]\nname = "t"\nurl = "ftp://example.org/"\n', 3, ["target 't'", "'url'"]),
    ('[[targets]]\nname = "t"\n', 1, ["target 't'", "'url'"]),
    (T + T, 5, ["'name'", "duplicate"]),
    ("[archive]\ndir = 5\n", 2, ["'dir'"]),
    ("[archive]\ngzip_level = 12\n", 2, ["'gzip_level'"]),
    ('[archive]\nwarc_max_size = "lots"\n', 2, ["'warc_max_size'"]),
    ('[archive]\nwarc_max_age = "soon"\n', 2, ["'warc_max_age'", "duration"]),
    ('[archive]\nwarc_max_age = "0s"\n', 2, ["'warc_max_age'", "greater than 0"]),
    ("[archive]\nwarc_max_age = true\n", 2, ["'warc_max_age'", "number"]),
    ("[crawl]\nconcurrency = -3\n", 2, ["'concurrency'"]),
    ("[crawl]\nconcurrency_per_host = 0\n", 2, ["'concurrency_per_host'"]),
    ('[crawl]\nobey_robots = "yes"\n', 2, ["'obey_robots'"]),
    ('[crawl]\ndownload_timeout = "soon"\n', 2, ["'download_timeout'"]),
    ('[monitor]\nremoval_confirm_delay = "soon"\n', 2, ["'removal_confirm_delay'", "duration"]),
    ('[monitor]\nremoval_confirm_delay = "1h"\n', 2, ["'removal_confirm_delay'", "at most 600s"]),
    ("[monitor]\nremoval_confirm_delay = -1\n", 2, ["'removal_confirm_delay'", "at least 0"]),
    ("[monitor]\nremoval_confirm_delay = true\n", 2, ["'removal_confirm_delay'", "number"]),
    ("[alerts]\nnotify = 5\n", 2, ["'notify'"]),
    ("[alerts]\nnotify = [5]\n", 2, ["'notify'"]),
    ("[serve]\nport = 70000\n", 2, ["'port'"]),
    (
        '[serve]\npublic_url = "archive.example.org"\n',
        2,
        ["'public_url'", "https://archive.example.org"],
    ),
    ("[serve]\npublic_url = 5\n", 2, ["'public_url'", "http(s) address"]),
    (
        '[serve]\npublic_url = "ftp://archive.example.org/"\n',
        2,
        ["'public_url'", "http(s) address"],
    ),
    (
        '[serve]\npublic_url = "https://archive.example.org/?token=x"\n',
        2,
        ["'public_url'", "http(s) address"],
    ),
    ("[alerts]\ntimeout = 0\n", 2, ["'timeout'", "greater than 0"]),
    ("targets = [1]\n", 1, ["target #1"]),
    ('targets = ["https://example.org/"]\n', 1, ["target #1"]),
    ("targets = 5\n", 1, ["targets"]),
    ("[archives]\ndir = 'a'\n", 1, ["unknown section", "'archives'"]),
    ("verbose = true\n" + T, 1, ["unknown top-level field", "'verbose'"]),
    ("crawl = 5\n", 1, ["'crawl'", "section"]),
    ('[crawl]\nuser_agent = "x"\n\n[crawl\n', 4, ["invalid TOML"]),
]


@pytest.mark.parametrize("text,line,words", CASES, ids=[f"{i:02d}" for i in range(len(CASES))])
def test_broken_watchlist_is_one_line_naming_file_line_target_and_field(
    tmp_path: Path, text, line, words
):
    path = tmp_path / "warcwatch.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    msg = str(info.value)
    assert "\n" not in msg
    assert msg.startswith(f"{path}:{line}: "), msg
    for w in words:
        assert w in msg, msg


def test_non_utf8_watchlist_names_its_line(tmp_path: Path):
    path = tmp_path / "warcwatch.toml"
    path.write_bytes(T.encode() + b'select = "caf\xe9"\n')
    with pytest.raises(ConfigError, match=rf"^{re.escape(str(path))}:4: not UTF-8"):
        load_config(path)


@pytest.mark.parametrize("command", [["crawl"], ["status"], ["run"]])
def test_cli_prints_one_line_and_exits_2(tmp_path: Path, command):
    path = tmp_path / "warcwatch.toml"
    path.write_text(T + 'cron = "61 25 * * *"\n')
    proc = subprocess.run(
        [sys.executable, "-m", "monitor.cli", *command, "--config", str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines() == [proc.stderr.strip()]
    assert f"{path}:4: target 't': field 'cron'" in proc.stderr
