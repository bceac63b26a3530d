"""The daemon and its watchlist, as archivists edit it under a running `warcwatch run`: broken
watchlists are refused and the last good one kept, `reload` says what changed, `status` shows the
newest run whoever ran it, and `run` says what it does when it starts."""

from __future__ import annotations

import json
import re
import signal

from tests.conftest import warcwatch, write_config
from tests.httpserver import page
from tests.monitor.test_daemon import FAST, DaemonProc, _no_daemon_left_behind, db_rows  # noqa: F401


def _jobs(d: DaemonProc) -> dict[str, float]:
    return {
        r["id"]: r["next_run_time"]
        for r in db_rows(d.archive, "SELECT id, next_run_time FROM apscheduler_jobs")
    }


def _log(d: DaemonProc) -> str:
    return (d.archive / "warcwatch.log").read_text()


def _ok_runs(d: DaemonProc, target: str) -> int:
    return sum(1 for r in d.runs() if r["target"] == target and r["outcome"] == "ok")


def test_a_broken_watchlist_is_refused_and_every_target_goes_on_with_the_last_good_one(
    tmp_path, site
):
    site.routes["/a"] = page("<html><body>a</body></html>")
    site.routes["/b"] = page("<html><body>b</body></html>")
    good = [
        {"name": "often", "url": site.url("/a"), "every": "2s"},
        {"name": "other", "url": site.url("/b"), "every": "1h"},
    ]
    config = write_config(tmp_path, good, crawl=FAST)
    d = DaemonProc(config)
    d.wait_for(lambda: _ok_runs(d, "often") >= 1, timeout=60)
    jobs = _jobs(d)

    broken = {
        "cron": [good[0], {**good[1], "every": None, "cron": "61 25 * * *"}],
        "tags": [good[0], {**good[1], "tags": 5}],
    }
    for i, (field, targets) in enumerate(broken.items(), start=1):
        write_config(
            tmp_path, [{k: v for k, v in t.items() if v is not None} for t in targets], crawl=FAST
        )
        proc = warcwatch("reload", "--config", str(config), check=False)
        assert proc.returncode == 2, proc.stdout + proc.stderr
        (line,) = proc.stderr.splitlines()
        assert f"field {field!r}" in line and "keeps the last good watchlist" in line
        d.proc.send_signal(
            signal.SIGHUP
        )  # as `kill -HUP` does, whatever `reload` thinks of the file
        d.wait_for(lambda: _log(d).count("jobs.reload-failed") == i, timeout=15)  # noqa: B023
        (logged,) = [x for x in _log(d).splitlines() if "jobs.reload-failed" in x][i - 1 :]
        assert f"field '{field}'" in logged.replace('\\"', '"') and "last good watchlist" in logged
    assert _jobs(d)["target:other"] == jobs["target:other"], "a refused watchlist changes no job"
    assert d.proc.poll() is None and "Traceback" not in d.output()

    # the broken file stays on disk: the scheduled passes go on with the last good watchlist
    runs = _ok_runs(d, "often")
    d.wait_for(lambda: _ok_runs(d, "often") >= runs + 2, timeout=60)
    failed = [r for r in d.runs() if r["outcome"] == "failed"]
    assert not failed, failed

    # a good watchlist is taken again
    write_config(
        tmp_path, [*good, {"name": "new", "url": site.url("/b"), "every": "2s"}], crawl=FAST
    )
    proc = warcwatch("reload", "--config", str(config))
    assert proc.stdout.strip() == "watchlist reloaded: added new; unchanged 2"
    d.wait_for(lambda: _ok_runs(d, "new") >= 1, timeout=60)
    assert d.stop() == 0, d.output()


def test_reload_and_restart_keep_the_next_run_of_an_unchanged_target_and_say_so(tmp_path, site):
    site.routes["/a"] = page("<html><body>a</body></html>")
    targets = [
        {"name": "hourly", "url": site.url("/a"), "every": "1h"},
        {"name": "nightly", "url": site.url("/a"), "cron": "0 3 * * *"},
        {"name": "edited", "url": site.url("/a"), "every": "6h"},
    ]
    config = write_config(tmp_path, targets, crawl=FAST)
    d = DaemonProc(config)
    before = d.wait_for(lambda: _jobs(d) if len(_jobs(d)) == 3 else None, timeout=30)

    assert (
        warcwatch("reload", "--config", str(config)).stdout.strip()
        == "watchlist reloaded: unchanged 3"
    )
    assert _jobs(d) == before

    # a new URL for one target (its schedule as it was), a new schedule for another
    targets[2] = {**targets[2], "url": site.url("/a?v=2")}
    targets[0] = {**targets[0], "every": "2h"}
    write_config(tmp_path, targets, crawl=FAST)
    out = warcwatch("reload", "--config", str(config)).stdout.strip()
    assert out == "watchlist reloaded: changed edited, hourly (rescheduled); unchanged 1"
    after = _jobs(d)
    assert (
        after["target:edited"] == before["target:edited"]
        and after["target:nightly"] == before["target:nightly"]
    )
    assert after["target:hourly"] != before["target:hourly"]
    assert d.stop() == 0, d.output()
    # each reload is a custody action in the evidence log: which file, as which bytes (issue 12)
    import hashlib
    import json
    import sqlite3

    with sqlite3.connect(config.parent / "archive" / "catalog.sqlite") as c:
        reloads = [
            json.loads(e)["details"]
            for (e,) in c.execute("SELECT entry FROM evidence_log WHERE kind = 'custody'")
            if json.loads(e)["action"] == "watchlist-reload"
        ]
    assert [r["changed"] for r in reloads] == [[], ["edited", "hourly"]]
    assert reloads[-1]["sha256"] == hashlib.sha256(config.read_bytes()).hexdigest()

    # a restart with the same watchlist replaces no next run either
    d2 = DaemonProc(config)
    d2.wait_for(lambda: d2.output().count("daemon.start pid=") == 2, timeout=30)
    assert _jobs(d2) == after
    last_reconcile = re.findall(r"jobs\.reconcile why=start (.*)", d2.output())[-1]
    assert last_reconcile == "added=[] rescheduled=[] removed=[] kept=3"
    assert d2.stop() == 0, d2.output()


def test_status_shows_the_newest_run_whoever_ran_it_and_no_schedule_while_the_daemon_is_stopped(
    tmp_path, site
):
    site.routes["/a"] = page("<html><body>a</body></html>")
    config = write_config(
        tmp_path, [{"name": "a", "url": site.url("/a"), "every": "2s"}], crawl=FAST
    )
    d = DaemonProc(config)
    d.wait_for(lambda: _ok_runs(d, "a") >= 1, timeout=60)
    assert d.stop() == 0, d.output()
    daemon_runs = {r["run_id"] for r in d.runs()}

    manual = json.loads(
        warcwatch("crawl", "--config", str(config), "--json").stdout.splitlines()[-1]
    )
    assert manual["run"] not in daemon_runs
    status = json.loads(warcwatch("status", "--config", str(config), "--json").stdout)
    (target,) = status["targets"]
    assert not status["daemon"]["running"]
    assert target["last_run"]["run"] == manual["run"] and target["last_run"]["outcome"] == "ok"
    assert target["last_run"]["pages"] == 1 and target["last_run"]["failures"] == 0
    assert target["next_run"] is None, "a stopped daemon schedules nothing"
    assert _jobs(d), "the job table still holds the stopped daemon's next run"

    text = warcwatch("status", "--config", str(config)).stdout
    assert text.startswith("daemon: not running")
    row = next(line for line in text.splitlines() if line.startswith("a "))
    assert row.rstrip().endswith("not running"), row


def test_run_prints_a_start_line_with_its_targets_log_and_web_ui(tmp_path, site):
    site.routes["/a"] = page("<html><body>a</body></html>")
    config = write_config(
        tmp_path,
        [
            {"name": "a", "url": site.url("/a"), "every": "1h"},
            {"name": "by-hand", "url": site.url("/a")},
        ],
        crawl=FAST,
    )
    d = DaemonProc(config)
    d.wait_for(lambda: "warcwatch: watching" in d.output(), timeout=30)
    assert d.stop() == 0
    (line,) = [
        x
        for x in (tmp_path / "daemon.out").read_text().splitlines()
        if x.startswith("warcwatch: watching")
    ]
    assert "watching 2 targets (1 scheduled)" in line
    assert f"log: {d.archive.resolve() / 'warcwatch.log'}" in line
    assert f"web UI: warcwatch serve --config {config.resolve()}" in line
