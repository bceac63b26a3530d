"""The archivist's commands: `captures` (every capture of a URL), `show` (a capture read back,
Wayback style), `export` (WARC or WACZ) and `index --cdxj` (an index pywb can use as-is).

Imports stay inside the commands, and none of them imports Scrapy: a lookup is a process start,
two index probes and one gzip member read.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from monitor.cli.common import EXIT_OK, config_option, fail, load, nothing
from monitor.errors import WarcwatchError


def _timestamp(pad: str):
    def check(_ctx, param, value: str | None) -> str | None:
        if value is None:
            return None
        from storage.timestamps import parse_timestamp

        try:
            parse_timestamp(value, pad)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param=param) from None
        return value

    return check


def _catalog(config_path: str | None):
    from storage.catalog import open_catalog

    config = load(config_path, required=False)
    return config, open_catalog(config.archive.database_url)


def _write(data: bytes) -> None:
    out = sys.stdout.buffer
    try:
        out.write(data)
        out.flush()
    except BrokenPipeError:  # `warcwatch show … | head`
        sys.exit(EXIT_OK)


@click.command()
@click.argument("url")
@config_option
@click.option("--json", "as_json", is_flag=True, help="a JSON array on stdout")
def captures(url: str, config_path: str | None, as_json: bool) -> None:
    """Every capture of URL, oldest first."""
    try:
        config = load(config_path, required=False)
        rows = _capture_rows(config.archive.database_url, url)
    except WarcwatchError as exc:
        fail(exc)
    if as_json:
        click.echo(json.dumps(rows, indent=1))
        return
    if not rows:
        nothing(f"no captures of {url}")
    for line in _captures_table(rows):
        click.echo(line)


def _captures_table(rows: list[dict]) -> list[str]:
    """`captures`' lines: a header, one row per capture (its id and exact time, both usable in
    `show --id` / `show --at`), the location (or the failure's reason) last and never cut."""
    from monitor.cli.table import render, terminal_width

    headers = ("ID", "TIME (UTC)", "KIND", "STATUS", "DIGEST", "NOTE", "LOCATION")
    cells = [
        (
            str(r["id"]),
            r["warc_date"],
            r["kind"],
            str(r["status"] or "-"),
            (r["digest"] or "").partition(":")[2][
                :8
            ],  # enough to tell payloads apart; --json has it whole
            r["purpose"] or "",
            f"{r['warc_file']}:{r['offset']}" if r["warc_file"] else r.get("reason") or "",
        )
        for r in rows
    ]
    return render(headers, cells, right=(0, 3), width=terminal_width())


def _capture_rows(database_url: str, url: str) -> list[dict]:
    """`captures`' rows, through `storage.reader.open_lookup` (sqlite3 alone on a current SQLite
    catalog: no SQLAlchemy import)."""
    from storage.reader import open_lookup

    with open_lookup(database_url) as lookup:
        return [c.as_json() for c in lookup.captures_of(url)]


@click.command()
@click.argument("url", required=False)
@click.option(
    "--at",
    "at",
    metavar="TIMESTAMP",
    callback=_timestamp("up"),
    help="YYYYMMDDhhmmss, a prefix of it (Wayback style), up to 6 more digits for the fraction "
    "of the second, or ISO 8601 (2026-12-03T07:40:01.5Z); default: the latest",
)
@click.option(
    "--id",
    "capture_id",
    type=click.IntRange(min=1),
    metavar="ID",
    help="the capture with this id (the first column of `captures`), instead of URL and --at",
)
@click.option("--text", "as_text", is_flag=True, help="the page's extracted text")
@click.option(
    "--raw", "as_raw", is_flag=True, help="the HTTP response as archived (head and encoded body)"
)
@click.option("--headers", "as_headers", is_flag=True, help="the HTTP status line and headers")
@config_option
def show(
    url: str | None,
    at: str | None,
    capture_id: int | None,
    as_text: bool,
    as_raw: bool,
    as_headers: bool,
    config_path: str | None,
) -> None:
    """The capture of URL nearest TIMESTAMP (or capture ID): its payload (decoded), text, raw
    response or headers."""
    if as_text + as_raw + as_headers > 1:
        raise click.UsageError("choose one of --text, --raw, --headers")
    if capture_id is None and url is None:
        raise click.UsageError("give a URL (with --at TIMESTAMP, optional) or --id ID")
    if capture_id is not None and at is not None:
        raise click.UsageError("--id names one capture: leave out --at")
    try:
        config = load(config_path, required=False)
        snap = _snapshot(config, url, at, capture_id)
        c, origin = snap.capture, snap.origin
        if url is not None and capture_id is not None and _surt(url) != _surt(c.url):
            raise WarcwatchError(f"capture {capture_id} is of {c.url}, not {url}")
        note = f"{c.timestamp} {c.kind} {c.status} {c.url} (id {c.id}, {c.warc_date})"
        if snap.is_revisit:
            note += f" (payload of {origin.timestamp}, id {origin.id})"
        click.echo(note, err=True)
        if as_headers:
            _write(snap.http_head)
        elif as_raw:
            _write(snap.raw())
        elif as_text:
            _write(_text(snap).encode("utf-8"))
        else:
            for chunk in snap.decoded():
                _write(chunk)
    except WarcwatchError as exc:
        fail(exc)


def _surt(url: str) -> str:
    from storage.surt import surt

    return surt(url)


def _snapshot(config, url: str | None, at: str | None, capture_id: int | None = None):
    """The snapshot `show` prints, through `storage.reader.open_lookup` (sqlite3 alone when the
    catalog is a current SQLite file: no SQLAlchemy import, most of a lookup's start-up time)."""
    from storage.reader import open_lookup

    with open_lookup(config.archive.database_url) as lookup:
        return lookup.snapshot(config.archive.warcs, url, at, capture_id)


def _text(snap) -> str:
    from monitor.extract import extract

    payload = b"".join(snap.decoded())
    page = extract(payload, snap.origin.mime, snap.content_type(), url=snap.capture.url)
    for note in page.notes:  # a fallback extraction took (on stderr, beside the capture line)
        click.echo(f"extraction: {note}", err=True)
    lines = ([page.title, ""] if page.title else []) + list(page.lines)
    return "\n".join(lines) + "\n"


@click.command()
@click.option(
    "--out",
    "out",
    required=True,
    metavar="FILE.warc.gz|FILE.wacz",
    type=click.Path(dir_okay=False),
    help="the file to write; its suffix chooses WARC or WACZ",
)
@click.option(
    "--url", "urls", multiple=True, metavar="URL", help="only captures of URL (repeatable)"
)
@click.option("--target", metavar="NAME", help="only captures of this target")
@click.option(
    "--since", metavar="TIMESTAMP", callback=_timestamp("down"), help="captures from (included)"
)
@click.option(
    "--until", metavar="TIMESTAMP", callback=_timestamp("up"), help="captures until (included)"
)
@click.option(
    "--sign",
    is_flag=True,
    help=(
        "WACZ only: sign datapackage-digest.json with the archive's ECDSA P-384 key (`key --show`)"
    ),
)
@click.option(
    "--signing-url",
    metavar="URL",
    help="WACZ only: have an authsign-compatible server (its /sign endpoint) sign instead",
)
@click.option(
    "--signing-token",
    metavar="TOKEN",
    envvar="WARCWATCH_SIGNING_TOKEN",
    help="the bearer token of --signing-url (or $WARCWATCH_SIGNING_TOKEN)",
)
@config_option
def export(
    out: str,
    urls: tuple[str, ...],
    target: str | None,
    since: str | None,
    until: str | None,
    sign: bool,
    signing_url: str | None,
    signing_token: str | None,
    config_path: str | None,
) -> None:
    """A subset of the archive as one WARC file or a WACZ package (signed with --sign)."""
    path = Path(out)
    if not (path.name.endswith(".warc.gz") or path.suffix == ".wacz"):
        raise click.BadParameter("must end in .warc.gz or .wacz", param_hint="--out")
    if (sign or signing_url) and path.suffix != ".wacz":
        raise click.BadParameter("only a WACZ (.wacz) is signed", param_hint="--sign")
    if signing_url and not signing_url.startswith(("http://", "https://")):
        raise click.BadParameter("expected an http(s) URL", param_hint="--signing-url")
    if not path.parent.is_dir():
        raise click.BadParameter(f"{path.parent} is not a directory", param_hint="--out")
    from sqlalchemy.orm import Session

    from storage.export import Selection, write_warc

    selection = Selection(urls=urls, target=target, since=since, until=until)
    signed_by = ""
    try:
        config, engine = _catalog(config_path)
        with Session(engine) as s:
            if path.suffix == ".wacz":
                from storage.wacz import write_wacz

                signer, signed_by = _signer(config, sign, signing_url, signing_token)
                result = write_wacz(s, config.archive.warcs, selection, path, sign=signer)
            else:
                result = write_warc(s, config.archive.warcs, selection, path)
    except WarcwatchError as exc:
        fail(exc)
    _log_export(engine, path, selection, result)
    click.echo(
        f"wrote {path}: {len(result.selected)} captures, {result.revisit_targets} revisit targets, "
        f"{result.records} WARC records, {path.stat().st_size} bytes{signed_by}"
    )


def _log_export(engine, path: Path, selection, result) -> None:
    """An export is a custody action: the evidence log says what left the archive, as which
    bytes. A catalog on read-only media takes no entry (said on stderr, the export stands)."""
    import hashlib

    from sqlalchemy.exc import SQLAlchemyError
    from sqlalchemy.orm import Session

    from storage.evidence.log import log_custody

    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    details = {
        "out": str(path.resolve()),
        "sha256": h.hexdigest(),
        "selection": selection.describe(),
        "records": [c.record_id for c, _ in result.written],
    }
    try:
        with Session(engine) as s, s.begin():
            log_custody(s, "export", details)
    except SQLAlchemyError as exc:
        cause = getattr(exc, "orig", None) or exc
        click.echo(f"warcwatch: the export is not in the evidence log: {cause}", err=True)


def _signer(config, sign: bool, signing_url: str | None, token: str | None):
    """The WACZ signer asked for (None for none), and the words saying who signed."""
    from importlib.metadata import version

    from storage.evidence import wacz_signing

    if signing_url:
        return wacz_signing.remote_signer(signing_url, token), f", signed by {signing_url}"
    if not sign:
        return None, ""

    def made(key: wacz_signing.SigningKey) -> None:
        click.echo(
            f"made the archive's WACZ signing key {key.fingerprint} ({key.path}): "
            "back it up, and publish its public key (`warcwatch key --show`)",
            err=True,
        )

    key, signer = wacz_signing.local_signer(
        config.archive.dir, f"warcwatch {version('warcwatch')}", on_created=made
    )
    return signer, f", signed with ECDSA P-384 key {key.fingerprint}"


@click.command()
@click.option("--cdxj", "cdxj", is_flag=True, help="CDXJ, sorted, as pywb's cdxj-indexer writes it")
@click.option(
    "--out", "out", metavar="FILE", type=click.Path(dir_okay=False), help="default: stdout"
)
@config_option
def index(cdxj: bool, out: str | None, config_path: str | None) -> None:
    """An index of every response and revisit in the archive (for pywb:
    collections/NAME/indexes/)."""
    if not cdxj:
        raise click.UsageError("choose an index format: --cdxj")
    from sqlalchemy.orm import Session

    from storage.cdxj import write_index

    try:
        config, engine = _catalog(config_path)
        with Session(engine) as s:
            if out is None:
                write_index(s, sys.stdout)
                return
            path = Path(out)
            part = path.with_name(path.name + ".part")
            with open(part, "w", encoding="utf-8") as f:
                n = write_index(s, f)
            part.replace(path)
            click.echo(f"wrote {path}: {n} lines", err=True)
    except BrokenPipeError:  # `warcwatch index --cdxj | head`
        sys.stderr.close()
        sys.exit(EXIT_OK)
    except OSError as exc:
        fail(WarcwatchError(f"cannot write {out}: {exc.strerror or exc}"))
    except WarcwatchError as exc:
        fail(exc)
