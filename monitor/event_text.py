"""The words of one change event, rendered once for every place that shows it: an alert (what
happened, to which page, when in ISO 8601 UTC, links to the web UI under `[serve] public_url`,
and what changed, with the changed words marked the way `git diff --word-diff` marks them:
`gathered over [-4-]{+14+} months`), a feed entry's summary, and a line of the web UI's event
lists. `render_event(event)` is the one entry point; each view reads the part it shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from monitor.diff import diff_lines, word_diff
from monitor.web.links import diff_path, record_path, snapshot_path
from storage.enums import EventKind
from storage.models import Capture, ChangeEvent
from storage.timestamps import iso

_VERBS: dict[str, str] = {
    EventKind.ADDED: "New page",
    EventKind.CHANGED: "Page changed",
    EventKind.REMOVED: "Page removed",
    EventKind.RESTORED: "Page restored",
    EventKind.MOVED: "Page moved",
}
_CONTEXT = 8  # unchanged words kept on each side of a change in an alert; the rest is "…"


@dataclass(frozen=True)
class Links:
    """Where a person reads an event in the web UI, as absolute URLs (`[serve] public_url`)."""

    diff: str | None = None
    snapshot: str | None = None
    record: str | None = None


def links_for(
    public_url: str | None, kind: str, before: Capture | None, after: Capture | None
) -> Links:
    """The diff of the two versions, the snapshot (of the last version still there, for a
    removal) and the WARC record that shows the change; none without a public_url."""
    if not public_url:
        return Links()
    base = public_url.rstrip("/")
    shown = before if kind == EventKind.REMOVED else after
    return Links(
        diff=base + diff_path(before.id, after.id)
        if kind in (EventKind.CHANGED, EventKind.MOVED) and before and after
        else None,
        snapshot=base + snapshot_path(shown) if shown is not None else None,
        # a fetch that failed has no record to show
        record=base + record_path(after) if after is not None and after.warc_file else None,
    )


def marked_words(removed: list[str], added: list[str]) -> list[str]:
    """The changed lines with the changed words marked, git's word-diff style: `[-old-]{+new+}`,
    long unchanged stretches around them cut to `…`."""
    out: list[str] = []
    for step in diff_lines(removed, added).steps:
        if step.tag == "equal":
            continue  # a line both removed and added elsewhere: moved, not changed
        if step.tag == "replace" and len(step.old) == len(step.new):
            pairs = list(zip(step.old, step.new, strict=True))
        elif step.tag == "replace":
            pairs = [("\n".join(step.old), "\n".join(step.new))]
        else:
            pairs = [(line, "") for line in step.old] + [("", line) for line in step.new]
        for old, new in pairs:
            out += _marked(_merged(word_diff(old, new)))
    return out


def _merged(steps: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    """Changes separated only by white space become one: `[-reopen on Monday-]{+stay closed+}`."""
    out: list[tuple[str, str, str]] = []
    for step in steps:
        if (
            step[0] != "equal"
            and len(out) >= 2
            and out[-1][0] == "equal"
            and not out[-1][1].strip()
            and out[-2][0] != "equal"
        ):
            space = out.pop()[1]
            _, old, new = out.pop()
            step = ("replace", old + space + step[1], new + space + step[2])
        out.append(step)
    return out


def _marked(steps: list[tuple[str, str, str]]) -> list[str]:
    text = ""
    for i, (tag, old, new) in enumerate(steps):
        if tag == "equal":
            text += _elide(old, after_change=i > 0, before_change=i < len(steps) - 1)
            continue
        if old.strip():
            text += _mark("[-", old, "-]")
        if new.strip():
            text += _mark("{+", new, "+}")
    return [line for line in text.split("\n") if line.strip()]


def _mark(start: str, text: str, end: str) -> str:
    """Marks each line of `text` on its own, so a mark never spans a line break."""
    return "\n".join(f"{start}{part}{end}" if part.strip() else part for part in text.split("\n"))


def _elide(text: str, after_change: bool, before_change: bool) -> str:
    words = text.split(" ")
    if len(words) <= 2 * _CONTEXT + 1 or not (after_change or before_change):
        return text
    head = " ".join(words[:_CONTEXT]) + " …" if after_change else "…"
    tail = "… " + " ".join(words[-_CONTEXT:]) if before_change else ""
    return head + (
        " " + tail.removeprefix("… ") if after_change and before_change else tail.removeprefix("…")
    )


_LINES = 20  # added/removed lines an alert or feed entry quotes


class EventText:
    """One event's words, each part computed when first read (an event list reads only the
    snippet; an alert reads the title and body)."""

    def __init__(
        self,
        event: ChangeEvent,
        title: str | None = None,
        links: Links = Links(),
        tags: tuple[str, ...] = (),
    ):
        self.event = event
        self.page_title = title
        self.links = links
        self.tags = tags  # the target's, from the watchlist (events do not store them)
        summary = event.summary or {}
        self.added: list[str] = summary.get("added") or []
        self.removed: list[str] = summary.get("removed") or []
        self.words_added: int = summary.get("words_added") or 0
        self.words_removed: int = summary.get("words_removed") or 0
        self.has_counts = "words_added" in summary

    @property
    def title(self) -> str:
        """An alert's subject: `[warcwatch] Page changed: TITLE` (the URL when there is no
        title)."""
        return f"[warcwatch] {_VERBS[self.event.kind]}: {self.page_title or self.event.url}"

    @property
    def headline(self) -> str:
        """`changed URL (reason) → NEW_URL`: a feed entry's first line."""
        e = self.event
        return (
            f"{e.kind} {e.url}"
            + (f" ({e.reason})" if e.reason else "")
            + (f" → {e.new_url}" if e.new_url else "")
        )

    @property
    def snippet(self) -> tuple[str, str] | None:
        """The first line added (else removed), for an event list: ("added"|"removed", line)."""
        if self.added:
            return "added", self.added[0]
        if self.removed:
            return "removed", self.removed[0]
        return None

    @property
    def changed_lines(self) -> list[str]:
        """The lines removed (`- …`) and added (`+ …`), as many as an alert quotes."""
        return [f"- {line}" for line in self.removed[:_LINES]] + [
            f"+ {line}" for line in self.added[:_LINES]
        ]

    @property
    def summary(self) -> str:
        """A feed entry's text: the headline, then the lines added and removed."""
        lines = [self.headline]
        lines += [f"+ {line}" for line in self.added[:_LINES]]
        lines += [f"- {line}" for line in self.removed[:_LINES]]
        return "\n".join(lines)

    @property
    def _tags(self) -> str:
        return f" (tags: {', '.join(self.tags)})" if self.tags else ""

    @cached_property
    def body(self) -> str:
        """An alert's body: kind, URL, target, when, the event's number, links, and what changed
        (the changed words marked, or the lines added/removed)."""
        event = self.event
        lines = [
            f"{event.kind.upper()} {event.url}",
            f"target: {event.target}{self._tags}  detected: {iso(event.detected_at)}",
            # a resend after a sender died mid-delivery carries the same number: a receiver that
            # must never show one twice drops repeats by it (no channel protocol here has an
            # idempotency key)
            f"event: {event.id}",
        ]
        if event.reason:
            lines.append(f"reason: {event.reason}")
        if event.new_url:
            lines.append(f"new URL: {event.new_url}")
        for name in ("diff", "snapshot", "record"):
            if getattr(self.links, name):
                lines.append(f"{name}: {getattr(self.links, name)}")
        if event.kind in (EventKind.CHANGED, EventKind.MOVED) and (self.removed or self.added):
            lines.append("")
            lines += marked_words(self.removed[:_LINES], self.added[:_LINES])[:40]
        else:
            lines += self.changed_lines
        if self.has_counts:
            lines.append(f"({self.words_added} words added, {self.words_removed} removed)")
        return "\n".join(lines)


def render_event(
    event: ChangeEvent, title: str | None = None, links: Links = Links(), tags: tuple[str, ...] = ()
) -> EventText:
    """The one rendering of an event: alerts read `.title` and `.body`, feeds `.headline` and
    `.summary`, the web UI's event lists `.snippet` and the word counts. An alert names the
    target's `tags`."""
    return EventText(event, title, links, tags)
