"""The difference between two versions of a page: which two (`version_pair`), its steps with long
unchanged runs cut to context (`context_steps`), and the terminal rendering. The HTML renderings
(the web UI's diff page and the standalone report) lay these steps out as the rows of
`monitor.web.diffrows`."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from monitor import noise, rules
from monitor.analysis import Analyser
from monitor.config import Config, Target
from monitor.diff import TextDiff, diff_lines, word_diff
from monitor.extract import extract
from monitor.versions import rendering_row, renders
from storage.catalog import content_captures
from storage.enums import RecordKind
from storage.errors import ArchiveError, CaptureNotFound
from storage.models import Capture, UrlState, Version
from storage.retrieval import nearest, origin_of
from storage.timestamps import readable

CONTEXT = 2  # unchanged lines shown around each change


@dataclass(frozen=True)
class VersionPair:
    url: str
    old: Capture
    new: Capture
    old_title: str | None
    new_title: str | None
    diff: TextDiff
    masked: int  # volatile lines left out
    # (which version, span) masked as noise and why: filled for `diff --explain`
    explained: tuple[tuple[str, noise.Masked], ...] = ()
    # "recorded": the rules stored with the newer version; "current": today's watchlist and
    # masks (`--current-rules`, or a version recorded before rules were kept)
    rules: str = "recorded"


def _target(config: Config, name: str | None) -> Target | None:
    return next((t for t in config.targets if t.name == name), None)


def _content_captures(s: Session, config: Config, url: str) -> list[Capture]:
    """The page's versions (storage.catalog.content_captures), oldest first. A rendered target's
    fetches are each a version (their DOMs may differ where the HTML is a revisit), read as that
    target's rows: a URL another target lists too has rows of its fetches that read the HTML."""
    every = list(reversed(s.scalars(content_captures(url, revisits=True)).all()))
    rendering = [c for c in every if renders(config, c.target)]
    if rendering:
        return rendering
    return [c for c in every if c.kind == RecordKind.RESPONSE]


def _capture_at(s: Session, config: Config, url: str, at: str) -> Capture:
    """The version of `url` at time `at`: the capture nearest it, as a rendered target reads it
    (that fetch's own DOM, the row of a target that renders it) when the fetch was rendered, else
    the response holding its payload (a revisit's origin)."""
    c = nearest(s, url, at)
    return rendering_row(s, config, c) or origin_of(s, c)


def _previous_version(
    s: Session,
    analyser: Analyser,
    config: Config,
    new: Capture,
    earlier: list[Capture],
    limit: int = 50,
) -> Capture:
    """The newest earlier capture whose text (noise masked) differs from `new`'s: the pass's
    confirmation fetch and noise-only re-fetches are the same version, not the one before it."""
    target = _target(config, new.target)
    new_v = analyser.version_of(s, new, target)
    # chosen with the noise masked, even for --all
    patterns = _rules(s, config, new, new_v, current=False)[0].patterns
    if new_v is not None:
        new_lines = Analyser.lines(new_v)
        for c in reversed(earlier[-limit:]):
            v = analyser.version_of(s, c, target)
            if v is not None:
                a, b = noise.mask_pair(
                    Analyser.lines(v), v.timestamp, new_lines, new_v.timestamp, patterns
                )
                if a != b:
                    return c
    return earlier[-1]


def _rules(
    s: Session, config: Config, new: Capture, new_v: Version | None, current: bool
) -> tuple[rules.Rules, str]:
    """The rules to compare under: those recorded with the newer version, or today's."""
    stored = rules.recorded(s, new_v) if new_v is not None and not current else None
    if stored is not None:
        return stored, "recorded"
    state = s.scalars(
        select(UrlState).where(UrlState.url == new.url, UrlState.target == new.target)
    ).first()
    target = _target(config, new.target)
    return rules.in_force(config, target, state.volatile if state else []), "current"


def _lines_now(
    analyser: Analyser, s: Session, config: Config, c: Capture, r: rules.Rules
) -> list[str] | None:
    """A version's lines extracted again from its record (a rendered target's: its DOM's) under
    `r`'s select and ignore."""
    target = _target(config, c.target)
    source = analyser.dom_of(s, c) if target is not None and target.render else c
    if source is None:
        return None
    read = analyser._payload(s, source)
    if read is None:
        return None
    origin = origin_of(s, source)
    page = extract(read[0], origin.mime, read[1], c.url, r.select, r.ignore)
    return list(page.lines)


def version_pair(
    engine: Engine,
    config: Config,
    url: str | None = None,
    at_from: str | None = None,
    at_to: str | None = None,
    from_id: int | None = None,
    to_id: int | None = None,
    show_volatile: bool = False,
    explain: bool = False,
    current_rules: bool = False,
) -> VersionPair:
    """The two versions to compare: by capture id, by time (nearest capture), or by default the
    newest capture and the newest earlier one with a different text; compared under the rules
    recorded with the newer one (monitor.rules), or today's with `current_rules` (the texts
    extracted again with today's select and ignore)."""
    analyser = Analyser(engine, config)
    with Session(engine, expire_on_commit=False) as s, s.begin():
        if from_id is not None and to_id is not None:
            old, new = s.get(Capture, from_id), s.get(Capture, to_id)
        else:
            if url is None:
                raise TypeError("version_pair needs a url, or both capture ids")
            content = _content_captures(s, config, url)
            if not content:
                raise CaptureNotFound(f"no archived version of {url}")
            new = _capture_at(s, config, url, at_to) if at_to else content[-1]
            if at_from:
                old = _capture_at(s, config, url, at_from)
            else:
                key = (new.timestamp, new.micros, new.id)
                earlier = [c for c in content if (c.timestamp, c.micros, c.id) < key]
                if not earlier:
                    raise CaptureNotFound(
                        f"{url} has only one version ({new.timestamp}): nothing to compare"
                    )
                old = _previous_version(s, analyser, config, new, earlier)
        if old is None or new is None:
            raise CaptureNotFound("no such captures")
        target = _target(config, new.target)
        old_v, new_v = analyser.version_of(s, old, target), analyser.version_of(s, new, target)
        if old_v is None or new_v is None:
            raise ArchiveError("the archived records of these versions cannot be read")
        in_force, which = _rules(s, config, new, new_v, current_rules)
        learned = list(in_force.learned)
        patterns = [] if show_volatile else in_force.patterns
        a, b = Analyser.lines(old_v), Analyser.lines(new_v)
        if current_rules:
            now_a, now_b = (
                _lines_now(analyser, s, config, old, in_force),
                _lines_now(analyser, s, config, new, in_force),
            )
            if now_a is None or now_b is None:
                raise ArchiveError("the archived records of these versions cannot be read")
            a, b = now_a, now_b
        if show_volatile:
            ma, mb = a, b
        else:
            ma, mb = noise.mask_pair(a, old_v.timestamp, b, new_v.timestamp, patterns)
        explained: tuple[tuple[str, noise.Masked], ...] = ()
        if explain:
            builtin = bool(in_force.builtin)
            explained = tuple(
                [
                    ("old", m)
                    for m in noise.explain(
                        a, old_v.timestamp, learned, builtin, other=b, other_at=new_v.timestamp
                    )
                ]
                + [
                    ("new", m)
                    for m in noise.explain(
                        b, new_v.timestamp, learned, builtin, other=a, other_at=old_v.timestamp
                    )
                ]
            )
        s.expunge_all()
    return VersionPair(
        new.url,
        old,
        new,
        old_v.title,
        new_v.title,
        diff_lines(ma, mb),
        masked=(len(a) - len(ma)) + (len(b) - len(mb)),  # lines and clocks masked, both sides
        explained=explained,
        rules=which,
    )


def version_label(c: Capture) -> str:
    """When a version was captured, to the microsecond, and its id: two captures of one second
    differ."""
    return f"{readable(c.timestamp, c.micros)} (capture {c.id})"


def context_steps(pair: VersionPair):
    """Diff steps with long runs of unchanged lines cut to CONTEXT lines around changes."""
    steps = pair.diff.steps
    for i, step in enumerate(steps):
        if step.tag != "equal":
            yield step, None
            continue
        lines = step.old
        keep_head = CONTEXT if i > 0 else 0
        keep_tail = CONTEXT if i < len(steps) - 1 else 0
        if len(lines) <= keep_head + keep_tail + 1:
            yield step, None
        else:
            yield (
                step,
                (
                    lines[:keep_head],
                    len(lines) - keep_head - keep_tail,
                    lines[len(lines) - keep_tail :] if keep_tail else (),
                ),
            )


def _print_head(console, colour: str, sign: str, c: Capture) -> None:
    """`--- TIME (capture ID)  FILE:OFFSET`; when that is wider than the terminal the location goes
    whole on a line of its own, as in `captures`, rather than being broken by rich's wrapping."""
    head, location = f"{sign} {version_label(c)}", f"{c.warc_file}:{c.offset}"
    if len(head) + 2 + len(location) <= console.width:
        console.print(f"[{colour}]{head}[/]  {location}", soft_wrap=True)
    else:
        console.print(f"[{colour}]{head}[/]", soft_wrap=True)
        console.print(f"    {location}", soft_wrap=True)


def render_terminal(
    console,
    engine: Engine,
    config: Config,
    from_id: int | None = None,
    to_id: int | None = None,
    pair: VersionPair | None = None,
) -> None:
    from rich.text import Text

    pair = pair or version_pair(engine, config, from_id=from_id, to_id=to_id)
    _print_head(console, "red", "---", pair.old)
    _print_head(console, "green", "+++", pair.new)
    if not pair.diff.changed:
        console.print("(no difference in the text)")
    for step, cut in context_steps(pair):
        if step.tag == "equal":
            if cut is None:
                for line in step.old:
                    console.print(Text("  " + line, style="dim"))
            else:
                head, skipped, tail = cut
                for line in head:
                    console.print(Text("  " + line, style="dim"))
                console.print(Text(f"  … {skipped} unchanged lines …", style="dim italic"))
                for line in tail:
                    console.print(Text("  " + line, style="dim"))
        elif step.tag == "replace" and len(step.old) == len(step.new):
            for a, b in zip(step.old, step.new, strict=True):
                old_line, new_line = Text("- ", style="red"), Text("+ ", style="green")
                for tag, wa, wb in word_diff(a, b):
                    if tag == "equal":
                        old_line.append(wa, style="red")
                        new_line.append(wb, style="green")
                    else:
                        old_line.append(wa, style="bold white on red")
                        new_line.append(wb, style="bold white on green")
                console.print(old_line)
                console.print(new_line)
        else:
            for line in step.old:
                console.print(Text("- " + line, style="red"))
            for line in step.new:
                console.print(Text("+ " + line, style="green"))
    plus, minus = pair.diff.word_counts()
    note = f"; {pair.masked} volatile lines left out (--all shows them)" if pair.masked else ""
    console.print(f"[dim]{plus} words added, {minus} removed{note}[/]")
    if pair.explained:
        render_explained(console, pair)


def render_explained(console, pair: VersionPair) -> None:
    """`diff --explain`: each span masked as noise in either version, and the rule that masked
    it."""
    from rich.text import Text

    console.print(f"masked as noise ({len(pair.explained)} spans):")
    when = {"old": pair.old.timestamp, "new": pair.new.timestamp}
    for side, m in pair.explained:
        span = m.span if m.span == m.line else f"{m.span}  (in: {m.line})"
        console.print(Text(f"  [{side} {when[side]}] {span}", style="yellow"))
        console.print(Text(f"      {m.why}", style="dim"))
