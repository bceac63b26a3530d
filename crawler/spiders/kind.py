"""What a target's `kind` means to the crawl: how its start URL is read and which pages it leads
to. One small class per kind, registered by name; the watchlist spider asks them for requests."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, ClassVar

from scrapy import Request
from scrapy.http import Response

from crawler.kinds import NAMES

if TYPE_CHECKING:
    from crawler.spiders.watchlist import WatchlistSpider
    from crawler.targets import CrawlTarget


class Kind:
    """A target kind. `listing` reads a start URL, `page` a page the target reached."""

    name: ClassVar[str]
    registry: ClassVar[dict[str, type[Kind]]] = {}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.name not in NAMES:  # the watchlist accepts only the names listed there
            raise TypeError(f"kind {cls.name!r} is not listed in crawler.kinds.NAMES")
        Kind.registry[cls.name] = cls

    def __init__(self, target: CrawlTarget):
        self.target = target

    def listing(self, spider: WatchlistSpider, response: Response) -> Iterable[Request]:
        return self.page(spider, response, 0)

    def page(self, spider: WatchlistSpider, response: Response, hops: int) -> Iterable[Request]:
        """The requests a page `hops` links from the target's start leads to."""
        return ()

    def needs_response(self, listing: bool, hops: int) -> bool:
        """Would reading this response lead anywhere: a listing's links, or a page's? (A target
        for which it would not may share another target's fetch after that was read.)"""
        if listing and type(self).listing is not Kind.listing:
            return True  # the kind reads its listings itself (a feed, a sitemap)
        return self.follows(0 if listing else hops)

    def follows(self, hops: int) -> bool:
        """Does a page `hops` links from the start lead anywhere (does `page` need its response)?"""
        return False
