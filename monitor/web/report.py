"""The standalone diff report (`warcwatch diff --html FILE`, and `/diff/report` in the web UI):
one HTML file with its style inline and no scripts, rendered by `templates/report.html` from the
same side-by-side rows as the web UI's diff page (`monitor.web.diffrows`). Needs Jinja only, not
the web server."""

from __future__ import annotations

from functools import cache

from jinja2 import Environment, PackageLoader, select_autoescape

from monitor.diffview import VersionPair, version_label
from monitor.web.diffrows import side_by_side
from monitor.web.links import snapshot_path


@cache
def _env() -> Environment:
    env = Environment(
        loader=PackageLoader("monitor.web", "templates"),
        autoescape=select_autoescape(default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(label=version_label, snapshot_path=snapshot_path)
    return env


def render_html(pair: VersionPair, ui_base: str = "") -> str:
    """The report: both versions' times, titles and record locations, then the rows side by
    side with the changed words marked; `ui_base` prefixes the links to the archived pages."""
    plus, minus = pair.diff.word_counts()
    return (
        _env()
        .get_template("report.html")
        .render(pair=pair, rows=side_by_side(pair), plus=plus, minus=minus, ui_base=ui_base)
    )
