"""One spider per target kind; `SPIDERS` maps the watchlist's `kind` to its spider class."""

from crawler.spiders.feed import FeedSpider
from crawler.spiders.page import PageSpider
from crawler.spiders.site import SiteSpider
from crawler.spiders.sitemap import SitemapSpider

SPIDERS = {cls.name: cls for cls in (PageSpider, FeedSpider, SitemapSpider, SiteSpider)}
