"""The HTTP(S) download handler that keeps the exchange as it crossed the wire.

Twisted's HTTP client hands Scrapy a rebuilt response: Content-Length, Transfer-Encoding and
Connection are dropped from the headers, names are re-capitalised and the header order is lost.
An archive of evidence needs the status line and header block exactly as received, and the request
line and headers exactly as sent. This handler is Scrapy's own HTTP/1.1 handler with a connection
protocol that taps those bytes; it puts them in `request.meta["wire"]` as `(request_head,
response_head)` for the archive middleware.

It also holds each host to `CONCURRENT_REQUESTS_PER_DOMAIN` requests in flight. Scrapy's
downloader means to (a slot's free transfer places), but under the asyncio reactor it counts a
request as transferring only once the task it schedules for it runs, after it has handed out all
the queued requests of the slot at once: eight pages or embeds queued on one host were all in
flight together with `concurrency_per_host = 2` (Scrapy 2.19; tests/crawler/test_politeness.py).
The gate here is the same limit, on the same key (the downloader's slot), taken before the
connection is asked for, so the download timeout starts with the request.

And it fails at once a request to a host the pass could not connect to before (a name that did not
resolve, a host that accepted no connection): crawler.unreachable says why.
"""

from __future__ import annotations

import asyncio
from typing import Any

from scrapy.core.downloader.handlers import http11
from scrapy.exceptions import DownloadCancelledError
from scrapy.http import Request, Response
from scrapy.utils._download_handlers import get_maxsize_msg
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached

from crawler.unreachable import NotingPool, Unreachable

# The end of an HTTP head is a blank line; Twisted also accepts bare LF line ends, so we do too.
_MAX_HEAD = 256 * 1024
_PORTS = {"http": 80, "https": 443}


def _head_end(data: bytes, start: int = 0) -> int:
    """Where the first blank line in `data` (from `start`) ends, -1 if it has none. The LF-only
    end is looked for only before the CRLF one: the head arrives with the first part of the body,
    which need not be searched to its end."""
    crlf = data.find(b"\r\n\r\n", start)
    lf = data.find(b"\n\n", start, crlf + 1 if crlf >= 0 else len(data))
    if lf >= 0:
        return lf + 2
    return crlf + 4 if crlf >= 0 else -1


class _WireProtocol(http11._LenientHTTP11ClientProtocol):
    """Records the bytes written for each request and the bytes received up to the response's
    blank line, and attaches both to the Twisted response object."""

    _head = b""
    _head_done = True
    received = 0  # bytes received for the current request, head and body

    def request(self, request):
        sent: list[bytes] = []
        transport = self.transport
        write, write_seq = transport.write, transport.writeSequence
        # Twisted writes a request's head (and a small body) synchronously inside request():
        # borrowing the transport's write methods for that call captures exactly what was sent.
        transport.write = lambda data: (sent.append(data), write(data))[1]
        transport.writeSequence = lambda seq: (sent.extend(seq), write_seq(seq))[1]
        try:
            d = super().request(request)
        finally:
            del transport.write, transport.writeSequence
        request_bytes = b"".join(sent)
        self._head, self._head_done, self.received = b"", False, 0

        def attach(response):
            response._warcwatch_wire = (request_bytes, self._response_head())
            response._warcwatch_protocol = self
            return response

        d.addCallback(attach)
        return d

    def _response_head(self) -> bytes:
        head = self._head
        end = _head_end(head)
        if end >= 0:
            head = head[:end]
        self._head_done = True
        return head

    def dataReceived(self, data: bytes) -> None:
        self.received += len(data)
        if not self._head_done and len(self._head) < _MAX_HEAD:
            start = max(len(self._head) - 3, 0)  # a blank line may straddle two reads
            self._head += data
            if _head_end(self._head, start) >= 0:
                # the head is complete: keep just it, rather than copying the whole body along
                self._head = self._response_head()
        super().dataReceived(data)


class _WireFactory(http11._LenientHTTP11ClientFactory):
    def buildProtocol(self, addr):
        return _WireProtocol(self._quiescentCallback)


class _WireAgent(http11._ScrapyAgent):
    wire: tuple[bytes, bytes] | None = None

    def _cb_bodydone(self, result: Any, url: str) -> Response:
        self.wire = getattr(result["txresponse"], "_warcwatch_wire", None)
        return super()._cb_bodydone(result, url)

    def received(self) -> int:
        """Bytes received so far for the response whose body is being read (0 before its head)."""
        protocol = getattr(getattr(self, "_txresponse", None), "_warcwatch_protocol", None)
        return protocol.received if protocol is not None else 0


class WireRecordingDownloadHandler(http11.HTTP11DownloadHandler):
    def __init__(self, crawler: Any) -> None:
        super().__init__(crawler)
        # imported here, as Scrapy does: importing the module must not install a reactor
        from twisted.internet import reactor

        self.unreachable = Unreachable()
        # Scrapy's pool, as its handler configures it, that also notes the connections it could
        # not make
        pool = NotingPool(reactor, self.unreachable, persistent=True)
        pool.maxPersistentPerHost = self._pool.maxPersistentPerHost
        pool.retryAutomatically = self._pool.retryAutomatically
        pool._factory = _WireFactory
        self._pool = pool
        self._per_host = max(1, crawler.settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN"))
        self._gates: dict[str, asyncio.Semaphore] = {}

    async def download_request(self, request: Request) -> Response:
        url = urlparse_cached(request)
        if not request.meta.get("proxy") and url.hostname:
            # before the gate: a host known dead holds no place of its host's requests
            self.unreachable.check(url.hostname.lower(), url.port or _PORTS.get(url.scheme, 0))
        key = request.meta.get("download_slot") or url.hostname or ""
        gate = self._gates.get(key)
        if gate is None:
            gate = self._gates[key] = asyncio.Semaphore(self._per_host)
        async with gate:
            return await self._download(request)

    async def _download(self, request: Request) -> Response:
        # Mirrors HTTP11DownloadHandler.download_request, with an agent that keeps the wire bytes.
        agent = _WireAgent(
            contextFactory=self._contextFactory,
            bindAddress=self._bind_address,
            pool=self._pool,
            maxsize=self._default_maxsize,
            warnsize=self._default_warnsize,
            fail_on_dataloss=self._fail_on_dataloss,
            crawler=self._crawler,
            tls_verbose_logging=self._tls_verbose_logging,
        )
        try:
            with http11.wrap_twisted_exceptions():
                response = await maybe_deferred_to_future(agent.download_request(request))
        except DownloadCancelledError as exc:
            # A body without Content-Length that grows past DOWNLOAD_MAXSIZE is cancelled with an
            # empty message (Scrapy only logs why); say it, so the failure is recorded as too-large.
            maxsize = request.meta.get("download_maxsize", self._default_maxsize)
            received = agent.received()
            if str(exc) or not maxsize or received <= maxsize:
                raise
            raise DownloadCancelledError(
                get_maxsize_msg(received, maxsize, request, expected=False)
            ) from exc
        request.meta["wire"] = agent.wire
        return response
