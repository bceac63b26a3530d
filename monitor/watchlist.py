"""The watchlist as values: each target, the settings sections and the whole `Config`, frozen.
`monitor.config` reads `warcwatch.toml` into them (and re-exports them); what a crawl needs of
a target is the crawler's own value, built here (`Target.crawl_target`, `crawler.targets`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from crawler.kinds import NAMES
from crawler.targets import CrawlSettings, CrawlTarget
from monitor.config_cluster import ClusterSettings
from monitor.config_evidence import EvidenceSettings
from monitor.config_render import DEFAULT_WAIT
from monitor.errors import ConfigError
from storage.objects import ObjectStore, WarcStorage

KINDS = NAMES  # the target kinds the crawl knows (crawler.kinds)
MAX_REMOVAL_CONFIRM_DELAY = 600.0  # seconds: a pass waits this long at most before confirming


@dataclass(frozen=True)
class Target:
    name: str
    urls: tuple[str, ...]
    kind: str = "page"
    every: float | None = None  # seconds
    cron: str | None = None
    depth: int = 1
    allow: tuple[str, ...] = ()
    deny: tuple[str, ...] = ()
    select: str | None = None
    ignore: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    notify: tuple[str, ...] | None = None  # None: the [alerts] default
    max_pages: int = 1000
    render: bool = False  # loaded in Chromium, monitored by its rendered DOM (crawler.render)
    render_wait: float = DEFAULT_WAIT  # seconds the browser waits for the network to settle
    render_scroll: int = 0  # screen-heights scrolled once settled (monitor.config_render)
    screenshot: bool = False  # a full-page PNG of each page (monitor.config_render)

    @property
    def schedule(self) -> str | None:
        """`every 6h`, `every 90s`, `cron 0 */6 * * *`, or None for a target run only by hand."""
        if self.cron is not None:
            return f"cron {self.cron}"
        if self.every is None:
            return None
        secs = int(self.every)
        for unit, n in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
            if secs % n == 0:
                return f"every {secs // n}{unit}"
        return f"every {self.every:g}s"

    def crawl_target(self) -> CrawlTarget:
        """What the crawl needs of this target."""
        return CrawlTarget(
            name=self.name,
            urls=self.urls,
            kind=self.kind,
            depth=self.depth,
            allow=self.allow,
            deny=self.deny,
            max_pages=self.max_pages,
            render=self.render,
            render_wait=self.render_wait,
            render_scroll=self.render_scroll,
            screenshot=self.screenshot,
        )


@dataclass(frozen=True)
class ArchiveSettings:
    dir: Path = Path("archive")
    database: str | None = None  # SQLAlchemy URL; default SQLite in dir
    prefix: str = "warcwatch"
    warc_max_size: int = 1_000_000_000
    # seconds after its opening when a WARC file takes no more records (passes append to the
    # youngest file until then: storage.writer)
    warc_max_age: float = 3600.0
    gzip_level: int = 1
    digest: str = "sha256"  # WARC block/payload digests of new records: sha256 | sha1
    # `warc_dir` and `spool_dir` in the watchlist (monitor.config_storage): the bucket WARC files
    # are uploaded to, and the local folder they are written in (None: dir/warcs)
    warc_objects: str | None = None
    warc_local: Path | None = None
    s3_endpoint_url: str | None = None
    s3_region: str | None = None
    s3_access_key_id: str | None = field(default=None, repr=False)
    s3_secret_access_key: str | None = field(default=None, repr=False)

    @property
    def database_url(self) -> str:
        if self.database is None:
            return f"sqlite:///{self.dir / 'catalog.sqlite'}"
        # a libpq-style URL means psycopg 3 (the `postgres` extra): SQLAlchemy's default driver
        # for a bare postgresql:// is psycopg2, which warcwatch does not install
        for bare in ("postgresql://", "postgres://"):
            if self.database.startswith(bare):
                return "postgresql+psycopg://" + self.database.removeprefix(bare)
        return self.database

    @property
    def warc_dir(self) -> Path:
        """The local folder WARC files are written in (and kept, without an object store)."""
        return self.warc_local if self.warc_local is not None else self.dir / "warcs"

    @property
    def objects(self) -> ObjectStore | None:
        if self.warc_objects is None:
            return None
        return ObjectStore(
            self.warc_objects,
            endpoint_url=self.s3_endpoint_url,
            region=self.s3_region,
            key=self.s3_access_key_id,
            secret=self.s3_secret_access_key,
        )

    @property
    def warcs(self) -> WarcStorage:
        """Where WARC files are read from: the local folder, then the object store."""
        return WarcStorage(self.warc_dir, self.objects)


@dataclass(frozen=True)
class MonitorSettings:
    confirm: bool = True  # re-fetch a changed page at once, to learn its volatile parts
    confirm_fetches: int = 2  # at most this many, the second only when the first taught nothing
    builtin_noise: bool = (
        True  # mask labelled rotating boxes ("Most read", "Trending", …) from the start
    )
    flip_flop_versions: int = 5  # a text seen in this many recent versions is not a change
    recheck_window: float = 365 * 86400.0  # seconds: how long archived pages keep being re-checked
    similar: float = 0.9  # text similarity at which a permanent redirect counts as "moved"
    removal_confirm_delay: float = (
        5.0  # seconds: a 404 is fetched again this much later, in the same pass
    )
    # seconds: a host's "page not found" template, learned from a probe URL, is probed again after
    # this
    not_found_probe_ttl: float = 86400.0


@dataclass(frozen=True)
class AlertSettings:
    notify: tuple[str, ...] = ()  # apprise URLs used by every target without its own
    digest: bool = False  # one message per pass and channel instead of one per event
    max_attempts: int = 20  # then the message is marked dead (and kept, with its last error)
    retry_for: float = (
        10.0  # seconds a pass spends delivering at most, retries included; the rest waits
    )
    timeout: float = (
        10.0  # seconds one send waits for its channel (to connect, and again for the answer)
    )


@dataclass(frozen=True)
class ServeSettings:
    """`warcwatch serve`: where the web UI listens, and the bearer token it asks for (needed to
    listen anywhere but loopback)."""

    host: str = "127.0.0.1"
    port: int = 8080
    token: str | None = None
    public_url: str | None = (
        None  # where people reach the UI (https://archive.example.org): links in alerts
    )


@dataclass(frozen=True)
class Config:
    path: Path | None
    archive: ArchiveSettings = field(default_factory=ArchiveSettings)
    crawl: CrawlSettings = field(default_factory=CrawlSettings)
    monitor: MonitorSettings = field(default_factory=MonitorSettings)
    alerts: AlertSettings = field(default_factory=AlertSettings)
    serve: ServeSettings = field(default_factory=ServeSettings)
    evidence: EvidenceSettings = field(default_factory=EvidenceSettings)
    cluster: ClusterSettings = field(default_factory=ClusterSettings)
    targets: tuple[Target, ...] = ()

    @property
    def file(self) -> Path:
        """The watchlist file this was read from; a ConfigError for the watchlist-less config of
        a read command (monitor.cli.common.load)."""
        if self.path is None:
            raise ConfigError("this needs a watchlist file: pass --config FILE")
        return self.path

    def channels(self, target: Target) -> tuple[str, ...]:
        return target.notify if target.notify is not None else self.alerts.notify

    def select(self, names: Iterable[str] = (), tags: Iterable[str] = ()) -> list[Target]:
        """The targets named, and those with any of the tags, in watchlist order; every target
        when neither is given. A name or tag that matches none is a ConfigError."""
        names, tags = tuple(names), tuple(tags)
        if not names and not tags:
            return list(self.targets)
        wanted = {self.target(n).name for n in names}
        for tag in tags:
            tagged = {t.name for t in self.targets if tag in t.tags}
            if not tagged:
                known = sorted({x for t in self.targets for x in t.tags})
                raise ConfigError(
                    f"{self.path}: no target tagged {tag!r} (tags: {', '.join(known) or 'none'})"
                )
            wanted |= tagged
        return [t for t in self.targets if t.name in wanted]

    def target(self, name: str) -> Target:
        for t in self.targets:
            if t.name == name:
                return t
        raise ConfigError(
            f"{self.path}: no target named {name!r} "
            f"(have: {', '.join(t.name for t in self.targets)})"
        )
