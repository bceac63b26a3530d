"""The rules a version was extracted and compared under, recorded with it, so that a diff made
years later is the diff that was made then.

What decides a diff between two stored versions' texts: the target's `select` and `ignore`
(applied at extraction: the stored text already reflects them, they are kept to say so and for
`--current-rules`), the built-in template-box patterns (`[monitor] builtin_noise`, and the list
itself, which a later warcwatch may change), the URL's learned volatile masks
(`UrlState.volatile`, which grow pass after pass), and the clock rule (`monitor.clocks`, code:
recorded by name and warcwatch version). A version is stamped when it is made and again each
time the analysis compares it as the newer side, so what it keeps is the rules its change was
judged under. Identical sets are stored once (`RuleSet`, keyed by the sha256 of their canonical
JSON): a URL's versions mostly share one.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from importlib.metadata import version as package_version

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor import noise
from monitor.config import Config, Target
from storage.catalog import utcnow
from storage.models import RuleSet, Version

CLOCKS = "monitor.clocks: a stamp that reads as the capture's own fetch time"


@dataclass(frozen=True)
class Rules:
    """One set of rules, as stored (`as_json`) and as the diff uses them."""

    select: str | None
    ignore: tuple[str, ...]
    builtin: tuple[str, ...]  # the built-in patterns in force ([] when builtin_noise is off)
    learned: tuple  # the URL's volatile entries (monitor.noise: str or dict)
    clocks: str = CLOCKS
    software: str = ""

    def as_json(self) -> dict:
        return {
            "select": self.select,
            "ignore": list(self.ignore),
            "builtin": list(self.builtin),
            "learned": list(self.learned),
            "clocks": self.clocks,
            "software": self.software,
        }

    @classmethod
    def from_json(cls, data: dict) -> Rules:
        return cls(
            select=data.get("select"),
            ignore=tuple(data.get("ignore", ())),
            builtin=tuple(data.get("builtin", ())),
            learned=tuple(data.get("learned", ())),
            clocks=data.get("clocks", CLOCKS),
            software=data.get("software", ""),
        )

    @property
    def patterns(self) -> list[str]:
        """What `noise.mask` masks under these rules: the built-in patterns, then the learned."""
        own = [p for p in map(noise.pattern_of, self.learned) if p is not None]
        return [*self.builtin, *own]


def in_force(config: Config, target: Target | None, learned) -> Rules:
    """Today's rules for a URL of `target` whose learned entries are `learned`."""
    return Rules(
        select=target.select if target else None,
        ignore=tuple(target.ignore) if target else (),
        builtin=tuple(noise.BUILTIN) if config.monitor.builtin_noise else (),
        learned=tuple(learned or ()),
        software=f"warcwatch {package_version('warcwatch')}",
    )


def _key(rules: Rules) -> tuple[str, dict]:
    data = rules.as_json()
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest(), data


def stamp(s: Session, version: Version, rules: Rules) -> None:
    """Record `rules` as the ones `version` is extracted and compared under."""
    digest, data = _key(rules)
    row = s.scalars(
        select(RuleSet).where(RuleSet.hash == digest).order_by(RuleSet.id).limit(1)
    ).first()
    if row is None:
        # two passes storing the same new set at once may both add it: a harmless duplicate
        # (the hash is not unique), where a unique key would fail one pass's whole analysis
        row = RuleSet(hash=digest, rules=data, created_at=utcnow())
        s.add(row)
        s.flush()
    version.rules_id = row.id


def recorded(s: Session, version: Version) -> Rules | None:
    """The rules stored with `version`, None for a version made before they were recorded."""
    if version.rules_id is None:
        return None
    row = s.get(RuleSet, version.rules_id)
    return Rules.from_json(row.rules) if row is not None else None


def of_capture(s: Session, capture_id: int) -> Rules | None:
    """The rules recorded with a capture's version (what a change receipt states as the rules in
    force for its newer capture); None when it has no version or none were recorded."""
    version = s.scalars(select(Version).where(Version.capture_id == capture_id)).first()
    return recorded(s, version) if version is not None else None
