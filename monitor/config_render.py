"""A target's browser fields in the watchlist: `render`, `render_wait`, `render_scroll`,
`screenshot`.

Checked here, each mistake one line through the caller's `err(field, message)` (monitor.config):
`render = true` loads the target's pages in Chromium (crawler.render) and monitors the rendered
DOM; `render_wait` is how long to let its network settle at most (seconds or a duration, default
10s); `render_scroll` how many screen-heights to scroll down once it has settled, so that what
loads on scrolling (lazy images, more articles) is in the DOM and the screenshot (a number, or
"auto": to the bottom, at most MAX_SCROLL screens); `screenshot = true` stores a full-page PNG
of each page (loaded in the browser for it), the default for a rendered target (`screenshot =
false` turns it off).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from monitor.errors import ConfigError
from monitor.tomltext import toml_text

DEFAULT_WAIT = 10.0  # seconds: the cap on waiting for the network to be idle
MAX_WAIT = 120.0  # a page that never settles must not hold a pass
# screens scrolled at most: "auto" on a page that grows as it is scrolled (an endless feed) stops
# here; each screen costs at least half a second of an idle network
MAX_SCROLL = 50


@dataclass(frozen=True)
class RenderFields:
    render: bool = False
    render_wait: float = DEFAULT_WAIT
    render_scroll: int = 0  # screen-heights, MAX_SCROLL for "auto"
    screenshot: bool = False


def render_fields(
    raw: dict, err: Callable[[str, str], ConfigError], parse_duration: Callable[[str], float]
) -> RenderFields:
    """The browser fields of one [[targets]] table, checked."""
    render = raw.get("render", False)
    if not isinstance(render, bool):
        raise err("render", f"must be true or false, got {toml_text(render)}")
    wait = raw.get("render_wait", DEFAULT_WAIT)
    if "render_wait" in raw:
        if not render:
            raise err("render_wait", "only means something with render = true")
        if isinstance(wait, bool):
            raise err("render_wait", f"expected seconds or a duration like '5s', got {wait}")
        try:
            wait = float(wait) if isinstance(wait, (int, float)) else parse_duration(str(wait))
        except ValueError as exc:
            raise err("render_wait", str(exc)) from None
        if not 0 <= wait <= MAX_WAIT:
            raise err("render_wait", f"must be between 0 and {MAX_WAIT:g} seconds, got {wait:g}")
    scroll = _scroll(raw, render, err)
    screenshot = raw.get("screenshot", render)
    if not isinstance(screenshot, bool):
        raise err("screenshot", f"must be true or false, got {toml_text(screenshot)}")
    return RenderFields(
        render=render, render_wait=float(wait), render_scroll=scroll, screenshot=screenshot
    )


def _scroll(raw: dict, render: bool, err: Callable[[str, str], ConfigError]) -> int:
    if "render_scroll" not in raw:
        return 0
    value = raw["render_scroll"]
    if not render:
        raise err("render_scroll", "only means something with render = true")
    if value == "auto":
        return MAX_SCROLL
    if isinstance(value, bool) or not isinstance(value, int):
        raise err(
            "render_scroll",
            f'expected a number of screen-heights or "auto", got {toml_text(value)}',
        )
    if not 0 <= value <= MAX_SCROLL:
        raise err("render_scroll", f"must be between 0 and {MAX_SCROLL} screens, got {value}")
    return value
