"""`kind = "page"`: the target's URLs themselves, nothing more."""

from crawler.spiders.kind import Kind


class Page(Kind):
    name = "page"
