"""Change events end to end: real crawl passes over pages on 127.0.0.1 that carry template noise on
every request, edited, deleted, blocked, moved and restored between passes. Each real change
raises exactly one event of the right kind; baselines, noise, one-off 5xx and timeouts raise none.

One watchlist, five passes, every case side by side in the same passes:

| pass | what the site does                                           | events expected            |
|------|--------------------------------------------------------------|----------------------------|
| 1    | baseline                                                     | none                       |
| 2    | only noise                                                   | none                       |
| 3    | edits; 404/410/451/redirect/login, still so when re-fetched; | changed ×6, added, moved,  |
|      | 301; 503; timeout; a new feed item; the rotating pick shows  | removed ×5 with reasons    |
|      | a new text                                                   |                            |
| 4    | still 404/410/451/redirect/login; 503 and timeout recover;   | none                       |
|      | the rotating pick flips back                                 |                            |
| 5    | the 404 page answers again; the pick flips once more         | restored                   |
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from storage.models import Capture, Version
from tests.conftest import crawl, write_config
from tests.httpserver import SiteServer, hang, not_found, page, redirect
from tests.monitor.pages import Doc, article, events_of, noisy, pdf

EDITS = ("/news/sentence", "/news/rewrite", "/news/number", "/news/headline")
GONE = {
    "/gone/404": "404",
    "/gone/410": "410",
    "/gone/451": "451",
    "/gone/home": "redirect-home",
    "/gone/login": "login-wall",
}
FLAKY = ("/flaky/503", "/flaky/timeout")
STATEMENT = [
    "Statement by the Ministry of Foreign Affairs",
    "The Ministry welcomes the agreement signed on 3 May.",
    "Talks will resume in Geneva next week.",
]


def feed(site: SiteServer, *paths: str) -> str:
    items = "".join(f"<item><title>{p}</title><link>{site.url(p)}</link></item>" for p in paths)
    return (
        '<?xml version="1.0"?><rss '
        f'version="2.0"><channel><title>wire</title>{items}</channel></rss>'
    )


class Scenario:
    """The site, its documents and the watchlist; `phase(n)` puts the site in pass n's state."""

    def __init__(self, site: SiteServer, tmp_path: Path):
        self.site = site
        self.docs = {
            p: article(p.rsplit("/", 1)[-1])
            for p in (*EDITS, "/news/stable", *GONE, *FLAKY, "/moved/old")
        }
        self.docs["/news/flip"] = article("flip", editors_pick="A walk along the old harbour wall")
        self.wire = {p: article(p.replace("/", "-")) for p in ("/wire/1", "/wire/2", "/wire/3")}
        for path, doc in (*self.docs.items(), *self.wire.items()):
            site.routes[path] = noisy(doc, seed=hash(path) % 1000)
        site.routes["/"] = noisy(Doc("Home", ["Welcome to the Daily Ledger, news since 1901."]))
        site.routes["/login"] = page("<html><body><form>Sign in to continue</form></body></html>")
        site.routes["/wire.xml"] = page(
            feed(site, "/wire/1", "/wire/2"), content_type="application/rss+xml"
        )
        site.routes["/static/etag"] = page(
            "<html><body><p>An unchanging notice with a validator.</p></body></html>", etag='"v1"'
        )
        site.routes["/static/same"] = page(
            "<html><body><p>An unchanging notice without validators.</p></body></html>"
        )
        site.routes["/statement.pdf"] = page(pdf(STATEMENT), content_type="application/pdf")
        news = [*self.docs, "/static/etag", "/static/same", "/statement.pdf"]
        self.config = write_config(
            tmp_path,
            [
                {"name": "news", "kind": "page", "urls": [site.url(p) for p in news]},
                {"name": "wire", "kind": "feed", "url": site.url("/wire.xml")},
            ],
            crawl={"download_timeout": 2},
            extra='\n[monitor]\nremoval_confirm_delay = "0.5s"\n',
        )
        self.seen = 0
        self.summaries: dict[int, dict] = {}
        self.requests: dict[int, list[str]] = {}  # pass → the paths it requested

    def phase(self, n: int) -> None:
        d, r = self.docs, self.site.routes
        if n == 3:
            d["/news/sentence"].paragraphs.insert(
                2, "A spokesperson declined to comment on the report."
            )
            d["/news/rewrite"].paragraphs[1] = (
                "The board rejected every recommendation, calling the inquiry "
                "politically motivated and its methods unsound."
            )
            d["/news/number"].paragraphs[0] = (
                d["/news/number"].paragraphs[0].replace("over 3 months", "over 30 months")
            )
            d["/news/headline"].headline = "Inquiry into harbour finds no wrongdoing"
            d["/news/flip"].editors_pick = "Ten recipes for a rainy weekend"
            r["/statement.pdf"] = page(
                pdf([*STATEMENT[:2], "Talks will resume in Vienna next month."]),
                content_type="application/pdf",
            )
            r["/wire.xml"] = page(
                feed(self.site, "/wire/1", "/wire/2", "/wire/3"), content_type="application/rss+xml"
            )
            r["/moved/old"] = redirect("/moved/new", status=301)
            r["/moved/new"] = noisy(d["/moved/old"])  # the same article, at its new address
            r["/flaky/503"] = not_found("<html><body>Service unavailable</body></html>", status=503)
            r["/flaky/timeout"] = hang(6)
        if n in (3, 4):
            r["/gone/404"] = not_found()
            r["/gone/410"] = not_found(status=410)
            r["/gone/451"] = not_found(
                "<html><body>Unavailable for legal reasons</body></html>", status=451
            )
            r["/gone/home"] = redirect("/", status=302)
            r["/gone/login"] = redirect("/login?next=/gone/login", status=302)
        if n == 4:
            for path in FLAKY:
                r[path] = noisy(d[path])
            d[
                "/news/flip"
            ].editors_pick = "A walk along the old harbour wall"  # back to a text seen before
        if n == 5:
            r["/gone/404"] = noisy(d["/gone/404"])
            d["/news/flip"].editors_pick = "Ten recipes for a rainy weekend"

    def run(self, n: int) -> list[dict]:
        """Pass n; returns the events it raised."""
        self.phase(n)
        start = len(self.site.requests)
        summary = self.summaries[n] = crawl(self.config)
        self.requests[n] = [path for path, _ in self.site.requests[start:]]
        assert summary["fetched"] > 0, summary
        events = events_of(self.config)
        new, self.seen = events[self.seen :], len(events)
        return new


def by_path(events: list[dict], site: SiteServer) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for e in events:
        out.setdefault(e["url"].removeprefix(site.base), []).append(e)
    return out


def describe(events: list[dict]) -> str:
    return "\n".join(f"{e['kind']} {e['url']} {e.get('reason', '')} {e['summary']}" for e in events)


@pytest.fixture(scope="module")
def passes(tmp_path_factory):
    """The five passes, run once for the module: events raised by each pass, keyed by path."""
    site = SiteServer().start()
    try:
        scenario = Scenario(site, tmp_path_factory.mktemp("events"))
        runs = {n: scenario.run(n) for n in range(1, 6)}
        yield site, scenario, runs
    finally:
        site.stop()


@pytest.mark.parametrize("n", [1, 2], ids=["baseline", "noise-only"])
def test_baseline_and_noise_raise_nothing(passes, n):
    _, _, runs = passes
    assert runs[n] == [], describe(runs[n])


def test_each_real_edit_raises_exactly_one_changed(passes):
    site, _, runs = passes
    got = by_path(runs[3], site)
    for path in (*EDITS, "/news/flip", "/statement.pdf"):
        assert [e["kind"] for e in got.get(path, [])] == ["changed"], (
            f"{path}:\n{describe(runs[3])}"
        )
    s = {p: got[p][0]["summary"] for p in (*EDITS, "/statement.pdf")}
    assert s["/news/sentence"]["added"] == ["A spokesperson declined to comment on the report."]
    assert s["/news/sentence"]["removed"] == []
    assert any(
        "calling the inquiry politically motivated" in line for line in s["/news/rewrite"]["added"]
    )
    assert len(s["/news/rewrite"]["removed"]) == 1
    assert any("over 30 months" in line for line in s["/news/number"]["added"])
    assert any("over 3 months" in line for line in s["/news/number"]["removed"])
    assert any("finds no wrongdoing" in line for line in s["/news/headline"]["added"])
    assert s["/statement.pdf"]["added"] == ["Talks will resume in Vienna next month."]
    assert s["/statement.pdf"]["removed"] == ["Talks will resume in Geneva next week."]
    for path, summary in s.items():
        assert summary["words_added"] > 0, path
        # no template noise in what the alert says
        text = " ".join(summary["added"] + summary["removed"])
        assert "Last updated" not in text and "Reference ad-" not in text, f"{path}: {summary}"


def test_new_feed_item_is_added_and_permanent_redirect_is_moved(passes):
    site, _, runs = passes
    got = by_path(runs[3], site)
    assert [e["kind"] for e in got.get("/wire/3", [])] == ["added"], describe(runs[3])
    assert any(
        "/wire/3" in line or "wire-3" in line for line in got["/wire/3"][0]["summary"]["added"]
    )
    moved = got.get("/moved/old", [])
    assert [e["kind"] for e in moved] == ["moved"], describe(runs[3])
    assert moved[0]["new_url"] == site.url("/moved/new")


def test_pass_with_edits_raises_nothing_else(passes):
    """Nothing for a 503 or a timeout, nothing for the redirect destinations (home page, login page,
    the moved article's new address)."""
    site, _, runs = passes
    expected = {*EDITS, "/news/flip", "/statement.pdf", "/wire/3", "/moved/old", *GONE}
    assert set(by_path(runs[3], site)) == expected, describe(runs[3])
    assert len(runs[3]) == len(expected), describe(runs[3])


def test_a_bad_answer_confirmed_by_a_refetch_removes_within_the_pass_with_its_reason(passes):
    site, scenario, runs = passes
    got = by_path(runs[3], site)
    assert {p: [(e["kind"], e.get("reason")) for e in got[p]] for p in GONE} == {
        p: [("removed", reason)] for p, reason in GONE.items()
    }, describe(runs[3])
    for p in GONE:
        e = got[p][0]
        assert e["from_capture"] and e["to_capture"], e
    for p in GONE:
        assert scenario.requests[3].count(p) == 2, p  # fetched, and fetched again to confirm


def test_a_page_still_gone_raises_nothing_again_and_is_no_failure(passes):
    _, scenario, runs = passes
    assert runs[4] == [], describe(runs[4])
    summary = scenario.summaries[4]
    assert summary["failed"] == {}, summary  # 503 and timeout recovered; the removed pages are gone
    assert summary["gone"] == 3, summary  # 404, 410, 451 (the redirects were never failures)


def test_answering_again_is_restored_and_nothing_repeats(passes):
    site, _, runs = passes
    assert [(e["kind"], e["url"]) for e in runs[5]] == [("restored", site.url("/gone/404"))], (
        describe(runs[5])
    )


def test_flaky_pages_were_really_flaky(passes):
    """The 503 and the timeout did happen in pass 3 (so 'no event' above means something)."""
    site, scenario, _ = passes
    engine = create_engine(f"sqlite:///{scenario.config.parent / 'archive' / 'catalog.sqlite'}")
    with Session(engine) as s:
        rows = s.execute(
            select(Capture.url, Capture.run_id, Capture.kind, Capture.status).where(
                Capture.run_id == 3
            )
        ).all()
    seen = {(r.url.removeprefix(site.base), r.kind, r.status) for r in rows}
    assert ("/flaky/503", "response", 503) in seen
    assert any(u == "/flaky/timeout" and k == "failed" for u, k, _ in seen), seen


def test_revisits_and_not_modified_yield_no_new_version(passes):
    site, scenario, _ = passes
    engine = create_engine(f"sqlite:///{scenario.config.parent / 'archive' / 'catalog.sqlite'}")
    with Session(engine) as s:
        for path in ("/static/etag", "/static/same"):
            url = site.url(path)
            kinds = s.scalars(
                select(Capture.kind).where(Capture.url == url).order_by(Capture.id)
            ).all()
            assert kinds[0] == "response" and set(kinds[1:]) == {"revisit"} and len(kinds) == 5, (
                path,
                kinds,
            )
            versions = s.scalar(select(func.count()).select_from(Version).where(Version.url == url))
            assert versions <= 1, (path, versions)
    assert any(h.get("If-None-Match") == '"v1"' for h in site.hits("/static/etag"))
