"""A watchlist mistake stops `warcwatch crawl` before anything is fetched, with one line that names
the file, the line, the target and the field, and a non-zero exit."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.cli import cli
from tests.conftest import write_config

GOOD = {"name": "good", "kind": "page"}  # plus url=site.url("/")

# id → (targets after GOOD, [crawl] additions, field, which occurrence of "field =" is wrong, target
# named)
CASES = {
    "unknown-target-field": (
        [{"name": "bad", "url": "{u}", "colour": "red"}],
        {},
        "colour",
        1,
        "bad",
    ),
    "unknown-crawl-field": ([], {"user_agnet": "x"}, "user_agnet", 1, None),
    "bad-kind": ([{"name": "bad", "url": "{u}", "kind": "blog"}], {}, "kind", 2, "bad"),
    "not-http-url": ([{"name": "bad", "url": "ftp://example.org/feed.xml"}], {}, "url", 2, "bad"),
    "relative-url": ([{"name": "bad", "urls": ["{u}", "/just/a/path"]}], {}, "urls", 1, "bad"),
    "bad-allow-regex": (
        [{"name": "bad", "url": "{u}", "kind": "site", "allow": ["/press/(unclosed"]}],
        {},
        "allow",
        1,
        "bad",
    ),
    "bad-deny-regex": (
        [{"name": "bad", "url": "{u}", "kind": "site", "deny": ["*.pdf"]}],
        {},
        "deny",
        1,
        "bad",
    ),
    "duplicate-name": ([{"name": "good", "url": "{u}"}], {}, "name", 2, "good"),
    "bad-css-select": ([{"name": "bad", "url": "{u}", "select": "div["}], {}, "select", 1, "bad"),
    "bad-css-ignore": (
        [{"name": "bad", "url": "{u}", "ignore": ["p >> a"]}],
        {},
        "ignore",
        1,
        "bad",
    ),
    "bad-ignore-regex": (
        [{"name": "bad", "url": "{u}", "ignore": ["regex:Updated (.*"]}],
        {},
        "ignore",
        1,
        "bad",
    ),
    "bad-every": ([{"name": "bad", "url": "{u}", "every": "6 hours"}], {}, "every", 1, "bad"),
    "negative-depth": (
        [{"name": "bad", "url": "{u}", "kind": "site", "depth": -1}],
        {},
        "depth",
        1,
        "bad",
    ),
    "bad-timeout": ([], {"download_timeout": "soon"}, "download_timeout", 1, None),
}


def line_of(path: Path, field: str, occurrence: int) -> int:
    lines = [
        n
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if re.match(rf"^{field}\s*=", line)
    ]
    return lines[occurrence - 1]


@pytest.fixture
def no_crawl(monkeypatch):
    """A bad watchlist must be refused before a pass starts: if one starts anyway, say so."""
    import monitor.passes

    def refuse(*_args, **_kwargs):
        raise AssertionError("a crawl pass started despite the bad watchlist")

    monkeypatch.setattr(monitor.passes, "run_pass_with_progress", refuse)
    monkeypatch.setattr(monitor.passes, "run_passes", refuse)


def fill(value, url: str):
    if isinstance(value, str):
        return value.replace("{u}", url)
    if isinstance(value, list):
        return [fill(v, url) for v in value]
    return value


@pytest.mark.parametrize("case", list(CASES))
def test_config_error_names_file_line_target_and_field(case, site, tmp_path, no_crawl):
    extra_targets, crawl_extra, field, occurrence, target = CASES[case]
    targets = [{**GOOD, "url": site.url("/")}] + [
        {k: fill(v, site.url("/page")) for k, v in t.items()} for t in extra_targets
    ]
    config = write_config(tmp_path, targets, crawl=crawl_extra)
    result = CliRunner().invoke(cli, ["crawl", "--config", str(config), "--json"])
    assert result.exit_code not in (0, None), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    message = result.stderr.strip()
    assert result.stdout == ""  # --json: stdout is for the summary only
    assert len(message.splitlines()) == 1 and "Traceback" not in message, message
    assert f"{config}:{line_of(config, field, occurrence)}:" in message, message
    assert f"'{field}'" in message, message
    if target:
        assert f"target '{target}'" in message, message
    assert site.requests == []  # nothing fetched, not even robots.txt


def test_a_good_config_gets_past_validation(site, tmp_path, no_crawl):
    """The counter-check: the same harness lets a valid watchlist through to the crawl."""
    config = write_config(tmp_path, [{**GOOD, "url": site.url("/")}])
    result = CliRunner().invoke(cli, ["crawl", "--config", str(config), "--json"])
    assert isinstance(result.exception, AssertionError)
    assert "crawl pass started" in str(result.exception)


def test_missing_config_file_is_one_line(tmp_path):
    result = CliRunner().invoke(cli, ["crawl", "--config", str(tmp_path / "nope.toml")])
    assert result.exit_code not in (0, None)
    assert str(tmp_path / "nope.toml") in result.stderr and "Traceback" not in result.stderr


def test_render_fields_reach_the_crawl(tmp_path):
    from monitor.config import load_config

    config = load_config(
        write_config(
            tmp_path,
            [
                {"name": "spa", "url": "https://example.org/", "render": True, "render_wait": "3s"},
                {"name": "shot", "url": "https://example.org/b", "screenshot": True},
                {"name": "plain", "url": "https://example.org/c"},
                {
                    "name": "dom",
                    "url": "https://example.org/d",
                    "render": True,
                    "screenshot": False,
                },
            ],
            crawl={"render_contexts": 2},
        )
    )
    spa, shot, plain, dom = (t.crawl_target() for t in config.targets)
    assert (spa.render, spa.render_wait, spa.screenshot) == (True, 3.0, True)
    assert (shot.render, shot.screenshot) == (False, True)
    assert (plain.render, plain.screenshot) == (False, False)
    assert (dom.render, dom.screenshot) == (True, False)
    assert config.crawl.scrapy_settings().getint("RENDER_CONTEXTS") == 2
