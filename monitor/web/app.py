"""The read-only web UI and JSON API of `warcwatch serve`, built by `create_app(config)`.

The app is split by what it serves: `monitor.web.pages` (the HTML UI), `monitor.web.records`
(archived payloads and records), `monitor.web.feeds` (Atom and JSON feeds of changes) and
`monitor.web.api` (JSON); they share one `monitor.web.context.WebContext` (config, engine,
templates). Every address is built by `monitor.web.links`. One engine for the life of the app;
each request opens a short session. Security policy: see `monitor.web.security`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import Engine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp

from monitor.config import Config
from monitor.errors import WarcwatchError
from monitor.web.api import Api, json_error
from monitor.web.context import WebContext
from monitor.web.feeds import Feeds
from monitor.web.pages import Pages
from monitor.web.records import Records
from monitor.web.security import RAW_CSP, SecurityHeaders, TokenAuth
from storage.errors import ArchiveError, CaptureNotFound
from storage.timestamps import BadTimestamp

log = logging.getLogger(__name__)

Handler = Callable[[Request, Exception], Response]


def _errors(web: WebContext) -> dict[type[Exception], Handler]:
    """Exception handlers: a user's mistake or a missing capture is a page (or JSON), not a
    trace."""

    def respond(request: Request, status: int, message: str) -> Response:
        if request.url.path.startswith("/api/"):
            return json_error(status, message)
        if request.url.path.startswith("/raw/"):
            return Response(
                message,
                status_code=status,
                media_type="text/plain",
                headers={"Content-Security-Policy": RAW_CSP},
            )
        return web.error(status, message)

    def not_found(request: Request, exc: Exception) -> Response:
        return respond(request, 404, str(exc))

    def bad_request(request: Request, exc: Exception) -> Response:
        return respond(request, 400, str(exc))

    def broken(request: Request, exc: Exception) -> Response:
        log.warning("%s: %s", request.url.path, exc)
        return respond(request, 500, f"the archive cannot be read here: {exc}")

    return {
        CaptureNotFound: not_found,
        BadTimestamp: bad_request,
        ArchiveError: broken,
        WarcwatchError: bad_request,
    }


def create_app(config: Config, engine: Engine | None = None, token: str | None = None) -> ASGIApp:
    """The ASGI app: routes, then the token check (when `token` is set), then security headers."""
    from storage.catalog import open_catalog

    engine = engine or open_catalog(config.archive.database_url)
    web = WebContext(config, engine, token)
    routes = [
        *Pages(web).routes(),
        *Records(web).routes(),
        *Feeds(web).routes(),
        *Api(web).routes(),
    ]
    app = Starlette(routes=routes, exception_handlers=_errors(web))
    app.state.web = web
    wrapped: ASGIApp = TokenAuth(app, token) if token else app
    return SecurityHeaders(wrapped)
