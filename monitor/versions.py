"""What the analysis of a pass reads and writes of one URL: its versions (the text extracted
from a capture, stored the first time it is asked for), the capture before, its noise masked,
and the value a URL's pending change is. `monitor.soft_steps.SoftRemovals` and
`monitor.analysis.Analyser` build on it; `monitor.diffview` reads versions through it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from monitor import history, noise, rules
from monitor.config import Config, Target
from monitor.extract import extract
from storage.catalog import content_captures, rendered
from storage.enums import EventKind
from storage.errors import ArchiveError
from storage.models import DOM, Capture, UrlState, Version
from storage.retrieval import location, origin_of
from storage.timestamps import utcnow
from storage.warcread import read_record

log = logging.getLogger(__name__)

_HTML = ("text/html", "application/xhtml+xml")  # what a rendered target's browser loads


def renders(config: Config, name: str | None) -> bool:
    """Whether the target named `name` is monitored by its rendered DOM (`render = true`)."""
    return any(t.name == name and t.render for t in config.targets)


def rendering_row(s: Session, config: Config, capture: Capture) -> Capture | None:
    """The row of the page fetch `capture` that a rendering target reads (the capture itself, or
    the same record catalogued for another target that lists the URL too), when the fetch was
    rendered; None when it was not, or when no target of its rows renders it (a screenshot-only
    target's DOM is kept, but its HTML is what it monitors)."""
    if capture.record_id is None or rendered(s, capture, DOM) is None:
        return None
    if renders(config, capture.target):
        return capture
    rows = s.scalars(select(Capture).where(Capture.record_id == capture.record_id)).all()
    return next((r for r in rows if renders(config, r.target)), None)


def previous_fetch(s: Session, capture: Capture) -> Capture | None:
    """The fetch of the same URL before `capture` that held content (a 200, as a response or a
    revisit): what its text is compared with. Not the same fetch catalogued for another target
    (a URL several targets list: its rows share the record and the time)."""
    q = content_captures(capture.url, exact_url=True, revisits=True, before=capture)
    if capture.record_id is not None:
        q = q.where(Capture.record_id != capture.record_id)
    return s.scalars(q.limit(1)).first()


@dataclass(frozen=True)
class PendingChange:
    """A URL whose text differs from its last version under the masks known so far (`changed`), or
    that answered as gone (`removed`, with the reason) and waits for its confirmation fetch."""

    target: str
    url: str
    capture_id: int
    previous_capture_id: int
    kind: EventKind = EventKind.CHANGED
    reason: str | None = None


class Versions:
    """The catalog helpers of an analysis, on one engine and watchlist, with an injectable clock."""

    def __init__(self, engine: Engine, config: Config, clock: Callable[[], datetime] = utcnow):
        self.engine = engine
        self.config = config
        self.clock = clock

    def patterns(self, state: UrlState) -> list[str]:
        return noise.patterns_for(state.volatile, self.config.monitor.builtin_noise)

    def _mask_pair(
        self, state: UrlState, old_v: Version, new_v: Version
    ) -> tuple[list[str], list[str]]:
        return noise.mask_pair(
            self.lines(old_v),
            old_v.timestamp,
            self.lines(new_v),
            new_v.timestamp,
            self.patterns(state),
        )

    def masked(
        self, s: Session, state: UrlState, old_v: Version, new_v: Version
    ) -> tuple[list[str], list[str]]:
        """Both versions' lines with the URL's noise masked: its patterns, the clocks, and the lines
        its history shows coming and going (learned here, so they stay masked)."""
        pair = self._mask_pair(state, old_v, new_v)
        if pair[0] != pair[1]:
            learned = history.learn(s, new_v, state.volatile, self.patterns(state), *pair)
            if learned:
                state.volatile = noise.merge(state.volatile, learned)
                pair = self._mask_pair(state, old_v, new_v)
        # the newer version keeps the rules it was last judged under (monitor.rules)
        rules.stamp(s, new_v, rules.in_force(self.config, self._target(state), state.volatile))
        return pair

    def _target(self, state: UrlState) -> Target | None:
        return next((t for t in self.config.targets if t.name == state.target), None)

    # --- versions ------------------------------------------------------------------------------

    @staticmethod
    def dom_of(s: Session, capture: Capture) -> Capture | None:
        """The rendered DOM of a page fetch, or None when the fetch was not rendered."""
        return rendered(s, capture, DOM)

    def version_of(self, s: Session, capture: Capture, target: Target | None) -> Version | None:
        """The capture's version, extracted (and stored) the first time it is asked for; for a
        rendered target, its DOM's (None when the fetch has no rendered DOM)."""
        if target is not None and target.render and capture.purpose != DOM:
            dom = self.dom_of(s, capture)
            if dom is not None:
                return self._version(s, dom, target, page=capture)
            if capture.mime in _HTML:
                return None  # not rendered (the browser failed, or before `render` was set)
            # a PDF or a plain-text page of a rendered target: no browser, its own payload
        try:
            origin = origin_of(s, capture)
            existing = s.scalars(select(Version).where(Version.capture_id == origin.id)).first()
            if existing is not None:
                return existing
        except ArchiveError as exc:
            log.warning("cannot read %s for text extraction: %s", capture.url, exc)
            return None
        return self._version(s, origin, target)

    def _version(
        self, s: Session, origin: Capture, target: Target | None, page: Capture | None = None
    ) -> Version | None:
        """Extract `origin`'s text and store it as its version (of `page`'s URL, for a DOM)."""
        if page is not None:
            existing = s.scalars(select(Version).where(Version.capture_id == origin.id)).first()
            if existing is not None:
                return existing
        read = self._payload(s, origin)
        if read is None:
            return None
        payload, content_type = read
        url = page.url if page is not None else origin.url
        text = extract(
            payload,
            origin.mime,
            content_type,
            url,
            target.select if target else None,
            target.ignore if target else (),
        )
        version = Version(
            capture_id=origin.id,
            url=url,
            target=origin.target,
            timestamp=origin.timestamp,
            title=text.title,
            text=text.text,
            text_hash=text.hash,
            extraction="; ".join(text.notes) or None,
        )
        s.add(version)
        state = s.scalars(
            select(UrlState).where(UrlState.url == url, UrlState.target == origin.target)
        ).first()
        rules.stamp(
            s, version, rules.in_force(self.config, target, state.volatile if state else [])
        )
        s.flush()
        return version

    def _payload(self, s: Session, capture: Capture) -> tuple[bytes, str | None] | None:
        """The capture's payload (decoded) and its Content-Type, or None when it cannot be read."""
        try:
            rec = read_record(self.config.archive.warcs, location(origin_of(s, capture)))
            if rec.rec_type == "resource":  # a rendered DOM: no HTTP head
                return rec.payload, rec.header("Content-Type")
            return b"".join(rec.decoded()), rec.http_headers().get_header("Content-Type")
        except ArchiveError as exc:
            log.warning("cannot read %s for text extraction: %s", capture.url, exc)
            return None

    @staticmethod
    def lines(version: Version) -> list[str]:
        return version.text.split("\n") if version.text else []

    _previous_content = staticmethod(previous_fetch)

    def _settle_context(self, s: Session, p: PendingChange) -> tuple[Target, UrlState]:
        """The target and the URL state a pending change belongs to."""
        targets = {t.name: t for t in self.config.targets}
        target = targets.get(p.target) or Target(name=p.target, urls=(p.url,))
        state = s.scalars(
            select(UrlState).where(UrlState.target == p.target, UrlState.url == p.url)
        ).one()
        return target, state
