"""What a crawl is asked for: the targets it fetches (`CrawlTarget`) and the settings it fetches
them with (`CrawlSettings`). Plain values the crawler owns; monitor's watchlist builds them from
its [[targets]] and [crawl] sections (monitor.config), so the crawler never reads a watchlist.

The crawl's defaults live in crawler.settings, the Scrapy settings module; `CrawlSettings`
starts from them, and `scrapy_settings` applies the values on top of that module."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from crawler import settings as defaults

if TYPE_CHECKING:
    from scrapy.settings import Settings


@dataclass(frozen=True)
class CrawlTarget:
    """One target as the crawl sees it: where it starts, what its kind makes of the start
    (crawler.spiders.kind) and how far it may go."""

    name: str
    urls: tuple[str, ...]
    kind: str = "page"
    depth: int = 1  # `site`: links followed from the start URL
    allow: tuple[str, ...] = ()  # `site`: regular expressions a followed link must match
    deny: tuple[str, ...] = ()  # `site`: ... and must not
    max_pages: int = 1000  # pages one crawl fetches for the target at most (listings not counted)
    render: bool = False  # its pages loaded in Chromium, their DOM archived (crawler.render)
    render_wait: float = 10.0  # seconds to wait for the browser's network to settle, at most
    render_scroll: int = 0  # screen-heights scrolled down once settled (lazy content loaded)
    screenshot: bool = False  # a full-page PNG of each of its pages (crawler.render)


@dataclass(frozen=True)
class CrawlSettings:
    """The watchlist's [crawl] section; every default is crawler.settings'."""

    user_agent: str = defaults.USER_AGENT
    obey_robots: bool = defaults.ROBOTSTXT_OBEY
    download_timeout: float = float(defaults.DOWNLOAD_TIMEOUT)
    max_size: int = defaults.DOWNLOAD_MAXSIZE
    max_redirects: int = defaults.REDIRECT_MAX_TIMES
    concurrency: int = defaults.CONCURRENT_REQUESTS
    concurrency_per_host: int = defaults.CONCURRENT_REQUESTS_PER_DOMAIN
    autothrottle: bool = defaults.AUTOTHROTTLE_ENABLED
    retries: int = defaults.RETRY_TIMES
    # page requisites fetched with each HTML page: "all", "same-host" or "none" (crawler.requisites)
    requisites: str = defaults.REQUISITES
    # pages of rendered targets loading in Chromium at once (crawler.render)
    render_contexts: int = defaults.RENDER_CONTEXTS

    def scrapy_settings(self) -> Settings:
        """crawler.settings with these values applied."""
        from scrapy.settings import Settings

        settings = Settings()
        settings.setmodule("crawler.settings", priority="project")
        settings.update(
            {
                "USER_AGENT": self.user_agent,
                "ROBOTSTXT_OBEY": self.obey_robots,
                "DOWNLOAD_TIMEOUT": self.download_timeout,
                "DOWNLOAD_MAXSIZE": self.max_size,
                "REDIRECT_MAX_TIMES": self.max_redirects,
                "CONCURRENT_REQUESTS": self.concurrency,
                "CONCURRENT_REQUESTS_PER_DOMAIN": self.concurrency_per_host,
                "AUTOTHROTTLE_ENABLED": self.autothrottle,
                "RETRY_TIMES": self.retries,
                "REQUISITES": self.requisites,
                "RENDER_CONTEXTS": self.render_contexts,
            },
            priority="cmdline",
        )
        return settings
