"""Template noise never alerts: learned from confirmation fetches, or dropped by a target's
`select` / `ignore` rules, while real edits behind the same noise still do.

End to end: pages whose noise changes on every request (clock, "last updated", view counter,
rotating trending box, ad ids, CSRF tokens, markup and white space) over a baseline and three
noise-only passes, then a pass with one real edit per target. Unit level: `noise.learn`/`mask` and
`extract`'s normalisation and rules, table-driven.
"""

from __future__ import annotations

import random
import unicodedata
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from monitor import noise
from monitor.extract import extract, normalise
from storage.models import Capture, UrlState, Version
from tests.conftest import crawl, write_config
from tests.httpserver import SiteServer, page
from tests.monitor.pages import Doc, article, events_of, noisy, render

RULES_SELECT = "article"
RULES_IGNORE = [".live-counter", "regex:Last updated [^.]*\\."]


def markup_noise(text: str):
    """The same text in markup and white space that differ on every request."""
    n = [0]

    def respond(h) -> None:
        n[0] += 1
        pad = " " * (n[0] % 4) + "\n" * (n[0] % 3)
        wrap = ("<span class='x{0}'>{1}</span>", "<b data-v='{0}'>{1}</b>", "{1}")[n[0] % 3]
        body = "".join(
            f"<p id='p{n[0]}-{i}'>{pad}{wrap.format(n[0], s)}{pad}</p>\n"
            for i, s in enumerate(text.split(". "))
        )
        page(
            "<html><head><title>Notice</title></head><body "
            f"class='b{n[0]}'><main>{body}</main></body></html>"
        )(h)

    return respond


class RulesPage:
    """A page whose noise changes once per pass, not per request, so the confirmation fetch cannot
    learn it: only the target's `select` and `ignore` rules keep it out."""

    def __init__(self):
        self.pass_no = 1
        self.body = [
            "The council approved the budget for the coming year.",
            "Spending on schools rises by a tenth.",
        ]

    def __call__(self, h) -> None:
        n = self.pass_no
        paras = "".join(f"<p>{p}</p>" for p in self.body)
        page(f"""<html><head><title>Council budget</title></head><body>
<div class="sidebar"><p>Weather today: {12 + n} degrees and {("sunny", "cloudy", "rain")[n % 3]}\
</p></div>
<article><h1>Council budget approved</h1>
<p class="live-counter">{40 + 7 * n} people are reading this now</p>
<p>Last updated {n} May 2024 at 1{n}:00. Published 1 May 2024.</p>
{paras}</article>
<footer>Edition {n}</footer></body></html>""")(h)


@pytest.fixture(scope="module")
def noisy_site(tmp_path_factory):
    site = SiteServer().start()
    tmp: Path = tmp_path_factory.mktemp("noise")
    docs = {
        "/article": article("harbour"),
        "/statement": article("embassy", kind="statement"),
        "/short": Doc("Travel advice", ["Do not travel to the border region."], kind="statement"),
    }
    for i, (path, doc) in enumerate(docs.items()):
        site.routes[path] = noisy(doc, seed=i)
    site.routes["/markup"] = markup_noise(
        "Applications open on 4 June. The deadline is 30 June. Late forms are refused."
    )
    rules = RulesPage()
    site.routes["/rules"] = rules
    config = write_config(
        tmp,
        [
            {"name": "noisy", "urls": [site.url(p) for p in (*docs, "/markup")]},
            {
                "name": "rules",
                "url": site.url("/rules"),
                "select": RULES_SELECT,
                "ignore": RULES_IGNORE,
            },
        ],
    )
    runs = []
    try:
        for n in range(1, 6):
            rules.pass_no = n
            if n == 5:  # one real edit behind the noise, for each target
                docs["/statement"].paragraphs[2] = (
                    docs["/statement"].paragraphs[2].replace("over 5 months", "over 7 months")
                )
                rules.body.append("The opposition voted against.")
            crawl(config)
            runs.append(events_of(config))
        yield site, config, runs
    finally:
        site.stop()


def _engine(config: Path):
    return create_engine(f"sqlite:///{config.parent / 'archive' / 'catalog.sqlite'}")


def test_noise_only_passes_raise_nothing(noisy_site):
    _, _, runs = noisy_site
    for n in range(4):  # baseline, then three passes of nothing but noise
        assert runs[n] == [], f"pass {n + 1}: {runs[n]}"


def test_real_edit_behind_noise_still_alerts(noisy_site):
    site, _, runs = noisy_site
    got = [(e["kind"], e["url"].removeprefix(site.base)) for e in runs[4]]
    assert sorted(got) == [("changed", "/rules"), ("changed", "/statement")], runs[4]
    by = {e["url"].removeprefix(site.base): e["summary"] for e in runs[4]}
    assert any("over 7 months" in line for line in by["/statement"]["added"])
    assert (
        by["/rules"]["added"] == ["The opposition voted against."] and by["/rules"]["removed"] == []
    )


def test_noise_was_really_there_and_learned(noisy_site):
    """Each noisy page was fetched again at once when its text moved, and what moved between the
    two fetches was learned as volatile: the test above passes for the right reason."""
    site, config, _ = noisy_site
    with Session(_engine(config)) as s:
        states = {st.url.removeprefix(site.base): st.volatile for st in s.scalars(select(UrlState))}
        confirmations = {}
        for c in s.scalars(select(Capture).where(Capture.run_id == 2)):
            path = c.url.removeprefix(site.base)
            confirmations[path] = confirmations.get(path, 0) + 1
        texts = {
            v.text for v in s.scalars(select(Version).where(Version.url == site.url("/article")))
        }
    for path in ("/article", "/statement", "/short"):
        assert states[path], f"{path}: nothing learned"
        assert confirmations[path] == 2, f"{path}: no confirmation fetch in pass 2"
    assert len(texts) > 3, "the article's extracted text should differ from fetch to fetch"
    assert states["/markup"] == [] and confirmations["/markup"] == 1, (
        "markup-only edits are not text changes"
    )


def test_select_and_ignore_rules_shape_the_text(noisy_site):
    site, config, _ = noisy_site
    with Session(_engine(config)) as s:
        texts = s.scalars(select(Version.text).where(Version.url == site.url("/rules"))).all()
        states = s.scalars(select(UrlState).where(UrlState.url == site.url("/rules"))).all()
    assert texts
    for text in texts:
        assert "Council budget approved" in text and "Published 1 May 2024." in text
        for noise_text in ("Weather today", "Edition", "people are reading", "Last updated"):
            assert noise_text not in text, text
    assert all(st.volatile == [] for st in states), "the rules alone must have kept the noise out"


# --- unit level ---------------------------------------------------------------------------------

LEARN_CASES = [
    (
        "clock",
        "Page generated 2024-05-01 13:01:02 UTC",
        "Page generated 2024-05-01 13:01:44 UTC",
        "Page generated 2025-01-09 08:00:00 UTC",
        "Page generated on request",
    ),
    (
        "counter",
        "This page has been viewed 1234 times.",
        "This page has been viewed 98 times.",
        "This page has been viewed 5 times.",
        "This page has been updated.",
    ),
    (
        "token",
        "Reference ad-8f3a91c2 · session 0a1b2c3d",
        "Reference ad-77e10b4f · session ffee0011",
        "Reference ad-00000000 · session 12345678",
        "Referendum set for June",
    ),
    (
        "trending",
        "Most read: Storm batters the northern coast",
        "Most read: Central bank holds rates",
        "Most read: Cup final goes to extra time",
        "Most of the budget goes to schools",
    ),
]


@pytest.mark.parametrize(
    ("first", "second", "later", "content"),
    [c[1:] for c in LEARN_CASES],
    ids=[c[0] for c in LEARN_CASES],
)
def test_learned_pattern_masks_the_volatile_line_only(first, second, later, content):
    fixed = ["Ministry statement on the harbour agreement", "The agreement was signed on 3 May."]
    patterns = noise.learn([fixed[0], first, fixed[1]], [fixed[0], second, fixed[1]])
    assert patterns
    assert noise.mask([fixed[0], later, fixed[1], content], patterns) == [
        fixed[0],
        fixed[1],
        content,
    ]


def test_learning_from_identical_fetches_learns_nothing_and_masks_nothing():
    lines = ["Headline", "A paragraph with 3 numbers: 4 and 5."]
    assert noise.learn(lines, lines) == []
    assert noise.mask(lines, []) == lines


def test_a_number_edit_in_a_sentence_is_not_masked_by_a_counter_pattern():
    patterns = noise.learn(
        ["Viewed 12 times", "Troops will leave within 30 days."],
        ["Viewed 57 times", "Troops will leave within 30 days."],
    )
    assert noise.mask(["Viewed 3 times", "Troops will leave within 90 days."], patterns) == [
        "Troops will leave within 90 days."
    ]


def test_merge_keeps_order_without_duplicates_and_bounded():
    assert noise.merge(["a", "b"], ["b", "c"]) == ["a", "b", "c"]
    many = noise.merge([], [f"p{i}" for i in range(noise.MAX_PATTERNS + 50)])
    assert len(many) == noise.MAX_PATTERNS and many[-1] == f"p{noise.MAX_PATTERNS + 49}"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  many   spaces\tand\ttabs  ", "many spaces and tabs"),
        ("\u201csmart\u201d \u2018quotes\u2019", "\"smart\" 'quotes'"),
        ("non\u00a0breaking\u202fspaces", "non breaking spaces"),
        (unicodedata.normalize("NFD", "café déjà"), "café déjà"),
        ("zero\u200bwidth", "zerowidth"),
    ],
    ids=["whitespace", "quotes", "nbsp", "nfc", "zero-width"],
)
def test_normalise(raw, expected):
    assert normalise(raw) == expected
    assert unicodedata.is_normalized("NFC", normalise(raw))


def test_markup_and_whitespace_only_edits_give_the_same_text():
    a = (
        b"<html><body><main><p>The deadline is 30 June.</p><p>Late forms are "
        b"refused.</p></main></body></html>"
    )
    b = (
        b"<html>\n<body class='x'>\n  <main id=m><p class=a>The   deadline\n is <b>30 "
        b"June</b>.</p>\n"
        b"<p>Late forms\tare refused.</p></main></body></html>"
    )
    assert extract(a, "text/html").hash == extract(b, "text/html").hash


def test_rules_on_a_noisy_template():
    """`select` narrows to the article; `ignore` drops a CSS selector and a regex's match."""
    html = render(article("harbour"), 7, random.Random(3)).encode()
    text = extract(
        html,
        "text/html",
        select="article",
        ignore=[".byline", "regex:Reference ad-\\w+ · session \\w+"],
    )
    assert text.lines[1] == "Inquiry into harbour publishes its findings"
    assert not any(
        "Press Office" in line or "By Staff" in line or "Reference" in line for line in text.lines
    )
    assert not any(
        "Trending" in line or "Subscribe" in line or "Page generated" in line for line in text.lines
    )
    assert any(line.startswith("Last updated") for line in text.lines)  # not ignored: still there


def test_json_and_plain_text_versions():
    a = extract(b'{"b": 1, "a": [1, 2]}', "application/json")
    b = extract(b'{"a": [1, 2],   "b": 1}', "application/json")
    assert a.hash == b.hash and any('"a"' in line for line in a.lines)
    assert extract(b"line one\r\n\r\n  line   two \n", "text/plain").lines == (
        "line one",
        "line two",
    )
