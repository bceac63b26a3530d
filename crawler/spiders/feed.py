"""`kind = "feed"`: an RSS 2.0, RSS 1.0 (RDF) or Atom feed, and every item it links."""

from __future__ import annotations

import logging

from parsel import Selector

from crawler.spiders.kind import Kind

log = logging.getLogger(__name__)

# local-name() keeps the XPaths independent of the namespaces feeds declare (or forget to).
_ITEM_LINKS = (
    "//*[local-name()='item']/*[local-name()='link']/text()",  # RSS 2.0 / RDF
    "//*[local-name()='entry']/*[local-name()='link'][not(@rel) or @rel='alternate']/@href",  # Atom
)


def feed_links(body: bytes) -> list[str]:
    sel = Selector(body=body, type="xml")
    links: list[str] = []
    for xpath in _ITEM_LINKS:
        links.extend(link.strip() for link in sel.xpath(xpath).getall() if link.strip())
    return list(dict.fromkeys(links))


class Feed(Kind):
    name = "feed"

    def listing(self, spider, response):
        try:
            links = feed_links(response.body)
        except ValueError as exc:
            log.warning("%s is not a parseable feed: %s", response.url, exc)
            return
        for link in links:
            req = spider.page(self.target, response.urljoin(link))
            if req is not None:
                yield req
