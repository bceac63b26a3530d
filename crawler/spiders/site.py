"""`kind = "site"`: a bounded crawl of one host, following links up to `depth` hops from the
start URL, within the target's `allow` / `deny` patterns and `max_pages`."""

from __future__ import annotations

from urllib.parse import urlsplit

from scrapy.http import TextResponse
from scrapy.linkextractors import LinkExtractor

from crawler.spiders.kind import Kind


class Site(Kind):
    name = "site"

    def __init__(self, target):
        super().__init__(target)
        # hosts are checked below: LinkExtractor's allow_domains never matches an IP address host
        self.links = LinkExtractor(allow=target.allow, deny=target.deny)
        self.hosts = {urlsplit(u).hostname for u in target.urls}

    def follows(self, hops: int) -> bool:
        return hops < self.target.depth

    def page(self, spider, response, hops):
        if not self.follows(hops) or not isinstance(response, TextResponse):
            return
        for link in self.links.extract_links(response):
            if urlsplit(link.url).hostname not in self.hosts:
                continue
            req = spider.page(self.target, link.url, hops=hops + 1)
            if req is not None:
                yield req
