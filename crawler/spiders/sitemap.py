"""`kind = "sitemap"`: a sitemap or sitemap index (plain or gzipped) and the pages it lists."""

from __future__ import annotations

from scrapy.utils.gz import gunzip
from scrapy.utils.sitemap import Sitemap

from crawler.spiders.base import TargetSpider


class SitemapSpider(TargetSpider):
    name = "sitemap"
    MAX_SITEMAP_BYTES = 50 * 1024 * 1024  # the sitemaps.org limit, also our gzip-bomb bound

    def parse_listing(self, response):
        body = response.body
        if body[:2] == b"\x1f\x8b":  # a .xml.gz file served without Content-Encoding
            body = gunzip(body, max_size=self.MAX_SITEMAP_BYTES)
        try:
            sitemap = Sitemap(body)
        except Exception as exc:  # noqa: BLE001 - lxml raises several kinds on broken XML
            self.logger.warning("%s is not a parseable sitemap: %s", response.url, exc)
            return
        for entry in sitemap:
            loc = entry.get("loc")
            if not loc:
                continue
            if sitemap.type == "sitemapindex":
                yield self.listing(response.urljoin(loc))
            else:
                req = self.page(response.urljoin(loc))
                if req is not None:
                    yield req
