"""Sending one message to one alert channel through apprise, within a time limit, and saying why
it failed in words a person can act on: `unreachable: connection refused` (nothing answered:
try again later, not within this pass) or `refused: Internal Server Error, error=500` (the
channel answered and said no: worth a retry with backoff)."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

# "[Errno 111] Connection refused", "timed out", "Name or service not known" inside requests' long
# exception text: the part worth showing
_ERRNO = re.compile(r"\[Errno -?\d+\] ([^'\")]+)")
_TIMEOUT = re.compile(r"timed? ?out", re.I)
# schemes whose host part is a server's name, not a token
_HOSTED = {
    "json",
    "jsons",
    "xml",
    "xmls",
    "form",
    "forms",
    "mailto",
    "mailtos",
    "ntfy",
    "ntfys",
    "matrix",
    "matrixs",
}


@dataclass(frozen=True)
class SendError:
    reason: str
    # nothing answered (connection refused, timeout, DNS): skip the channel for the rest of the pass
    unreachable: bool

    def __str__(self) -> str:
        return f"{'unreachable' if self.unreachable else 'refused'}: {self.reason}"


Sender = Callable[[str, str, str, float], "SendError | None"]


def channel_label(channel: str) -> str:
    """The channel without its secrets, for summaries and logs: `json://127.0.0.1:8080/hook`,
    `mailto://example.org` (no user, password, token or query)."""
    parts = urlsplit(channel)
    if parts.scheme not in _HOSTED:  # tgram://TOKEN/…, slack://TOKEN/…: the "host" is a secret
        return f"{parts.scheme}://…"
    host = (parts.hostname or "") + (f":{parts.port}" if parts.port else "")
    path = parts.path if not parts.scheme.startswith("mailto") else ""
    return f"{parts.scheme}://{host}{path}"


class _Capture(logging.Handler):
    """apprise logs why a send failed and returns only False: keep this thread's records."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.thread = threading.get_ident()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.thread:
            self.records.append(record)


def _reason(records: list[logging.LogRecord]) -> SendError:
    messages = [(r.levelno, r.getMessage()) for r in records]
    for _, msg in messages:
        if msg.startswith("Socket Exception:") or "Connection error" in msg:
            detail = " ".join(m for _, m in messages if m.startswith("Socket Exception:"))
            m = _ERRNO.search(detail)
            if m:
                return SendError(m.group(1).strip().lower(), unreachable=True)
            return SendError(
                "timed out" if _TIMEOUT.search(detail) else "connection failed", unreachable=True
            )
    warnings = [m for level, m in messages if level >= logging.WARNING]
    if warnings:
        return SendError(
            warnings[-1].removeprefix("Failed to send ").rstrip("."), unreachable=False
        )
    return SendError("the channel did not accept the message", unreachable=False)


def load_apprise() -> None:
    """Imports apprise and its plugins now (about a second on a slow machine), so that a pass's
    delivery time (`retry_for`) is spent on channels, not on loading the library."""
    import apprise

    apprise.Apprise.instantiate("json://localhost/")


def send_via_apprise(
    channel: str, title: str, body: str, timeout: float = 10.0
) -> SendError | None:
    """Sends one message, waiting at most `timeout` seconds to connect and as long for the answer
    (unless the URL sets its own `cto`/`rto`); returns None on success or why it failed."""
    import apprise

    plugin = apprise.Apprise.instantiate(channel)
    if plugin is None:
        return SendError(
            f"not a valid apprise URL: {channel.split('://', 1)[0]}://…", unreachable=False
        )
    query = urlsplit(channel).query
    if "cto=" not in query:
        plugin.socket_connect_timeout = timeout
    if "rto=" not in query:
        plugin.socket_read_timeout = timeout
    logger = logging.getLogger("apprise")
    capture = _Capture()
    saved = logger.level, logger.propagate
    logger.setLevel(logging.DEBUG)
    logger.propagate = False  # its debug lines are read here, not shown
    logger.addHandler(capture)
    try:
        ok = plugin.notify(title=title, body=body)
    except Exception as exc:  # noqa: BLE001 - a plugin error must not stop delivery of the others
        return SendError(f"{type(exc).__name__}: {exc}", unreachable=False)
    finally:
        logger.removeHandler(capture)
        logger.setLevel(saved[0])
        logger.propagate = saved[1]
    return None if ok else _reason(capture.records)
