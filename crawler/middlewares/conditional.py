"""Conditional GET: sends the ETag / Last-Modified of a URL's newest capture, so an unchanged page
costs a 304 (archived as a server-not-modified revisit) instead of a full download."""

from __future__ import annotations

from scrapy.exceptions import NotConfigured


class ConditionalGetMiddleware:
    def __init__(self, crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler):
        if not crawler.settings.getbool("CONDITIONAL_GET_ENABLED", True):
            raise NotConfigured
        return cls(crawler)

    def process_request(self, request):
        # robots.txt must be read whole every pass: a 304 would parse as "allow everything"
        if (
            request.method != "GET"
            or request.meta.get("unconditional")
            or request.meta.get("dont_obey_robotstxt")
        ):
            return None
        validators = getattr(self.crawler.spider, "validators", {}).get(request.url)
        if validators:
            etag, last_modified = validators
            if etag:
                request.headers.setdefault(b"If-None-Match", etag)
            if last_modified:
                request.headers.setdefault(b"If-Modified-Since", last_modified)
        return None
