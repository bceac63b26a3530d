"""`warcwatch verify` and `warcwatch receipt`: the evidence log (storage.evidence) on the command
line. The checkpoint key is shown and rotated by `warcwatch key` (monitor.cli.keys)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from monitor.cli.common import EXIT_NOTHING, config_option, fail, load
from monitor.errors import WarcwatchError


def _catalog(config_path: str | None):
    from storage.catalog import open_catalog

    config = load(config_path, required=False)
    return config, open_catalog(config.archive.database_url)


@click.command()
@click.argument("receipt", required=False, type=click.Path(path_type=Path))
@config_option
@click.option(
    "--key",
    "published",
    metavar="KEY",
    help="with RECEIPT: the archive's published key (SHA-256 fingerprint, PEM file or verifier "
    "key) that must have signed it",
)
@click.option("--json", "as_json", is_flag=True, help="the report as a JSON object on stdout")
def verify(
    receipt: Path | None, config_path: str | None, published: str | None, as_json: bool
) -> None:
    """Re-check the whole archive against its evidence log, or one RECEIPT (a folder or its
    receipt.json) offline. Exit 0 when intact, 1 naming each problem."""
    if published is not None and receipt is None:
        raise click.UsageError("--key checks a RECEIPT: give one")
    if receipt is not None:
        from storage.evidence.receipt import published_fingerprint, verify_receipt

        try:
            fingerprint = published_fingerprint(published) if published else None
            result = verify_receipt(receipt, fingerprint)
        except WarcwatchError as exc:
            fail(exc)
        report = result.as_json()
        lines = [f"{receipt}: {p}" for p in result.problems]
        summary = result.summary()
    else:
        from storage.evidence.verify import verify_archive

        try:
            config, engine = _catalog(config_path)
            archive = verify_archive(engine, config.archive.dir, config.archive.warcs)
        except WarcwatchError as exc:
            fail(exc)
        report = archive.as_json()
        lines = [p.line() for p in archive.problems]
        summary = (
            f"{archive.entries} log entries, {archive.checkpoints} checkpoints, "
            f"{archive.records} records ({archive.bytes_read} bytes) and {archive.captures} "
            f"captures and {archive.events} events checked"
            + (
                f"; {archive.unsigned} entries not yet under a checkpoint"
                if archive.unsigned
                else ""
            )
            + (f"; {archive.unlogged} rows predate the log" if archive.unlogged else "")
        )
    if as_json:
        click.echo(json.dumps(report, indent=1, ensure_ascii=False))
    else:
        for line in lines:
            click.echo(line)
        click.echo(("TAMPERED OR DAMAGED: " if lines else "intact: ") + summary, err=bool(lines))
    if lines:
        raise SystemExit(EXIT_NOTHING)


@click.command()
@click.argument("event_id", type=int)
@click.option(
    "--out",
    "out",
    metavar="DIR",
    type=click.Path(file_okay=False, path_type=Path),
    help="the bundle's folder (default ./receipt-EVENT_ID)",
)
@config_option
def receipt(event_id: int, out: Path | None, config_path: str | None) -> None:
    """A self-contained, signed receipt of change event EVENT_ID: receipt.json and a WACZ of
    the two captures, checked offline by `warcwatch verify DIR`."""
    from storage.evidence.receipt import write_receipt

    out = out or Path(f"receipt-{event_id}")
    try:
        config, engine = _catalog(config_path)
        written = write_receipt(engine, config.archive.dir, config.archive.warcs, event_id, out)
    except WarcwatchError as exc:
        fail(exc)
    click.echo(f"wrote {written}")
