"""SURT keys (Sort-friendly URI Reordering Transform), the way Wayback machines match URLs.

The keys are those of the `surt` package's default (IA) canonicaliser, which pywb, OpenWayback and
the CDX(J) indexers use, so that a key in our catalog or CDXJ index is the key pywb looks up. The
rules are ported here rather than imported: that package imports tldextract, which costs ~0.1 s at
start-up on every CLI lookup. tests/storage/test_surt.py checks them against the package itself.

Rules, in order: fragment dropped; user info dropped; host unescaped, lower-cased, `www.`/`wwwN.`
removed, dots trimmed, IPv4 in dotted, decimal or octal form normalised; default port dropped;
path unescaped and re-escaped once, `.`/`..` resolved, lower-cased, trailing slash removed (except
`/`); query lower-cased, session ids removed, arguments sorted; empty query removed.
`http://www.Example.org:80/a/?b=2&a=1#x` → `org,example)/a?a=1&b=2`;
`http://127.0.0.1:8080/` → `1,0,0,127:8080)/`.
"""

from __future__ import annotations

import re
import socket
import struct
from urllib.parse import quote_from_bytes, unquote_to_bytes

_DEFAULT_PORTS = {b"http": 80, b"https": 443}
_URI = re.compile(rb"^(([a-zA-Z][a-zA-Z0-9+.-]*):)?((//([^/?#]*))?([^?#]*)(\?([^#]*))?)?(#(.*))?$")
_HAS_SCHEME = re.compile(rb"^([a-zA-Z][a-zA-Z0-9+\-.]*):")
_MANY_SCHEMES = re.compile(rb"^(https?://)+")
_SPACES = re.compile(rb"[\n\r\t]")
_WWW = re.compile(rb"www\d*\.")
_DECIMAL_IP = re.compile(rb"^([1-9][0-9]*)(\.[0-9]+)?(\.[0-9]+)?(\.[0-9]+)?$")
_OCTAL_IP = re.compile(rb"^(0[0-7]*)(\.[0-7]+)?(\.[0-7]+)?(\.[0-7]+)?$")
_SAFE = b"""!"$&'()*+,-./:;<=>?@[\\]^_`{|}~"""
_PATH_SESSION = (
    re.compile(rb"^(.*/)(\((?:[a-z]\([0-9a-z]{24}\))+\)/)([^?]+\.aspx.*)$", re.I),
    re.compile(rb"^(.*/)(\([0-9a-z]{24}\)/)([^?]+\.aspx.*)$", re.I),
)
_QUERY_SESSION = (
    re.compile(rb"^(.*)(?:jsessionid=[0-9a-zA-Z]{32})(?:&(.*))?$", re.I),
    re.compile(rb"^(.*)(?:phpsessid=[0-9a-zA-Z]{32})(?:&(.*))?$", re.I),
    re.compile(rb"^(.*)(?:sid=[0-9a-zA-Z]{32})(?:&(.*))?$", re.I),
    re.compile(rb"^(.*)(?:ASPSESSIONID[a-zA-Z]{8}=[a-zA-Z]{24})(?:&(.*))?$", re.I),
    re.compile(rb"^(.*)(?:cfid=[^&]+&cftoken=[^&]+)(?:&(.*))?$", re.I),
)


def surt(url: str) -> str:
    """The SURT key of `url` (without scheme), e.g. `org,example)/a?a=1&b=2`."""
    raw = url.encode("utf-8")
    if not raw:
        return "-"
    if raw.startswith(b"filedesc"):
        return url
    return _surt(raw).decode("utf-8", "replace")


def _surt(url: bytes) -> bytes:
    url = _SPACES.sub(b"", url.strip())
    if not _HAS_SCHEME.match(url):
        url = b"http://" + url  # "example.org/path" as a user might type it
    url = _MANY_SCHEMES.sub(lambda m: m.group(1), url)
    m = _URI.match(url)
    # RFC 3986's appendix B expression: every part optional, it matches any line (newlines and tabs
    # were taken out above)
    assert m is not None
    scheme = (m.group(2) or b"").lower()
    netloc, path, query = m.group(5) or b"", m.group(6) or b"", m.group(8) or b""
    host, port = _host_port(netloc.rstrip(b":"))
    if scheme.startswith(b"http") and not host and path:
        host, _, rest = path.lstrip(b"/").partition(b"/")
        path = b"/" + rest
    if not host:
        return (
            scheme + b":" + _path(path, normalise=False) + (b"?" + _query(query) if query else b"")
        )
    key = _host(host)
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        key += b":%d" % port
    out = key + b")" + _path(path)
    query = _query(query) if query else b""
    return out + b"?" + query if query else out


def _host_port(netloc: bytes) -> tuple[bytes, int | None]:
    netloc = netloc.rpartition(b"@")[2]
    if netloc.startswith(b"["):  # IPv6 literal
        host, _, rest = netloc[1:].partition(b"]")
        port = rest[1:] if rest.startswith(b":") else b""
    else:
        host, _, port = netloc.partition(b":")
    try:
        return host, int(port) if port else None
    except ValueError:
        return host, None


def _host(host: bytes) -> bytes:
    host = _unescape(host)
    try:
        host.decode("ascii")
    except UnicodeDecodeError:
        try:
            host = host.decode("utf-8", "ignore").encode("idna")
        except UnicodeError:
            pass
    host = host.replace(b"..", b".").strip(b".")
    host = _ipv4(host) or _escape(host.lower())
    host = host.lower()
    m = _WWW.match(host)
    if m:
        host = host[len(m.group(0)) :]
    return b",".join(reversed(host.split(b".")))


def _ipv4(host: bytes) -> bytes | None:
    """Dotted, decimal (`3232235777`) or octal IPv4 addresses in dotted-quad form; None
    otherwise."""
    if host.isdigit():
        return socket.inet_ntoa(struct.pack(">L", int(host) & 0xFFFFFFFF)).encode()
    if _DECIMAL_IP.match(host) or _OCTAL_IP.match(host):
        try:
            # inet_aton reads the same short and octal forms the resolver does, without a lookup
            return socket.inet_ntoa(socket.inet_aton(host.decode())).encode()
        except (OSError, ValueError):
            return None
    return None


def _path(path: bytes, normalise: bool = True) -> bytes:
    path = _unescape(path)
    if normalise:
        path = _dot_segments(path)
    path = (_escape(path) or b"").lower()
    for pattern in _PATH_SESSION:
        m = pattern.match(path)
        if m:
            path = m.group(1) + m.group(3)
    if len(path) > 1 and path.endswith(b"/"):
        path = path[:-1]
    return path or (b"/" if normalise else b"")


def _dot_segments(path: bytes) -> bytes:
    if not path:
        return b"/"
    kept: list[bytes] = []
    for p in path.split(b"/")[1:]:
        if p == b".":
            continue
        if p == b".." and kept:
            kept.pop()
        else:
            kept.append(p)
    if not kept:
        return b"/"
    # empty elements (double slashes) are dropped, except a last one that keeps a trailing slash
    return b"/" + b"".join(p + b"/" for p in kept[:-1] if p) + kept[-1]


def _query(query: bytes) -> bytes:
    query = _escape(_unescape(query))
    for pattern in _QUERY_SESSION:
        m = pattern.match(query)
        if m:
            query = m.group(1) + m.group(2) if m.group(2) else m.group(1)
    query = query.lower()
    if len(query) <= 1:
        return query
    args = sorted(tuple(a.split(b"=", 1)) for a in query.split(b"&"))
    return b"&".join(b"=".join(a) for a in args)


def _unescape(data: bytes) -> bytes:
    while True:
        once = unquote_to_bytes(data)
        if once == data:
            return data
        data = once


def _escape(data: bytes) -> bytes:
    return quote_from_bytes(data, safe=_SAFE).encode("ascii") if data else data
