"""What the crawler hands to the archive: one HTTP exchange as it crossed the wire, one failed
fetch with its reason, or the attribution of a pass's fetch to more targets. Plain, picklable
values: they travel through a pipe to the writer process."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Exchange:
    url: str
    target: str
    run_id: int | None
    fetched_at: datetime  # UTC, naive
    request_head: bytes  # request line and headers as sent
    response_head: bytes  # status line and headers as received
    body: bytes  # payload as received: Content-Encoding kept, chunked framing removed
    status: int
    ip: str | None = None
    meta: dict = field(default_factory=dict)  # e.g. {"confirm": True} for a confirmation fetch


@dataclass(frozen=True)
class FailedFetch:
    url: str
    target: str
    run_id: int | None
    fetched_at: datetime
    reason: str  # e.g. timeout, dns, refused, too-large, gzip-bomb, robots-denied, redirect-loop
    detail: str = ""
    status: int | None = None
    meta: dict = field(default_factory=dict)  # as Exchange.meta


@dataclass(frozen=True)
class Attribution:
    """The captures `source` made of `urls` in run `run_id` belong to `targets` as well: a URL that
    several targets list is fetched and archived once per pass, and catalogued for each of them."""

    run_id: int | None
    source: str
    urls: tuple[str, ...]
    targets: tuple[str, ...]


@dataclass(frozen=True)
class Rendered:
    """What a browser made of a page fetched in this run (crawler.render): its DOM or its
    screenshot, archived as a resource record under `uri` (`urn:dom:<page>`), WARC-Concurrent-To
    the record the writer last wrote for `page` in `target`'s file."""

    uri: str
    page: str  # the page's URL as archived (its response's)
    target: str
    run_id: int | None
    fetched_at: datetime  # when the rendering was taken (UTC, naive)
    content_type: str  # "text/html; charset=utf-8", "image/png"
    body: bytes
    meta: dict = field(default_factory=dict)  # as Exchange.meta
