"""The names of the target kinds the crawl knows: the registry a watchlist's `kind` is checked
against. Scrapy-free, so that loading a watchlist (`captures`, `show`) imports no Scrapy.

Each kind is a class in `crawler/spiders/<name>.py` that registers itself under its name
(`crawler.spiders.kind.Kind`); a class whose name is not listed here fails when it is defined,
and `tests/crawler/test_kinds.py` checks that every name listed has its class.
"""

from __future__ import annotations

NAMES: tuple[str, ...] = ("page", "feed", "sitemap", "site")
