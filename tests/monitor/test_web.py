# ruff: noqa: F811 - pytest fixtures imported from tests.monitor.webarchive are redefined as arguments
"""`warcwatch serve` through a real server on 127.0.0.1, over an archive made by real crawls:
the JSON API against the CLI and the retrieval library, the pages, the snapshot isolation headers,
the feeds, and the bearer token."""

from __future__ import annotations

import gzip
import io
import json
import re
import xml.etree.ElementTree as ET
from urllib.parse import quote, urlencode

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.cli.serve import is_loopback
from monitor.config import load_config
from monitor.errors import ConfigError
from storage.catalog import open_catalog
from storage.models import Capture
from storage.retrieval import nearest
from storage.timestamps import from_datetime, to_datetime
from tests.conftest import warcwatch
from tests.monitor.webarchive import TOKEN, Server, archive, server, token_server  # noqa: F401 - fixtures

ATOM = "{http://www.w3.org/2005/Atom}"


def q(**params) -> str:
    return urlencode(params)


def _catalog(archive):
    config = load_config(archive.config)
    return config, open_catalog(config.archive.database_url)


def _news_captures(server, archive) -> list[dict]:
    return server.json("/api/captures?" + q(url=archive.news))


# --- the API mirrors the CLI and the retrieval library --------------------------------------------


def test_api_captures_is_the_cli_listing(server, archive):
    api = _news_captures(server, archive)
    cli = json.loads(
        warcwatch("captures", archive.news, "--config", str(archive.config), "--json").stdout
    )
    assert api == cli
    assert [c["timestamp"] for c in api] == sorted(c["timestamp"] for c in api)
    assert len([c for c in api if c["kind"] == "response"]) >= 2  # the baseline and the edit


def test_api_show_picks_what_retrieval_picks(server, archive):
    config, engine = _catalog(archive)
    stamps = sorted({c["timestamp"] for c in _news_captures(server, archive)})
    first, last = to_datetime(stamps[0]), to_datetime(stamps[-1])
    probes = [
        None,
        stamps[0][:4],
        stamps[0][:8],
        from_datetime(first.replace(year=first.year - 1)),
        from_datetime(last.replace(year=last.year + 1)),
        *stamps,
        from_datetime(first + (last - first) / 2),
        "2026-01-01T00:00:00Z",
    ]
    with Session(engine) as s:
        for at in probes:
            want = nearest(s, archive.news, at).as_json()
            path = "/api/show?" + (q(url=archive.news, at=at) if at else q(url=archive.news))
            assert server.json(path) == want, at


def test_api_show_matches_urls_by_surt(server, archive):
    variant = archive.news.replace("http://", "HTTP://") + "?"
    assert server.json("/api/show?" + q(url=variant)) == server.json(
        "/api/show?" + q(url=archive.news)
    )


@pytest.mark.parametrize(
    "path, status, message",
    [
        ("/api/show", 400, "missing ?url="),
        ("/api/show?url=http://nowhere.invalid/", 404, "no capture of"),
        ("/api/show?url=http://nowhere.invalid/&at=2026-13", 400, "out of range"),
        ("/api/show?url=http://nowhere.invalid/&at=123", 400, "4 to 14 digits"),
        ("/api/captures", 400, "missing ?url="),
        ("/api/changes?since=yesterday", 400, "neither"),
    ],
    ids=["no-url", "unknown-url", "bad-iso", "short-ts", "captures-no-url", "bad-since"],
)
def test_api_errors_are_json(server, path, status, message):
    body = server.json(path, status=status)
    assert message in body["error"]


def test_api_changes_is_the_cli_listing(server, archive):
    cli = json.loads(warcwatch("changes", "--config", str(archive.config), "--json").stdout)
    api = server.json("/api/changes")
    assert api == cli
    kinds = {(e["kind"], e["url"]) for e in api}
    assert ("changed", archive.news) in kinds and ("added", archive.base + "/fresh.html") in kinds
    assert server.json("/api/changes?" + q(target="site-a")) == cli
    assert server.json("/api/changes?" + q(target="nobody")) == []
    assert server.json("/api/changes?" + q(since="2999")) == []
    changed = server.json("/api/changes?" + q(kind="changed"))
    assert archive.news in {e["url"] for e in changed} and {e["kind"] for e in changed} == {
        "changed"
    }


def test_api_status(server):
    status = server.json("/api/status")
    (target,) = status["targets"]
    assert target["name"] == "site-a" and target["kind"] == "site" and target["in_config"]
    assert target["last_run"]["status"] == "finished" and target["events"] >= 2
    assert status["captures"] > 0 and status["runs"] == 2


# --- pages ----------------------------------------------------------------------------------------


def _html(server, path: str, status: int = 200) -> str:
    got, headers, body = server.get(path)
    assert got == status, f"{path}: {got} {body[:300]!r}"
    if got == 200:
        assert headers["Content-Type"].startswith("text/html")
        csp = headers["Content-Security-Policy"]
        assert (
            "default-src 'none'" in csp and "frame-ancestors 'none'" in csp and "script" not in csp
        )
    return body.decode()


def test_dashboard_lists_targets_and_recent_changes(server, archive):
    html = _html(server, "/")
    assert 'href="/target/site-a"' in html and "finished" in html
    changed = re.search(
        r'<li class="event changed">.*?href="(/diff\?from_id=\d+&amp;to_id=\d+)"', html, re.S
    )
    assert changed, html
    assert "fresh.html" in html  # the added page


def test_target_and_url_pages(server, archive):
    html = _html(server, "/target/site-a")
    assert archive.news in html and "/url?url=" in html
    html = _html(server, "/url?" + q(url=archive.news))
    assert html.count('class="cap ') == len(_news_captures(server, archive))
    assert 'class="badge changed"' in html and 'name="from_id"' in html
    _html(server, "/url?" + q(url="http://nowhere.invalid/"), status=404)
    _html(server, "/target/nobody", status=404)


def test_long_timelines_are_paged(server, archive):
    config, engine = _catalog(archive)
    many = "http://many.example/page"
    with Session(engine) as s, s.begin():
        row = s.scalars(select(Capture).where(Capture.kind == "response").limit(1)).one()
        s.add_all(
            Capture(
                url=many,
                surt="example,many)/page",
                timestamp=f"2020010100{i // 60:02d}{i % 60:02d}",
                kind="response",
                status=200,
                mime="text/html",
                digest=row.digest,
                length=row.length,
                offset=row.offset,
                warc_file=row.warc_file,
                target="synthetic",
            )
            for i in range(120)
        )
    engine.dispose()
    first = _html(server, "/url?" + q(url=many))
    assert (
        first.count('class="cap ') == 50
        and "page 1 of 3" in first
        and "2020-01-01 00:01:59" in first
    )
    last = _html(server, "/url?" + q(url=many, page=3))
    assert (
        last.count('class="cap ') == 20 and "2020-01-01 00:00:00" in last and "page 3 of 3" in last
    )
    assert (
        _html(server, "/url?" + q(url=many, page=99)).count('class="cap ') == 20
    )  # clamped to the last


def test_snapshot_frames_the_archived_page_from_a_sandboxed_path(server, archive):
    got, headers, _ = server.get(
        f"/snapshot/2026/{archive.news}"
    )  # a prefix: redirected to the capture
    assert got == 302
    target = headers["Location"]
    ts = target.split("/")[2]
    assert re.fullmatch(r"\d{20}", ts) and target.endswith(archive.news)  # the capture's exact time
    html = _html(server, target)
    frame = re.search(r"<iframe[^>]*>", html).group(0)
    assert 'sandbox="allow-scripts"' in frame and "allow-same-origin" not in frame
    src = re.search(r'src="([^"]+)"', frame).group(1)
    assert src == f"/raw/{ts}/{archive.news}"
    got, headers, body = server.get(src)
    assert got == 200 and headers["Content-Type"].startswith("text/html")
    csp = headers["Content-Security-Policy"]
    assert csp.startswith("sandbox allow-scripts;") and "allow-same-origin" not in csp
    assert "frame-ancestors 'self'" in csp and headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer" and "Set-Cookie" not in headers
    assert headers["Memento-Datetime"].endswith("GMT")
    shown = warcwatch("show", archive.news, "--at", ts, "--config", str(archive.config))
    # the archived page, its links leading into the archive at its time (monitor.web.replay)
    assert body.decode() == shown.stdout.replace('href="/"', f'href="/raw/{ts}/{archive.base}/"')
    for link in ("/text/", "/record/http/", "/record/warc/", "/record/headers/"):
        assert link in html


def test_text_and_record_downloads(server, archive):
    ts = _news_captures(server, archive)[-1]["timestamp"]
    text = _html(server, f"/text/{ts}/{archive.news}")
    assert "At least 12 civilians" in text and ">Home<" not in text  # the watched part: article
    got, headers, body = server.get(f"/record/http/{ts}/{archive.news}")
    assert got == 200 and body.startswith(b"HTTP/1.1 200") and b"government sources" in body
    assert headers["Content-Disposition"].startswith("attachment")
    got, headers, body = server.get(f"/record/warc/{ts}/{archive.news}")
    assert headers["Content-Type"] == "application/warc"
    from warcio.archiveiterator import ArchiveIterator

    (record,) = list(ArchiveIterator(io.BytesIO(body)))
    shown = server.json(
        "/api/show?" + q(url=archive.news, at=ts)
    )  # the capture's own record, revisit or not
    assert (
        record.rec_type == shown["kind"]
        and record.rec_headers.get_header("WARC-Target-URI") == archive.news
    )
    assert gzip.decompress(body).startswith(b"WARC/1.1")
    got, _, body = server.get(f"/record/headers/{ts}/{archive.news}")
    assert body.startswith(b"HTTP/1.1 200") and b"\r\n\r\n" in body and b"<article>" not in body
    assert server.get(f"/record/zip/{ts}/{archive.news}")[0] == 404


def test_diff_views(server, archive):
    side = _html(server, "/diff?" + q(url=archive.news))
    assert "<del>41</del>" in side and "<ins>12</ins>" in side
    assert "<del>local monitors.</del>" in side and "<ins>government sources.</ins>" in side
    inline = _html(server, "/diff?" + q(url=archive.news, view="inline"))
    assert 'class="diff inline"' in inline and "<del>41</del><ins>12</ins>" in inline
    event = next(
        e for e in server.json("/api/changes?" + q(kind="changed")) if e["url"] == archive.news
    )
    by_id = _html(server, "/diff?" + q(from_id=event["from_capture"], to_id=event["to_capture"]))
    assert "<ins>12</ins>" in by_id
    got, headers, body = server.get("/diff/report?" + q(url=archive.news))
    assert got == 200 and b"<ins>" in body and "sandbox" not in headers["Content-Security-Policy"]
    assert "unsafe-inline" in headers["Content-Security-Policy"]
    _html(server, "/diff?" + q(url=archive.base + "/evil.html"), status=404)  # one version only
    _html(server, "/diff", status=400)


def test_changes_feeds(server, archive):
    events = server.json("/api/changes")
    got, headers, body = server.get("/changes.atom")
    assert got == 200 and headers["Content-Type"].startswith("application/atom+xml")
    feed = ET.fromstring(body)
    entries = feed.findall(f"{ATOM}entry")
    assert len(entries) == len(events)
    changed = next(e for e in entries if e.find(f"{ATOM}title").text == f"changed: {archive.news}")
    assert re.search(r"/diff\?from_id=\d+&to_id=\d+$", changed.find(f"{ATOM}link").get("href"))
    assert "+ At least 12 civilians" in changed.find(f"{ATOM}summary").text
    jf = server.json("/changes.json")
    assert jf["version"] == "https://jsonfeed.org/version/1.1"
    assert sorted(i["_warcwatch"]["id"] for i in jf["items"]) == sorted(e["id"] for e in events)
    html = _html(server, "/changes?" + q(kind="added"))
    assert "fresh.html" in html and archive.news not in html


def test_unknown_paths_and_missing_captures(server, archive):
    assert server.get("/nope")[0] == 404
    got, headers, _ = server.get("/raw/2026/http://nowhere.invalid/")
    assert got == 404 and headers["Content-Security-Policy"].startswith("sandbox")
    _html(server, "/snapshot/2026/http://nowhere.invalid/", status=404)
    _html(server, f"/snapshot/2026-13/{archive.news}", status=400)


# --- the bearer token -----------------------------------------------------------------------------


def test_token_guards_everything_but_the_archived_frame(token_server, archive):
    srv = token_server
    for path in (
        "/",
        "/api/status",
        "/changes.atom",
        f"/snapshot/2026/{archive.news}",
        "/diff?" + q(url=archive.news),
    ):
        got, headers, _ = srv.get(path)
        assert got == 401 and headers["WWW-Authenticate"].startswith("Bearer"), path
    assert "token" in srv.json("/api/status", status=401)["error"]
    auth = {"Authorization": f"Bearer {TOKEN}"}
    assert srv.json("/api/status", headers=auth)["targets"][0]["name"] == "site-a"
    assert srv.get("/api/status", {"Authorization": "Bearer wrong-token-0123456789"})[0] == 401
    # a browser: ?token= once sets an HttpOnly cookie and drops the token from the address
    got, headers, _ = srv.get("/url?" + q(url=archive.news, token=TOKEN))
    assert got == 303 and headers["Location"] == "/url?" + q(url=archive.news)
    cookie = headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and TOKEN not in cookie
    jar = {"Cookie": cookie.split(";")[0]}
    assert srv.get("/url?" + q(url=archive.news), jar)[0] == 200
    assert srv.get("/?" + q(token="not-the-token-at-all"))[0] == 401
    # the archived frame: no token, but a key in its path that opens archived payloads only
    html = srv.get(f"/snapshot/2026/{archive.news}", auth)
    assert html[0] == 302
    html = srv.get(html[1]["Location"], auth)[2].decode()
    src = re.search(r'<iframe[^>]*src="([^"]+)"', html).group(1)
    key = src.split("/")[2]
    assert len(key) >= 20 and key not in TOKEN
    assert srv.get(src)[0] == 200
    assert srv.get(src.replace(key, "x" * len(key)))[0] == 404
    assert srv.get(src.replace(f"/{key}", ""))[0] == 404
    assert srv.get(f"/api/status?key={key}")[0] == 401
    assert srv.get(f"/raw/{key}/../api/status")[0] in (400, 404)  # never the API


def test_serve_refuses_a_public_address_without_a_token(archive):
    proc = warcwatch(
        "serve",
        "--config",
        str(archive.config),
        "--host",
        "0.0.0.0",
        "--port",
        "0",
        check=False,
        timeout=30,
    )
    assert proc.returncode == 2, proc.stderr
    assert (
        proc.stderr.strip().count("\n") == 0
        and "refusing to serve on 0.0.0.0 without a token" in proc.stderr
    )


def test_keep_alive_lookups_do_not_wait_on_delayed_acks(server, archive):
    """One keep-alive client: without TCP_NODELAY each answer would wait ~40 ms for a delayed
    ACK."""
    import http.client
    import time

    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    took = []
    for i in range(60):
        t0 = time.perf_counter()
        conn.request("GET", "/api/show?" + q(url=archive.news, at=f"2026{i % 12 + 1:02d}"))
        res = conn.getresponse()
        assert res.status == 200 and json.loads(res.read())["url"] == archive.news
        took.append(time.perf_counter() - t0)
    conn.close()
    assert sorted(took)[30] < 0.02, sorted(took)


def test_serve_reports_a_taken_port_in_one_line(server, archive):
    proc = warcwatch(
        "serve",
        "--config",
        str(archive.config),
        "--port",
        str(server.port),
        check=False,
        timeout=30,
    )
    assert (
        proc.returncode == 2
        and proc.stderr.strip().count("\n") == 0
        and "cannot listen" in proc.stderr
    )


@pytest.mark.parametrize(
    "host, loopback",
    [
        ("127.0.0.1", True),
        ("127.1.2.3", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.10", False),
        ("example.org", False),
    ],
)
def test_loopback_addresses(host, loopback):
    assert is_loopback(host) is loopback


@pytest.mark.parametrize(
    "section, message",
    [
        ('token = "short"', "at least 16 characters"),
        ('token = "has spaces in it, sixteen+"', "without spaces"),
        ("token = 12345678901234567890", "at least 16"),
        ("port = 70000", "between 0 and 65535"),
        ('port = "8080"', "expected a number"),
        ("bind = 1", "unknown field"),
    ],
    ids=["short-token", "spaced-token", "number-token", "port-range", "port-string", "unknown"],
)
def test_serve_section_is_validated(tmp_path, section, message):
    path = tmp_path / "w.toml"
    path.write_text(f'[archive]\ndir = "a"\n\n[serve]\n{section}\n')
    with pytest.raises(ConfigError, match=message) as err:
        load_config(path)
    assert str(err.value).startswith(f"{path}:5:")


def test_serve_section_defaults(tmp_path):
    path = tmp_path / "w.toml"
    path.write_text(f'[serve]\nhost = "::1"\nport = 9000\ntoken = "{TOKEN}"\n')
    serve = load_config(path).serve
    assert (serve.host, serve.port, serve.token) == ("::1", 9000, TOKEN)
    path.write_text('[archive]\ndir = "a"\n')
    assert load_config(path).serve == type(serve)()


def test_paths_carry_archived_query_strings(server, archive):
    """An archived URL's own query string travels in the snapshot path (Wayback style)."""
    url = archive.news + "?b=2&a=1"  # SURT-equal to news.html?a=1&b=2, not captured: 404
    got = server.get(f"/raw/2026/{quote(url, safe=':/?&=')}")[0]
    assert got == 404


def test_a_304_revisit_shows_the_page_it_refers_to(site, tmp_path):
    """The latest snapshot of an unchanged page is usually a server-not-modified revisit: the UI
    shows the archived page it stands for, not "Archived redirect (304)"."""
    from tests.conftest import crawl, write_config
    from tests.httpserver import page
    from tests.monitor.webarchive import Server

    site.routes["/statement"] = page(
        "<html><body><p>The ministry denies the report.</p></body></html>", etag='"v1"'
    )
    url = site.url("/statement")
    config = write_config(tmp_path, [{"name": "t", "url": url}])
    crawl(config)
    crawl(config)  # answered 304: a revisit
    caps = json.loads(warcwatch("captures", url, "--config", str(config), "--json").stdout)
    assert [c["kind"] for c in caps] == ["response", "revisit"] and caps[-1]["status"] == 304
    srv = Server(config)
    try:
        status, _, body = srv.get(f"/snapshot/{caps[-1]['timestamp']}/{url}")
        assert status in (200, 302)
        src = re.search(rb'<iframe[^>]+src="([^"]+)"', body)
        assert src, body[:500]
        status, _, framed = srv.get(src.group(1).decode().replace("&amp;", "&"))
        assert status == 200
        assert b"The ministry denies the report." in framed and b"Archived redirect" not in framed
    finally:
        srv.stop()


# --- revisits show the content they refer to
# ----------------------------------------------------------


@pytest.fixture(scope="module")
def not_modified(tmp_path_factory):
    """An archive where the second pass got a 304 (the page answers conditional GETs) for a page."""
    from tests.conftest import crawl, write_config
    from tests.httpserver import SiteServer, page

    tmp = tmp_path_factory.mktemp("web304")
    site = SiteServer().start()
    site.routes.update(
        {
            "/p.html": page(
                "<html><body><article><p>Stable words here.</p></article></body></html>",
                etag='"v1"',
            )
        }
    )
    config = write_config(tmp, [{"name": "p", "url": site.url("/p.html"), "kind": "page"}])
    crawl(config)
    crawl(config)
    srv = Server(config)
    yield srv, config, site.url("/p.html")
    srv.stop()
    site.stop()


def test_a_304_revisit_shows_the_archived_page_unchanged_since_its_original(not_modified):
    srv, config, url = not_modified
    caps = json.loads(warcwatch("captures", url, "--config", str(config), "--json").stdout)
    assert [(c["kind"], c["status"]) for c in caps] == [("response", 200), ("revisit", 304)]
    first, latest = caps[0]["timestamp"], caps[1]["timestamp"]
    html = _html(srv, f"/snapshot/{latest}/{url}")
    assert "unchanged since" in html and "Archived redirect" not in html
    got, headers, body = srv.get(f"/raw/{latest}/{url}")
    assert got == 200 and headers["Content-Type"].startswith("text/html")
    assert b"Stable words here." in body and b"Archived redirect" not in body
    assert body.decode() == warcwatch("show", url, "--at", latest, "--config", str(config)).stdout
    timeline = _html(srv, "/url?" + q(url=url))
    assert "unchanged since" in timeline and f"/snapshot/{first}" in timeline
