"""`kind = "site"`: a bounded crawl of one host, following links up to `depth` hops from the
start URL, within the target's `allow` / `deny` patterns and `max_pages`."""

from __future__ import annotations

from urllib.parse import urlsplit

from scrapy.http import TextResponse
from scrapy.linkextractors import LinkExtractor

from crawler.spiders.base import TargetSpider


class SiteSpider(TargetSpider):
    name = "site"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        hosts = sorted({urlsplit(u).hostname for u in self.target.urls})
        # hosts are checked below: LinkExtractor's allow_domains never matches an IP address host
        self.links = LinkExtractor(allow=self.target.allow, deny=self.target.deny)
        self._hosts = set(hosts)

    def parse_listing(self, response):
        yield from self.parse_page(response)

    def parse_page(self, response):
        depth = response.meta.get("hops", 0)
        if depth >= self.target.depth or not isinstance(response, TextResponse):
            return
        for link in self.links.extract_links(response):
            if urlsplit(link.url).hostname not in self._hosts:
                continue
            req = self.page(link.url, hops=depth + 1)
            if req is not None:
                yield req
