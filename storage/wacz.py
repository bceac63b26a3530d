"""Packaging an export as WACZ 1.1.1 (https://specs.webrecorder.net/wacz/1.1.1/): a ZIP holding
the exported WARC (`archive/`, stored uncompressed so replay tools can seek in it), its CDXJ index
(`indexes/index.cdx`: CDXJ lines, named as pywb's `wb-manager add --unpack-wacz` expects), the page
list (`pages/pages.jsonl`), `datapackage.json` with the sha256 of every file, and
`datapackage-digest.json` with the sha256 of that, signed when asked (`signedData`, made by
`storage.evidence.wacz_signing`).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import zipfile
from collections.abc import Callable
from datetime import datetime
from importlib.metadata import version
from pathlib import Path

from sqlalchemy.orm import Session

from storage.cdxj import cdxj_line
from storage.errors import ArchiveError
from storage.export import ExportResult, Selection, write_warc
from storage.models import REQUISITE
from storage.objects import Warcs
from storage.timestamps import iso, iso_second, utcnow

WACZ_VERSION = "1.1.1"
WARC_NAME = "data.warc.gz"
PAGE_MIMES = ("text/html", "application/xhtml+xml", "application/pdf", "text/plain")


def _pages(result: ExportResult) -> list[dict]:
    """Entry points: the selected captures of documents that answered 2xx (a page's requisites,
    an embedded document among them, are no entry point)."""
    pages, seen = [], set()
    for c in result.selected:
        if c.status is None or not 200 <= c.status < 300 or (c.mime or "") not in PAGE_MIMES:
            continue
        if c.purpose == REQUISITE:
            continue
        if (c.url, c.timestamp) in seen:
            continue
        seen.add((c.url, c.timestamp))
        pid = hashlib.sha1(f"{c.timestamp} {c.url}".encode()).hexdigest()[:24]
        pages.append({"id": pid, "url": c.url, "ts": iso(c.timestamp), "title": c.url})
    return pages


def _jsonl(header: dict, rows: list[dict]) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in [header, *rows]).encode()


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return "sha256:" + h.hexdigest()


def write_wacz(
    session: Session,
    warc_dir: Warcs,
    selection: Selection,
    out: Path,
    clock: Callable[[], datetime] = utcnow,
    sign: Callable[[str, str], dict] | None = None,
) -> ExportResult:
    """Write the selection as a WACZ at `out`. `sign(hash, created)`, when given, returns the
    `signedData` of datapackage.json's hash; `created` is datapackage.json's, as the signing spec
    and `wacz validate` want them equal."""
    when = clock()
    stamp = (when.year, when.month, when.day, when.hour, when.minute, when.second)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".wacz-") as tmp:
        warc = Path(tmp) / WARC_NAME
        result = write_warc(session, warc_dir, selection, warc, name=WARC_NAME, clock=lambda: when)
        index = "".join(
            line + "\n" for line in sorted(cdxj_line(c, loc) for c, loc in result.written)
        ).encode()
        pages = _jsonl(
            {"format": "json-pages-1.0", "id": "pages", "title": "All Pages"}, _pages(result)
        )
        files: list[tuple[str, bytes | Path]] = [
            (f"archive/{WARC_NAME}", warc),
            ("indexes/index.cdx", index),  # CDXJ lines, under the name pywb's wb-manager looks for
            ("pages/pages.jsonl", pages),
        ]
        resources = []
        for path, data in files:
            size = data.stat().st_size if isinstance(data, Path) else len(data)
            digest = _file_sha256(data) if isinstance(data, Path) else _sha256(data)
            resources.append({"name": Path(path).name, "path": path, "hash": digest, "bytes": size})
        package = {
            "profile": "data-package",
            "resources": resources,
            "title": "warcwatch export",
            "description": selection.describe(),
            "created": iso_second(when),
            "wacz_version": WACZ_VERSION,
            "software": f"warcwatch {version('warcwatch')}",
        }
        if len(selection.urls) == 1 and result.selected:
            package["mainPageURL"] = result.selected[-1].url
            package["mainPageDate"] = iso(result.selected[-1].timestamp)
        package_bytes = json.dumps(package, indent=2).encode()
        package_hash = _sha256(package_bytes)
        digest_file: dict = {"path": "datapackage.json", "hash": package_hash}
        if sign is not None:
            digest_file["signedData"] = sign(package_hash, str(package["created"]))
        digest_bytes = json.dumps(digest_file, indent=2).encode()

        part = Path(tmp) / "out.wacz"
        try:
            with zipfile.ZipFile(part, "w", allowZip64=True) as z:
                for path, data in files:
                    info = zipfile.ZipInfo(path, stamp)
                    # WARCs stored, so readers can seek to a record; the text files deflated
                    info.compress_type = (
                        zipfile.ZIP_STORED if path.startswith("archive/") else zipfile.ZIP_DEFLATED
                    )
                    # The size is known before writing, so the local header gets a ZIP64 extra
                    # field only when the central directory does too (above 4 GiB): readers
                    # such as ReplayWeb.page find an entry's data from the local header alone,
                    # and a local-only ZIP64 field made them read every record 20 bytes early.
                    info.file_size = data.stat().st_size if isinstance(data, Path) else len(data)
                    with z.open(
                        info, "w", force_zip64=info.file_size >= zipfile.ZIP64_LIMIT
                    ) as dst:
                        if isinstance(data, Path):
                            with open(data, "rb") as src:
                                while chunk := src.read(1 << 20):
                                    dst.write(chunk)
                        else:
                            dst.write(data)
                metadata = (
                    ("datapackage.json", package_bytes),
                    ("datapackage-digest.json", digest_bytes),
                )
                for name, text in metadata:
                    info = zipfile.ZipInfo(name, stamp)
                    info.compress_type = zipfile.ZIP_DEFLATED
                    z.writestr(info, text)
            os.replace(part, out)
        except OSError as exc:
            raise ArchiveError(f"cannot write {out}: {exc}") from None
    result.path = out
    return result
