"""The steps of a pass's analysis that read beyond a page's extracted text, kept apart from
monitor.analysis: the site's template, found on the host's other pages (`monitor.template`), and
the page's visible text as a second opinion on a redesign (`monitor.visible`). `Analyser`
inherits them; they use its catalog helpers (`_payload`, `patterns`).

Both read payloads again, so both run only for a version whose text still differs from the
last one under every mask; what they read is kept for the pass (the Analyser lives for one).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from monitor import noise, softremoval, template
from monitor.config import Config, Target
from monitor.sametext import same_for_reader
from monitor.versions import Versions
from monitor.visible import visible_lines
from storage.models import REQUISITE, Capture, UrlState, Version
from storage.surt import surt
from storage.timestamps import utcnow

log = logging.getLogger(__name__)

# a capture that shows one of the host's pages: an HTML document answered 200, not one of a
# page's embeds. A site's pages reference dozens of requisites each (icons, stylesheets, fonts,
# which some sites answer with their not-found page, 200 and HTML); counted among the host's
# pages, they filled `template.SIBLINGS` and left out the pages whose titles a box shows
_PAGE = (
    Capture.purpose.is_distinct_from(REQUISITE),
    Capture.status == 200,
    Capture.kind.in_(("response", "revisit")),
    Capture.mime.contains("html"),
)


class ReaderSteps(Versions):
    """The analysis' steps that read a page as its reader and its site do: the host's template
    (its other pages' visible text) and the page's own visible text, cached for the pass."""

    def __init__(self, engine: Engine, config: Config, clock: Callable[[], datetime] = utcnow):
        super().__init__(engine, config, clock)
        self._hosts: dict[str, template.HostText] = {}  # by origin, for the pass
        self._visible: dict[int, list[str] | None] = {}  # by capture id

    # --- the site's template -------------------------------------------------------------------

    def _host_text(self, s: Session, capture_id: int, url: str) -> template.HostText:
        """The visible text of the host's other pages, each as its newest captures show it."""
        origin = softremoval.origin(url)
        if origin in self._hosts:
            return self._hosts[origin]
        prefix = surt(origin + "/")
        upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)  # every key with the prefix
        of_host = (
            select(Capture.surt, Capture.url)
            .where(Capture.surt >= prefix, Capture.surt < upper, *_PAGE)
            .order_by(Capture.id.desc())
        )
        # the host's pages in this pass (the run's index), then, when they are few, the host's
        # newest captures of any pass
        run = s.get(Capture, capture_id)
        pages: dict[str, str] = {}
        queries = [of_host.where(Capture.run_id == run.run_id)] if run and run.run_id else []
        for q in [*queries, of_host.limit(template.SCAN)]:
            for key, page in s.execute(q):
                if len(pages) > template.SIBLINGS:  # the page itself is one of them
                    break
                if softremoval.PROBE_PATH not in page:  # a probe shows the not-found page
                    pages.setdefault(page, key)
            if len(pages) > template.SIBLINGS:
                break
        siblings = []
        for page, key in pages.items():
            for c in self._newest_payloads(s, key, page):
                read = self._payload(s, c)
                if read is not None:
                    lines = frozenset(visible_lines(*read))
                    siblings.append(template.Sibling(c.url, c.id, lines))
        self._hosts[origin] = template.HostText(template.host_name(url), siblings)
        return self._hosts[origin]

    @staticmethod
    def _newest_payloads(s: Session, key: str, url: str) -> list[Capture]:
        """A page's newest different HTML payloads (`template.PAYLOADS`): a page removed since
        (a redirect home, a not-found page now) is still listed by the site's boxes under the
        headline its last version had."""
        q = (
            select(Capture)
            .where(Capture.surt == key, Capture.url == url, *_PAGE)
            .order_by(Capture.timestamp.desc(), Capture.micros.desc())
            .limit(20)
        )
        out: dict[str | None, Capture] = {}
        for c in s.scalars(q):
            if len(out) < template.PAYLOADS:
                out.setdefault(c.digest, c)
        return list(out.values())

    def _learn_template(
        self,
        s: Session,
        state: UrlState,
        old_v: Version,
        new_v: Version,
        pair: tuple[list[str], list[str]],
    ) -> list[dict]:
        """Template entries for the difference of `pair` (masked), when all of it is site
        template."""
        return template.learn(
            new_v.url,
            (old_v.title, new_v.title),
            pair[0],
            pair[1],
            self._host_text(s, new_v.capture_id, new_v.url),
        )

    # --- the visible text ----------------------------------------------------------------------

    def _visible_of(self, s: Session, capture_id: int, target: Target | None) -> list[str] | None:
        cache = self._visible
        if capture_id not in cache:
            c = s.get(Capture, capture_id)
            read = self._payload(s, c) if c is not None else None
            html = c is not None and (not c.mime or "html" in c.mime)
            ignore: Sequence[str] = target.ignore if target is not None else ()
            cache[capture_id] = visible_lines(*read, ignore=ignore) if read and html else None
        return cache[capture_id]

    def _reader_sees_same(
        self, s: Session, state: UrlState, target: Target | None, old_v: Version, new_v: Version
    ) -> bool:
        """Whether the two versions' visible text, masked as their extracted text is, is the same:
        a redesign that makes the extractor keep a block the old template's markup hid from it.
        Not for a target with `select`: what it selects is what it compares."""
        if target is not None and target.select:
            return False
        a = self._visible_of(s, old_v.capture_id, target)
        b = self._visible_of(s, new_v.capture_id, target)
        if not a or not b:
            return False
        pair = noise.mask_pair(a, old_v.timestamp, b, new_v.timestamp, self.patterns(state))
        if same_for_reader(*pair):
            log.info("%s: the extracted text differs, the visible text does not", new_v.url)
            return True
        return False
