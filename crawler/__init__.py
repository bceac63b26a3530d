"""warcwatch's fetch side: the Scrapy project (spiders, middlewares, download handler, settings)."""
