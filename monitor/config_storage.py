"""The watchlist's `[archive]` fields that say where WARC files are kept: `warc_dir`, a local
folder (default: `dir/warcs`) or an S3-compatible bucket (`s3://bucket/prefix`, storage.objects);
with a bucket, `spool_dir` (default `dir/warcs`) is the local folder files are written in until
they are uploaded, and `s3_endpoint_url`, `s3_region`, `s3_access_key_id`,
`s3_secret_access_key` say how to reach it (each unset one from the standard AWS environment).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from monitor.tomltext import toml_text

S3_KEYS = ("s3_endpoint_url", "s3_region", "s3_access_key_id", "s3_secret_access_key")
# the TOML key of each ArchiveSettings field named otherwise (`warc_dir` is a URL or a folder)
STORAGE_KEYS = {"warc_dir": "warc_objects", "spool_dir": "warc_local"}


def storage_value(key: str, value: object) -> str | Path:
    """A storage field's value as given, checked; ValueError naming what is wrong."""
    if not isinstance(value, str) or not value.strip():
        what = "an s3://bucket/prefix URL or a folder" if key == "warc_dir" else "a string"
        raise ValueError(f"expected {what}, got {toml_text(value)}")
    if key == "warc_dir" and "://" in value:
        if not value.startswith("s3://") or not value.removeprefix("s3://").strip("/"):
            raise ValueError(
                f"{value!r}: expected an s3://bucket/prefix URL (S3-compatible object storage) "
                "or a local folder"
            )
        return value.rstrip("/")
    if key in ("warc_dir", "spool_dir"):
        return Path(value)
    if key == "s3_endpoint_url" and not value.startswith(("http://", "https://")):
        raise ValueError(f"expected an http:// or https:// URL, got {value!r}")
    return value


def storage_fields(values: dict, fail: Callable[[str, str], Exception]) -> dict:
    """The [archive] section's storage fields (TOML keys, checked) as ArchiveSettings fields:
    `warc_dir` is `warc_objects` when a URL, `warc_local` when a folder."""
    objects = values.pop("warc_dir", None)
    spool = values.pop("spool_dir", None)
    if isinstance(objects, Path):
        if spool is not None:
            raise fail("spool_dir", "is for an s3:// warc_dir: a local warc_dir is written to")
        objects, spool = None, objects
    if objects is None:
        for key in S3_KEYS:
            if key in values:
                raise fail(key, "is for an s3:// warc_dir (warc_dir is a local folder)")
    return {"warc_objects": objects, "warc_local": spool}


def resolve(local: Path | None, base: Path) -> Path | None:
    """A relative folder of the watchlist, relative to the watchlist's own folder (as `dir`)."""
    return None if local is None or local.is_absolute() else base / local
