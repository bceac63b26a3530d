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
from datetime import datetime
from urllib.parse import urljoin, urlsplit

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from monitor import noise, rules, softremoval
from monitor.config import Config, Target
from monitor.diff import diff_lines, similarity
from monitor.events import record_event
from monitor.reader_steps import ReaderSteps
from monitor.sametext import same_text
from monitor.soft_steps import SoftRemovals
from monitor.versions import PendingChange
from storage.enums import EventKind, RecordKind
from storage.models import REQUISITE, Capture, TargetRow, UrlState, Version
from storage.timestamps import from_datetime, utcnow

log = logging.getLogger(__name__)

GONE = {404: "404", 410: "410", 451: "451"}
_LOGIN = re.compile(
    r"(^|[/_.?=-])(login|log-in|signin|sign-in|sso|auth|authenticate|session/new|account/login|wp-login)",
    re.I,
)


def _is_robots(url: str) -> bool:
    return urlsplit(url).path == "/robots.txt"


class Analyser(SoftRemovals, ReaderSteps):
    """A pass's analysis: `inspect`, then (after the confirmation fetches) `settle`."""

    def __init__(self, engine: Engine, config: Config, clock: Callable[[], datetime] = utcnow):
        super().__init__(engine, config, clock)
        self._states: dict[str, UrlState] = {}  # the URL states of the target being inspected
        # where this run's known pages of the target being inspected lead (a redirect, a meta
        # refresh home): a URL reached that way is no new page
        self._landings: set[str] = set()

    def masked(
        self, s: Session, state: UrlState, old_v: Version, new_v: Version
    ) -> tuple[list[str], list[str]]:
        """Both versions' lines with the URL's noise masked (`Versions.masked`), and a difference
        that is all site template, on the host's other pages (learned here, so it stays masked)."""
        pair = super().masked(s, state, old_v, new_v)
        if pair[0] != pair[1] and not same_text(*pair):
            learned = self._learn_template(s, state, old_v, new_v, pair)
            if learned:
                state.volatile = noise.merge(state.volatile, learned)
                pair = self._mask_pair(state, old_v, new_v)
                rules.stamp(
                    s, new_v, rules.in_force(self.config, self._target(state), state.volatile)
                )
        return pair

    # --- step 1: inspect each URL of the run ---------------------------------------------------

    def inspect(self, run_id: int, targets: list[Target]) -> list[PendingChange]:
        pending: list[PendingChange] = []
        names = [t.name for t in targets]
        with Session(self.engine) as s, s.begin():
            # the run's captures, target rows and URL states in three queries, not three per
            # target: a daemon's pass can hold hundreds of small targets. Page requisites (a
            # stylesheet, an image) are archived for replay: they are no page, have no text and
            # raise no event.
            captures: dict[str | None, list[Capture]] = {n: [] for n in names}
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
            tags=target.tags,
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
        if self._reader_sees_same(s, state, target, old_v, new_v):
            return (
                None  # a redesign: the extractor keeps a block it did not, a reader sees the same
            )
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
        reason: str | None,
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
            still = self._soft_reason(
                s, target, confirm, s.get_one(Capture, p.capture_id), p.reason
            )
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
        new_v = self.version_of(s, s.get_one(Capture, p.capture_id), target)
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
                capture = s.get_one(Capture, p.capture_id)
                prev = s.get_one(Capture, p.previous_capture_id)
                new_v, old_v = self.version_of(s, capture, target), self.version_of(s, prev, target)
                if (
                    new_v is not None
                    and old_v is not None
                    and self._is_real_change(s, state, target, old_v, new_v, capture)
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
                capture = s.get_one(Capture, p.capture_id)
                prev = s.get_one(Capture, p.previous_capture_id)
                new_v, old_v = self.version_of(s, capture, target), self.version_of(s, prev, target)
                if new_v is None or old_v is None:
                    continue
                self._learn(s, run_id, p, target, state)
                if self._is_real_change(s, state, target, old_v, new_v, capture):
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
        self,
        s: Session,
        state: UrlState,
        target: Target,
        old_v: Version,
        new_v: Version,
        capture: Capture,
    ) -> bool:
        masked_old, masked_new = self.masked(s, state, old_v, new_v)
        if same_text(masked_old, masked_new) or self._reader_sees_same(
            s, state, target, old_v, new_v
        ):
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
