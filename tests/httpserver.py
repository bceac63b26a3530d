"""A real HTTP/1.1 server on 127.0.0.1 for tests, with canned responders for the cases an archive
must survive: conditional GETs, gzip, chunked bodies, redirects, hangs, truncated bodies and
decompression bombs, and every Content-Encoding the crawl accepts. Routes can be swapped between
crawl passes to simulate edits and removals.
"""

from __future__ import annotations

import gzip
import sys
import threading
import time
import zlib
from collections.abc import Callable
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

Responder = Callable[[BaseHTTPRequestHandler], None]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: SiteServer

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self.server.requests.append((self.path, dict(self.headers.items())))
        route = self.server.routes.get(self.path) or self.server.routes.get(self.path.split("?")[0])
        if route is None:
            return (self.server.fallback or not_found())(self)
        route(self)

    def log_message(self, *args) -> None:  # keep test output clean
        pass


class SiteServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, host: str = "127.0.0.1"):
        # another loopback address (127.0.0.2) is another host to the crawl: a CDN, say
        super().__init__((host, 0), _Handler)
        self.routes: dict[str, Responder] = {}
        self.fallback: Responder | None = (
            None  # answers every path without a route (a plain 404 by default)
        )
        self.requests: list[tuple[str, dict]] = []
        # a short poll interval: stop() waits for it, and every test stops a server
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def base(self) -> str:
        return f"http://{self.server_address[0]}:{self.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base + path

    def start(self) -> SiteServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()

    def hits(self, path: str) -> list[dict]:
        return [h for p, h in self.requests if p == path]


def _send(
    h: BaseHTTPRequestHandler,
    status: int,
    body: bytes,
    headers: dict | None = None,
    reason: str | None = None,
) -> None:
    h.send_response(status, reason)
    headers = {"Content-Type": "text/html; charset=utf-8", **(headers or {})}
    for k, v in headers.items():
        h.send_header(k, v)
    if "Content-Length" not in headers and "Transfer-Encoding" not in headers:
        h.send_header("Content-Length", str(len(body)))
    h.end_headers()
    h.wfile.write(body)


def page(
    body: str | bytes,
    status: int = 200,
    headers: dict | None = None,
    etag: str | None = None,
    last_modified: float | None = None,
    content_type: str = "text/html; charset=utf-8",
    reason: str | None = None,
) -> Responder:
    """A plain response; with `etag` / `last_modified` it answers conditional GETs with 304."""
    data = body.encode() if isinstance(body, str) else body

    def respond(h: BaseHTTPRequestHandler) -> None:
        extra = {"Content-Type": content_type, **(headers or {})}
        lm = formatdate(last_modified, usegmt=True) if last_modified is not None else None
        if etag:
            extra["ETag"] = etag
        if lm:
            extra["Last-Modified"] = lm
        inm, ims = h.headers.get("If-None-Match"), h.headers.get("If-Modified-Since")
        if (etag and inm == etag) or (lm and not etag and ims == lm):
            h.send_response(304)
            for k in ("ETag", "Last-Modified"):
                if k in extra:
                    h.send_header(k, extra[k])
            h.send_header("Content-Length", "0")
            h.end_headers()
            return
        _send(h, status, data, extra, reason)

    return respond


def not_found(body: str = "<html><body>Not found</body></html>", status: int = 404) -> Responder:
    return page(body, status=status)


def gzipped(body: str | bytes, content_type: str = "text/html; charset=utf-8") -> Responder:
    data = gzip.compress(body.encode() if isinstance(body, str) else body, mtime=0)
    return page(
        data,
        headers={"Content-Encoding": "gzip", "Vary": "Accept-Encoding"},
        content_type=content_type,
    )


def chunked(body: str | bytes, pieces: int = 3) -> Responder:
    data = body.encode() if isinstance(body, str) else body

    def respond(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "text/html; charset=utf-8")
        h.send_header("Transfer-Encoding", "chunked")
        h.end_headers()
        step = max(1, len(data) // pieces)
        for i in range(0, len(data), step):
            chunk = data[i : i + step]
            h.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        h.wfile.write(b"0\r\n\r\n")

    return respond


def redirect(location: str, status: int = 301) -> Responder:
    def respond(h: BaseHTTPRequestHandler) -> None:
        _send(h, status, b"", {"Location": location})

    return respond


def hang(seconds: float = 60) -> Responder:
    """Sends nothing for `seconds` (longer than any test's download timeout)."""

    def respond(h: BaseHTTPRequestHandler) -> None:
        time.sleep(seconds)
        h.close_connection = True

    return respond


def gated(release: threading.Event, body: str) -> Responder:
    """A page sent once the test sets `release`: a crawl stands still on it until then, its WARC
    file open (a hang would end at the download timeout instead)."""

    def respond(h: BaseHTTPRequestHandler) -> None:
        release.wait(120)
        page(body)(h)

    return respond


def truncated(body: bytes = b"<html><body>partial", claimed: int = 10_000) -> Responder:
    """Announces `claimed` bytes, sends fewer, closes."""

    def respond(h: BaseHTTPRequestHandler) -> None:
        _send(h, 200, body, {"Content-Length": str(claimed)})
        h.wfile.flush()
        h.close_connection = True

    return respond


def gzip_bomb(expanded: int = 200 * 1024 * 1024) -> Responder:
    """A small gzip body that expands to `expanded` bytes of zeros."""
    comp = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS + 16)
    block = b"\0" * (1024 * 1024)
    parts = [comp.compress(block) for _ in range(expanded // len(block))]
    data = b"".join(parts) + comp.flush()
    return page(data, headers={"Content-Encoding": "gzip"})


def encode(data: bytes, coding: str) -> bytes:
    """`data` in one of the Content-Encodings the crawl accepts."""
    if coding == "gzip":
        return gzip.compress(data, mtime=0)
    if coding == "deflate":
        return zlib.compress(data)
    if coding == "br":
        import brotli

        return brotli.compress(data)
    if coding == "zstd":
        if sys.version_info >= (3, 14):
            from compression import zstd
        else:
            from backports import zstd

        return zstd.compress(data)
    raise ValueError(coding)


def encoded(
    body: str | bytes, coding: str, content_type: str = "text/html; charset=utf-8"
) -> Responder:
    """The body sent with `Content-Encoding: coding` (gzip, deflate, br or zstd)."""
    data = encode(body.encode() if isinstance(body, str) else body, coding)
    return page(
        data,
        headers={"Content-Encoding": coding, "Vary": "Accept-Encoding"},
        content_type=content_type,
    )


def bomb(coding: str, expanded: int) -> Responder:
    """A small body in `coding` that expands to `expanded` bytes of zeros (br: 64 MB in ~50 B)."""
    return page(encode(b"\0" * expanded, coding), headers={"Content-Encoding": coding})


def huge(size: int) -> Responder:
    return page(b"x" * size, content_type="application/octet-stream")


class InFlight:
    """A responder that takes `seconds` per request and remembers the most it served at once (a
    host's politeness seen from the server)."""

    def __init__(self, body: bytes, content_type: str = "text/html; charset=utf-8", seconds=0.15):
        self.respond = page(body, content_type=content_type)
        self.seconds, self.now, self.most = seconds, 0, 0
        self.lock = threading.Lock()

    def __call__(self, h: BaseHTTPRequestHandler) -> None:
        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)
        try:
            time.sleep(self.seconds)
            self.respond(h)
        finally:
            with self.lock:
                self.now -= 1
