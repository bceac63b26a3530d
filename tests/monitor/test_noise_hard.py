"""The noise a confirmation fetch cannot see, and the edits a whole-line mask would hide.

End to end, six passes of `warcwatch crawl` over pages served on 127.0.0.1:
- slow clocks: "Updated 16:42 UTC", "Stand: 3. Dezember 2026, 16:42 Uhr", "Last modified: Thu,
  03 Dec 2026 16:42 GMT" show the time of the pass (a cached page: the same in every fetch of a
  pass, five minutes older every other pass) — quiet; a hearing's date on the same page, in a
  past year, edited in the last pass — changed;
- a view counter at the end of a content paragraph, new on every request — quiet; the figure in
  that paragraph's other sentence edited — changed, and the counter is not in the summary;
- a box of related headlines without a label, rotating once per pass through a small pool
  (every fetch of a pass agrees) — quiet once its items have come and gone in the URL's history,
  and so is a new item in its place; an edit of the article next to it — changed, with only the
  edit in the summary.
Unit level: `clocks.clocks_in` on stamps in several languages and zones, against a fixed fetch time.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from monitor.clocks import clocks_in
from monitor.noise import explain, mask_pair
from tests.conftest import crawl, warcwatch, write_config
from tests.httpserver import SiteServer, page
from tests.monitor.pages import events_of

PASSES = 6
LEAD = (
    "Dock workers extended their strike on Monday, and the port authority said ships were "
    "being diverted to other harbours along the coast."
)
MONATE = (
    "Januar",
    "Februar",
    "März",
    "April",
    "Mai",
    "Juni",
    "Juli",
    "August",
    "September",
    "Oktober",
    "November",
    "Dezember",
)
POOL = (
    "Ferry routes cut as strike spreads",
    "Union leader rejects new offer",
    "Fishing fleet stays in port",
    "Shippers count the cost of delays",
    "Talks with the port owners collapse",
)
# the related box per pass: every fetch of a pass shows the same two items; the fifth item is
# first shown in pass 5, after the box's other items have come and gone in its place
BOX = [(0, 1), (2, 3), (0, 1), (2, 3), (0, 4), (1, 3)]


def _doc(title: str, *paras: str) -> str:
    body = "".join(f"<p>{p}</p>" for p in paras)
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title></head><body>"
        "<header><a href='/'>Daily "
        f"Ledger</a></header><main><article><h1>{title}</h1>{body}</article></main>"
        "<footer><p>Daily Ledger, Harbour Street 1</p></footer></body></html>"
    )


class Site:
    """The pages, with what the test changes from pass to pass."""

    def __init__(self):
        self.pass_no = 1
        self.stamp: datetime | None = None  # the pass's clock, frozen at its first request
        self.views = 48213
        self.detained = 14
        self.hearing = "12 March 2019"
        self.lead = LEAD

    def now(self) -> datetime:
        if self.stamp is None:  # a cached page: five minutes old every other pass
            self.stamp = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(
                minutes=5 * (self.pass_no % 2)
            )
        return self.stamp

    def clock_en(self, h) -> None:
        page(
            _doc(
                "Harbour strike enters second week",
                f"Updated {self.now():%H:%M} UTC",
                LEAD,
                "Talks are due to resume on Wednesday, the union said.",
            )
        )(h)

    def clock_de(self, h) -> None:
        t = self.now().astimezone(ZoneInfo("Europe/Berlin"))
        page(
            _doc(
                "Hafenstreik geht in die zweite Woche",
                f"Stand: {t.day}. {MONATE[t.month - 1]} {t.year}, {t:%H:%M} Uhr",
                "Die Hafenarbeiter haben ihren Streik am Montag verlängert, und die Hafenbehörde "
                "leitet Schiffe in andere Häfen um.",
                "Die Gespräche sollen am Mittwoch fortgesetzt werden.",
            )
        )(h)

    def clock_gmt(self, h) -> None:
        page(
            _doc(
                "Court of appeal: the harbour case",
                f"Last modified: {self.now():%a, %d %b %Y %H:%M} GMT",
                f"The hearing in the harbour case was held on {self.hearing} at 10:00 in the "
                "court of appeal.",
                "The court will give its ruling in writing.",
            )
        )(h)

    def counter(self, h) -> None:
        self.views += 17
        page(
            _doc(
                "Protest at the harbour gates",
                LEAD,
                f"Police detained {self.detained} protesters on Friday. <span "
                f"class='views'>Read {self.views} times</span>",
            )
        )(h)

    def related(self, h) -> None:
        items = "".join(f"<p>{POOL[i]}</p>" for i in BOX[self.pass_no - 1])
        body = _doc("Harbour strike: what we know", self.lead, "The strike began on 24 November.")
        page(body.replace("</article>", f"<div class='more'>{items}</div></article>"))(h)


@pytest.fixture(scope="module")
def passes(tmp_path_factory):
    server = SiteServer().start()
    site = Site()
    routes = {
        "/clock-en": site.clock_en,
        "/clock-de": site.clock_de,
        "/clock-gmt": site.clock_gmt,
        "/counter": site.counter,
        "/related": site.related,
    }
    server.routes.update(routes)
    tmp = tmp_path_factory.mktemp("hard")
    config = write_config(tmp, [{"name": "news", "urls": [server.url(p) for p in routes]}])
    runs, seen = [], 0
    try:
        for n in range(1, PASSES + 1):
            site.pass_no, site.stamp = n, None
            if n == PASSES:  # the real edits, behind the same noise
                site.detained = 41
                site.hearing = "14 March 2019"
                site.lead = LEAD.replace("on Monday", "on Tuesday")
            crawl(config)
            events = events_of(config)
            runs.append(
                [
                    (e["kind"], e["url"].removeprefix(server.base), e["summary"])
                    for e in events[seen:]
                ]
            )
            seen = len(events)
        yield server, config, runs
    finally:
        server.stop()


def _kinds(run, path):
    return [kind for kind, url, _ in run if url == path]


def test_slow_clocks_showing_the_fetch_time_raise_nothing(passes):
    _, _, runs = passes
    for n, run in enumerate(runs, 1):
        for path in ("/clock-en", "/clock-de"):
            assert _kinds(run, path) == [], f"pass {n}: {run}"
        if n < PASSES:
            assert _kinds(run, "/clock-gmt") == [], f"pass {n}: {run}"


def test_a_past_date_edited_next_to_a_clock_is_a_change(passes):
    _, _, runs = passes
    [(kind, _, summary)] = [e for e in runs[-1] if e[1] == "/clock-gmt"]
    assert kind == "changed"
    assert any("14 March 2019" in line for line in summary["added"]), summary
    assert any("12 March 2019" in line for line in summary["removed"]), summary


def test_a_counter_inside_a_paragraph_is_masked_but_the_paragraphs_figure_is_not(passes):
    _, _, runs = passes
    for n, run in enumerate(runs[:-1], 1):
        assert _kinds(run, "/counter") == [], f"pass {n}: {run}"
    [(kind, _, summary)] = [e for e in runs[-1] if e[1] == "/counter"]
    assert kind == "changed"
    assert summary["added"] == ["Police detained 41 protesters on Friday."], summary
    assert summary["removed"] == ["Police detained 14 protesters on Friday."], summary


def test_a_rotating_unlabelled_box_is_quiet_once_its_items_come_back(passes):
    """Pass 2 shows two headlines never seen before, in every fetch: nothing yet tells them from an
    edit. From pass 3 on, each of the box's items has been seen, gone and back; the item first
    shown in pass 5 is in the place where the others came and went."""
    _, _, runs = passes
    for n, run in enumerate(runs[2:-1], 3):
        assert _kinds(run, "/related") == [], f"pass {n}: {run}"
    [(kind, _, summary)] = [e for e in runs[-1] if e[1] == "/related"]
    assert kind == "changed"
    assert summary["added"] == [LEAD.replace("on Monday", "on Tuesday")], summary
    assert summary["removed"] == [LEAD], summary


def test_diff_explain_says_what_was_masked_and_why(passes):
    server, config, _ = passes
    out = warcwatch("diff", server.url("/counter"), "--explain", "--config", str(config)).stdout
    assert "Read " in out and "learned" in out and "back-to-back fetches" in out, out
    assert "captures" in out, out
    out = warcwatch("diff", server.url("/clock-de"), "--explain", "--config", str(config)).stdout
    assert "clock" in out and "Uhr" in out and "WARC-Date" in out, out
    out = warcwatch("diff", server.url("/related"), "--explain", "--config", str(config)).stdout
    assert "history" in out and POOL[1] in out and "in the place " in out, out


# --- unit level ---------------------------------------------------------------------------------

FETCHED = datetime(2026, 12, 3, 16, 43, 20)  # naive UTC, as a capture's WARC-Date

CLOCK_CASES = [
    ("en-utc", "Updated 16:42 UTC", "16:42 UTC"),
    ("de-local", "Stand: 3. Dezember 2026, 17:42 Uhr", "3. Dezember 2026, 17:42 Uhr"),
    ("gmt-hourly", "Last modified: Thu, 03 Dec 2026 16:00 GMT", "Thu, 03 Dec 2026 16:00 GMT"),
    ("fr-local", "Mis à jour le 3 décembre 2026 à 17h40", "3 décembre 2026 à 17h40"),
    ("iso", "Generated 2026-12-03T16:41Z", "2026-12-03T16:41Z"),
    ("us-eastern", "Dec 3, 2026 11:42 am ET", "Dec 3, 2026 11:42 am ET"),
    ("numeric-de", "Aktualisiert am 03.12.2026 um 17:38 Uhr", "03.12.2026 um 17:38 Uhr"),
]
CONTENT_CASES = [
    ("past-year", "The hearing was held on 12 March 2019 at 10:00."),
    ("same-day-other-time", "Polls close on 3 December 2026 at 20:00."),
    ("tomorrow", "Stand: 4. Dezember 2026, 17:42 Uhr"),
    ("hours-ago", "Updated 13:42 UTC"),
    ("naive-whole-hour", "Doors open at 16:00."),
    ("a-count", "Read 48213 times"),
]


@pytest.mark.parametrize(
    ("line", "stamp"), [c[1:] for c in CLOCK_CASES], ids=[c[0] for c in CLOCK_CASES]
)
def test_a_stamp_that_reads_as_the_fetch_time_is_a_clock(line, stamp):
    [clock] = clocks_in(line, FETCHED)
    assert line[clock.start : clock.end] == stamp
    assert "WARC-Date" in clock.why


@pytest.mark.parametrize("line", [c[1] for c in CONTENT_CASES], ids=[c[0] for c in CONTENT_CASES])
def test_a_date_that_is_content_is_no_clock(line):
    assert clocks_in(line, FETCHED) == []


def test_a_whole_hour_without_a_zone_is_a_clock_at_the_offset_the_page_showed():
    """A pass that lands on the hour: "18:00 Uhr" alone fits some offset at any hour, but the
    page's stamp in the other version (18:35 Uhr, at UTC+1) says which offset is the page's."""
    old = ["Hafenstreik", "Stand: 3. Dezember 2026, 18:00 Uhr", "Die Gespräche dauern an."]
    new = ["Hafenstreik", "Stand: 3. Dezember 2026, 18:35 Uhr", "Die Gespräche dauern an."]
    a, b = mask_pair(old, "20261203170530", new, "20261203173540", [])
    assert a == b == ["Hafenstreik", "Stand: \u27e8clock\u27e9", "Die Gespräche dauern an."]
    [masked] = explain(old, "20261203170530", [], other=new, other_at="20261203173540")
    assert masked.rule == "clock" and "UTC+1" in masked.why
    # alone, or far from its fetch at the page's offset, a whole hour stays content
    assert clocks_in(old[1], datetime(2026, 12, 3, 17, 5, 30)) == []
    doors = [
        "Hafenstreik",
        "Stand: 3. Dezember 2026, 18:35 Uhr",
        "Einlass am 3. Dezember 2026, 18:00 Uhr",
    ]
    a, b = mask_pair(doors[:2], "20261203173540", doors, "20261203173545", [])
    assert b[-1] == doors[-1], b
