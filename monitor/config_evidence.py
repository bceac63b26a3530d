"""The watchlist's `[evidence]` section: what makes the archive's records provable to others.

`tsa`: the RFC 3161 time-stamping authorities (their http(s) URLs) that each checkpoint is sent
to (storage.evidence.tsa), none by default: a TSA is a third party the archive chooses to trust.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from monitor.tomltext import toml_text


@dataclass(frozen=True)
class EvidenceSettings:
    tsa: tuple[str, ...] = ()  # RFC 3161 time-stamping authorities, e.g. "https://freetsa.org/tsr"


def tsa_urls(value) -> tuple[str, ...]:
    """`tsa` as given (a URL or a list of them), checked; ValueError naming what is wrong."""
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise ValueError(
            f"expected a list of time-stamping authority URLs like 'https://tsa.example.org/tsr', "
            f"got {toml_text(value)}"
        )
    for v in values:
        parts = urlsplit(v)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{toml_text(v)} is not an http(s) URL of a time-stamping authority")
    return tuple(dict.fromkeys(values))
