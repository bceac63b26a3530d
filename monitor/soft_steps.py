"""The soft-removal steps of a pass's analysis, kept apart from the rest of monitor.analysis: a
page that still answers 200 but whose text is now its host's not-found page (learned from a probe
of a URL that cannot exist, monitor.softremoval), or that only sends its reader home. `Analyser`
inherits them; they use the catalog helpers of `monitor.versions` and Analyser's `_gone`."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor import softremoval
from monitor.config import Target
from monitor.extract import extract
from monitor.versions import PendingChange, Versions
from storage.enums import REPLAYABLE, EventKind
from storage.models import Capture, ChangeEvent
from storage.retrieval import origin_of
from storage.surt import surt
from storage.timestamps import naive_utc, to_datetime

if TYPE_CHECKING:
    from storage.models import UrlState


class SoftRemovals(Versions):
    """The soft-removal steps; `Analyser` inherits them and owns the state they use."""

    # where this run's known pages lead (set by Analyser.inspect): no new pages
    _landings: set[str]

    if TYPE_CHECKING:

        def _gone(
            self, s: Session, run_id: int, target: Target, state: UrlState, c: Capture, reason: str
        ) -> PendingChange | None: ...

    def _home_of(self, s: Session, target: Target, c: Capture) -> str | None:
        """The home page the page only sends its reader to (meta refresh, a script, one link), or
        None."""
        if c.mime and "html" not in c.mime:
            return None
        read = self._payload(s, c)
        return (
            softremoval.home_redirect(read[0], read[1], c.url, target.urls)
            if read is not None
            else None
        )

    def _sends_home(self, s: Session, target: Target, c: Capture) -> bool:
        home = self._home_of(s, target, c)
        if home is not None:
            self._landings.add(
                home
            )  # the crawl follows a meta refresh: the home page is no new page
        return home is not None

    def _whole_lines(self, s: Session, capture: Capture, target: Target) -> list[str] | None:
        """The capture's text extracted from the whole page, whatever the target selects or ignores:
        a not-found page is compared as a whole with the host's."""
        if target.select or target.ignore:
            read = self._payload(s, capture)
            return (
                list(extract(read[0], capture.mime, read[1], capture.url).lines)
                if read is not None
                else None
            )
        version = self.version_of(s, capture, target)
        return self.lines(version) if version is not None else None

    @staticmethod
    def _probes(s: Session, host: str):
        """The host's probe captures (softremoval.PROBE_PATH), newest first: the catalog is the
        cache."""
        prefix = surt(host + softremoval.PROBE_PATH)
        upper = prefix[:-1] + chr(
            ord(prefix[-1]) + 1
        )  # the index range of every key with the prefix
        return (
            select(Capture)
            .where(Capture.surt >= prefix, Capture.surt < upper)
            .order_by(Capture.id.desc())
        )

    def _template(self, s: Session, host: str) -> tuple[Capture, list[str]] | None:
        """The host's not-found page, as its newest probe that was answered (with anything but a
        redirect)."""
        q = (
            self._probes(s, host)
            .where(
                Capture.kind.in_(REPLAYABLE),
                Capture.status.is_not(None),
                (Capture.status < 300) | (Capture.status >= 400),
            )
            .limit(1)
        )
        probe = s.scalars(q).first()
        if probe is None:
            return None
        version = self.version_of(s, probe, None)
        return (probe, self.lines(version)) if version is not None and version.text else None

    def _removal_of(self, s: Session, target: Target, url: str) -> ChangeEvent | None:
        q = (
            select(ChangeEvent)
            .where(
                ChangeEvent.target == target.name,
                ChangeEvent.url == url,
                ChangeEvent.kind == EventKind.REMOVED,
            )
            .order_by(ChangeEvent.id.desc())
            .limit(1)
        )
        return s.scalars(q).first()

    def _soft_reason(
        self,
        s: Session,
        target: Target,
        c: Capture,
        evidence: Capture | None,
        evidence_reason: str | None,
    ) -> str | None:
        """Why a 200 capture still says its page is gone (`redirect-home`, `soft-404`, or the reason
        of `evidence`, the capture that showed it gone before), or None when it is the page."""
        if c.status != 200 or (c.mime and "html" not in c.mime):
            return None
        if self._sends_home(s, target, c):
            return "redirect-home"
        if evidence is not None and evidence.status == 200 and evidence_reason:
            if origin_of(s, c).id == origin_of(s, evidence).id:
                return evidence_reason  # the very payload that showed it gone
        lines = self._whole_lines(s, c, target)
        if not lines:
            return None
        if (
            evidence is not None
            and evidence_reason
            and evidence.status
            and (evidence.status == 200 or evidence.status >= 400)
        ):
            # the not-found page it showed when removed (a 200's, or a 404's now answered with 200)
            old = self._whole_lines(s, evidence, target)
            if old and softremoval.is_template(lines, c.url, old, evidence.url):
                return evidence_reason
        template = self._template(s, softremoval.origin(c.url))
        if template is not None and softremoval.is_template(
            lines, c.url, template[1], template[0].url
        ):
            return "soft-404"
        return None

    def probes_needed(self, pending: list[PendingChange]) -> list[tuple[str, str]]:
        """(target, probe URL): one for each host with a changed page of this pass whose not-found
        page was not probed within `not_found_probe_ttl`."""
        ttl = timedelta(seconds=self.config.monitor.not_found_probe_ttl)
        now = naive_utc(self.clock())
        out, hosts = [], set()
        with Session(self.engine) as s:
            for p in pending:
                host = softremoval.origin(p.url)
                if p.kind != EventKind.CHANGED or host in hosts:
                    continue
                hosts.add(host)
                last = s.scalars(self._probes(s, host).limit(1)).first()
                if last is not None and now - to_datetime(last.timestamp) < ttl:
                    continue  # probed lately (answered or not): its answer stands
                out.append((p.target, softremoval.probe_url(p.url)))
        return out

    def soft_removals(self, run_id: int, pending: list[PendingChange]) -> list[PendingChange]:
        """`pending` with each change whose new text is its host's not-found template turned into a
        removal (`soft-404`) waiting for its confirmation fetch, like a 404."""
        out = []
        with Session(self.engine) as s, s.begin():
            templates: dict[str, tuple[Capture, list[str]] | None] = {}
            for p in pending:
                host = softremoval.origin(p.url)
                if p.kind == EventKind.CHANGED and host not in templates:
                    templates[host] = self._template(s, host)
                template = templates.get(host)
                if p.kind != EventKind.CHANGED or template is None:
                    out.append(p)
                    continue
                target, state = self._settle_context(s, p)
                capture = s.get_one(Capture, p.capture_id)
                prev = s.get_one(Capture, p.previous_capture_id)
                new, old = self._whole_lines(s, capture, target), self._whole_lines(s, prev, target)
                probe, lines = template
                if (
                    new
                    and softremoval.is_template(new, p.url, lines, probe.url)
                    and not (old and softremoval.is_template(old, p.url, lines, probe.url))
                ):
                    gone = self._gone(s, run_id, target, state, capture, "soft-404")
                    if gone is not None:
                        out.append(gone)
                    continue
                out.append(p)
        return out
