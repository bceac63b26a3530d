"""Every capture addressable in the web UI and API: by id (`/capture/ID`, `/api/show?id=`) and by
its exact time (`/snapshot/TS20/URL`), so two captures of one second are two pages; the diff
header tells them apart; confirmation fetches are labelled in the timeline and in `captures`,
whose table has a header row and never cuts a location at 80 columns.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlencode

import pytest

from tests.conftest import ROOT, crawl, warcwatch, write_config
from tests.httpserver import SiteServer, page
from tests.monitor.webarchive import Server
from tests.same_second import BODY_1, BODY_2, URL, make_archive


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    config = make_archive(tmp_path_factory.mktemp("ids"))
    srv = Server(config)
    yield srv, config
    srv.stop()


def _frame(srv: Server, path: str) -> bytes:
    status, _, html = srv.get(path)
    assert status == 200, html[:300]
    src = re.search(rb'<iframe[^>]+src="([^"]+)"', html).group(1).decode()
    status, _, body = srv.get(src)
    assert status == 200
    return body


def test_the_api_reaches_each_capture_of_one_second_by_id(served):
    srv, _ = served
    caps = srv.json("/api/captures?" + urlencode({"url": URL}))
    first, second, _ = caps
    assert first["timestamp"] == second["timestamp"] and first["warc_date"] != second["warc_date"]
    for c in caps:
        assert srv.json(f"/api/show?id={c['id']}") == c
    assert srv.json("/api/show?" + urlencode({"url": URL, "at": first["warc_date"]})) == first
    assert srv.json("/api/show?id=999", status=404)["error"] == "no capture with id 999"
    assert srv.json("/api/show?id=x", status=400)


def test_the_ui_shows_each_capture_of_one_second_by_id_and_by_exact_time(served):
    srv, _ = served
    first, second, _ = srv.json("/api/captures?" + urlencode({"url": URL}))
    assert _frame(srv, f"/capture/{first['id']}") == BODY_1
    assert _frame(srv, f"/capture/{second['id']}") == BODY_2
    exact = [
        c["warc_date"]
        .replace("-", "")
        .replace(":", "")
        .replace("T", "")
        .replace(".", "")
        .rstrip("Z")
        for c in (first, second)
    ]
    assert _frame(srv, f"/snapshot/{exact[0]}/{URL}") == BODY_1
    assert _frame(srv, f"/snapshot/{exact[1]}/{URL}") == BODY_2
    status, _, text = srv.get(f"/capture/{first['id']}/text")
    assert status == 200 and b"41 casualties" in text
    status, _, head = srv.get(f"/capture/{second['id']}/record/headers")
    assert status == 200 and head.startswith(b"HTTP/1.1 200")
    status, _, html = srv.get(f"/capture/{second['id']}")
    assert b"07:40:01.654321" in html and b"confirmation fetch" in html
    # a link made before there were fractions (a 14-digit time) still leads to a capture of that
    # second
    assert srv.get(f"/snapshot/{first['timestamp']}/{URL}")[0] == 200


def test_the_timeline_links_each_capture_and_labels_the_confirmation_fetch(served):
    srv, _ = served
    first, second, _ = srv.json("/api/captures?" + urlencode({"url": URL}))
    status, _, body = srv.get("/url?" + urlencode({"url": URL}))
    html = body.decode()
    assert status == 200 and html.count("confirmation fetch") == 1
    assert f'href="/capture/{first["id"]}"' in html and f'href="/capture/{second["id"]}"' in html
    assert "07:40:01.123456" in html and "07:40:01.654321" in html


def test_the_diff_header_tells_two_captures_of_one_second_apart(served):
    srv, _ = served
    first, second, _ = srv.json("/api/captures?" + urlencode({"url": URL}))
    status, _, body = srv.get("/diff?" + urlencode({"from_id": first["id"], "to_id": second["id"]}))
    heads = re.findall(r'<div class="vhead (?:old|new)">(.*?)</div>\s*</div>', body.decode(), re.S)
    assert status == 200 and len(heads) == 2
    assert "07:40:01.123456" in heads[0] and f"capture {first['id']}" in heads[0]
    assert "07:40:01.654321" in heads[1] and f"capture {second['id']}" in heads[1]


def _at_80_columns(*args: str) -> list[str]:
    """The lines `warcwatch ARGS` prints in a terminal 80 columns wide."""
    env = {**os.environ, "COLUMNS": "80"}
    proc = subprocess.run(
        [sys.executable, "-m", "monitor.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.splitlines()


def test_the_terminal_diff_header_tells_two_captures_of_one_second_apart(served):
    _, config = served
    first, second, _ = json.loads(
        warcwatch("captures", URL, "--config", str(config), "--json").stdout
    )
    lines = _at_80_columns(
        "diff",
        URL,
        "--from",
        first["warc_date"],
        "--to",
        second["warc_date"],
        "--config",
        str(config),
    )
    # each header whole on its line, its location (too long to go beside it) whole on the next
    assert lines[:4] == [
        f"--- 2026-12-03 07:40:01.123456 UTC (capture {first['id']})",
        f"    {first['warc_file']}:{first['offset']}",
        f"+++ 2026-12-03 07:40:01.654321 UTC (capture {second['id']})",
        f"    {second['warc_file']}:{second['offset']}",
    ]
    assert "- The ministry confirms 41 casualties." in lines
    assert "+ The ministry confirms 12 casualties." in lines


def test_captures_prints_a_header_and_labels_the_crawls_confirmation_fetch(
    site: SiteServer, tmp_path: Path
):
    """A real pass that sees a change fetches the page again at once: that capture is labelled."""
    site.routes["/statement"] = page(
        "<html><body><p>The ministry confirms 41 casualties.</p></body></html>"
    )
    config = write_config(tmp_path, [{"name": "news", "url": site.url("/statement")}])
    crawl(config)
    site.routes["/statement"] = page(
        "<html><body><p>The ministry confirms 12 casualties.</p></body></html>"
    )
    crawl(config)
    caps = json.loads(
        warcwatch("captures", site.url("/statement"), "--config", str(config), "--json").stdout
    )
    purposes = [
        c["purpose"] for c in caps
    ]  # one or two confirmation fetches (monitor.confirm_fetches)
    assert (
        purposes[:2] == [None, None] and len(purposes) > 2 and set(purposes[2:]) == {"confirmation"}
    )
    assert len({c["warc_date"] for c in caps}) == len(caps)  # fetch and confirmation: two times
    lines = _at_80_columns("captures", site.url("/statement"), "--config", str(config))
    # the rows would not fit: each location goes whole on a line of its own under its row
    assert lines[0].split() == ["ID", "TIME", "(UTC)", "KIND", "STATUS", "DIGEST", "NOTE"]
    assert lines[1].strip() == "LOCATION"
    rows, locations = lines[2::2], lines[3::2]
    assert [row.split()[0] for row in rows] == [str(c["id"]) for c in caps]
    assert [row.split()[1] for row in rows] == [c["warc_date"] for c in caps]
    assert [("confirmation" in row) for row in rows] == [p == "confirmation" for p in purposes]
    assert all(len(row) <= 80 for row in rows)
    assert [line.strip() for line in locations] == [f"{c['warc_file']}:{c['offset']}" for c in caps]


def test_captures_keeps_the_location_on_the_row_when_it_fits(served):
    _, config = served
    proc = subprocess.run(
        [sys.executable, "-m", "monitor.cli", "captures", URL, "--config", str(config)],
        cwd=ROOT,
        env={**os.environ, "COLUMNS": "400"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    lines = proc.stdout.splitlines()
    assert lines[0].split()[-1] == "LOCATION" and len(lines) == 4
    assert "confirmation" in lines[2]
    assert all(re.search(r"\.warc\.gz:\d+$", line) for line in lines[1:])
