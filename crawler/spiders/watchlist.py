"""The spider of a crawl pass: every target of the pass, of every kind, in one Scrapy crawler.

One crawler rather than one per target, so that what politeness needs is shared by all targets
on a host: one robots.txt fetch, one downloader slot (concurrency and AutoThrottle), one
connection pool; and a pass of hundreds of small targets does not pay Scrapy's start-up for each.
Each request carries its target's name in `meta["target"]`; the kinds (crawler.spiders.kind)
decide what a target's listings and pages lead to.

A URL that several targets list (a feed's article that a page target also watches) is fetched
once per pass: the first target's request carries it, the others join it (`SharedFetch`), its
captures are attributed to them all when the crawl ends, and each target's kind reads the one
response. A target that reaches a URL only after its response was read, and would crawl on from
it (a listing, a site page above its depth), fetches it again: the response is not kept.

Every HTML page the pass reads (and every stylesheet among its requisites) leads to its page
requisites (crawler.requisites), under `[crawl] requisites`: each fetched once per pass for all the
targets whose pages embed it, archived for the first and attributed to the others like any
shared fetch, marked `requisite` so that the monitor reads no text from it.

A page of a target with `render = true` or `screenshot = true` is loaded in Chromium instead
(crawler.render): its requisites are what the browser asks for, each fetched through the crawl as
it asks; its DOM and screenshot go to the archive after the page's own record. Confirmation
fetches are rendered too: the monitor compares the DOMs.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field, replace
from urllib.parse import urlsplit

from scrapy import Request, Spider
from w3lib.url import canonicalize_url

from crawler import render, requisites
from crawler.outcomes import archive_item, on_request_error
from crawler.spiders import feed, page, site, sitemap  # noqa: F401 - registers the kinds
from crawler.spiders.kind import Kind
from storage.exchange import Attribution

log = logging.getLogger(__name__)


@dataclass
class Role:
    """What one target wants of a fetch: read it as a listing, or as a page `hops` from its
    start."""

    listing: bool = False
    hops: int = 0


@dataclass
class SharedFetch:
    """One URL's fetch in a pass and the targets that want it; the first target's request carries
    it."""

    source: str
    roles: dict[str, Role] = field(default_factory=dict)  # target name → its role, source first
    urls: list[str] = field(
        default_factory=list
    )  # the exchanges archived for it (redirects, then the page)
    outcomes: list[tuple[str, int | None, str | None]] = field(
        default_factory=list
    )  # (url, status, failure)
    read: bool = False  # its response has been given to the kinds of the targets then known
    robots: bool = False
    requisite: bool = False  # a page requisite, not a page (crawler.requisites)


class WatchlistSpider(Spider):
    name = "warcwatch"
    # Listings (feeds, sitemaps, start pages) go before the pages they list.
    LISTING_PRIORITY = 10

    def __init__(
        self,
        targets=(),
        run_id=None,
        archive=None,
        report=None,
        validators=None,
        recheck=(),
        confirm=False,
        gone=(),
        probes=(),
        **kwargs,
    ):
        super().__init__(name=self.name, **kwargs)
        self.targets = {t.name: t for t in targets}
        self.kinds = {t.name: Kind.registry[t.kind](t) for t in targets}
        self.run_id = run_id
        self.archive = archive
        self.report = report
        self.validators = validators or {}  # url → (ETag, Last-Modified), for conditional GETs
        self.recheck = list(
            recheck
        )  # (target name, url): pages archived before, due for a re-check
        self.confirm = (
            confirm  # a confirmation pass: fetch each target's urls again, whole, at once
        )
        self.gone = set(
            gone
        )  # (target name, url): pages known to be removed; their 404 is no failure
        self.probes = list(
            probes
        )  # (target name, url): URLs that cannot exist, for hosts' not-found pages
        self.requisite_policy = requisites.Policy.NONE  # from the settings, at start
        self.renderer: render.Renderer | None = None  # one browser, started by the first render
        self.pages: Counter[str] = Counter()
        self.fetches: dict[str, SharedFetch] = {}  # canonical URL → the pass's fetch of it
        self._rendered_urls = {
            canonicalize_url(u) for t in targets if t.render or t.screenshot for u in t.urls
        }
        self._hosts = {}
        for t in targets:
            for u in t.urls:
                self._hosts.setdefault(urlsplit(u).netloc, t.name)

    def target_name(self, request) -> str:
        """The target a request belongs to; robots.txt goes with the first target of its host."""
        name = request.meta.get("target")
        if name:
            return name
        return self._hosts.get(urlsplit(request.url).netloc) or next(iter(self.targets))

    async def start(self):
        self.requisite_policy = requisites.Policy(self.settings.get("REQUISITES"))
        for t in self.targets.values():
            for url in t.urls:
                if self.confirm:
                    req = self._claim(
                        t, url, Role(hops=t.depth), dict(confirm=True, unconditional=True)
                    )
                    if req is not None:
                        yield req.replace(dont_filter=True)
                else:
                    req = self.listing(t, url)
                    if req is not None:
                        yield req
        for name, url in self.probes:
            # archived as the evidence of the host's not-found template (monitor.softremoval); not
            # read, and robots.txt applies to it as to any page
            yield self.request(
                self.targets[name], url, self.parse_probe, probe=True, dont_redirect=True
            ).replace(dont_filter=True)
        for name, url in self.recheck:
            # a re-check looks at the page itself, it does not crawl on from it
            t = self.targets[name]
            req = self.page(t, url, hops=t.depth, recheck=True)
            if req is not None:
                yield req

    def request(self, target, url: str, callback=None, **meta) -> Request:
        if (
            target.render
            or target.screenshot
            or (self._rendered_urls and canonicalize_url(url) in self._rendered_urls)
        ):
            # a page a browser renders is asked for whole: a 304 says its HTML is unchanged, not
            # what its scripts now write, and an unrendered fetch has no DOM to compare (also
            # when another target's request fetches it for both)
            meta.setdefault("unconditional", True)
        return Request(
            url,
            callback=callback or self.parse_own,
            errback=self.on_error,
            meta={"target": target.name, **meta},
        )

    def listing(self, target, url: str, **meta) -> Request | None:
        req = self._claim(target, url, Role(listing=True, hops=meta.get("hops", 0)), meta)
        return req.replace(priority=self.LISTING_PRIORITY) if req is not None else None

    def page(self, target, url: str, **meta) -> Request | None:
        key = canonicalize_url(url)
        f = self.fetches.get(key)
        if f is not None and target.name in f.roles:
            return None  # this target has it already (a page linked twice)
        if self.pages[target.name] >= target.max_pages:
            self.report.on_limit(target.name, target.max_pages)
            return None
        self.pages[target.name] += 1
        return self._claim(target, url, Role(hops=meta.get("hops", 0)), meta, key)

    def _claim(
        self, target, url: str, role: Role, meta: dict, key: str | None = None
    ) -> Request | None:
        """The request that fetches `url` for `target`, or None when another target's fetch of it
        serves this one too (or this target has it already). `key`: canonicalize_url(url), when
        the caller has it (it costs more than the rest of this put together)."""
        key = key or canonicalize_url(url)
        f = self.fetches.get(key)
        if f is not None and target.name in f.roles:
            return None
        if f is not None and not (f.read and self._reads_on(target, role)):
            f.roles[target.name] = role  # read later with the others, or only needed archived: join
            return None
        if f is None:
            f = self.fetches[key] = SharedFetch(source=target.name, roles={target.name: role})
            return self.request(target, url, self.parse, fetch=key, **meta)
        # read already, and this target would crawl on from it: fetch it again, for itself
        return self.request(
            target, url, self.parse_own, hops=role.hops, listing=role.listing, **meta
        )

    def _reads_on(self, target, role: Role) -> bool:
        return self.kinds[target.name].needs_response(role.listing, role.hops)

    def fetch_of(self, request) -> SharedFetch | None:
        key = request.meta.get("fetch")
        return self.fetches.get(key) if key else None

    async def parse(self, response):
        f = self.fetch_of(response)
        f.read = True
        rendered = await self.render_of(response, f.roles, f)
        if response.meta.get("confirm"):
            return
        if not rendered:
            for req in self.requisites_of(response, list(f.roles)):
                yield req
        for name, role in list(f.roles.items()):
            for req in self._read(name, role, response):
                yield req

    def parse_probe(self, response):
        return ()

    async def parse_own(self, response):
        role = Role(listing=response.meta.get("listing", False), hops=response.meta.get("hops", 0))
        if not await self.render_of(response, {response.meta["target"]: role}):
            for req in self.requisites_of(response, [response.meta["target"]]):
                yield req
        for req in self._read(response.meta["target"], role, response):
            yield req

    # --- rendering in a browser (crawler.render) ---------------------------------------------

    async def render_of(self, response, roles: dict[str, Role], fetch=None) -> bool:
        """Load an HTML page that a target of `roles` renders in Chromium and archive what it
        showed; True when it was (its requisites were then the browser's requests). The page's
        record is the fetching target's, and so are the DOM and screenshot; a shared fetch's
        other targets get them by attribution (`fetch.urls`)."""
        name = response.meta["target"]
        wanting = [
            self.targets[n]
            for n, role in roles.items()
            # a page kind's start URL is a "listing" that is the page itself; a feed's or
            # sitemap's listing (its kind reads it) is no page
            if not (role.listing and type(self.kinds[n]).listing is not Kind.listing)
            and (self.targets[n].render or self.targets[n].screenshot)
        ]
        if not wanting or not render.is_html(response):
            return False
        how = replace(
            self.targets[name],
            render_wait=max(t.render_wait for t in wanting),
            render_scroll=max(t.render_scroll for t in wanting),
            screenshot=any(t.screenshot for t in wanting),
        )
        if self.renderer is None:
            self.renderer = render.Renderer(
                self.crawler, self.settings.getint("RENDER_CONTEXTS", 1)
            )
        meta = {"target": name, "requisite": True, "page": response.url}
        if response.meta.get("confirm"):
            meta["confirm"] = True
        try:
            rendering = await self.renderer.render(response, how, meta)
        except Exception as exc:  # noqa: BLE001 - a browser that fails is one page's failure
            log.warning("cannot render %s [%s]: %s", response.url, name, str(exc).splitlines()[0])
            self.report.on_failure(name, "render-failed", requisite=True)
            return False
        for item in render.renderings(self, response, rendering, name):
            if archive_item(self, item) and fetch is not None:
                fetch.urls.append(item.uri)  # attributed with the page (not counted apart)
        return True

    async def close_renderer(self) -> None:
        if self.renderer is not None:
            await self.renderer.close()
            self.renderer = None

    # --- page requisites ----------------------------------------------------------------------

    def requisites_of(self, response, names: list[str]):
        """The requests for the requisites of `response` (a page, or a stylesheet it needs) that
        the pass has not fetched yet; the ones it has are joined by `names`."""
        if (
            self.requisite_policy is requisites.Policy.NONE
            or response.status != 200
            or response.meta.get("confirm")  # a confirmation re-reads the page's text only
        ):
            return
        depth = response.meta.get("import_depth", -1) + 1
        if depth > requisites.MAX_IMPORT_DEPTH:
            return
        embedder = response.meta.get("page", response.url)  # same-host: the page's host
        for r in requisites.of_response(response):
            if not requisites.allowed(self.requisite_policy, embedder, r.url):
                continue
            key = "requisite " + canonicalize_url(r.url)
            f = self.fetches.get(key)
            if f is not None:
                for name in names:
                    f.roles.setdefault(name, Role())
                continue
            self.fetches[key] = SharedFetch(
                source=names[0], roles={n: Role() for n in names}, requisite=True
            )
            # robots.txt of an embed's host (a CDN) goes with the target that first needs it
            self._hosts.setdefault(urlsplit(r.url).netloc, names[0])
            yield Request(
                r.url,
                callback=self.parse_requisite,
                errback=self.on_error,
                dont_filter=True,  # once per pass already, by `fetches`, whichever target asks
                meta={
                    "target": names[0],
                    "fetch": key,
                    "requisite": True,
                    "import_depth": depth,
                    "page": embedder,
                    # asked for whole, and stored as an identical-payload revisit when unchanged:
                    # a 304 would hide the fonts and images a stylesheet now leads to, and pywb
                    # replays a server-not-modified revisit as the 304 itself (a broken image)
                    "unconditional": True,
                },
            )

    def parse_requisite(self, response):
        """A stylesheet leads to its own requisites (fonts, images, @imports); nothing else does."""
        f = self.fetch_of(response)
        if f is not None:
            f.read = True
            if requisites.is_stylesheet(response):
                yield from self.requisites_of(response, list(f.roles))

    def _read(self, name: str, role: Role, response):
        kind = self.kinds[name]
        out = kind.listing(self, response) if role.listing else kind.page(self, response, role.hops)
        for req in out or ():
            if req is not None:
                yield req

    def on_error(self, failure):
        on_request_error(self, failure)

    async def closed(self, reason: str) -> None:
        """Attribute every shared fetch to the targets that joined it, and count it for them;
        close the browser."""
        for f in self.fetches.values():
            others = tuple(name for name in f.roles if name != f.source)
            if not others or not f.urls:
                continue
            self.archive.send(
                Attribution(run_id=self.run_id, source=f.source, urls=tuple(f.urls), targets=others)
            )
            for name in others:
                for url, status, failure in f.outcomes:
                    if failure is not None:
                        self.report.on_failure(name, failure, shared=True, requisite=f.requisite)
                    else:
                        self.report.on_response(
                            name,
                            status,
                            shared=True,
                            gone=(name, url) in self.gone,
                            confirm=self.confirm,
                            requisite=f.requisite,
                        )
        await self.close_renderer()
