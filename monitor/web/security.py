"""Who may read the web UI, and what archived pages may do inside it.

Two policies, one per kind of response:

* UI pages and the API carry `UI_CSP`: no scripts at all, styles from our own stylesheet,
  frames only from our own origin, and no framing of the UI by anyone (`frame-ancestors 'none'`).
* Archived payloads (`/raw/…`) carry `RAW_CSP` (a rendered DOM `DOM_CSP`: the same, no
  scripts), whose `sandbox` directive gives the document an opaque origin even when it is opened
  directly rather than in the UI's `<iframe sandbox>`: its scripts run, but cannot read the UI's
  DOM, cookies or storage, navigate the top window, open pop-ups or submit forms. No archived
  response header (Set-Cookie above all) is ever replayed.

With a bearer token configured, every route needs it (`Authorization: Bearer …`, or the HttpOnly
SameSite=Strict cookie that `?token=…` sets for browsers), except the archived-payload frame: its
requests come from an opaque origin that carries no cookie, so it is guarded by a key in its path
instead, derived from the token, which opens archived payloads and nothing else.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from urllib.parse import parse_qsl, urlencode

UI_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; frame-src 'self'; form-action "
    "'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
REPORT_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)
# 'self' in a sandboxed document still means the server's origin, so relative subresources of an
# archived page (resolved under /raw/<key>/<ts>/) load; live-web loads are blocked (no leaks to
# the archived site, no mixing of live content into the record).
RAW_CSP = (
    "sandbox allow-scripts; default-src 'self' 'unsafe-inline' 'unsafe-eval' data: blob:; "
    "form-action 'none'; base-uri 'self'; frame-ancestors 'self'"
)
# A rendered DOM (`/raw/[KEY/]dom/ID`) is what the page's scripts made: shown with none of them
# running again (they would write their text a second time, or fetch what the archive has not);
# its styles, images and fonts load from the archive as a page's do.
DOM_CSP = (
    "sandbox; default-src 'self' 'unsafe-inline' data: blob:; script-src 'none'; "
    "form-action 'none'; base-uri 'self'; frame-ancestors 'self'"
)
COOKIE = "warcwatch_session"

UI_HEADERS = [
    (b"content-security-policy", UI_CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
]


def _mac(token: str, purpose: str) -> str:
    digest = hmac.new(token.encode(), purpose.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")[:32]


def raw_key(token: str | None) -> str | None:
    """The path key of archived payloads (None without a token)."""
    return None if token is None else _mac(token, "warcwatch raw payloads")


def _cookie_value(token: str) -> str:
    return _mac(token, "warcwatch session cookie")


class TokenAuth:
    """ASGI middleware: the bearer token check (a pure ASGI class: no per-request task overhead)."""

    def __init__(self, app, token: str, exempt: tuple[str, ...] = ("/raw/", "/static/")):
        self.app = app
        self.token = token.encode()
        self.cookie = _cookie_value(token).encode()
        self.exempt = exempt

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(self.exempt):
            return await self.app(scope, receive, send)
        headers = dict(scope["headers"])
        auth = headers.get(b"authorization", b"")
        if auth[:7].lower() == b"bearer " and hmac.compare_digest(auth[7:].strip(), self.token):
            return await self.app(scope, receive, send)
        query = scope.get("query_string", b"").decode("latin-1")
        params = parse_qsl(query, keep_blank_values=True)
        given = [v for k, v in params if k == "token"]
        if given:
            if hmac.compare_digest(given[-1].encode(), self.token):
                return await self._login(scope, send, [(k, v) for k, v in params if k != "token"])
            return await self._deny(scope, send)
        if hmac.compare_digest(_cookie_of(headers.get(b"cookie", b"")), self.cookie):
            return await self.app(scope, receive, send)
        return await self._deny(scope, send)

    async def _login(self, scope, send, params) -> None:
        """`?token=` from a browser: set the session cookie and drop the token from the address."""
        location = scope["path"] + ("?" + urlencode(params) if params else "")
        cookie = f"{COOKIE}={self.cookie.decode()}; Path=/; HttpOnly; SameSite=Strict"
        await _respond(
            send,
            303,
            b"",
            [
                (b"location", location.encode("utf-8")),
                (b"set-cookie", cookie.encode()),
                (b"cache-control", b"no-store"),
            ],
        )

    async def _deny(self, scope, send) -> None:
        extra = [(b"www-authenticate", b'Bearer realm="warcwatch"')]
        if scope["path"].startswith("/api/") or scope["path"].endswith((".json", ".atom")):
            body = json.dumps(
                {"error": "a bearer token is required (Authorization: Bearer TOKEN)"}
            ).encode()
            await _respond(send, 401, body, [(b"content-type", b"application/json"), *extra])
        else:
            body = (
                b"<!doctype html><title>warcwatch: token required</title><p>This warcwatch server "
                b"needs its "
                b"token: open this address with <code>?token=TOKEN</code> once (it sets a "
                b"cookie), or send "
                b"<code>Authorization: Bearer TOKEN</code>."
            )
            await _respond(
                send, 401, body, [(b"content-type", b"text/html; charset=utf-8"), *extra]
            )


def _cookie_of(header: bytes) -> bytes:
    for part in header.split(b";"):
        name, _, value = part.strip().partition(b"=")
        if name == COOKIE.encode():
            return value
    return b""


async def _respond(send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    headers = [*headers, *UI_HEADERS, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class SecurityHeaders:
    """ASGI middleware: the UI policy on every response that does not set its own."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(message) -> None:
            if message["type"] == "http.response.start":
                have = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in UI_HEADERS if k not in have]
                if (
                    b"content-security-policy" in have
                ):  # a raw payload or report: no x-frame-options DENY
                    extra = [(k, v) for k, v in extra if k != b"x-frame-options"]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)
