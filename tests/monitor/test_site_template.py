"""What a page shares with its site is not its own text; what a reader sees decides a redesign.

End to end, three passes of `warcwatch crawl` over real pages (tests/data/realpages) served on
127.0.0.1, one host:

| pass | /related (GitHub blog), /related/print (a copy) | /redesign (Vancouver Sun)             |
|------|-------------------------------------------------|---------------------------------------|
| 1    | a box of two headlines of the site's other      | as the site served it                 |
|      | pages                                           |                                       |
| 2    | the box shows two others, first seen (in every  | new template: the extractor now keeps |
|      | fetch of the pass): quiet                       | the comments' policy block: quiet     |
| 3    | "have shaped" → "have not shaped" in the lead,  | "will invest" → "will not invest":    |
|      | and the box moves on again: changed, on both    | changed                               |
|      | copies                                          |                                       |

The site's other pages (Nature, Zeit, Salon, The Verge) are served as they are; their titles are
the box's headlines (one cut short with an ellipsis, as boxes do). Unit level: `template.learn`,
`visible.visible_lines`, `sametext.same_for_reader`.
"""

from __future__ import annotations

import pytest

from monitor import template
from monitor.sametext import same_for_reader
from monitor.visible import visible_lines
from tests.conftest import crawl, warcwatch, write_config
from tests.httpserver import SiteServer, page
from tests.monitor.pages import events_of
from tests.monitor.realpage import edit_lead, raw, renamed, title_of, with_box

CP1252 = "text/html; charset=windows-1252"
SIBLINGS = {
    "/nature": "nature.com.telescope.html",
    "/zeit": "zeit.de.zugverkehr.html",
    "/salon": "salon.com.emissions.html",
    "/verge": "theverge.com.ios13.html",
}
SHAPED = ("who have shaped", "who have not shaped")
INVEST = ("will invest", "will not invest")


@pytest.fixture(scope="module")
def passes(tmp_path_factory):
    server = SiteServer().start()
    docs = {path: raw(name) for path, name in SIBLINGS.items()}
    titles = {path: title_of(doc) for path, doc in docs.items()}
    salon_cut = titles["/salon"][:30].rstrip() + "…"  # the box cuts a long headline short
    boxes = {
        1: (titles["/nature"], titles["/zeit"]),
        2: (salon_cut, titles["/verge"]),
        3: (titles["/nature"], salon_cut),
    }
    blog, sun = raw("github.blog.spiceland.html"), raw("vancouversun.com.microsoft.html")
    for path, doc in docs.items():
        server.routes[path] = page(doc)
    urls = [server.url(p) for p in ("/related", "/related/print", "/redesign", *SIBLINGS)]
    config = write_config(tmp_path_factory.mktemp("template"), [{"name": "site", "urls": urls}])
    runs, seen = [], 0
    try:
        for n in (1, 2, 3):
            related = with_box(edit_lead(blog, *SHAPED) if n == 3 else blog, boxes[n])
            server.routes["/related"] = server.routes["/related/print"] = page(related)
            if n == 1:
                server.routes["/redesign"] = page(sun)
            else:
                edited = sun if n == 2 else edit_lead(sun, *INVEST)
                server.routes["/redesign"] = page(renamed(edited), content_type=CP1252)
            crawl(config)
            events = events_of(config)
            runs.append([(e["kind"], e["url"].removeprefix(server.base), e) for e in events[seen:]])
            seen = len(events)
        yield server, config, runs, titles
    finally:
        server.stop()


def _on(run, path):
    return [(kind, e) for kind, url, e in run if url == path]


def test_a_boxs_first_rotation_to_the_sites_other_headlines_raises_nothing(passes):
    _, _, runs, _ = passes
    assert _on(runs[1], "/related") == [], runs[1]
    assert _on(runs[1], "/related/print") == [], runs[1]


def test_a_redesign_whose_extractor_keeps_a_block_it_dropped_raises_nothing(passes):
    _, _, runs, _ = passes
    assert _on(runs[1], "/redesign") == [], runs[1]


def test_an_edit_in_a_sentence_only_the_page_has_is_a_change(passes):
    _, _, runs, titles = passes
    for path in ("/related", "/related/print"):  # a copy of the page does not hide its edit
        [(kind, e)] = _on(runs[2], path)
        assert kind == "changed"
        assert any(SHAPED[1] in line for line in e["summary"]["added"]), e["summary"]
        assert not any(titles["/salon"][:20] in line for line in e["summary"]["added"])
    [(kind, e)] = _on(runs[2], "/redesign")
    assert kind == "changed"
    assert any(INVEST[1] in line for line in e["summary"]["added"]), e["summary"]


def test_the_sites_other_pages_raise_nothing(passes):
    _, _, runs, _ = passes
    for n, run in enumerate(runs[1:], 2):
        for path in SIBLINGS:
            assert _on(run, path) == [], f"pass {n}: {run}"


def test_diff_explain_names_the_other_pages_a_masked_line_is_on(passes):
    server, config, _, titles = passes
    out = warcwatch("diff", server.url("/related"), "--explain", "--config", str(config)).stdout
    assert "site template: also on 1 other page of 127.0.0.1:" in out, out
    assert server.url("/salon") in out, out


# --- unit level ---------------------------------------------------------------------------------

HOME = "http://example.org/"
OTHER = template.Sibling(
    "http://example.org/other",
    7,
    # a page listing the site's headlines, this page's too
    frozenset(
        {
            "Other story",
            "Dock strike spreads to the northern ports",
            "Sign up for our newsletter",
            "Menu",
            "Story A",
            "Cases: 1,203 confirmed so far",
            "Cases: 1,215 confirmed so far",
        }
    ),
)
COPY = template.Sibling(
    "http://example.org/a?print=1",
    8,
    frozenset({"Story A", "First paragraph of story A.", "Second paragraph of A.", "Edited."}),
)
# a statement that, in this pass, gained the notice page A gains too (its payload before lacks it)
NOTICE = "This statement has been withdrawn by the ministry."
STATEMENT = ["Statement B", "First paragraph of statement B."]
B_NOW = template.Sibling("http://example.org/b", 10, frozenset([*STATEMENT, NOTICE]))
B_BEFORE = template.Sibling("http://example.org/b", 9, frozenset(STATEMENT))
# and one that, in this pass, lost the notice page A loses too
OLD_NOTICE = "Comments on this statement are closed until further notice."
C_NOW = template.Sibling("http://example.org/c", 12, frozenset(["Statement C", "Body of C."]))
C_BEFORE = template.Sibling(
    "http://example.org/c", 11, frozenset(["Statement C", "Body of C.", OLD_NOTICE])
)
INDEX = template.HostText("example.org", [OTHER, COPY, B_NOW, B_BEFORE, C_NOW, C_BEFORE])
A = ["Story A", "First paragraph of story A.", "Second paragraph of A."]

LEARN_CASES = [
    ("another-page's-line", A + ["Sign up for our newsletter"], A, [r"^Sign\ up"]),
    ("cut-short", A + ["Dock strike spreads to the northern…"], A, [r"^Dock\ strike"]),
    ("too-short-to-be-cut", A + ["Dock strike…"], A, []),
    ("too-few-words", A + ["Menu"], A, []),
    (
        "a-figure-in-place",
        A + ["Cases: 1,215 confirmed so far"],
        A + ["Cases: 1,203 confirmed so far"],
        [],
    ),
    (
        "an-edit-beside-it",
        A[:2] + ["Second paragraph of A, edited.", "Sign up for our newsletter"],
        A,
        [],
    ),
    ("own-title", ["Other story", *A[1:]], A, []),
    ("on-a-copy-only", A + ["Edited."], A, []),
    ("added-to-another-page-in-the-same-pass", A + [NOTICE], A, []),
    ("removed-from-another-page-in-the-same-pass", A, A + [OLD_NOTICE], []),
]


@pytest.mark.parametrize("case,new,old,want", LEARN_CASES, ids=[c[0] for c in LEARN_CASES])
def test_template_learn(case, new, old, want):
    got = template.learn("http://example.org/a", (old[0], new[0]), old, new, INDEX)
    assert len(got) == len(want), got
    for entry, prefix in zip(got, want, strict=True):
        assert entry["pattern"].startswith(prefix), entry
        assert entry["learned"] == "template" and entry["urls"] == [OTHER.url], entry


def test_visible_lines_leave_out_what_a_browser_does_not_render():
    doc = b"""<html><head><title>T</title><style>p{}</style></head><body><p>Shown</p>
    <script>var x</script><div hidden>Not shown</div><p style="display: none">Nor this</p>
    <noscript>Nor that</noscript><ul><li>One</li><li>Two</li></ul></body></html>"""
    assert visible_lines(doc, "text/html; charset=utf-8") == ["T", "Shown", "One", "Two"]


def test_the_same_for_a_reader_drops_the_headline_wherever_it_is():
    title = "Harbour strike enters second week - Daily Ledger"
    old = [title, "Home", "Ports", "Search", "The strike began on Monday."]
    for heading in ("Harbour strike enters second week", title, title[:40] + "…"):
        assert same_for_reader(old, [*old[:4], heading, old[4]]), heading
    assert not same_for_reader(old, [*old[:4], "The strike began on Tuesday."])
    assert not same_for_reader(old, [*old[:4], "Harbour strike", old[4]])  # too short a cut


# a box on another page that moved on in this pass to the same headline (gained it too), and the
# steady page whose title that headline is: only the steady page vouches for it
HEADLINE = "Harbour strike enters its second week as talks with the port operators stall again"
BOX_BEFORE = template.Sibling("http://example.org/d", 13, frozenset(["Story D", "Story A"]))
SOURCE = template.Sibling(
    "http://example.org/strike", 15, frozenset([HEADLINE + " - Daily Ledger", "The strike began."])
)


@pytest.mark.parametrize("cut", [len(HEADLINE), 60, 44], ids=["whole", "cut-60", "cut-mid-word"])
def test_a_headline_moved_alike_elsewhere_counts_where_it_is_a_steady_pages_title(cut):
    line = HEADLINE[:cut]  # as a box shows it: whole, or cut at a length, with no ellipsis
    box_now = template.Sibling("http://example.org/d", 14, frozenset(["Story D", line]))
    index = template.HostText("example.org", [box_now, BOX_BEFORE, SOURCE])
    [got] = template.learn("http://example.org/a", (A[0], A[0]), A, A + [line], index)
    assert got["urls"] == [SOURCE.url] and got["captures"] == [SOURCE.capture_id], got
    assert template.why(got).startswith("site template: also on 1 other page of example.org")
    # without the steady page, the other box's same move is no evidence: an edit made to both
    alone = template.HostText("example.org", [box_now, BOX_BEFORE])
    assert template.learn("http://example.org/a", (A[0], A[0]), A, A + [line], alone) == []
