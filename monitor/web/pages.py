"""The HTML pages of the web UI: the dashboard (`/`), a target's pages (`/target/NAME`), a URL's
timeline (`/url?url=`), a snapshot (`/snapshot/TS/URL`, the archived page framed from `/raw/…`,
or `/capture/ID`), its extracted text (`/text/TS/URL`, `/capture/ID/text`), a diff between two
versions (`/diff?…`, and `/diff/report?…` the standalone report) and the changes (`/changes`).
A rendered capture's screenshot (crawler.render) is `/capture/ID/screenshot`, shown beside its
snapshot and, before and after, above a change's diff.

TS may be a capture's exact time (20 digits), which is what the UI links to. Pages that read WARC
records or extract text run in Starlette's thread pool.
"""

from __future__ import annotations

from typing import cast
from urllib.parse import urlencode

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from monitor.diffview import VersionPair, version_pair
from monitor.versions import previous_fetch, rendering_row
from monitor.web import queries
from monitor.web.context import WebContext, archived_url, page_number, snap_href
from monitor.web.diffrows import inline, side_by_side
from monitor.web.links import in_path
from monitor.web.report import render_html
from monitor.web.security import REPORT_CSP
from storage.catalog import previous_content, rendered
from storage.enums import RecordKind
from storage.models import DOM, SCREENSHOT, Capture, ChangeEvent
from storage.timestamps import BadTimestamp

PAGE_SIZE = 50


def capture_at(s: Session, request: Request) -> Capture:
    """The capture a page's path names: `/…/ID` by id, else `/…/TS/URL` the nearest TS."""
    from storage.retrieval import SessionLookup

    lookup = SessionLookup(s)
    if "id" in request.path_params:
        return lookup.by_id(request.path_params["id"])
    return lookup.nearest(archived_url(request), request.path_params["ts"])


class Pages:
    """The UI's HTML pages, on one `WebContext`."""

    def __init__(self, web: WebContext):
        self.web = web

    def routes(self) -> list[Route]:
        return [
            Route("/", self.dashboard),
            Route("/target/{name}", self.target),
            Route("/url", self.url_page),
            Route("/snapshot/{ts}/{url:path}", self.snapshot),
            Route("/text/{ts}/{url:path}", self.text),
            Route("/capture/{id:int}", self.capture_page),
            Route("/capture/{id:int}/text", self.text),
            Route("/capture/{id:int}/screenshot", self.screenshot),
            Route("/diff", self.diff),
            Route("/diff/report", self.diff_report),
            Route("/changes", self.changes),
            Route("/static/style.css", self.style),
        ]

    def dashboard(self, request: Request) -> Response:
        web = self.web
        with web.session() as s:
            targets = queries.target_summaries(s, web.config)
            page = queries.page_of(1, 15, queries.event_count(s))
            events = queries.recent_events(s, page)
            caps = queries.captures_by_id(s, {e.to_capture for e in events})
            totals = queries.totals(s)
            return web.render(
                "dashboard.html", targets=targets, events=events, captures=caps, totals=totals
            )

    def target(self, request: Request) -> Response:
        web, name = self.web, request.path_params["name"]
        with web.session() as s:
            summary = next(
                (t for t in queries.target_summaries(s, web.config) if t.name == name), None
            )
            if summary is None:
                return web.error(404, f"no target named {name!r}")
            page = queries.page_of(page_number(request), PAGE_SIZE, summary.pages)
            pages = queries.target_pages(s, name, page)
            epage = queries.page_of(1, 10, summary.events)
            events = queries.recent_events(s, epage, target=name)
            caps = queries.captures_by_id(s, {e.to_capture for e in events})
            return web.render(
                "target.html",
                target=summary,
                pages=pages,
                page=page,
                events=events,
                captures=caps,
                query={},
            )

    def url_page(self, request: Request) -> Response:
        from storage.retrieval import origin_of

        web = self.web
        url = request.query_params.get("url", "").strip()
        if not url:
            return web.error(400, "give a URL: /url?url=https://…")
        with web.session() as s:
            total = queries.capture_count(s, url)
            if total == 0:
                return web.error(404, f"no captures of {url}")
            page = queries.page_of(page_number(request), PAGE_SIZE, total)
            rows = queries.timeline(s, url, page)
            exact = rows[0].url
            n_events = queries.event_count(s, url=exact)
            epage = queries.page_of(page_number(request, "epage"), 20, n_events)
            events = queries.recent_events(s, epage, url=exact)
            ids = {e.to_capture for e in events} | {e.from_capture for e in events}
            caps = queries.captures_by_id(s, ids)
            by_capture: dict[int | None, list[ChangeEvent]] = {}
            for e in events:
                by_capture.setdefault(e.to_capture, []).append(e)
            # each revisit on the page with the response it refers to (storage.retrieval's walk)
            origins = {c.id: origin_of(s, c) for c in rows if c.kind == RecordKind.REVISIT}
            return web.render(
                "url.html",
                url=exact,
                rows=rows,
                page=page,
                total=total,
                events=events,
                epage=epage,
                captures=caps,
                by_capture=by_capture,
                origins=origins,
                query={"url": url},
            )

    def snapshot(self, request: Request) -> Response:
        web = self.web
        with web.session() as s:
            c = capture_at(s, request)
            # the capture's exact time, or (links made before there were fractions) its second
            exact_time = request.path_params["ts"] in (c.exact, c.timestamp)
            if not exact_time or c.url != archived_url(request):
                return RedirectResponse(snap_href(c), status_code=302)
            where = f"{c.exact}/{in_path(c.url)}"
            return self._snapshot_page(
                s,
                c,
                frame_src=f"{web.raw_prefix}/{where}",
                record_path=where,
                text_href=f"/text/{where}",
            )

    def capture_page(self, request: Request) -> Response:
        """The snapshot page of capture ID, every link on it by id."""
        web = self.web
        with web.session() as s:
            c = capture_at(s, request)
            if c.kind == RecordKind.FAILED:
                return web.error(
                    404,
                    f"capture {c.id} of {c.url} is a failed fetch ({c.reason}): it has no record",
                )
            return self._snapshot_page(
                s,
                c,
                frame_src=f"{web.raw_prefix}/capture/{c.id}",
                record_path=None,
                text_href=f"/capture/{c.id}/text",
                view=request.query_params.get("view"),
            )

    def _snapshot_page(
        self,
        s: Session,
        c: Capture,
        frame_src: str,
        record_path: str | None,
        text_href: str,
        view: str | None = None,
    ) -> Response:
        from storage.retrieval import origin_of

        origin = origin_of(s, c)
        earlier, later = queries.neighbours(s, c)
        # a rendered fetch is shown as the browser rendered it (its DOM), unless asked for the
        # HTML as served; a rendering target's version is the fetch itself, not its origin
        dom = rendered(s, c, DOM)
        reader = rendering_row(s, self.web.config, c)
        if dom is None:
            view = "served"
        elif view not in ("served", "rendered"):
            view = "rendered" if reader is not None else "served"
        if view == "rendered":
            frame_src = f"{self.web.raw_prefix}/dom/{c.id}"
        if reader is not None:
            diff_to = reader
            before = previous_fetch(s, reader)
        else:
            diff_to = origin
            before = previous_content(s, origin) if origin.status == 200 else None
        events = list(s.scalars(select(ChangeEvent).where(ChangeEvent.to_capture == c.id)))
        caps = queries.captures_by_id(s, {e.to_capture for e in events})
        record_base = (
            f"/record/{{fmt}}/{record_path}" if record_path else f"/capture/{c.id}/record/{{fmt}}"
        )
        return self.web.render(
            "snapshot.html",
            c=c,
            shot=rendered(s, c, SCREENSHOT),
            dom=dom,
            view=view,
            origin=origin,
            earlier=earlier,
            later=later,
            before=before,
            diff_to=diff_to,
            events=events,
            captures=caps,
            frame_src=frame_src,
            text_href=text_href,
            record_hrefs={fmt: record_base.format(fmt=fmt) for fmt in ("headers", "http", "warc")},
        )

    def screenshot(self, request: Request) -> Response:
        """The full-page PNG the browser took of capture ID (its resource record's payload)."""
        from storage.retrieval import location
        from storage.warcread import read_record

        web = self.web
        with web.session() as s:
            c = capture_at(s, request)
            shot = rendered(s, c, SCREENSHOT)
            if shot is None:
                return web.error(404, f"capture {c.id} of {c.url} has no screenshot")
            png = read_record(web.warc_dir, location(shot)).payload
        # an image, typed and not sniffed, with nothing else allowed: never a document of the UI
        return Response(
            png,
            media_type="image/png",
            headers={
                "X-Content-Type-Options": "nosniff",
                "Content-Security-Policy": "default-src 'none'; sandbox",
                "Cache-Control": "private, max-age=86400",
            },
        )

    def text(self, request: Request) -> Response:
        from monitor.extract import extract

        web = self.web
        with web.session() as s:
            c = capture_at(s, request)
            target = next((t for t in web.config.targets if t.name == c.target), None)
            payload, mime, ctype = self._text_source(s, c)
            page = extract(
                payload,
                mime,
                ctype,
                c.url,
                target.select if target else None,
                target.ignore if target else (),
            )
            return web.render("text.html", c=c, page=page, target=target)

    def _text_source(self, s: Session, c: Capture) -> tuple[bytes, str | None, str | None]:
        """What the capture's text is extracted from, as the monitor reads it: a rendering
        target's fetch from its DOM, else from its payload (a revisit's: its origin's)."""
        from storage.retrieval import load, location
        from storage.warcread import read_record

        if rendering_row(s, self.web.config, c) is not None:
            dom = cast(Capture, rendered(s, c, DOM))
            rec = read_record(self.web.warc_dir, location(dom))
            return rec.payload, dom.mime, rec.header("Content-Type")
        snap = load(s, self.web.warc_dir, c)
        # through the ORM, the origin is a Capture
        return b"".join(snap.decoded()), cast(Capture, snap.origin).mime, snap.content_type()

    def _pair(self, request: Request) -> VersionPair:
        q = request.query_params
        try:
            from_id = int(q["from_id"]) if q.get("from_id") else None
            to_id = int(q["to_id"]) if q.get("to_id") else None
        except ValueError:
            raise BadTimestamp("from_id and to_id are capture ids (numbers)") from None
        url = q.get("url") or None
        if (from_id is None or to_id is None) and url is None:
            raise BadTimestamp(
                "give url= (with from= and to= timestamps, both optional) or from_id= and to_id="
            )
        return version_pair(
            self.web.engine,
            self.web.config,
            url,
            q.get("from") or None,
            q.get("to") or None,
            from_id if to_id is not None else None,
            to_id if from_id is not None else None,
            show_volatile=q.get("all") == "1",
        )

    def diff(self, request: Request) -> Response:
        pair = self._pair(request)
        with self.web.session() as s:  # a rendered page's screenshots, before and after
            shots = {
                side: rendered(s, c, SCREENSHOT)
                for side, c in (("old", pair.old), ("new", pair.new))
            }
        view = "inline" if request.query_params.get("view") == "inline" else "side"
        plus, minus = pair.diff.word_counts()
        base = {k: v for k, v in request.query_params.items() if k != "view"}
        return self.web.render(
            "diff.html",
            pair=pair,
            shots=shots,
            view=view,
            side=side_by_side(pair) if view == "side" else None,
            inline=inline(pair) if view == "inline" else None,
            plus=plus,
            minus=minus,
            side_href="/diff?" + urlencode({**base, "view": "side"}),
            inline_href="/diff?" + urlencode({**base, "view": "inline"}),
            report_href="/diff/report?" + urlencode(base),
            all_href="/diff?" + urlencode({**base, "all": "1", "view": view}),
        )

    def diff_report(self, request: Request) -> Response:
        return HTMLResponse(
            render_html(self._pair(request)), headers={"Content-Security-Policy": REPORT_CSP}
        )

    def changes(self, request: Request) -> Response:
        web = self.web
        filters = {k: request.query_params.get(k) or None for k in ("target", "kind")}
        with web.session() as s:
            total = queries.event_count(s, **filters)
            page = queries.page_of(page_number(request), PAGE_SIZE, total)
            events = queries.recent_events(s, page, **filters)
            caps = queries.captures_by_id(s, {e.to_capture for e in events})
            return web.render(
                "changes.html",
                events=events,
                captures=caps,
                page=page,
                query={k: v for k, v in filters.items() if v},
                filters=filters,
            )

    def style(self, request: Request) -> Response:
        return Response(
            self.web.css, media_type="text/css", headers={"Cache-Control": "public, max-age=3600"}
        )
