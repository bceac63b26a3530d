"""`kind = "page"`: the target's URLs themselves, nothing more."""

from crawler.spiders.base import TargetSpider


class PageSpider(TargetSpider):
    name = "page"
