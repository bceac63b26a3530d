"""The words of one alert: what happened, to which page, when (ISO 8601 UTC), links to the web
UI under `[serve] public_url`, and what changed, with the changed words marked the way
`git diff --word-diff` marks them (`gathered over [-4-]{+14+} months`)."""

from __future__ import annotations

from dataclasses import dataclass

from monitor.diff import diff_lines, word_diff
from monitor.web.links import diff_path, record_path, snapshot_path
from storage.models import Capture, ChangeEvent
from storage.timestamps import iso

_VERBS = {
    "added": "New page",
    "changed": "Page changed",
    "removed": "Page removed",
    "restored": "Page restored",
    "moved": "Page moved",
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
    shown = before if kind == "removed" else after
    return Links(
        diff=base + diff_path(before.id, after.id)
        if kind in ("changed", "moved") and before and after
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


def alert_text(
    event: ChangeEvent, title: str | None = None, links: Links = Links()
) -> tuple[str, str]:
    """The title and body of one event's alert: kind, title, URL, when (ISO 8601 UTC), links to
    the web UI, and what changed: the changed words marked, or the lines added/removed."""
    head = f"[warcwatch] {_VERBS[event.kind]}: {title or event.url}"
    lines = [
        f"{event.kind.upper()} {event.url}",
        f"target: {event.target}  detected: {iso(event.detected_at)}",
        # a resend after a sender died mid-delivery carries the same number: a receiver that must
        # never show one twice drops repeats by it (no channel protocol here has an idempotency key)
        f"event: {event.id}",
    ]
    if event.reason:
        lines.append(f"reason: {event.reason}")
    if event.new_url:
        lines.append(f"new URL: {event.new_url}")
    for name in ("diff", "snapshot", "record"):
        if getattr(links, name):
            lines.append(f"{name}: {getattr(links, name)}")
    summary = event.summary or {}
    removed, added = summary.get("removed", []), summary.get("added", [])
    if event.kind in ("changed", "moved") and (removed or added):
        lines.append("")
        lines += marked_words(removed[:20], added[:20])[:40]
    else:
        lines += [f"- {line}" for line in removed[:20]]
        lines += [f"+ {line}" for line in added[:20]]
    if "words_added" in summary:
        lines.append(f"({summary['words_added']} words added, {summary['words_removed']} removed)")
    return head, "\n".join(lines)
