"""Which pages a target archived before are due for a re-check in this pass.

Pages keep being checked after they leave the feed, sitemap or listing, so that a deletion or a
quiet edit of an older article is seen; the checks thin out with age so the whole history is not
fetched every pass: every pass for two days after a page was first seen, then daily until thirty
days, then weekly, until the target's re-check window ends.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import UrlState
from storage.timestamps import to_datetime

_SCHEDULE = ((timedelta(days=2), timedelta(0)), (timedelta(days=30), timedelta(days=1)))
_OLD = timedelta(days=7)


def interval(age: timedelta) -> timedelta:
    for limit, every in _SCHEDULE:
        if age < limit:
            return every
    return _OLD


def due_by_target(
    session: Session, targets: list[str], now: datetime, window: timedelta
) -> dict[str, list[str]]:
    """target → its pages due for a re-check; one query for all the targets of a pass."""
    out: dict[str, list[str]] = {t: [] for t in targets}
    for state in session.scalars(select(UrlState).where(UrlState.target.in_(targets))):
        # both are capture timestamps (14 digits, storage.timestamps)
        age = now - to_datetime(state.first_seen)
        if age > window:
            continue
        checked = None if state.last_checked is None else to_datetime(state.last_checked)
        if checked is None or now - checked >= interval(age):
            out[state.target].append(state.url)
    return out


def removed_by_target(session: Session, targets: list[str]) -> set[tuple[str, str]]:
    """(target, url) of the pages these targets know to be removed: their 404 is no failure."""
    q = select(UrlState.target, UrlState.url).where(
        UrlState.target.in_(targets), UrlState.removed.is_(True)
    )
    return {(t, u) for t, u in session.execute(q)}
