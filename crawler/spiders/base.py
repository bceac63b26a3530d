"""What every target spider shares: its target, the pass it belongs to, the archive it feeds, and
the re-checking of pages the target archived before (so that edits and removals are seen even
after a page leaves the feed, sitemap or listing)."""

from __future__ import annotations

from scrapy import Request, Spider

from crawler.outcomes import on_request_error


class TargetSpider(Spider):
    name = "target"
    # Listings (feeds, sitemaps, start pages) go before the pages they list.
    LISTING_PRIORITY = 10

    def __init__(self, target=None, run_id=None, archive=None, report=None, validators=None,
                 recheck=(), confirm=False, **kwargs):
        super().__init__(name=self.name, **kwargs)
        self.target = target
        self.run_id = run_id
        self.archive = archive
        self.report = report
        self.validators = validators or {}  # url → (ETag, Last-Modified), for conditional GETs
        self.recheck = list(recheck)  # pages archived before, due for a re-check
        self.confirm = confirm  # a confirmation pass: fetch target.urls again, whole, at once
        self.pages = 0

    async def start(self):
        if self.confirm:
            for url in self.target.urls:
                yield self.request(url, self.parse_page, confirm=True, unconditional=True).replace(dont_filter=True)
            return
        for url in self.target.urls:
            yield self.listing(url)
        for url in self.recheck:
            # a re-check looks at the page itself, it does not crawl on from it
            req = self.page(url, hops=self.target.depth, recheck=True)
            if req is not None:
                yield req

    def request(self, url: str, callback=None, **meta) -> Request:
        return Request(url, callback=callback or self.parse_page, errback=self.on_error, meta=meta)

    def listing(self, url: str, **meta) -> Request:
        req = self.request(url, self.parse_listing, **meta)
        return req.replace(priority=self.LISTING_PRIORITY)

    def page(self, url: str, **meta) -> Request | None:
        if self.pages >= self.target.max_pages:
            return None
        self.pages += 1
        return self.request(url, self.parse_page, **meta)

    def parse_listing(self, response):
        """A target's start URL; the base kind ("page") treats it as a page."""
        return self.parse_page(response)

    def parse_page(self, response):
        return None

    def on_error(self, failure):
        on_request_error(self, failure)

    def on_http_error(self, response) -> None:
        """A 4xx/5xx response (already archived); the monitor's removal checks hook in here."""
