"""The spider of a crawl pass: every target of the pass, of every kind, in one Scrapy crawler.

One crawler rather than one per target, so that what politeness needs is shared by all targets
on a host: one robots.txt fetch, one downloader slot (concurrency and AutoThrottle), one
connection pool; and a pass of hundreds of small targets does not pay Scrapy's start-up for each.
Each request carries its target's name in `meta["target"]`; the kinds (crawler.spiders.kind)
decide what a target's listings and pages lead to.
"""

from __future__ import annotations

from collections import Counter
from urllib.parse import urlsplit

from scrapy import Request, Spider

from crawler.outcomes import on_request_error
from crawler.spiders import feed, page, site, sitemap  # noqa: F401 - registers the kinds
from crawler.spiders.kind import Kind


class WatchlistSpider(Spider):
    name = "warcwatch"
    # Listings (feeds, sitemaps, start pages) go before the pages they list.
    LISTING_PRIORITY = 10

    def __init__(self, targets=(), run_id=None, archive=None, report=None, validators=None,
                 recheck=(), confirm=False, **kwargs):
        super().__init__(name=self.name, **kwargs)
        self.targets = {t.name: t for t in targets}
        self.kinds = {t.name: Kind.registry[t.kind](t) for t in targets}
        self.run_id = run_id
        self.archive = archive
        self.report = report
        self.validators = validators or {}  # url → (ETag, Last-Modified), for conditional GETs
        self.recheck = list(recheck)  # (target name, url): pages archived before, due for a re-check
        self.confirm = confirm  # a confirmation pass: fetch each target's urls again, whole, at once
        self.pages: Counter[str] = Counter()
        self._hosts = {}
        for t in targets:
            for u in t.urls:
                self._hosts.setdefault(urlsplit(u).netloc, t.name)

    def target_name(self, request) -> str:
        """The target a request belongs to; robots.txt goes with the first target of its host."""
        name = request.meta.get("target")
        if name:
            return name
        return self._hosts.get(urlsplit(request.url).netloc) or next(iter(self.targets))

    async def start(self):
        for t in self.targets.values():
            for url in t.urls:
                if self.confirm:
                    yield self.request(t, url, confirm=True, unconditional=True).replace(dont_filter=True)
                else:
                    yield self.listing(t, url)
        for name, url in self.recheck:
            # a re-check looks at the page itself, it does not crawl on from it
            t = self.targets[name]
            req = self.page(t, url, hops=t.depth, recheck=True)
            if req is not None:
                yield req

    def request(self, target, url: str, callback=None, **meta) -> Request:
        return Request(url, callback=callback or self.parse_page, errback=self.on_error,
                       meta={"target": target.name, **meta})

    def listing(self, target, url: str, **meta) -> Request:
        return self.request(target, url, self.parse_listing, **meta).replace(priority=self.LISTING_PRIORITY)

    def page(self, target, url: str, **meta) -> Request | None:
        if self.pages[target.name] >= target.max_pages:
            return None
        self.pages[target.name] += 1
        return self.request(target, url, self.parse_page, **meta)

    def parse_listing(self, response):
        return self.kinds[response.meta["target"]].listing(self, response)

    def parse_page(self, response):
        return self.kinds[response.meta["target"]].page(self, response)

    def on_error(self, failure):
        on_request_error(self, failure)
