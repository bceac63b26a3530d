"""The daemon's commands: `run`, `status`, `reload`, `repair` (and the hidden `_worker` the daemon
starts for each pass). `status`, `reload` and `repair` import neither Scrapy nor APScheduler."""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

import click

from monitor.cli.common import config_option, fail, load
from monitor.errors import WarcwatchError


def _seconds(_ctx, param, value):
    from monitor.config import parse_duration

    if value is None:
        return None
    try:
        return (
            parse_duration(value) if not str(value).replace(".", "", 1).isdigit() else float(value)
        )
    except ValueError as exc:
        raise click.BadParameter(str(exc), param=param) from None


def _pass_limits(f):
    """--run-timeout and --grace, which the daemon and a cluster worker share."""
    f = click.option(
        "--grace",
        callback=_seconds,
        default="30s",
        show_default=True,
        help="on SIGTERM, how long running passes may finish",
    )(f)
    return click.option(
        "--run-timeout",
        callback=_seconds,
        default="1h",
        show_default=True,
        help="terminate a pass running longer",
    )(f)


@click.command()
@config_option
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    help="passes that may run at once (default: CPUs, at least 2)",
)
@_pass_limits
@click.option(
    "--batch-window",
    callback=_seconds,
    default="0.2",
    show_default=True,
    help="targets due within this share a pass",
)
@click.option(
    "--log-file",
    type=click.Path(dir_okay=False),
    help="rotated log (default ARCHIVE_DIR/warcwatch.log)",
)
def run(config_path, workers, run_timeout, grace, batch_window, log_file) -> None:
    """Run the daemon: every target on its schedule, until SIGTERM or SIGINT. SIGHUP re-reads the
    watchlist."""
    from monitor.daemon import Daemon, DaemonOptions

    try:
        config = load(config_path)
        options = DaemonOptions(
            run_timeout=run_timeout,
            grace=grace,
            batch_window=batch_window,
            log_file=Path(log_file) if log_file else None,
            **({"workers": workers} if workers else {}),
        )
        if config.cluster.distributed:  # passes run in `warcwatch worker` processes
            from monitor.cluster.leader import ClusterScheduler

            _cluster_logging()
            sys.exit(ClusterScheduler.open(config.file, options).run())
        sys.exit(Daemon.open(config.file, options).run())
    except WarcwatchError as exc:
        fail(exc)


def _cluster_logging() -> None:
    """A cluster's processes log their events on stderr (the journal under systemd): several of
    them may share an archive folder, and one rotating log file cannot take several writers."""
    import importlib.util
    import logging

    if importlib.util.find_spec("procrastinate") is None:
        raise WarcwatchError(
            '[cluster] runner = "procrastinate" needs procrastinate: '
            "pip install 'warcwatch[cluster]'"
        )
    logging.getLogger("monitor").setLevel(logging.INFO)
    logging.getLogger("apscheduler").setLevel(logging.ERROR)


@click.command("worker")
@config_option
@click.option(
    "--concurrency",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="passes this worker runs at once",
)
@_pass_limits
def cluster_worker(config_path, concurrency, run_timeout, grace) -> None:
    """Run the passes the scheduler queues (`[cluster] runner = "procrastinate"`), each in a
    child process, until SIGTERM or SIGINT."""
    from monitor.cluster.worker import WorkerOptions, worker_main

    try:
        config = load(config_path)
        if not config.cluster.distributed:
            raise WarcwatchError(
                f"{config.path}: [cluster] runner is {config.cluster.runner!r}: `warcwatch run` "
                'runs the passes itself (set runner = "procrastinate" to queue them for workers)'
            )
        _cluster_logging()
        opts = WorkerOptions(concurrency=concurrency, run_timeout=run_timeout, grace=grace)
        sys.exit(worker_main(config.file, opts))
    except WarcwatchError as exc:
        fail(exc)


@click.command()
@config_option
@click.option(
    "--tag",
    "tags",
    multiple=True,
    metavar="TAG",
    help="only the targets with this tag (repeatable)",
)
@click.option("--json", "as_json", is_flag=True, help="a JSON object on stdout")
def status(config_path, tags, as_json) -> None:
    """Targets, their schedule, last and next run, last result and error counts; the daemon's pid
    and uptime."""
    from monitor.status import collect_status, render_text

    try:
        config = load(config_path)
        result = collect_status(config, only=config.select(tags=tags) if tags else None)
    except WarcwatchError as exc:
        fail(exc)
    click.echo(json.dumps(result, indent=1) if as_json else render_text(result))


@click.command()
@config_option
def reload(config_path) -> None:
    """Make the running daemon re-read the watchlist (SIGHUP to the pid in its pidfile) and say
    what it did: targets added, changed, removed and unchanged, or why it kept the last good one."""
    from monitor import reload as watchlist
    from monitor.status import daemon_info

    try:
        config = load(config_path)
    except WarcwatchError as exc:  # not worth a signal: the daemon would refuse it too
        fail(
            WarcwatchError(f"{exc} (not reloaded: a running daemon keeps the last good watchlist)")
        )
    try:
        if config.cluster.distributed:
            raise WarcwatchError(
                f"{config.path}: [cluster] runner is 'procrastinate': send SIGHUP to each "
                "`warcwatch run` (systemctl reload warcwatch-scheduler); workers read the "
                "watchlist at each pass"
            )
        info = daemon_info(config.archive.dir)
        if not info["running"]:
            raise WarcwatchError(f"no daemon runs on {config.archive.dir}")
        seq = watchlist.last_seq(config.archive.dir)
        os.kill(info["pid"], signal.SIGHUP)
    except (WarcwatchError, ProcessLookupError) as exc:
        fail(exc)
    outcome = watchlist.wait_outcome(config.archive.dir, seq)
    if outcome is None:
        click.echo(
            f"reload signal sent to pid {info['pid']}; no answer yet (see the daemon's log)",
            err=True,
        )
    elif not outcome.get("ok"):
        fail(
            WarcwatchError(
                f"the daemon (pid {info['pid']}) refused the watchlist: {outcome.get('error')} "
                "(it keeps the last good watchlist)"
            )
        )
    else:
        click.echo(watchlist.describe(outcome))


@click.command()
@config_option
@click.option(
    "--json", "as_json", is_flag=True, help="the repair report as a JSON object on stdout"
)
def repair(config_path, as_json) -> None:
    """Close WARC files a crash left `.open`, drop catalog rows without bytes, catalog records
    without rows, mark dead runs interrupted."""
    from sqlalchemy.exc import SQLAlchemyError

    from monitor.status import daemon_info
    from storage.catalog import open_catalog
    from storage.errors import DiskFull, write_error
    from storage.repair import repair_archive

    try:
        config = load(config_path)
        if daemon_info(config.archive.dir)["running"]:
            raise WarcwatchError("the daemon is running (it repairs on start): stop it first")
        report = repair_archive(open_catalog(config.archive.database_url), config.archive.warcs)
    except DiskFull as exc:  # repair commits as one transaction: nothing half-done
        fail(WarcwatchError(f"{exc}; make room and run `warcwatch repair` again"))
    except WarcwatchError as exc:
        fail(exc)
    except (OSError, SQLAlchemyError) as exc:
        failure = write_error(exc, config.archive.database_url)
        if failure is None:
            raise
        fail(WarcwatchError(f"{failure}; make room and run `warcwatch repair` again"))
    if as_json:
        click.echo(json.dumps(report.as_json()))
        return
    for f in report.files:
        what = (
            "removed (no complete record)"
            if f.removed
            else f"closed, {f.records} records, {f.dropped} bytes cut"
        )
        click.echo(f"{f.name}: {what}")
    for name in report.skipped:
        click.echo(f"{name}: still being written by a running crawl, left alone")
    for o in report.orphans:
        click.echo(
            f"capture {o.capture_id} {o.url}: removed from the catalog ({o.reason} "
            f"in {o.warc_file})"
        )
    for r in report.recatalogued:
        click.echo(
            f"{r.name}: {r.captures + r.requests} records catalogued that the catalog lacked"
            + (" (and the file itself)" if r.file_row else "")
        )
    if report.interrupted_runs:
        click.echo(f"runs marked interrupted: {', '.join(map(str, report.interrupted_runs))}")
    for name in report.uploaded:
        click.echo(f"{name}: uploaded, local copy removed")
    for name in report.upload_failed:
        click.echo(f"{name}: could not be uploaded now, kept local (run `warcwatch repair` again)")
    for name in report.local_removed:
        click.echo(f"{name}: already uploaded, local copy removed")
    if report.clean and not (report.uploaded or report.upload_failed or report.local_removed):
        click.echo("nothing to repair")


@click.command("_worker", hidden=True)
@config_option
def worker(config_path) -> None:
    """One pass for the daemon: target names on stdin, results on stdout."""
    from monitor.daemon import worker_main

    sys.exit(worker_main(config_path))
