"""The JSON API, mirroring the CLI: `/api/captures?url=`, `/api/show` (`?url=&at=` or `?id=`),
`/api/changes` and `/api/status`. Errors are `{"error": "…"}` with a 4xx status.

`/api/show` runs on the event loop (one indexed statement, no thread hop); the others run in
Starlette's thread pool.
"""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from monitor.web import queries
from monitor.web.context import WebContext
from storage.errors import CaptureNotFound
from storage.timestamps import BadTimestamp


def json_error(status: int, message: str) -> Response:
    return JSONResponse({"error": message}, status_code=status)


class Api:
    """The JSON endpoints, on one `WebContext`."""

    def __init__(self, web: WebContext):
        self.web = web

    def routes(self) -> list[Route]:
        return [
            Route("/api/show", self.show),
            Route("/api/captures", self.captures),
            Route("/api/changes", self.changes),
            Route("/api/status", self.status),
        ]

    async def show(self, request: Request) -> Response:
        engine = self.web.engine
        url, capture_id = request.query_params.get("url"), request.query_params.get("id")
        if capture_id is not None:
            if not capture_id.isdigit():
                return json_error(400, "id is a capture id (a number)")
            try:
                found = queries.capture_json(engine, int(capture_id))
            except CaptureNotFound as exc:
                return json_error(404, str(exc))
            return Response(json.dumps(found), media_type="application/json")
        if not url:
            return json_error(400, "missing ?url= (or ?id=)")
        try:
            found = queries.nearest_json(engine, url, request.query_params.get("at"))
        except BadTimestamp as exc:
            return json_error(400, str(exc))
        except CaptureNotFound as exc:
            return json_error(404, str(exc))
        return Response(json.dumps(found), media_type="application/json")

    def captures(self, request: Request) -> Response:
        from storage.catalog import captures_of

        url = request.query_params.get("url")
        if not url:
            return json_error(400, "missing ?url=")
        with self.web.session() as s:
            return JSONResponse([c.as_json() for c in captures_of(s, url)])

    def changes(self, request: Request) -> Response:
        from monitor.changes import list_events

        q = request.query_params
        try:
            limit = int(q["limit"]) if q.get("limit") else None
            offset = int(q.get("offset") or 0)
        except ValueError:
            return json_error(400, "limit and offset are numbers")
        events = list_events(
            self.web.engine,
            since=q.get("since") or None,
            target=q.get("target") or None,
            url=q.get("url") or None,
            kind=q.get("kind") or None,
            limit=limit,
            offset=offset,
        )
        return JSONResponse([e.as_json() for e in events])

    def status(self, request: Request) -> Response:
        web = self.web
        with web.session() as s:
            targets = [t.as_json() for t in queries.target_summaries(s, web.config)]
            totals = queries.totals(s)
        return JSONResponse({"targets": targets, **totals, "archive": str(web.config.archive.dir)})
