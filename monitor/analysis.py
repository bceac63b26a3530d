"""What a crawl run means: from its captures to versions, URL states and change events.

Runs after a pass's captures are committed, off the crawl's hot path, in two steps:
`inspect` looks at each URL's capture of the run (new, gone, back, moved, new text?) and returns
the URLs whose text changed; the runner fetches those again at once (confirmation fetches) and
`settle` learns the volatile parts from the two back-to-back fetches, masks them, and raises a
`changed` event only for what is left. A page that answers 404 (410, 451, a redirect home or to a
login) is pending as well: fetched again after `removal_confirm_delay` and still gone, it is
`removed` in this pass. So is a page whose text has become the host's not-found template, or
that now only sends the reader home (monitor.softremoval: `soft-404`, `redirect-home`); the host's
template is learned from a probe the runner fetches between `inspect` and the confirmations.
Text is extracted only for payloads that differ from the URL's previous one, so an unchanged page
costs nothing here. A target with `render = true` is read from what Chromium showed instead
(crawler.render): each fetch's rendered DOM, its own resource record, so a page whose HTML is
unchanged (a revisit) but whose scripts now write another text is compared too; its versions are
those of the DOM captures.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urljoin, urlsplit

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from monitor import history, noise, rules, softremoval
from monitor.config import Config, Target
from monitor.diff import diff_lines, similarity
from monitor.events import record_event
from monitor.extract import extract
from monitor.sametext import same_text
from monitor.soft_steps import SoftRemovals
from storage.catalog import content_captures, rendered
from storage.enums import EventKind, RecordKind
from storage.errors import ArchiveError
from storage.models import DOM, REQUISITE, Capture, TargetRow, UrlState, Version
from storage.retrieval import location, origin_of
from storage.timestamps import from_datetime, utcnow
from storage.warcread import read_record

log = logging.getLogger(__name__)

GONE = {404: "404", 410: "410", 451: "451"}
_HTML = ("text/html", "application/xhtml+xml")  # what a rendered target's browser loads
_LOGIN = re.compile(
    r"(^|[/_.?=-])(login|log-in|signin|sign-in|sso|auth|authenticate|session/new|account/login|wp-login)",
    re.I,
)


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


def _is_robots(url: str) -> bool:
    return urlsplit(url).path == "/robots.txt"


class Analyser(SoftRemovals):
    def __init__(self, engine: Engine, config: Config, clock: Callable[[], datetime] = utcnow):
        self.engine = engine
        self.config = config
        self.clock = clock
        self._states: dict[str, UrlState] = {}  # the URL states of the target being inspected
        # where this run's known pages of the target being inspected lead (a redirect, a meta
        # refresh home): a URL reached that way is no new page
        self._landings: set[str] = set()

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
                return self._version(s, dom, dom, target, page=capture)
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
        return self._version(s, capture, origin, target)

    def _version(
        self,
        s: Session,
        capture: Capture,
        origin: Capture,
        target: Target | None,
        page: Capture | None = None,
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
            rec = read_record(self.config.archive.warc_dir, location(origin_of(s, capture)))
            if rec.rec_type == "resource":  # a rendered DOM: no HTTP head
                return rec.payload, rec.header("Content-Type")
            return b"".join(rec.decoded()), rec.http_headers().get_header("Content-Type")
        except ArchiveError as exc:
            log.warning("cannot read %s for text extraction: %s", capture.url, exc)
            return None

    @staticmethod
    def lines(version: Version) -> list[str]:
        return version.text.split("\n") if version.text else []

    @staticmethod
    def _previous_content(s: Session, capture: Capture) -> Capture | None:
        """The fetch of the same URL before `capture` that held content (a 200, as a response or
        a revisit): what its text is compared with. Not the same fetch catalogued for another
        target (a URL several targets list: its rows share the record and the time)."""
        q = content_captures(capture.url, exact_url=True, revisits=True, before=capture)
        if capture.record_id is not None:
            q = q.where(Capture.record_id != capture.record_id)
        return s.scalars(q.limit(1)).first()

    # --- step 1: inspect each URL of the run ---------------------------------------------------

    def inspect(self, run_id: int, targets: list[Target]) -> list[PendingChange]:
        pending: list[PendingChange] = []
        names = [t.name for t in targets]
        with Session(self.engine) as s, s.begin():
            # the run's captures, target rows and URL states in three queries, not three per
            # target: a daemon's pass can hold hundreds of small targets. Page requisites (a
            # stylesheet, an image) are archived for replay: they are no page, have no text and
            # raise no event.
            captures: dict[str, list[Capture]] = {n: [] for n in names}
            for c in s.scalars(
                select(Capture)
                .where(
                    Capture.run_id == run_id,
                    Capture.purpose.is_distinct_from(REQUISITE),
                    # a page's rendered DOM or screenshot is read with the page, not as one
                    Capture.kind != RecordKind.RESOURCE,
                )
                .order_by(Capture.id)
            ):
                captures.setdefault(c.target, []).append(c)
            rows = {
                r.name: r for r in s.scalars(select(TargetRow).where(TargetRow.name.in_(names)))
            }
            states: dict[str, dict[str, UrlState]] = {n: {} for n in names}
            for st in s.scalars(select(UrlState).where(UrlState.target.in_(names))):
                states[st.target][st.url] = st
            for target in targets:
                self._states = states[target.name]
                pending.extend(
                    self._inspect_target(
                        s, run_id, target, rows.get(target.name), captures[target.name]
                    )
                )
        return pending

    def _inspect_target(
        self,
        s: Session,
        run_id: int,
        target: Target,
        row: TargetRow | None,
        captures: list[Capture],
    ) -> list[PendingChange]:
        has_baseline = (
            row is not None and row.baseline_run_id is not None and row.baseline_run_id != run_id
        )
        listings = set(target.urls) if target.kind in ("feed", "sitemap") else set()
        first: dict[str, Capture] = {}
        for c in captures:
            if (
                _is_robots(c.url)
                or c.url in listings
                or (target.kind == "sitemap" and c.mime and "xml" in c.mime)
            ):
                # a feed or sitemap is a listing, not content: its pages are watched instead
                continue
            first.setdefault(c.url, c)  # later captures of a URL in the run are confirmations
        by_url = {c.url: c for c in captures}
        self._landings = self._landings_of_known_pages(s, captures)
        pending = []
        for c in first.values():
            # where a known page now redirects (home page, login wall, its new address) is not a new
            # page; a meta refresh's landing is fetched after the page, so is known by its turn
            change = self._inspect_url(
                s, run_id, target, c, by_url, has_baseline and c.url not in self._landings
            )
            if change is not None:
                pending.append(change)
        if row is not None and row.baseline_run_id is None:
            row.baseline_run_id = run_id  # this run is the target's baseline: it raises nothing
        return pending

    def _landings_of_known_pages(self, s: Session, captures) -> set[str]:
        """The URLs this run's redirects from pages with earlier content point to."""
        return {
            urljoin(c.url, c.location)
            for c in captures
            if c.status
            and 300 <= c.status < 400
            and c.location
            and self._previous_content(s, c) is not None
        }

    def _state(self, s: Session, target: str, url: str, ts: str) -> tuple[UrlState, bool]:
        state = self._states.get(url)
        if state is not None:
            return state, False
        state = UrlState(
            target=target, url=url, first_seen=ts, missing=0, removed=False, volatile=[]
        )
        s.add(state)
        self._states[url] = state
        return state, True

    def _event(self, s: Session, target: Target, run_id: int, kind: EventKind, url: str, **kw):
        now = self.clock()
        event = record_event(
            s,
            kind=kind,
            url=url,
            target=target.name,
            detected_at=from_datetime(now),
            run_id=run_id,
            channels=self.config.channels(target),
            now=now,
            digest=self.config.alerts.digest,
            public_url=self.config.serve.public_url,
            **kw,
        )
        log.info(
            "event %s %s [%s]%s",
            kind,
            url,
            target.name,
            f" ({kw['reason']})" if kw.get("reason") else "",
        )
        return event

    def _gone_reason(self, target: Target, c: Capture) -> str | None:
        """Why a capture says the page is gone, or None when it does not."""
        if c.status in GONE:
            return GONE[c.status]
        if c.status and 300 <= c.status < 400 and c.location:
            dest = urljoin(c.url, c.location)
            parts = urlsplit(dest)
            if _LOGIN.search(parts.path + ("?" + parts.query if parts.query else "")):
                return "login-wall"
            if parts.path in softremoval.HOME_PATHS or dest in target.urls:
                return "redirect-home"
        return None

    def _inspect_url(
        self, s, run_id, target, c: Capture, by_url, has_baseline
    ) -> PendingChange | None:
        state, new = self._state(s, target.name, c.url, c.timestamp)
        state.last_checked = c.timestamp
        if c.kind == RecordKind.FAILED or c.status is None or c.status >= 500:
            return None  # a timeout or a 5xx is never a removal by itself
        gone = self._gone_reason(target, c)
        if gone is not None:
            return self._gone(s, run_id, target, state, c, gone)
        if c.status in (301, 308) and c.location:
            self._check_moved(s, run_id, target, c, state, by_url)
            return None
        if c.status != 200:
            return None
        if state.removed:
            removal = self._removal_of(s, target, c.url)
            evidence = (
                s.get(Capture, removal.to_capture)
                if removal is not None and removal.to_capture
                else None
            )
            if self._soft_reason(
                s, target, c, evidence, removal.reason if removal is not None else None
            ):
                return None  # still the not-found page it showed when it was removed
            state.removed = False
            self._event(s, target, run_id, EventKind.RESTORED, c.url, to_capture=c.id)
        state.missing = 0
        if new:
            if has_baseline:
                version = self.version_of(s, c, target)
                self._event(
                    s,
                    target,
                    run_id,
                    EventKind.ADDED,
                    c.url,
                    to_capture=c.id,
                    summary={"added": self.lines(version)[:50] if version else [], "removed": []},
                    title=version.title if version else None,
                )
            return None
        if c.kind != RecordKind.RESPONSE and not target.render:
            return None  # identical payload or 304: no new version (a rendered DOM may differ)
        prev = self._previous_content(s, c)
        if prev is None:
            return None
        old_v, new_v = self.version_of(s, prev, target), self.version_of(s, c, target)
        if old_v is None or new_v is None or old_v.text_hash == new_v.text_hash:
            return None
        masked_old, masked_new = self.masked(s, state, old_v, new_v)
        if same_text(masked_old, masked_new):
            return None  # the same text, or a markup-only redesign
        if self._sends_home(s, target, c) and not self._home_of(s, target, prev):
            return self._gone(s, run_id, target, state, c, "redirect-home")
        return PendingChange(target.name, c.url, c.id, prev.id)

    def _gone(
        self, s, run_id, target: Target, state: UrlState, c: Capture, reason: str
    ) -> PendingChange | None:
        """A capture that says its page is gone: pending its confirmation fetch, or removed now
        when the last pass found it gone too (and could not confirm it)."""
        prev = self._previous_content(s, c)
        if prev is None or state.removed:
            return None  # never seen alive, or known to be removed: nothing to remove
        state.missing += 1
        if state.missing >= 2:  # gone in the last pass too, which could not confirm it
            self._remove(s, run_id, target, state, c.url, reason, prev.id, c.id)
            return None
        return PendingChange(
            target.name, c.url, c.id, prev.id, kind=EventKind.REMOVED, reason=reason
        )

    def _remove(
        self,
        s,
        run_id,
        target: Target,
        state: UrlState,
        url: str,
        reason: str,
        prev_id: int,
        capture_id: int,
    ):
        state.removed = True
        self._event(
            s,
            target,
            run_id,
            EventKind.REMOVED,
            url,
            reason=reason,
            from_capture=prev_id,
            to_capture=capture_id,
        )

    def _check_moved(self, s, run_id, target, c: Capture, state: UrlState, by_url) -> None:
        dest = urljoin(c.url, c.location)
        if state.moved_to == dest:
            return
        landed = by_url.get(dest)
        prev = self._previous_content(s, c)
        if landed is None or landed.status != 200 or prev is None:
            return
        old_v, new_v = self.version_of(s, prev, target), self.version_of(s, landed, target)
        if old_v is None or new_v is None:
            return
        a = noise.mask(self.lines(old_v), self.patterns(state))
        b = noise.mask(self.lines(new_v), self.patterns(state))
        if similarity(a, b) >= self.config.monitor.similar:
            state.moved_to = dest
            self._event(
                s,
                target,
                run_id,
                EventKind.MOVED,
                c.url,
                new_url=dest,
                from_capture=prev.id,
                to_capture=landed.id,
                summary=diff_lines(a, b).summary(),
                title=new_v.title,
            )

    # --- step 2: settle the changes after confirmation fetches -----------------------------------

    def _confirmations(self, s: Session, run_id: int, p: PendingChange) -> list[Capture]:
        q = (
            select(Capture)
            .where(
                Capture.run_id == run_id,
                Capture.url == p.url,
                Capture.id > p.capture_id,
                Capture.target == p.target,
                Capture.status == 200,
            )
            .order_by(Capture.id)
        )
        return list(s.scalars(q))

    def _settle_removal(self, s: Session, run_id: int, p: PendingChange) -> bool:
        """A page that answered as gone, after its confirmation fetch: removed when that still says
        gone; a blip when it answers; undecided (left to the next pass) when it fails or times
        out."""
        target, state = self._settle_context(s, p)
        q = (
            select(Capture)
            .where(
                Capture.run_id == run_id,
                Capture.url == p.url,
                Capture.id > p.capture_id,
                Capture.target == p.target,
            )
            .order_by(Capture.id.desc())
            .limit(1)
        )
        confirm = s.scalars(q).first()
        if (
            confirm is None
            or confirm.kind == RecordKind.FAILED
            or confirm.status is None
            or confirm.status >= 500
        ):
            return False
        still = self._gone_reason(target, confirm)
        if still is None and confirm.status == 200:
            still = self._soft_reason(s, target, confirm, s.get(Capture, p.capture_id), p.reason)
        if still is None:
            if confirm.status == 200:
                state.missing = 0
            return False
        self._remove(s, run_id, target, state, p.url, p.reason, p.previous_capture_id, p.capture_id)
        return True

    def _learn(
        self, s: Session, run_id: int, p: PendingChange, target: Target, state: UrlState
    ) -> bool:
        """Learn from every confirmation fetch of the run; True when one of them differed."""
        new_v = self.version_of(s, s.get(Capture, p.capture_id), target)
        differed = False
        for confirm in self._confirmations(s, run_id, p):
            confirm_v = self.version_of(s, confirm, target)
            if (
                new_v is not None
                and confirm_v is not None
                and confirm_v.text_hash != new_v.text_hash
            ):
                learned = noise.learn(self.lines(new_v), self.lines(confirm_v))
                ids = (new_v.capture_id, confirm_v.capture_id)
                state.volatile = noise.merge(
                    state.volatile, noise.entries(learned, "confirmation", ids)
                )
                differed = True
        return differed

    def _settle_context(self, s: Session, p: PendingChange):
        targets = {t.name: t for t in self.config.targets}
        target = targets.get(p.target) or Target(name=p.target, urls=(p.url,))
        state = s.scalars(
            select(UrlState).where(UrlState.target == p.target, UrlState.url == p.url)
        ).one()
        return target, state

    def unexplained(self, run_id: int, pending: list[PendingChange]) -> list[PendingChange]:
        """After a round of confirmation fetches: the changes that none of them explains yet, that
        is still different from the last version although every confirmation matched the new text
        (a rotating box may have shown the same item twice): worth one more fetch."""
        out = []
        with Session(self.engine) as s, s.begin():
            for p in pending:
                target, state = self._settle_context(s, p)
                if self._learn(s, run_id, p, target, state):
                    continue
                capture, prev = s.get(Capture, p.capture_id), s.get(Capture, p.previous_capture_id)
                new_v, old_v = self.version_of(s, capture, target), self.version_of(s, prev, target)
                if (
                    new_v is not None
                    and old_v is not None
                    and self._is_real_change(s, state, old_v, new_v, capture)
                ):
                    out.append(p)
        return out

    def settle(self, run_id: int, pending: list[PendingChange]) -> int:
        """Learn volatile parts from the confirmation fetches, then raise the real changes."""
        raised = 0
        with Session(self.engine) as s, s.begin():
            for p in pending:
                if p.kind == EventKind.REMOVED:
                    raised += self._settle_removal(s, run_id, p)
                    continue
                target, state = self._settle_context(s, p)
                capture, prev = s.get(Capture, p.capture_id), s.get(Capture, p.previous_capture_id)
                new_v, old_v = self.version_of(s, capture, target), self.version_of(s, prev, target)
                if new_v is None or old_v is None:
                    continue
                self._learn(s, run_id, p, target, state)
                if self._is_real_change(s, state, old_v, new_v, capture):
                    diff = diff_lines(*self.masked(s, state, old_v, new_v))
                    self._event(
                        s,
                        target,
                        run_id,
                        EventKind.CHANGED,
                        p.url,
                        from_capture=prev.id,
                        to_capture=capture.id,
                        summary=diff.summary(),
                        title=new_v.title,
                    )
                    raised += 1
                # the confirmation fetches' versions too: the newest of them is what `diff`
                # compares by default, under the rules the change was judged with
                final = rules.in_force(self.config, target, state.volatile)
                for confirm in self._confirmations(s, run_id, p):
                    confirm_v = self.version_of(s, confirm, target)
                    if confirm_v is not None:
                        rules.stamp(s, confirm_v, final)
        return raised

    def _is_real_change(
        self, s: Session, state: UrlState, old_v: Version, new_v: Version, capture: Capture
    ) -> bool:
        masked_old, masked_new = self.masked(s, state, old_v, new_v)
        if same_text(masked_old, masked_new):
            return False
        # a rotating block that flips back to a text seen in the URL's last few versions
        recent = s.scalars(
            select(Version)
            .where(
                Version.url == new_v.url, Version.capture_id < capture.id, Version.id != new_v.id
            )
            .order_by(Version.timestamp.desc(), Version.id.desc())
            .limit(self.config.monitor.flip_flop_versions)
        ).all()
        return not any(same_text(*self._mask_pair(state, v, new_v)) for v in recent)
