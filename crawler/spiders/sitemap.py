"""`kind = "sitemap"`: a sitemap or sitemap index (plain or gzipped) and the pages it lists."""

from __future__ import annotations

import logging

from scrapy.utils.gz import gunzip
from scrapy.utils.sitemap import Sitemap as SitemapDocument

from crawler.spiders.kind import Kind

log = logging.getLogger(__name__)
MAX_SITEMAP_BYTES = 50 * 1024 * 1024  # the sitemaps.org limit, also our gzip-bomb bound


class Sitemap(Kind):
    name = "sitemap"

    def listing(self, spider, response):
        body = response.body
        if body[:2] == b"\x1f\x8b":  # a .xml.gz file served without Content-Encoding
            body = gunzip(body, max_size=MAX_SITEMAP_BYTES)
        try:
            sitemap = SitemapDocument(body)
        except Exception as exc:  # noqa: BLE001 - lxml raises several kinds on broken XML
            log.warning("%s is not a parseable sitemap: %s", response.url, exc)
            return
        for entry in sitemap:
            loc = entry.get("loc")
            if not loc:
                continue
            if sitemap.type == "sitemapindex":
                yield spider.listing(self.target, response.urljoin(loc))
            else:
                req = spider.page(self.target, response.urljoin(loc))
                if req is not None:
                    yield req
