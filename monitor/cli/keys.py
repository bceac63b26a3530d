"""`warcwatch key`: the archive's signing identity, as it is published for others to check
signatures with (fingerprints and public keys, never a private key).

Each kind of key says what it is in its own module; this command lists what they report
(`IDENTITIES`: name → a function of the archive directory returning the identity, or None when
that key has not been made yet — keys are made on first use, not by showing them).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import click

from monitor.cli.common import config_option, fail, load
from monitor.errors import WarcwatchError


def _wacz(archive_dir: Path) -> dict | None:
    from storage.evidence.wacz_signing import identity

    return identity(archive_dir)


def _checkpoints(archive_dir: Path) -> dict | None:
    from storage.evidence.keys import identity

    return identity(archive_dir)


IDENTITIES: dict[str, Callable[[Path], dict | None]] = {
    "wacz": _wacz,
    "checkpoints": _checkpoints,
}
_MADE_BY = {
    "wacz": "the first `warcwatch export --out F.wacz --sign`",
    "checkpoints": "the first pass, or `warcwatch key --rotate`",
}


@click.command()
@click.option("--show", is_flag=True, help="show the keys' fingerprints and public keys (default)")
@click.option(
    "--rotate",
    is_flag=True,
    help="replace the checkpoint key with a new one (logged; the next checkpoint signed by both)",
)
@click.option("--json", "as_json", is_flag=True, help="a JSON object on stdout")
@config_option
def key(show: bool, rotate: bool, as_json: bool, config_path: str | None) -> None:
    """The archive's signing identity: fingerprints and public keys."""
    try:
        config = load(config_path, required=False)
        if rotate:
            _rotate(config)
        found = {name: get(config.archive.dir) for name, get in IDENTITIES.items()}
    except WarcwatchError as exc:
        fail(exc)
    if as_json:
        click.echo(json.dumps(found, indent=1))
        return
    for name, ident in found.items():
        if ident is None:
            click.echo(f"{name}: no key yet (made by {_MADE_BY.get(name, 'its first use')})")
            continue
        click.echo(f"{name}: {ident['use']}")
        click.echo(f"  algorithm    {ident['algorithm']}")
        click.echo(f"  fingerprint  {ident['fingerprint']}")
        click.echo(f"  public key   {ident['public_key']}")
        click.echo(f"  file         {ident['path']}")
        if "verifier_key" in ident:
            click.echo(f"  note key     {ident['verifier_key']}")
        for old in ident.get("retired", []):
            click.echo(f"  retired      {old['fingerprint']} (key id {old['key_id']})")


def _rotate(config) -> None:
    """A new checkpoint key (made, if the archive has none yet); the old one's public half stays
    published, and the rotation is in the evidence log."""
    from storage.catalog import open_catalog
    from storage.evidence import keys
    from storage.evidence.checkpoint import rotate_key, signing_key

    engine = open_catalog(config.archive.database_url)
    try:
        if keys.load(config.archive.dir) is None:
            signing_key(engine, config.archive.dir)
        else:
            rotate_key(engine, config.archive.dir)
    finally:
        engine.dispose()
