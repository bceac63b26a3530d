"""The archived bytes the web UI serves: the payload a snapshot page frames (`/raw/[KEY/]TS/URL`,
`/raw/[KEY/]capture/ID`, a rendered page's DOM `/raw/[KEY/]dom/ID`), sandboxed and never with
archived headers, a page's or stylesheet's URLs rewritten to the archive's (monitor.web.replay)
so its requisites load from there, and a capture's record downloaded as WARC, HTTP or headers
(`/record/FMT/TS/URL`, `/capture/ID/record/FMT`), byte for byte.
"""

from __future__ import annotations

import hmac
from datetime import UTC
from typing import cast

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from monitor.web.context import WebContext, archived_url
from monitor.web.links import in_path
from monitor.web.pages import capture_at
from monitor.web.replay import archive_address, rewrite
from monitor.web.security import DOM_CSP, RAW_CSP
from storage.enums import RecordKind
from storage.errors import CaptureNotFound
from storage.models import DOM, Capture


class Records:
    """Archived payloads and records, on one `WebContext`."""

    def __init__(self, web: WebContext):
        self.web = web

    def routes(self) -> list[Route]:
        return [
            Route("/raw/{rest:path}", self.raw),
            Route("/record/{fmt}/{ts}/{url:path}", self.record),
            Route("/capture/{id:int}/record/{fmt}", self.record),
        ]

    def raw(self, request: Request) -> Response:
        """The archived payload, for the snapshot's frame: sandboxed, never with archived
        headers."""
        from storage.retrieval import SessionLookup

        web = self.web
        rest = request.path_params["rest"]
        if web.raw_key is not None:
            key, _, rest = rest.partition("/")
            if not hmac.compare_digest(key.encode(), web.raw_key.encode()):
                return Response("not found", status_code=404, media_type="text/plain")
        ts, _, url = rest.partition("/")
        if ts == "dom":
            return self._dom(url)
        with web.session() as s:
            lookup = SessionLookup(s)
            if ts == "capture":  # /raw/[KEY/]capture/ID: by id
                if not url.isdigit():
                    raise CaptureNotFound(f"no capture with id {url}")
                c = lookup.by_id(int(url))
            else:
                request.path_params["url"] = url
                c = lookup.nearest(archived_url(request), ts)
            snap = lookup.load(web.warc_dir, c)
            # A revisit (a 304 or an identical payload digest) shows the content it refers to, as
            # `show` does: its status and Location are the original response's, not "redirect
            # (304)".
            shown = cast(Capture, snap.origin)  # through the ORM, the origin is a Capture
            status = shown.status or 200
            if 300 <= status < 400:
                body, ctype = self._redirect_stub(shown), "text/html; charset=utf-8"
                status = 200
            else:
                body = b"".join(snap.decoded())
                ctype = snap.content_type() or c.mime or "application/octet-stream"
                status = 200 if c.kind == RecordKind.REVISIT else status
                # a page's or stylesheet's URLs lead into the archive, at this capture's time
                rewritten = rewrite(
                    body, ctype, shown.url, archive_address(web.raw_prefix, c.exact or ts)
                )
                if rewritten is not None:
                    body, ctype = rewritten
        return Response(body, status_code=status, headers=_raw_headers(c), media_type=ctype)

    def _dom(self, capture_id: str) -> Response:
        """`/raw/[KEY/]dom/ID`: the DOM the browser rendered of page fetch ID (its `urn:dom:`
        resource record), its URLs rewritten as the page's are, shown with no script running."""
        from storage.catalog import rendered
        from storage.retrieval import SessionLookup, location
        from storage.warcread import read_record

        web = self.web
        if not capture_id.isdigit():
            raise CaptureNotFound(f"no capture with id {capture_id}")
        with web.session() as s:
            c = SessionLookup(s).by_id(int(capture_id))
            dom = rendered(s, c, DOM)
            if dom is None:
                raise CaptureNotFound(f"capture {c.id} of {c.url} was not rendered: it has no DOM")
            rec = read_record(web.warc_dir, location(dom))
        body, ctype = rec.payload, rec.header("Content-Type") or "text/html; charset=utf-8"
        rewritten = rewrite(body, ctype, c.url, archive_address(web.raw_prefix, c.exact or ""))
        if rewritten is not None:
            body, ctype = rewritten
        headers = {**_raw_headers(c), "Content-Security-Policy": DOM_CSP}
        return Response(body, headers=headers, media_type=ctype)

    def _redirect_stub(self, c: Capture) -> bytes:
        from urllib.parse import urljoin

        dest = urljoin(c.url, c.location or "")
        href = f"{self.web.raw_prefix}/{c.timestamp}/{in_path(dest)}"
        tpl = self.web.env.from_string(
            "<!doctype html><meta charset=utf-8><p>Archived redirect ({{ status }}) to "
            '<a href="{{ href }}">{{ dest }}</a>.'
        )
        return tpl.render(status=c.status, href=href, dest=dest).encode()

    def record(self, request: Request) -> Response:
        from storage.retrieval import load, location
        from storage.warcread import read_member

        web = self.web
        fmt = request.path_params["fmt"]
        with web.session() as s:
            c = capture_at(s, request)
            stem = f"{c.exact}-{_slug(c.url)}"
            if fmt == "warc":
                body = read_member(web.warc_dir, location(c))
                ctype, name = "application/warc", f"{stem}.warc.gz"
            elif fmt == "http":
                body = load(s, web.warc_dir, c).raw()
                ctype, name = "application/http; msgtype=response", f"{stem}.http"
            elif fmt == "headers":
                body = load(s, web.warc_dir, c).http_head
                ctype, name = "text/plain; charset=utf-8", f"{stem}.headers.txt"
            else:
                return web.error(
                    404,
                    "a record is downloaded as /record/http/…, /record/warc/… or /record/headers/…",
                )
        disposition = "inline" if fmt == "headers" else f'attachment; filename="{name}"'
        headers = {
            "Content-Disposition": disposition,
            "Content-Security-Policy": RAW_CSP,
            "X-Content-Type-Options": "nosniff",
        }
        return Response(body, media_type=ctype, headers=headers)


def _raw_headers(c: Capture) -> dict[str, str]:
    return {
        "Content-Security-Policy": RAW_CSP,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "private, max-age=86400",
        "Memento-Datetime": _http_date(c.timestamp),
        "X-Capture-Id": str(c.id),
        # the sandboxed page has an opaque origin, and fonts load in CORS mode: without this its
        # archived fonts would not load. It opens archived payloads only, which that page reaches
        # by their paths anyway, and its CSP lets nothing it reads leave the server.
        "Access-Control-Allow-Origin": "*",
    }


def _slug(url: str) -> str:
    keep = "".join(ch if ch.isalnum() or ch in "-." else "_" for ch in url.split("://", 1)[-1])
    return keep.strip("_")[:80] or "record"


def _http_date(ts: str) -> str:
    from email.utils import format_datetime

    from storage.timestamps import to_datetime

    return format_datetime(to_datetime(ts).replace(tzinfo=UTC), usegmt=True)
