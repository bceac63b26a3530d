# ruff: noqa: F811 - pytest fixtures imported from tests.monitor.webarchive are redefined as arguments
"""The standalone diff report (`/diff/report`, `warcwatch diff --html`) is rendered from the same
rows as the web UI's side-by-side diff page: it marks the same words, phrase for phrase."""

from __future__ import annotations

import re
from urllib.parse import urlencode

from tests.monitor.webarchive import archive, server  # noqa: F401 - fixtures

# the report is the diff page's rows, whatever the catalog: one backend is enough
CATALOG_BACKENDS = ("sqlite",)  # for its archive (tests.pg.backends_of_module)

MARKS = re.compile(r"<(del|ins)>(.*?)</\1>", re.S)


def test_the_report_marks_the_same_words_as_the_diff_page(server, archive):
    query = urlencode({"url": archive.news})
    page = server.get("/diff?" + query)[2].decode()
    report = server.get("/diff/report?" + query)[2].decode()
    table = page[page.index('<table class="diff side">') :]
    marked = MARKS.findall(table)
    assert ("del", "local monitors.") in marked and ("ins", "government sources.") in marked
    assert MARKS.findall(report[report.index("<tbody>") :]) == marked
