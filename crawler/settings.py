"""Scrapy settings of the warcwatch crawler: polite defaults, and our components wired in.

The defaults of the watchlist's [crawl] section are read from here (crawler.targets.CrawlSettings),
and `CrawlSettings.scrapy_settings` applies the section on top of this module for each crawl.
`scrapy list` and `scrapy settings` read it through scrapy.cfg.
"""

BOT_NAME = "warcwatch"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"

USER_AGENT = "warcwatch/0.1 (+https://github.com/warcwatch/warcwatch)"
ROBOTSTXT_OBEY = True
TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"

# Politeness: AutoThrottle adapts to each server's latency; per-host concurrency stays small.
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 0.5
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 4.0
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 8
DOWNLOAD_DELAY = 0

# A hanging or hostile server must not hold a pass: bounded time, size and redirects.
DOWNLOAD_TIMEOUT = 30
DOWNLOAD_MAXSIZE = 50 * 1024 * 1024
DOWNLOAD_WARNSIZE = 0
REDIRECT_MAX_TIMES = 10
RETRY_TIMES = 1
DOWNLOAD_FAIL_ON_DATALOSS = True
# Our callbacks yield requests, never items: Scrapy's default of 100 parallel item workers starts
# 100 asyncio tasks for every response's (mostly empty) output, a third of the crawl's CPU.
CONCURRENT_ITEMS = 8
COOKIES_ENABLED = False  # an archive of public pages: no session state between captures
TELNETCONSOLE_ENABLED = False
EXTENSIONS = {
    "scrapy.extensions.remote_control.RemoteControl": None
}  # no listening port in a daemon
LOG_LEVEL = "WARNING"
LOG_INSTALL_ROOT_HANDLER = False  # the CLI configures logging; Scrapy must not replace it

# One crawler serves every target of a pass: the spider fetches a URL two targets watch once
# (crawler.spiders.watchlist); fingerprints keep the target for the rare second fetch it needs.
REQUEST_FINGERPRINTER_CLASS = "crawler.fingerprint.TargetRequestFingerprinter"

DOWNLOAD_HANDLERS = {
    "http": "crawler.handler.WireRecordingDownloadHandler",
    "https": "crawler.handler.WireRecordingDownloadHandler",
}
DOWNLOADER_MIDDLEWARES = {
    # closest to the downloader: sees the request last and the response first, as on the wire
    "crawler.middlewares.archive.ArchiveMiddleware": 950,
    "crawler.middlewares.conditional.ConditionalGetMiddleware": 940,
    # between the archive and Scrapy's RedirectMiddleware (600): names a loop before it is followed
    "crawler.middlewares.redirects.RedirectLoopMiddleware": 900,
    # Scrapy's, at its own place, fixed to give every waiting request the host's parser
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "crawler.middlewares.robots.RobotsTxtMiddleware": 100,
}

# Our components' own settings (defaults here, in one place).
WARC_ENABLED = True
# Page requisites (stylesheets, images, fonts, scripts) of every archived HTML page: "all" hosts,
# the page's "same-host" only, or "none" (crawler.requisites); read by the watchlist spider.
REQUISITES = "all"
CONDITIONAL_GET_ENABLED = True
# Pages of `render = true` targets loading in Chromium at once (crawler.render), each in its own
# browser context.
RENDER_CONTEXTS = 1
