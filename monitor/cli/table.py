"""Tables people read in a terminal: a header row, aligned columns, and a last column that is never
cut. When a row would be wider than the terminal, the last column (a file location, a URL, a
reason) goes whole on a line of its own under each row, indented under the second column, instead
of being truncated or broken mid-column by the terminal.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Sequence

GAP = "  "


def terminal_width() -> int | None:
    """The width to fit: `COLUMNS` when set, the terminal's on a terminal, None (no limit) when the
    output goes to a pipe or a file, so scripts get one line per row."""
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    if sys.stdout.isatty():
        return shutil.get_terminal_size().columns
    return None


def render(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    right: Sequence[int] = (),
    width: int | None = None,
) -> list[str]:
    """The lines of a table: `headers`, then `rows` (strings; the columns in `right`
    right-aligned)."""
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)
    ]

    def fixed(cells: Sequence[str]) -> str:
        return GAP.join(
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells[:-1], widths[:-1], strict=True))
        )

    table = [(fixed(cells), cells[-1]) for cells in [headers, *rows]]
    # one layout for the whole table: the last column beside the others while every row fits
    wraps = width is not None and any(
        len(head) + len(GAP) + len(last) > width for head, last in table
    )
    indent = " " * (widths[0] + len(GAP))
    lines = []
    for head, last in table:
        if not wraps:
            lines.append((head + GAP + last).rstrip())
        else:
            lines.append(head.rstrip())
            if last:
                lines.append(indent + last)
    return lines
