"""Reading the watchlist: loading and validating `warcwatch.toml` into the frozen values of
`monitor.watchlist` (re-exported here, where the rest of the code takes them from).

Every mistake is reported before anything is fetched, as one line naming the file,
the line, the target and the field (`warcwatch.toml:14: target 'un-press': field 'kind': ...`).
"""

from __future__ import annotations

import re
import tomllib

# [crawl] is the crawler's own value, its defaults the crawler's (crawler.targets)
from pathlib import Path
from urllib.parse import urlsplit

from crawler.requisites import POLICIES
from crawler.targets import CrawlSettings
from monitor.config_cluster import ClusterSettings, runner_name
from monitor.config_evidence import EvidenceSettings, tsa_urls
from monitor.config_render import render_fields
from monitor.config_storage import S3_KEYS, STORAGE_KEYS, resolve, storage_fields, storage_value
from monitor.errors import ConfigError
from monitor.tomltext import toml_text
from monitor.watchlist import (
    KINDS,
    MAX_REMOVAL_CONFIRM_DELAY,
    AlertSettings,
    ArchiveSettings,
    Config,
    MonitorSettings,
    ServeSettings,
    Target,
)
from storage.digests import ALGORITHMS

__all__ = [
    "KINDS",
    "MAX_REMOVAL_CONFIRM_DELAY",
    "AlertSettings",
    "ArchiveSettings",
    "Config",
    "CrawlSettings",
    "MonitorSettings",
    "ServeSettings",
    "Target",
    "load_config",
    "loads_config",
    "parse_config",
    "parse_duration",
    "parse_size",
    "read_watchlist",
]

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
# numeric settings for which 0 makes no sense (the others must be ≥ 0)
_POSITIVE = {
    "download_timeout",
    "timeout",
    "concurrency",
    "concurrency_per_host",
    "max_attempts",
    "similar",
    "flip_flop_versions",
    "heartbeat",
    "stalled_after",
    "render_contexts",
    "warc_max_age",
}


def parse_duration(text: str) -> float:
    """'90s', '15m', '6h', '1d', '2w' → seconds."""
    m = _DURATION.match(str(text))
    if not m:
        raise ValueError(f"{toml_text(text)} is not a duration like '30m', '6h' or '1d'")
    return float(m.group(1)) * _UNITS[m.group(2)]


def parse_size(value: int | str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):  # true is no size
        return value
    m = re.match(r"^\s*(\d+(?:\.\d+)?)\s*([KMG]i?B?|B)?\s*$", str(value), re.I)
    if not m:
        raise ValueError(f"{toml_text(value)} is not a size like '50MB' or 1000000")
    unit = (m.group(2) or "B").upper().rstrip("B").rstrip("I")
    return int(float(m.group(1)) * {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3}[unit])


class _Locator:
    """Finds the line of a field in the raw TOML text: tomllib reports values, not positions."""

    def __init__(self, text: str):
        self.lines = text.splitlines()

    def _block_start(self, table: str, index: int | None) -> int:
        header = re.compile(
            rf"^\s*\[\[\s*{table}\s*\]\]" if index is not None else rf"^\s*\[\s*{table}\s*\]"
        )
        seen = -1
        for n, line in enumerate(self.lines):
            if header.match(line):
                seen += 1
                if index is None or seen == index:
                    return n
        return 0

    def top_level(self, key: str) -> int:
        pat = re.compile(rf"^\s*{re.escape(key)}\s*=")
        for n, line in enumerate(self.lines):
            if re.match(r"^\s*\[", line):
                break
            if pat.match(line):
                return n + 1
        return 1

    def line(self, table: str, key: str | None, index: int | None = None) -> int:
        start = self._block_start(table, index)
        if key is None:
            return start + 1
        pat = re.compile(rf"^\s*{re.escape(key)}\s*=")
        for n in range(start + 1, len(self.lines)):
            if re.match(r"^\s*\[", self.lines[n]):
                break
            if pat.match(self.lines[n]):
                return n + 1
        return start + 1


def load_config(path: str | Path) -> Config:
    path = Path(path)
    return loads_config(read_watchlist(path), path)


def read_watchlist(path: Path) -> str:
    """The watchlist's text, or ConfigError (missing, unreadable, not UTF-8)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such watchlist (pass --config FILE)") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(
            f"{path}:{line}: not UTF-8 text (byte {raw[exc.start]:#04x}): save the watchlist as "
            "UTF-8"
        ) from None
    return text


def loads_config(text: str, path: Path) -> Config:
    """The watchlist `text` read from `path` (relative folders in it are relative to `path`'s):
    what the daemon's workers are given, so that they never read the file themselves."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"\(at line (\d+), column \d+\)", str(exc))
        where = f"{path}:{m.group(1)}" if m else str(path)
        raise ConfigError(f"{where}: invalid TOML: {str(exc).split(' (at line')[0]}") from None
    return parse_config(data, path=path, text=text)


def parse_config(data: dict, path: Path | None = None, text: str = "") -> Config:
    loc = _Locator(text)
    where = str(path or "<config>")

    def fail(
        table: str, key: str | None, msg: str, index: int | None = None, label: str = ""
    ) -> ConfigError:
        line = loc.line(table, key, index)
        return ConfigError(f"{where}:{line}: {label}{f'field {key!r}: ' if key else ''}{msg}")

    known = {"archive", "crawl", "monitor", "alerts", "serve", "evidence", "cluster", "targets"}
    for key, value in data.items():
        if key not in known:
            what = "section" if isinstance(value, dict) else "top-level field"
            line = loc.line(key, None) if isinstance(value, dict) else loc.top_level(key)
            raise ConfigError(
                f"{where}:{line}: unknown {what} {key!r} (expected one "
                f"of {', '.join(sorted(known))})"
            )
    for key in ("archive", "crawl", "monitor", "alerts", "serve", "evidence", "cluster"):
        if not isinstance(data.get(key, {}), dict):
            raise ConfigError(f"{where}:{loc.top_level(key)}: {key!r} must be a section: [{key}]")

    archive = _section(data.get("archive", {}), ArchiveSettings, "archive", fail)
    if path is not None and not archive.dir.is_absolute():
        archive = _replace(archive, dir=(path.parent / archive.dir))
    if path is not None and archive.warc_local is not None:
        archive = _replace(archive, warc_local=resolve(archive.warc_local, path.parent))
    crawl = _section(data.get("crawl", {}), CrawlSettings, "crawl", fail)
    monitor = _section(data.get("monitor", {}), MonitorSettings, "monitor", fail)
    alerts = _section(data.get("alerts", {}), AlertSettings, "alerts", fail)
    serve = _section(data.get("serve", {}), ServeSettings, "serve", fail)
    evidence = _section(data.get("evidence", {}), EvidenceSettings, "evidence", fail)
    cluster = _section(data.get("cluster", {}), ClusterSettings, "cluster", fail)
    if cluster.distributed and not archive.database_url.startswith("postgresql"):
        raise fail(
            "cluster",
            "runner",
            "the procrastinate runner queues passes in PostgreSQL: set [archive] database to a "
            "postgresql:// URL",
        )

    raw_targets = data.get("targets", [])
    if not isinstance(raw_targets, list):
        raise fail("targets", None, "must be an array of tables: [[targets]]")
    targets: list[Target] = []
    names: set[str] = set()
    for i, raw in enumerate(raw_targets):
        t = _target(raw, i, fail)
        if t.name in names:
            raise fail(
                "targets", "name", f"duplicate target name {t.name!r}", i, f"target {t.name!r}: "
            )
        names.add(t.name)
        targets.append(t)
    return Config(
        path=path,
        archive=archive,
        crawl=crawl,
        monitor=monitor,
        alerts=alerts,
        serve=serve,
        evidence=evidence,
        cluster=cluster,
        targets=tuple(targets),
    )


def _replace(obj, **changes):
    from dataclasses import replace

    return replace(obj, **changes)


def _section(raw: dict, cls, table: str, fail):
    values = {}
    fields = cls.__dataclass_fields__
    known = set(fields)
    if table == "archive":  # fields the watchlist names otherwise (monitor.config_storage)
        known = (known - set(STORAGE_KEYS.values())) | set(STORAGE_KEYS)
    for key, value in raw.items():
        if key not in known:
            raise fail(
                table, key, f"unknown field in [{table}] (known: {', '.join(sorted(known))})"
            )
        default = fields[key].default if key in fields else None
        try:
            if table == "archive" and (key in STORAGE_KEYS or key in S3_KEYS):
                value = storage_value(key, value)
            elif key in ("max_size", "warc_max_size"):
                value = parse_size(value)
                if value <= 0:
                    raise ValueError(f"must be greater than 0, got {value!r}")
            elif key in (
                "download_timeout",
                "recheck_window",
                "retry_for",
                "removal_confirm_delay",
                "timeout",
                "not_found_probe_ttl",
                "heartbeat",
                "stalled_after",
                "warc_max_age",
            ) and isinstance(value, str):
                value = parse_duration(value)
            elif key == "public_url":
                value = _public_url(value)
            elif key == "tsa":
                value = tsa_urls(value)
            elif key == "runner":
                value = runner_name(value)
            elif key == "notify":
                value = (value,) if isinstance(value, str) else value
                if not isinstance(value, list | tuple) or not all(
                    isinstance(v, str) and "://" in v for v in value
                ):
                    raise ValueError(
                        "expected a list of apprise URLs like 'mailto://…' or 'json://host/path'"
                    )
                value = tuple(value)
            elif key == "dir":
                if not isinstance(value, str) or not value.strip():
                    raise ValueError(f"expected a folder name (a string), got {toml_text(value)}")
                value = Path(value)
            elif key == "token":
                if not isinstance(value, str) or len(value) < 16 or any(c.isspace() for c in value):
                    raise ValueError(
                        "expected a string of at least 16 characters without spaces "
                        "(e.g. from `python -c 'import secrets; print(secrets.token_urlsafe())'`)"
                    )
            elif isinstance(default, bool) and not isinstance(value, bool):
                raise ValueError(f"expected true or false, got {toml_text(value)}")
            elif isinstance(default, (int, float)) and not isinstance(default, bool):
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    raise ValueError(f"expected a number, got {toml_text(value)}")
                if value < 0 or (value == 0 and key in _POSITIVE):
                    raise ValueError(
                        f"must be {'greater than 0' if key in _POSITIVE else 'at least 0'}, "
                        f"got {toml_text(value)}"
                    )
            elif isinstance(default, str) and not isinstance(value, str):
                raise ValueError(f"expected a string, got {toml_text(value)}")
        except ValueError as exc:
            raise fail(table, key, str(exc)) from None
        values[key] = value
    if table == "monitor" and values.get("removal_confirm_delay", 0) > MAX_REMOVAL_CONFIRM_DELAY:
        raise fail(
            table,
            "removal_confirm_delay",
            f"must be at most {MAX_REMOVAL_CONFIRM_DELAY:g}s (the pass waits for it), "
            f"got {values['removal_confirm_delay']:g}s",
        )
    if table == "crawl" and values.get("requisites", "all") not in POLICIES:
        raise fail(
            table,
            "requisites",
            f"{toml_text(values['requisites'])} is not one of {', '.join(POLICIES)}",
        )
    if table == "archive":
        values.update(storage_fields(values, lambda key, msg: fail(table, key, msg)))
    if table == "archive" and values.get("warc_max_age", 1) <= 0:
        raise fail(table, "warc_max_age", "must be greater than 0, like '1h' or '10m'")
    if table == "archive" and "gzip_level" in values and not 0 <= values["gzip_level"] <= 9:
        raise fail(table, "gzip_level", "must be between 0 and 9")
    if table == "archive" and "digest" in values and values["digest"] not in ALGORITHMS:
        raise fail(table, "digest", f"{values['digest']!r} is not one of {', '.join(ALGORITHMS)}")
    if (
        table == "serve"
        and "port" in values
        and (not isinstance(values["port"], int) or not 0 <= values["port"] <= 65535)
    ):
        raise fail(table, "port", "must be a whole number between 0 and 65535")
    return cls(**values)


def _public_url(value) -> str:
    """An http(s) URL with a host and no query or fragment, without its trailing slash."""
    parts = urlsplit(value) if isinstance(value, str) else None
    if (
        not parts
        or parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.query
        or parts.fragment
    ):
        raise ValueError(
            "expected the http(s) address the web UI is reached at, like "
            "'https://archive.example.org', "
            f"got {value!r}"
        )
    return value.rstrip("/")


def _strings(value, what: str) -> list[str]:
    """A list of strings (a lone string counts as one), or ValueError naming what was expected."""
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise ValueError(f"expected {what}, got {toml_text(value)}")
    return values


def _target(raw: dict, i: int, fail) -> Target:
    if not isinstance(raw, dict):
        raise fail(
            "targets",
            None,
            f"target #{i + 1}: must be a table [[targets]] with name = … and url = …, "
            f"got {toml_text(raw)}",
            i,
        )
    name = raw.get("name")
    label = f"target {name!r}: " if isinstance(name, str) and name else f"target #{i + 1}: "

    def err(key: str | None, msg: str) -> ConfigError:
        return fail("targets", key, msg, i, label)

    fields = set(Target.__dataclass_fields__) | {"url"}
    for key in raw:
        if key not in fields:
            raise err(key, f"unknown field (known: {', '.join(sorted(fields - {'urls'}))}, urls)")
    if not isinstance(name, str) or not _NAME.match(name):
        raise err("name", "required: letters, digits, '.', '_' or '-'")
    if "url" in raw and "urls" in raw:
        raise err("urls", "give either url or urls, not both")
    urls = raw.get("urls", [raw["url"]] if "url" in raw else None)
    key = "urls" if "urls" in raw else "url"
    if not urls or not isinstance(urls, list):
        raise err(key, "required: the URL to watch")
    for u in urls:
        parts = urlsplit(u) if isinstance(u, str) else None
        if not parts or parts.scheme not in ("http", "https") or not parts.hostname:
            raise err(key, f"{toml_text(u)} is not an http(s) URL")
    kind = raw.get("kind", "page")
    if kind not in KINDS:
        raise err("kind", f"{toml_text(kind)} is not one of {', '.join(KINDS)}")
    every = raw.get("every")
    if every is not None:
        try:
            every = parse_duration(every)
        except ValueError as exc:
            raise err("every", str(exc)) from None
        if every < 1:
            raise err("every", "must be at least 1s")
    cron = raw.get("cron")
    if cron is not None:
        if every is not None:
            raise err("cron", "give either every or cron, not both")
        if not isinstance(cron, str) or len(cron.split()) != 5:
            raise err(
                "cron", f"{toml_text(cron)} is not a 5-field cron expression like '0 */6 * * *'"
            )
        from apscheduler.triggers.cron import CronTrigger  # what the daemon will build from it

        try:
            CronTrigger.from_crontab(cron)
        except ValueError as exc:
            raise err("cron", f"{toml_text(cron)} is not a valid cron expression: {exc}") from None
    depth = raw.get("depth", 1)
    if not isinstance(depth, int) or isinstance(depth, bool) or depth < 0:
        raise err("depth", "must be a whole number ≥ 0")
    max_pages = raw.get("max_pages", 1000)
    if not isinstance(max_pages, int) or isinstance(max_pages, bool) or max_pages < 1:
        raise err("max_pages", "must be a whole number ≥ 1")
    patterns = {}
    for key in ("allow", "deny"):
        try:
            values = _strings(raw.get(key, []), "a list of regular expressions")
        except ValueError as exc:
            raise err(key, str(exc)) from None
        for p in values:
            try:
                re.compile(p)
            except (re.error, TypeError) as exc:
                raise err(key, f"bad regex {toml_text(p)}: {exc}") from None
        patterns[key] = tuple(values)
    select = raw.get("select")
    if select is not None:
        _check_css(select, lambda msg: err("select", msg))
    try:
        ignore = _strings(raw.get("ignore", []), "a list of CSS selectors or 'regex:…' rules")
    except ValueError as exc:
        raise err("ignore", str(exc)) from None
    for rule in ignore:
        if rule.startswith("regex:"):
            try:
                re.compile(rule[6:])
            except re.error as exc:
                raise err("ignore", f"bad regex {toml_text(rule[6:])}: {exc}") from None
        else:
            _check_css(rule, lambda msg: err("ignore", msg))
    notify = raw.get("notify")
    if notify is not None:
        try:
            notify = _strings(
                notify, "a list of apprise URLs like 'mailto://…' or 'json://host/path'"
            )
        except ValueError as exc:
            raise err("notify", str(exc)) from None
        for u in notify:
            if "://" not in u:
                raise err(
                    "notify",
                    f"{toml_text(u)} is not an apprise URL like 'mailto://…' or 'json://host/path'",
                )
    try:
        tags = _strings(raw.get("tags", []), "a list of strings")
    except ValueError as exc:
        raise err("tags", str(exc)) from None
    browser = render_fields(raw, err, parse_duration)
    return Target(
        name=name,
        urls=tuple(urls),
        kind=kind,
        every=every,
        cron=cron,
        depth=depth,
        allow=patterns["allow"],
        deny=patterns["deny"],
        select=select,
        ignore=tuple(ignore),
        tags=tuple(tags),
        notify=tuple(notify) if notify is not None else None,
        max_pages=max_pages,
        render=browser.render,
        render_wait=browser.render_wait,
        render_scroll=browser.render_scroll,
        screenshot=browser.screenshot,
    )


def _check_css(selector: str, err) -> None:
    # cssselect is what parsel/Scrapy use; a bad selector fails here, at load, not mid-run.
    from cssselect import GenericTranslator, SelectorError

    if not isinstance(selector, str) or not selector.strip():
        raise err("must be a non-empty CSS selector")
    try:
        GenericTranslator().css_to_xpath(selector)
    except SelectorError as exc:
        raise err(f"bad CSS selector {toml_text(selector)}: {exc}") from None
