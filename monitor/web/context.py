"""What every part of the web app shares: the watchlist, the engine, the templates and the
helpers they use (time formats, the address an event or a capture leads to, error pages).

Built once per app by `monitor.web.app.create_app`; `pages`, `records`, `feeds` and `api`
each take it and add their routes.
"""

from __future__ import annotations

from datetime import datetime
from importlib.resources import files
from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import HTMLResponse

from monitor.config import Config
from monitor.event_text import render_event
from monitor.web.links import diff_path, in_path, snapshot_path
from monitor.web.security import raw_key
from storage.enums import EventKind
from storage.models import Capture, ChangeEvent
from storage.timestamps import from_datetime, iso, readable


def when(ts: str | None) -> str:
    return readable(ts) if ts else "—"


def captured(c: Capture | None) -> str:
    """When a capture was made, to the microsecond when its second held a fraction."""
    return "—" if c is None else readable(c.timestamp, c.micros or 0)


def when_dt(value: datetime | None) -> str:
    return "—" if value is None else readable(from_datetime(value))


def archived_url(request: Request) -> str:
    """The archived URL at the end of a /snapshot/TS/URL style path, its query string included."""
    url: str = request.path_params["url"]
    for scheme in ("http:/", "https:/"):  # a proxy may have merged the '//' after the scheme
        if url.startswith(scheme) and not url.startswith(scheme + "/"):
            url = scheme + "/" + url[len(scheme) :]
    query = request.url.query
    return url + ("?" + query if query else "")


def page_number(request: Request, name: str = "page") -> int:
    try:
        return int(request.query_params.get(name, "1"))
    except ValueError:
        return 1


def snap_href(c: Capture | None) -> str:
    """A capture's snapshot page, Wayback style, at its exact time (20 digits: two captures made
    in the same second are two pages). `/capture/ID` is the same page by id."""
    return "" if c is None else snapshot_path(c)


def event_href(e: ChangeEvent, captures: dict[int, Capture]) -> str:
    """Where an event leads: its diff, or the snapshot it points at, or the URL's timeline."""
    if e.kind in (EventKind.CHANGED, EventKind.MOVED) and e.from_capture and e.to_capture:
        return diff_path(e.from_capture, e.to_capture)
    to = captures.get(e.to_capture) if e.to_capture is not None else None
    if e.kind in (EventKind.ADDED, EventKind.RESTORED) and to is not None:
        return snap_href(to)
    return "/url?" + urlencode({"url": e.url})


class WebContext:
    """The app's state (config, engine, templates), shared by its route modules."""

    def __init__(self, config: Config, engine: Engine, token: str | None):
        self.config = config
        self.engine = engine
        self.warc_dir = config.archive.warcs
        self.raw_key = raw_key(token)
        self.raw_prefix = "/raw" + (f"/{self.raw_key}" if self.raw_key else "")
        self.env = Environment(
            loader=PackageLoader("monitor.web", "templates"),
            autoescape=select_autoescape(default=True),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters.update(
            when=when, when_dt=when_dt, in_path=in_path, iso=iso, captured=captured
        )
        self.env.globals.update(
            raw_prefix=self.raw_prefix,
            event_href=event_href,
            snap=snap_href,
            event_text=render_event,
        )
        self.css = (files("monitor.web") / "static" / "style.css").read_bytes()

    def session(self, **kw: Any) -> Session:
        return Session(self.engine, **kw)

    def render(self, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        return HTMLResponse(self.env.get_template(name).render(**context), status_code=status)

    def error(self, status: int, message: str) -> HTMLResponse:
        return self.render("error.html", status=status, status_code=status, message=message)
