"""The changes as feeds: Atom (`/changes.atom`) and JSON Feed 1.1 (`/changes.json`), the newest
`FEED_SIZE` events, filtered by `?target=` and `?kind=` as `/changes` is. Each entry's text is
the event's one rendering (`monitor.event_text`)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from monitor.event_text import render_event
from monitor.web import queries
from monitor.web.context import WebContext, event_href
from storage.models import Capture, ChangeEvent
from storage.timestamps import iso

FEED_SIZE = 50
ATOM_NS = "http://www.w3.org/2005/Atom"


class Feeds:
    """The Atom and JSON feeds of changes, on one `WebContext`."""

    def __init__(self, web: WebContext):
        self.web = web

    def routes(self) -> list[Route]:
        return [
            Route("/changes.atom", self.changes_atom),
            Route("/changes.json", self.changes_json),
        ]

    def _events(self, request: Request) -> tuple[list[ChangeEvent], dict[int, Capture]]:
        filters = {k: request.query_params.get(k) or None for k in ("target", "kind")}
        with self.web.session(expire_on_commit=False) as s:
            events = queries.recent_events(s, queries.Page(1, FEED_SIZE, FEED_SIZE), **filters)
            caps = queries.captures_by_id(s, {e.to_capture for e in events})
            s.expunge_all()
        return events, caps

    def changes_atom(self, request: Request) -> Response:
        events, caps = self._events(request)
        base = str(request.base_url).rstrip("/")
        feed = ET.Element("feed", xmlns=ATOM_NS)
        ET.SubElement(feed, "title").text = "warcwatch: changes"
        ET.SubElement(feed, "id").text = f"{base}/changes"
        ET.SubElement(feed, "link", rel="self", href=f"{base}/changes.atom")
        ET.SubElement(feed, "link", rel="alternate", href=f"{base}/changes")
        updated = iso(events[0].detected_at) if events else "1970-01-01T00:00:00Z"
        ET.SubElement(feed, "updated").text = updated
        ET.SubElement(ET.SubElement(feed, "author"), "name").text = "warcwatch"
        for e in events:
            entry = ET.SubElement(feed, "entry")
            ET.SubElement(entry, "id").text = f"{base}/changes#event-{e.id}"
            ET.SubElement(entry, "title").text = f"{e.kind}: {e.url}"
            ET.SubElement(entry, "updated").text = iso(e.detected_at)
            ET.SubElement(entry, "link", rel="alternate", href=base + event_href(e, caps))
            if e.target:
                ET.SubElement(entry, "category", term=e.target)
            ET.SubElement(entry, "summary").text = render_event(e).summary
        body = b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(feed, encoding="utf-8")
        return Response(body, media_type="application/atom+xml; charset=utf-8")

    def changes_json(self, request: Request) -> Response:
        """A JSON Feed 1.1; each item carries the event in the contract's shape under
        `_warcwatch`."""
        events, caps = self._events(request)
        base = str(request.base_url).rstrip("/")
        items = [
            {
                "id": f"{base}/changes#event-{e.id}",
                "url": base + event_href(e, caps),
                "title": f"{e.kind}: {e.url}",
                "content_text": render_event(e).summary,
                "date_published": iso(e.detected_at),
                "tags": [e.kind, *([e.target] if e.target else [])],
                "_warcwatch": e.as_json(),
            }
            for e in events
        ]
        feed = {
            "version": "https://jsonfeed.org/version/1.1",
            "title": "warcwatch: changes",
            "home_page_url": f"{base}/changes",
            "feed_url": f"{base}/changes.json",
            "items": items,
        }
        return JSONResponse(feed, media_type="application/feed+json")
