"""The addresses of the web UI's pages, in one place: the UI's own links and the links in alerts
(absolute, under `[serve] public_url`) are built here, so they cannot drift apart. Importing it
imports nothing of the web stack."""

from __future__ import annotations

from typing import Protocol
from urllib.parse import quote, urlencode

# an archived URL inside one of our paths: only '#', spaces and quotes escaped
_URL_SAFE = ":/?&=%;,+@!$'()*~[]"


class _Capture(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def url(self) -> str: ...
    # 20 digits: two captures made in the same second have two addresses
    @property
    def exact(self) -> str | None: ...


def in_path(url: str) -> str:
    return quote(url, safe=_URL_SAFE)


def snapshot_path(c: _Capture) -> str:
    return f"/snapshot/{c.exact}/{in_path(c.url)}"


def record_path(c: _Capture, fmt: str = "warc") -> str:
    """The capture's record: `warc` (the WARC record itself), `http` or `headers`."""
    return f"/record/{fmt}/{c.exact}/{in_path(c.url)}"


def diff_path(from_id: int, to_id: int) -> str:
    return "/diff?" + urlencode({"from_id": from_id, "to_id": to_id})
