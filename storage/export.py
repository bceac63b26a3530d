"""Exporting a subset of the archive as one WARC file.

The selected responses and revisits are copied byte for byte, gzip member by gzip member (never
re-encoded, so every digest and signature still holds), each followed by its request record, plus
the response records that selected revisits refer to (a revisit cannot be replayed without them).
A leading warcinfo record, made by warcio, says what was selected.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from importlib.metadata import version
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.enums import REPLAYABLE, RecordKind
from storage.errors import ArchiveError, CaptureNotFound
from storage.models import RENDERED, Capture, rendered_uri
from storage.objects import Warcs
from storage.retrieval import location, origin_of, request_location
from storage.surt import surt
from storage.timestamps import DOWN, UP, parse_timestamp, utcnow
from storage.warcread import Location, read_member


@dataclass(frozen=True)
class Selection:
    """What to export: captures of these URLs (SURT match) and/or of a target, within a time range
    (`since`/`until` as users give them: 14-digit prefixes or ISO 8601, both ends included)."""

    urls: tuple[str, ...] = ()
    target: str | None = None
    ids: tuple[int, ...] = ()  # exactly these captures (a receipt's two)
    since: str | None = None
    until: str | None = None

    def describe(self) -> str:
        parts = [f"url={u}" for u in self.urls] + [f"capture={i}" for i in self.ids]
        if self.target:
            parts.append(f"target={self.target}")
        if self.since:
            parts.append(f"since={parse_timestamp(self.since, DOWN)}")
        if self.until:
            parts.append(f"until={parse_timestamp(self.until, UP)}")
        return "; ".join(parts) or "all captures"


@dataclass
class ExportResult:
    path: Path
    selected: list[Capture]  # the captures asked for, oldest first
    written: list[tuple[Capture, Location]] = field(
        default_factory=list
    )  # responses/revisits, where they are now
    records: int = 0  # WARC records in the file, warcinfo included

    @property
    def revisit_targets(self) -> int:
        return len(self.written) - len(self.selected)


def select_captures(session: Session, selection: Selection) -> list[Capture]:
    q = select(Capture).where(Capture.kind.in_(REPLAYABLE), Capture.warc_file.is_not(None))
    if selection.urls:
        # a page's rendered DOM and screenshot (resource records under urn: URIs) go with it
        uris = [u2 for u in selection.urls for u2 in (u, *(rendered_uri(p, u) for p in RENDERED))]
        q = q.where(Capture.surt.in_({surt(u) for u in uris}))
    if selection.target:
        q = q.where(Capture.target == selection.target)
    if selection.ids:
        q = q.where(Capture.id.in_(selection.ids))
    if selection.since:
        q = q.where(Capture.timestamp >= parse_timestamp(selection.since, DOWN))
    if selection.until:
        q = q.where(Capture.timestamp <= parse_timestamp(selection.until, UP))
    # a fetch catalogued for several targets (one record, a row per target) is exported once
    seen: set[tuple[str | None, int | None]] = set()
    out = []
    for c in session.scalars(q.order_by(Capture.timestamp, Capture.id)):
        if (c.warc_file, c.offset) not in seen:
            seen.add((c.warc_file, c.offset))
            out.append(c)
    return out


def with_revisit_targets(session: Session, captures: list[Capture]) -> list[Capture]:
    """`captures` plus the responses their revisits refer to, in archive order (file, offset)."""
    out = {c.id: c for c in captures}
    for c in captures:
        if c.kind == RecordKind.REVISIT:
            origin = origin_of(session, c)
            out.setdefault(origin.id, origin)
    return sorted(out.values(), key=lambda c: (c.warc_file, c.offset))


def _warcinfo(
    writer, filename: str, selection: Selection, selected: int, total: int, when: datetime
):
    from warcio.timeutils import datetime_to_iso_date

    info = {
        "software": f"warcwatch/{version('warcwatch')} warcio/{version('warcio')}",
        "format": "WARC File Format 1.1",
        "conformsTo": "https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/",
        "description": "warcwatch export: records copied byte for byte from the archive",
        "selection": selection.describe(),
        "selected-captures": str(selected),
        "revisit-targets-added": str(total - selected),
    }
    record = writer.create_warcinfo_record(filename, info)
    record.rec_headers.replace_header("WARC-Date", datetime_to_iso_date(when))
    return record


def write_warc(
    session: Session,
    warc_dir: Warcs,
    selection: Selection,
    out: Path,
    name: str | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> ExportResult:
    """Write the selection to `out` (gzip members); `name` is the file name the records are indexed
    under (default: out's own name). Raises CaptureNotFound when nothing matches."""
    from warcio.warcwriter import WARCWriter

    selected = select_captures(session, selection)
    if not selected:
        raise CaptureNotFound(f"no captures match ({selection.describe()})")
    captures = with_revisit_targets(session, selected)
    name = name or out.name
    result = ExportResult(path=out, selected=selected)
    part = out.with_name(out.name + ".part")
    try:
        with open(part, "wb") as f:
            writer = WARCWriter(f, gzip=True, warc_version="1.1")
            writer.write_record(
                _warcinfo(writer, name, selection, len(selected), len(captures), clock())
            )
            result.records = 1
            for c in captures:
                member = read_member(warc_dir, location(c))
                result.written.append((c, Location(name, f.tell(), len(member))))
                f.write(member)
                result.records += 1
                req = request_location(c)
                if req is not None:
                    f.write(read_member(warc_dir, req))
                    result.records += 1
        os.replace(part, out)
    except OSError as exc:
        part.unlink(missing_ok=True)
        raise ArchiveError(f"cannot write {out}: {exc}") from None
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return result
