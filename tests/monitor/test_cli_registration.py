"""The `warcwatch` group knows every command without help from `main()`: a fresh process that
imports only `monitor.cli.cli` runs `status` through click's CliRunner; and the exit statuses
are the ones `--help` and docs/commands.md state (0 ok, 1 nothing found, 2 a mistake)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.cli import cli
from tests.conftest import ROOT, write_config

FRESH = """
import sys
from click.testing import CliRunner
from monitor.cli import cli
r = CliRunner().invoke(cli, ["status", "--config", sys.argv[1]])
print(r.exit_code)
print(r.output)
"""


def test_a_fresh_process_runs_status_through_the_group_alone(tmp_path: Path):
    config = write_config(tmp_path, [{"name": "site", "url": "https://example.org/"}])
    proc = subprocess.run(
        [sys.executable, "-c", FRESH, str(config)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    code, _, output = proc.stdout.partition("\n")
    assert proc.returncode == 0, proc.stderr
    assert code == "0" and "No such command" not in output, output
    assert "site" in output, output


def test_the_group_help_states_the_exit_statuses():
    r = CliRunner().invoke(cli, ["--help"])
    assert r.exit_code == 0, r.output
    assert "Exit status:" in r.output
    for line in (
        "0  the command did its job",
        "1  a listing found nothing",
        "2  a usage or watchlist",
    ):
        assert line in r.output, r.output


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["status"], 0),
        (["captures", "https://example.org/never"], 1),
        (["changes"], 1),
        (["changes", "--json"], 0),  # an empty JSON array is an answer
        (["show", "https://example.org/never"], 2),
        (["show", "https://example.org/", "--at", "last tuesday"], 2),
        (["nonsense"], 2),
        (["crawl", "--target", "nobody"], 2),
    ],
    ids=[
        "ok",
        "no-captures",
        "no-events",
        "no-events-json",
        "unknown-url",
        "bad-timestamp",
        "unknown-command",
        "unknown-target",
    ],
)
def test_exit_statuses_are_consistent(tmp_path: Path, args: list[str], code: int):
    config = write_config(tmp_path, [{"name": "site", "url": "https://example.org/"}])
    r = CliRunner().invoke(cli, [*args, "--config", str(config)])
    assert r.exit_code == code, r.output
    assert "Traceback" not in r.output


def test_a_missing_watchlist_is_exit_2_in_one_line(tmp_path: Path):
    r = CliRunner().invoke(cli, ["status", "--config", str(tmp_path / "absent.toml")])
    assert r.exit_code == 2 and len(r.output.strip().splitlines()) == 1, r.output
