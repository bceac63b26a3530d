"""Redirect loops: a redirect back to a URL already in the request's own redirect chain is a
failure with reason `redirect-loop`.

Scrapy's RedirectMiddleware only stops at REDIRECT_MAX_TIMES, and a loop through URLs already
crawled never gets there: the scheduler's duplicate filter drops the repeated URL silently, so the
page would vanish from the pass without a failure. This middleware sits between the archive (which
has kept the redirect response) and RedirectMiddleware, and names the loop first.
"""

from __future__ import annotations

from urllib.parse import urljoin

from scrapy.exceptions import NotConfigured
from w3lib.url import safe_url_string

from crawler.middlewares.archive import ResponseRejected
from crawler.outcomes import record_failure

_REDIRECTS = (301, 302, 303, 307, 308)


class RedirectLoopMiddleware:
    def __init__(self, crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler):
        if not crawler.settings.getbool("REDIRECT_ENABLED", True):
            raise NotConfigured
        return cls(crawler)

    def process_response(self, request, response):
        location = response.headers.get(b"Location")
        if response.status not in _REDIRECTS or not location or request.meta.get("dont_redirect"):
            return response
        target = safe_url_string(urljoin(response.url, location.decode("latin-1").strip()))
        chain = [*request.meta.get("redirect_urls", []), request.url]
        if target in chain:
            hops = " -> ".join([*chain, target])
            record_failure(self.crawler.spider, request, "redirect-loop", hops[:300])
            raise ResponseRejected("redirect-loop", hops)
        return response
