"""A watchlist value written back as TOML, for error messages: people wrote `true`, `{a = 1}` and
`["x", 2]` in their watchlist, and should read the same in the error, not Python's `True`,
`{'a': 1}` or `['x', 2]`."""

from __future__ import annotations

import json
from datetime import date, datetime, time


def toml_text(value: object) -> str:
    """`value` (as tomllib reads it) in TOML notation: strings single-quoted where they can be."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        literal = "'" not in value and not any(c < " " or c == "\x7f" for c in value)
        return f"'{value}'" if literal else json.dumps(value, ensure_ascii=False)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_text(v) for v in value) + "]"
    if isinstance(value, dict):
        pairs = ", ".join(f"{_key(k)} = {toml_text(v)}" for k, v in value.items())
        return "{" + pairs + "}"
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value)


def _key(key: str) -> str:
    bare = key and all(c.isascii() and (c.isalnum() or c in "-_") for c in key)
    return key if bare else json.dumps(key, ensure_ascii=False)
