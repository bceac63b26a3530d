"""A page's requisites on a dead host cost the pass one failure, not one per embed
(crawler.unreachable): a watched page on 127.0.0.1 embeds sixteen images on a CDN that accepts no
connections (127.0.0.3, a listener whose backlog is full: the SYNs go unanswered, as a host that is
gone), and twelve on a name under `.invalid` (RFC 2606), which never resolves.

Before, each embed (and its robots.txt, and each retry) tried the connection or the lookup again:
the dead CDN held its host's two places for `download_timeout` per request, 16 × 2 tries / 2 × 2 s =
32 s for one page, and a lookup that times out held a place of the crawl for the resolver's timeout.
Now the pass pays for the first attempt and fails the others at once, each still a failed fetch
with its reason; the page itself is archived."""

from __future__ import annotations

import socket
import time

import pytest

from tests.conftest import crawl, write_config
from tests.httpserver import SiteServer, page
from tests.warcs import catalog_rows, reason_of

TIMEOUT = 2  # download_timeout, s
DEAD = [f"/img/{n}.png" for n in range(16)]
UNRESOLVED = [f"http://cdn.warcwatch-dead.invalid/img/{n}.png" for n in range(12)]


class DeadHost:
    """A host:port that accepts no connection: a listener with a backlog of one, filled by a
    connection nobody accepts. Later SYNs are dropped, and the client waits."""

    def __init__(self, host: str = "127.0.0.3") -> None:
        self.listener = socket.socket()
        self.listener.bind((host, 0))
        self.listener.listen(0)
        self.filler = socket.create_connection(self.listener.getsockname(), timeout=2)
        self.base = "http://{}:{}".format(*self.listener.getsockname())

    def close(self) -> None:
        self.filler.close()
        self.listener.close()


def _html(title: str, srcs: list[str]) -> str:
    imgs = "".join(f'<img src="{s}">' for s in srcs)
    return (
        f"<!doctype html><html><head><title>{title}</title></head><body><article>"
        f"<h1>{title}</h1><p>A page whose embeds are on hosts that are gone.</p>{imgs}"
        "</article></body></html>"
    )


@pytest.fixture(scope="module")
def passes(tmp_path_factory):
    site, dead = SiteServer().start(), DeadHost()
    # the listener really drops connections here (or the test would prove nothing)
    probe = socket.socket()
    probe.settimeout(0.5)
    with pytest.raises(TimeoutError):
        probe.connect(dead.listener.getsockname())
    probe.close()
    try:
        site.routes["/robots.txt"] = page("User-agent: *\nAllow: /\n", content_type="text/plain")
        site.routes["/plain"] = page(_html("Plain", []))
        site.routes["/dead-cdn"] = page(_html("Dead CDN", [dead.base + p for p in DEAD]))
        site.routes["/unresolved"] = page(_html("Unresolved", UNRESOLVED))
        settings = {"download_timeout": TIMEOUT, "concurrency_per_host": 2, "retries": 1}
        results = {}
        for name in ("plain", "dead-cdn", "unresolved"):
            config = write_config(
                tmp_path_factory.mktemp(name),
                [{"name": name, "urls": [site.url(f"/{name}")]}],
                crawl=settings,
            )
            t0 = time.monotonic()
            summary = crawl(config)
            results[name] = (config, summary, time.monotonic() - t0)
        yield site, dead, results
    finally:
        site.stop()
        dead.close()


def test_a_dead_cdn_costs_the_pass_one_timeout_not_one_per_embed(passes):
    site, dead, results = passes
    _, _, plain_s = results["plain"]
    _, summary, dead_s = results["dead-cdn"]
    # robots.txt of the dead host waits out one download_timeout; every embed after it fails at
    # once. Before: 16 embeds, two tries each, two at a time, 2 s each = 32 s over the plain pass.
    assert dead_s < plain_s + 4 * TIMEOUT, (dead_s, plain_s, summary)


def test_each_embed_on_the_dead_cdn_is_a_failed_fetch_and_the_page_is_archived(passes):
    site, dead, results = passes
    config, summary, _ = results["dead-cdn"]
    rows = {r.url: r for r in catalog_rows(config)}
    assert rows[site.url("/dead-cdn")].kind == "response"
    for p in DEAD:
        row = rows[dead.base + p]
        assert row.kind == "failed" and row.purpose == "requisite", row
        assert reason_of(row) == "timeout", row.reason
    assert summary["requisites"]["failed"] == {"timeout": len(DEAD)}, summary


def test_each_embed_on_an_unresolvable_host_is_a_dns_failure(passes):
    site, _, results = passes
    config, summary, unresolved_s = results["unresolved"]
    rows = {r.url: r for r in catalog_rows(config)}
    assert rows[site.url("/unresolved")].kind == "response"
    for url in UNRESOLVED:
        row = rows[url]
        assert row.kind == "failed" and reason_of(row) == "dns", row.reason
    assert summary["requisites"]["failed"] == {"dns": len(UNRESOLVED)}, summary
