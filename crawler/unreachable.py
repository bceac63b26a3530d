"""Hosts a pass could not connect to, so that it does not try them again in the same pass.

A page's requisites often sit on hosts the page's own host does not control: a CDN that is gone, an
ad server whose name no longer resolves, a tracker whose nameservers do not answer. Scrapy caches
only the DNS lookups that succeed, so every embed on such a host (and its robots.txt, and each
retry) pays the lookup again, and a lookup that times out holds one of the crawl's
`CONCURRENT_REQUESTS` places for the resolver's whole timeout (glibc: 5 s a try) - with a hundred
embeds on dead hosts, minutes of a pass spent waiting. A host that does not accept connections
(the SYN dropped) costs `download_timeout` per request the same way.

So the first failure to connect is remembered for the rest of the pass (the crawler's lifetime):
a name that did not resolve fails every later request to that host at once with the same error,
and a host and port that did not accept a connection in time fails every later request to it as a
timeout. Each such request is still a failed fetch with its reason (crawler.outcomes). A refused
connection is not remembered: it costs nothing to try again. The next pass tries every host afresh.

The failures are seen where connections are made, in the download handler's connection pool
(`NotingPool`): a response that is slow to come over an open connection is a slow URL, not a dead
host, and is not remembered.
"""

from __future__ import annotations

from typing import Any

from scrapy.exceptions import CannotResolveHostError, DownloadTimeoutError
from twisted.internet import error as tx_error
from twisted.internet.defer import CancelledError
from twisted.python.failure import Failure
from twisted.web.client import HTTPConnectionPool

_SCHEMES = (b"http", b"https")
# A connection attempt that did not finish: the OS gave up, or the download timeout cancelled it.
_NO_ANSWER = (tx_error.TCPTimedOutError, tx_error.ConnectingCancelledError, CancelledError)


class Unreachable:
    """The hosts (names that did not resolve) and host:ports (no connection in time) of a pass."""

    def __init__(self) -> None:
        self.unresolved: dict[str, str] = {}  # host -> the lookup's error
        self.silent: set[tuple[str, int]] = set()

    def note(self, host: str, port: int, failure: Failure) -> None:
        if failure.check(tx_error.DNSLookupError):
            self.unresolved.setdefault(host, str(failure.value))
        elif failure.check(*_NO_ANSWER):
            self.silent.add((host, port))

    def check(self, host: str, port: int) -> None:
        """Raise the error a request to host:port would end in, if a connection to it failed
        earlier in the pass."""
        if host in self.unresolved:
            raise CannotResolveHostError(
                f"{self.unresolved[host]} (earlier in this pass; not looked up again)"
            )
        if (host, port) in self.silent:
            raise DownloadTimeoutError(
                f"{host}:{port} did not accept a connection earlier in this pass; not tried again"
            )


class NotingPool(HTTPConnectionPool):
    """Twisted's connection pool, telling `unreachable` of the connections it could not make.
    Only a direct connection's key (scheme, host, port, and the bind address in Twisted's newer
    keys) is noted: through a proxy the key is the proxy's or a tunnel's, and a proxy's failure says
    nothing of the host."""

    def __init__(self, reactor: Any, unreachable: Unreachable, persistent: bool = True) -> None:
        super().__init__(reactor, persistent=persistent)
        self.unreachable = unreachable

    def getConnection(self, key: Any, endpoint: Any) -> Any:  # noqa: N802 - Twisted's name
        d = super().getConnection(key, endpoint)
        if isinstance(key, tuple) and len(key) in (3, 4) and key[0] in _SCHEMES:
            host, port = key[1], key[2]
            host = host.decode("ascii", "replace") if isinstance(host, bytes) else str(host)

            def noted(failure: Failure) -> Failure:
                self.unreachable.note(host.lower(), int(port), failure)
                return failure

            d.addErrback(noted)
        return d
