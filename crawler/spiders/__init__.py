"""The watchlist spider and the target kinds it crawls (page, feed, sitemap, site)."""

from crawler.spiders.watchlist import WatchlistSpider

__all__ = ["WatchlistSpider"]
