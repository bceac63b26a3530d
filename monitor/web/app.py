"""The read-only web UI and JSON API of `warcwatch serve`: routes, built by `create_app(config)`.

Pages: the dashboard (`/`), a target's pages (`/target/NAME`), a URL's timeline (`/url?url=`),
a snapshot (`/snapshot/TS/URL`, the archived page framed from `/raw/…`), its extracted text
(`/text/TS/URL`) and record (`/record/http|warc|headers/TS/URL`), a diff between two versions
(`/diff?…`), and the changes (`/changes`, `/changes.atom`, `/changes.json`). TS may be a capture's
exact time (20 digits), which is what the UI links to; the same pages by capture id are
`/capture/ID`, `/capture/ID/text` and `/capture/ID/record/FMT`. The API mirrors the CLI:
`/api/captures`, `/api/show` (`?url=&at=` or `?id=`), `/api/changes`, `/api/status`.

One engine for the life of the app; each request opens a short session. `/api/show` runs on the
event loop (one indexed statement, no thread hop); pages that read WARC records or extract text run
in Starlette's thread pool. Security policy: see `monitor.web.security`.
"""

from __future__ import annotations

import hmac
import json
import logging
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from importlib.resources import files
from urllib.parse import urlencode

from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from monitor.config import Config
from monitor.errors import WarcwatchError
from monitor.web import queries
from monitor.web.diffrows import inline, side_by_side
from monitor.web.links import diff_path, in_path, snapshot_path
from monitor.web.security import RAW_CSP, REPORT_CSP, SecurityHeaders, TokenAuth, raw_key
from storage.errors import ArchiveError, CaptureNotFound
from storage.models import Capture, ChangeEvent
from storage.timestamps import BadTimestamp, iso, readable

log = logging.getLogger(__name__)

PAGE_SIZE = 50
FEED_SIZE = 50


def when(ts: str | None) -> str:
    if not ts:
        return "—"
    return f"{ts[0:4]}-{ts[4:6]}-{ts[6:8]} {ts[8:10]}:{ts[10:12]}:{ts[12:14]} UTC"


def captured(c) -> str:
    """When a capture was made, to the microsecond when its second held a fraction."""
    return "—" if c is None else readable(c.timestamp, c.micros or 0)


def when_dt(value: datetime | None) -> str:
    return "—" if value is None else f"{value:%Y-%m-%d %H:%M:%S} UTC"


def archived_url(request: Request) -> str:
    """The archived URL at the end of a /snapshot/TS/URL style path, its query string included."""
    url = request.path_params["url"]
    for scheme in ("http:/", "https:/"):  # a proxy may have merged the '//' after the scheme
        if url.startswith(scheme) and not url.startswith(scheme + "/"):
            url = scheme + "/" + url[len(scheme):]
    query = request.url.query
    return url + ("?" + query if query else "")


class Web:
    """The app's state (config, engine, templates) and its endpoints."""

    def __init__(self, config: Config, engine: Engine, token: str | None):
        self.config = config
        self.engine = engine
        self.warc_dir = config.archive.warc_dir
        self.raw_key = raw_key(token)
        self.raw_prefix = "/raw" + (f"/{self.raw_key}" if self.raw_key else "")
        self.env = Environment(loader=PackageLoader("monitor.web", "templates"),
                               autoescape=select_autoescape(default=True), trim_blocks=True, lstrip_blocks=True)
        self.env.filters.update(when=when, when_dt=when_dt, in_path=in_path, iso=iso, captured=captured)
        self.env.globals.update(raw_prefix=self.raw_prefix, event_href=self.event_href, snap=self.snap_href)
        self.css = (files("monitor.web") / "static" / "style.css").read_bytes()

    # --- helpers ----------------------------------------------------------------------------------

    def render(self, name: str, status: int = 200, **context) -> HTMLResponse:
        return HTMLResponse(self.env.get_template(name).render(**context), status_code=status)

    def error(self, status: int, message: str) -> HTMLResponse:
        return self.render("error.html", status=status, status_code=status, message=message)

    @staticmethod
    def snap_href(c: Capture | None) -> str:
        """A capture's snapshot page, Wayback style, at its exact time (20 digits: two captures made
        in the same second are two pages). `/capture/ID` is the same page by id."""
        return "" if c is None else snapshot_path(c)

    @staticmethod
    def event_href(e: ChangeEvent, captures: dict[int, Capture]) -> str:
        """Where an event leads: its diff, or the snapshot it points at, or the URL's timeline."""
        if e.kind in ("changed", "moved") and e.from_capture and e.to_capture:
            return diff_path(e.from_capture, e.to_capture)
        to = captures.get(e.to_capture)
        if e.kind in ("added", "restored") and to is not None:
            return Web.snap_href(to)
        return "/url?" + urlencode({"url": e.url})

    def _page_number(self, request: Request, name: str = "page") -> int:
        try:
            return int(request.query_params.get(name, "1"))
        except ValueError:
            return 1

    # --- pages ------------------------------------------------------------------------------------

    def dashboard(self, request: Request) -> Response:
        with Session(self.engine) as s:
            targets = queries.target_summaries(s, self.config)
            page = queries.page_of(1, 15, queries.event_count(s))
            events = queries.recent_events(s, page)
            caps = queries.captures_by_id(s, {e.to_capture for e in events})
            totals = queries.totals(s)
            return self.render("dashboard.html", targets=targets, events=events, captures=caps, totals=totals)

    def target(self, request: Request) -> Response:
        name = request.path_params["name"]
        with Session(self.engine) as s:
            summary = next((t for t in queries.target_summaries(s, self.config) if t.name == name), None)
            if summary is None:
                return self.error(404, f"no target named {name!r}")
            page = queries.page_of(self._page_number(request), PAGE_SIZE, summary.pages)
            pages = queries.target_pages(s, name, page)
            epage = queries.page_of(1, 10, summary.events)
            events = queries.recent_events(s, epage, target=name)
            caps = queries.captures_by_id(s, {e.to_capture for e in events})
            return self.render("target.html", target=summary, pages=pages, page=page, events=events,
                               captures=caps, query={})

    def url_page(self, request: Request) -> Response:
        from storage.retrieval import origin_of

        url = request.query_params.get("url", "").strip()
        if not url:
            return self.error(400, "give a URL: /url?url=https://…")
        with Session(self.engine) as s:
            total = queries.capture_count(s, url)
            if total == 0:
                return self.error(404, f"no captures of {url}")
            page = queries.page_of(self._page_number(request), PAGE_SIZE, total)
            rows = queries.timeline(s, url, page)
            exact = rows[0].url
            n_events = queries.event_count(s, url=exact)
            epage = queries.page_of(self._page_number(request, "epage"), 20, n_events)
            events = queries.recent_events(s, epage, url=exact)
            caps = queries.captures_by_id(s, {e.to_capture for e in events} | {e.from_capture for e in events})
            by_capture: dict[int, list[ChangeEvent]] = {}
            for e in events:
                by_capture.setdefault(e.to_capture, []).append(e)
            # each revisit on the page with the response it refers to (storage.retrieval's walk)
            origins = {c.id: origin_of(s, c) for c in rows if c.kind == "revisit"}
            return self.render("url.html", url=exact, rows=rows, page=page, total=total, events=events,
                               epage=epage, captures=caps, by_capture=by_capture, origins=origins,
                               query={"url": url})

    def _capture_at(self, s: Session, request: Request) -> Capture:
        """The capture a page's path names: `/…/ID` by id, else `/…/TS/URL` the nearest TS."""
        from storage.retrieval import by_id, nearest

        if "id" in request.path_params:
            return by_id(s, request.path_params["id"])
        return nearest(s, archived_url(request), request.path_params["ts"])

    def snapshot(self, request: Request) -> Response:
        with Session(self.engine) as s:
            c = self._capture_at(s, request)
            # the capture's exact time, or (links made before there were fractions) its second
            if request.path_params["ts"] not in (c.exact, c.timestamp) or c.url != archived_url(request):
                return RedirectResponse(self.snap_href(c), status_code=302)
            where = f"{c.exact}/{in_path(c.url)}"
            return self._snapshot_page(s, c, frame_src=f"{self.raw_prefix}/{where}", record_path=where,
                                       text_href=f"/text/{where}")

    def capture_page(self, request: Request) -> Response:
        """The snapshot page of capture ID, every link on it by id."""
        with Session(self.engine) as s:
            c = self._capture_at(s, request)
            if c.kind == "failed":
                return self.error(404, f"capture {c.id} of {c.url} is a failed fetch ({c.reason}): it has no record")
            return self._snapshot_page(s, c, frame_src=f"{self.raw_prefix}/capture/{c.id}",
                                       record_path=None, text_href=f"/capture/{c.id}/text")

    def _snapshot_page(self, s: Session, c: Capture, frame_src: str, record_path: str | None,
                       text_href: str) -> Response:
        from storage.retrieval import origin_of

        origin = origin_of(s, c)
        earlier, later = queries.neighbours(s, c)
        before = queries.previous_content(s, origin) if origin.status == 200 else None
        events = list(s.scalars(select(ChangeEvent).where(ChangeEvent.to_capture == c.id)))
        caps = queries.captures_by_id(s, {e.to_capture for e in events})
        record_base = f"/record/{{fmt}}/{record_path}" if record_path else f"/capture/{c.id}/record/{{fmt}}"
        return self.render(
            "snapshot.html", c=c, origin=origin, earlier=earlier, later=later, before=before, events=events,
            captures=caps, frame_src=frame_src, text_href=text_href,
            record_hrefs={fmt: record_base.format(fmt=fmt) for fmt in ("headers", "http", "warc")},
        )

    def raw(self, request: Request) -> Response:
        """The archived payload, for the snapshot's frame: sandboxed, never with archived headers."""
        from storage.retrieval import by_id, load, nearest

        rest = request.path_params["rest"]
        if self.raw_key is not None:
            key, _, rest = rest.partition("/")
            if not hmac.compare_digest(key.encode(), self.raw_key.encode()):
                return Response("not found", status_code=404, media_type="text/plain")
        ts, _, url = rest.partition("/")
        with Session(self.engine) as s:
            if ts == "capture":  # /raw/[KEY/]capture/ID: by id
                if not url.isdigit():
                    raise CaptureNotFound(f"no capture with id {url}")
                c = by_id(s, int(url))
            else:
                request.path_params["url"] = url
                c = nearest(s, archived_url(request), ts)
            snap = load(s, self.warc_dir, c)
            # A revisit (a 304 or an identical payload digest) shows the content it refers to, as
            # `show` does: its status and Location are the original response's, not "redirect (304)".
            shown = snap.origin
            status = shown.status or 200
            if 300 <= status < 400:
                body, ctype = self._redirect_stub(shown), "text/html; charset=utf-8"
                status = 200
            else:
                body = b"".join(snap.decoded())
                ctype = snap.content_type() or c.mime or "application/octet-stream"
                status = 200 if c.kind == "revisit" else status
        headers = {
            "Content-Security-Policy": RAW_CSP, "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
            "Cache-Control": "private, max-age=86400", "Memento-Datetime": _http_date(c.timestamp),
            "X-Capture-Id": str(c.id),
        }
        return Response(body, status_code=status, headers=headers, media_type=ctype)

    def _redirect_stub(self, c: Capture) -> bytes:
        from urllib.parse import urljoin

        dest = urljoin(c.url, c.location or "")
        href = f"{self.raw_prefix}/{c.timestamp}/{in_path(dest)}"
        tpl = self.env.from_string("<!doctype html><meta charset=utf-8><p>Archived redirect ({{ status }}) to "
                                   "<a href=\"{{ href }}\">{{ dest }}</a>.")
        return tpl.render(status=c.status, href=href, dest=dest).encode()

    def text(self, request: Request) -> Response:
        from monitor.extract import extract
        from storage.retrieval import load

        with Session(self.engine) as s:
            c = self._capture_at(s, request)
            snap = load(s, self.warc_dir, c)
            target = next((t for t in self.config.targets if t.name == c.target), None)
            page = extract(b"".join(snap.decoded()), snap.origin.mime, snap.content_type(), c.url,
                           target.select if target else None, target.ignore if target else ())
            return self.render("text.html", c=c, page=page, target=target)

    def record(self, request: Request) -> Response:
        from storage.retrieval import load, location
        from storage.warcread import read_member

        fmt = request.path_params["fmt"]
        with Session(self.engine) as s:
            c = self._capture_at(s, request)
            stem = f"{c.exact}-{_slug(c.url)}"
            if fmt == "warc":
                body, ctype, name = read_member(self.warc_dir, location(c)), "application/warc", f"{stem}.warc.gz"
            elif fmt in ("http", "headers"):
                snap = load(s, self.warc_dir, c)
                if fmt == "http":
                    body, ctype, name = snap.raw(), "application/http; msgtype=response", f"{stem}.http"
                else:
                    body, ctype, name = snap.http_head, "text/plain; charset=utf-8", f"{stem}.headers.txt"
            else:
                return self.error(404, "a record is downloaded as /record/http/…, /record/warc/… or /record/headers/…")
        disposition = "inline" if fmt == "headers" else f'attachment; filename="{name}"'
        return Response(body, media_type=ctype, headers={
            "Content-Disposition": disposition, "Content-Security-Policy": RAW_CSP, "X-Content-Type-Options": "nosniff",
        })

    def _pair(self, request: Request):
        from monitor.diffview import version_pair

        q = request.query_params
        try:
            from_id = int(q["from_id"]) if q.get("from_id") else None
            to_id = int(q["to_id"]) if q.get("to_id") else None
        except ValueError:
            raise BadTimestamp("from_id and to_id are capture ids (numbers)") from None
        url = q.get("url") or None
        if (from_id is None or to_id is None) and url is None:
            raise BadTimestamp("give url= (with from= and to= timestamps, both optional) or from_id= and to_id=")
        return version_pair(self.engine, self.config, url, q.get("from") or None, q.get("to") or None,
                            from_id if to_id is not None else None, to_id if from_id is not None else None,
                            show_volatile=q.get("all") == "1")

    def diff(self, request: Request) -> Response:
        pair = self._pair(request)
        view = "inline" if request.query_params.get("view") == "inline" else "side"
        plus, minus = pair.diff.word_counts()
        base = {k: v for k, v in request.query_params.items() if k != "view"}
        return self.render(
            "diff.html", pair=pair, view=view, side=side_by_side(pair) if view == "side" else None,
            inline=inline(pair) if view == "inline" else None, plus=plus, minus=minus,
            side_href="/diff?" + urlencode({**base, "view": "side"}),
            inline_href="/diff?" + urlencode({**base, "view": "inline"}),
            report_href="/diff/report?" + urlencode(base),
            all_href="/diff?" + urlencode({**base, "all": "1", "view": view}),
        )

    def diff_report(self, request: Request) -> Response:
        from monitor.diffview import render_html

        return HTMLResponse(render_html(self._pair(request)), headers={"Content-Security-Policy": REPORT_CSP})

    def changes(self, request: Request) -> Response:
        filters = {k: request.query_params.get(k) or None for k in ("target", "kind")}
        with Session(self.engine) as s:
            page = queries.page_of(self._page_number(request), PAGE_SIZE, queries.event_count(s, **filters))
            events = queries.recent_events(s, page, **filters)
            caps = queries.captures_by_id(s, {e.to_capture for e in events})
            return self.render("changes.html", events=events, captures=caps, page=page,
                               query={k: v for k, v in filters.items() if v}, filters=filters)

    def style(self, request: Request) -> Response:
        return Response(self.css, media_type="text/css", headers={"Cache-Control": "public, max-age=3600"})

    # --- feeds ------------------------------------------------------------------------------------

    def _feed_events(self, request: Request) -> tuple[list[ChangeEvent], dict[int, Capture]]:
        filters = {k: request.query_params.get(k) or None for k in ("target", "kind")}
        with Session(self.engine, expire_on_commit=False) as s:
            events = queries.recent_events(s, queries.Page(1, FEED_SIZE, FEED_SIZE), **filters)
            caps = queries.captures_by_id(s, {e.to_capture for e in events})
            s.expunge_all()
        return events, caps

    def changes_atom(self, request: Request) -> Response:
        events, caps = self._feed_events(request)
        base = str(request.base_url).rstrip("/")
        ns = "http://www.w3.org/2005/Atom"
        feed = ET.Element("feed", xmlns=ns)
        ET.SubElement(feed, "title").text = "warcwatch: changes"
        ET.SubElement(feed, "id").text = f"{base}/changes"
        ET.SubElement(feed, "link", rel="self", href=f"{base}/changes.atom")
        ET.SubElement(feed, "link", rel="alternate", href=f"{base}/changes")
        ET.SubElement(feed, "updated").text = iso(events[0].detected_at) if events else "1970-01-01T00:00:00Z"
        ET.SubElement(ET.SubElement(feed, "author"), "name").text = "warcwatch"
        for e in events:
            entry = ET.SubElement(feed, "entry")
            ET.SubElement(entry, "id").text = f"{base}/changes#event-{e.id}"
            ET.SubElement(entry, "title").text = f"{e.kind}: {e.url}"
            ET.SubElement(entry, "updated").text = iso(e.detected_at)
            ET.SubElement(entry, "link", rel="alternate", href=base + self.event_href(e, caps))
            if e.target:
                ET.SubElement(entry, "category", term=e.target)
            ET.SubElement(entry, "summary").text = _summary_text(e)
        body = b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(feed, encoding="utf-8")
        return Response(body, media_type="application/atom+xml; charset=utf-8")

    def changes_json(self, request: Request) -> Response:
        """A JSON Feed 1.1; each item carries the event in the contract's shape under `_warcwatch`."""
        events, caps = self._feed_events(request)
        base = str(request.base_url).rstrip("/")
        items = [{
            "id": f"{base}/changes#event-{e.id}", "url": base + self.event_href(e, caps),
            "title": f"{e.kind}: {e.url}", "content_text": _summary_text(e),
            "date_published": iso(e.detected_at), "tags": [e.kind, *([e.target] if e.target else [])],
            "_warcwatch": e.as_json(),
        } for e in events]
        feed = {"version": "https://jsonfeed.org/version/1.1", "title": "warcwatch: changes",
                "home_page_url": f"{base}/changes", "feed_url": f"{base}/changes.json", "items": items}
        return JSONResponse(feed, media_type="application/feed+json")

    # --- API --------------------------------------------------------------------------------------

    async def api_show(self, request: Request) -> Response:
        url, capture_id = request.query_params.get("url"), request.query_params.get("id")
        if capture_id is not None:
            if not capture_id.isdigit():
                return _json_error(400, "id is a capture id (a number)")
            try:
                return Response(json.dumps(queries.capture_json(self.engine, int(capture_id))),
                                media_type="application/json")
            except CaptureNotFound as exc:
                return _json_error(404, str(exc))
        if not url:
            return _json_error(400, "missing ?url= (or ?id=)")
        try:
            return Response(json.dumps(queries.nearest_json(self.engine, url, request.query_params.get("at"))),
                            media_type="application/json")
        except BadTimestamp as exc:
            return _json_error(400, str(exc))
        except CaptureNotFound as exc:
            return _json_error(404, str(exc))

    def api_captures(self, request: Request) -> Response:
        from storage.catalog import captures_of

        url = request.query_params.get("url")
        if not url:
            return _json_error(400, "missing ?url=")
        with Session(self.engine) as s:
            return JSONResponse([c.as_json() for c in captures_of(s, url)])

    def api_changes(self, request: Request) -> Response:
        from monitor.changes import list_events

        q = request.query_params
        try:
            limit = int(q["limit"]) if q.get("limit") else None
            offset = int(q.get("offset") or 0)
        except ValueError:
            return _json_error(400, "limit and offset are numbers")
        events = list_events(self.engine, since=q.get("since") or None, target=q.get("target") or None,
                             url=q.get("url") or None, kind=q.get("kind") or None, limit=limit, offset=offset)
        return JSONResponse([e.as_json() for e in events])

    def api_status(self, request: Request) -> Response:
        with Session(self.engine) as s:
            targets = [t.as_json() for t in queries.target_summaries(s, self.config)]
            totals = queries.totals(s)
        return JSONResponse({"targets": targets, **totals, "archive": str(self.config.archive.dir)})


def _json_error(status: int, message: str) -> Response:
    return JSONResponse({"error": message}, status_code=status)


def _summary_text(e: ChangeEvent) -> str:
    s = e.summary or {}
    parts = [f"{e.kind} {e.url}" + (f" ({e.reason})" if e.reason else "") + (f" → {e.new_url}" if e.new_url else "")]
    parts += [f"+ {line}" for line in (s.get("added") or [])[:20]]
    parts += [f"- {line}" for line in (s.get("removed") or [])[:20]]
    return "\n".join(parts)


def _slug(url: str) -> str:
    keep = "".join(ch if ch.isalnum() or ch in "-." else "_" for ch in url.split("://", 1)[-1])
    return keep.strip("_")[:80] or "record"


def _http_date(ts: str) -> str:
    from email.utils import format_datetime

    from storage.timestamps import to_datetime

    return format_datetime(to_datetime(ts).replace(tzinfo=UTC), usegmt=True)


def _errors(web: Web):
    """Exception handlers: a user's mistake or a missing capture is a page (or JSON), not a trace."""

    def respond(request: Request, status: int, message: str) -> Response:
        if request.url.path.startswith("/api/"):
            return _json_error(status, message)
        if request.url.path.startswith("/raw/"):
            return Response(message, status_code=status, media_type="text/plain",
                            headers={"Content-Security-Policy": RAW_CSP})
        return web.error(status, message)

    def not_found(request: Request, exc: Exception) -> Response:
        return respond(request, 404, str(exc))

    def bad_request(request: Request, exc: Exception) -> Response:
        return respond(request, 400, str(exc))

    def broken(request: Request, exc: Exception) -> Response:
        log.warning("%s: %s", request.url.path, exc)
        return respond(request, 500, f"the archive cannot be read here: {exc}")

    return {CaptureNotFound: not_found, BadTimestamp: bad_request, ArchiveError: broken, WarcwatchError: bad_request}


def create_app(config: Config, engine: Engine | None = None, token: str | None = None):
    """The ASGI app: routes, then the token check (when `token` is set), then security headers."""
    from storage.catalog import open_catalog

    engine = engine or open_catalog(config.archive.database_url)
    web = Web(config, engine, token)
    routes = [
        Route("/", web.dashboard),
        Route("/target/{name}", web.target),
        Route("/url", web.url_page),
        Route("/snapshot/{ts}/{url:path}", web.snapshot),
        Route("/raw/{rest:path}", web.raw),
        Route("/text/{ts}/{url:path}", web.text),
        Route("/record/{fmt}/{ts}/{url:path}", web.record),
        Route("/capture/{id:int}", web.capture_page),
        Route("/capture/{id:int}/text", web.text),
        Route("/capture/{id:int}/record/{fmt}", web.record),
        Route("/diff", web.diff),
        Route("/diff/report", web.diff_report),
        Route("/changes", web.changes),
        Route("/changes.atom", web.changes_atom),
        Route("/changes.json", web.changes_json),
        Route("/api/show", web.api_show),
        Route("/api/captures", web.api_captures),
        Route("/api/changes", web.api_changes),
        Route("/api/status", web.api_status),
        Route("/static/style.css", web.style),
    ]
    app = Starlette(routes=routes, exception_handlers=_errors(web))
    app.state.web = web
    wrapped = TokenAuth(app, token) if token else app
    return SecurityHeaders(wrapped)
