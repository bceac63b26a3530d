"""SURT keys (Sort-friendly URI Reordering Transform), the way Wayback machines match URLs.

Written here rather than taken from the `surt` package: that package imports tldextract, which
costs ~0.1 s at start-up on every CLI lookup, and the canonicalisation archives agree on is short:
lower-case host without `www.`, default port dropped, query arguments sorted, fragment dropped.
`http://www.Example.org:80/a?b=2&a=1#x` → `org,example)/a?a=1&b=2`.
"""

from __future__ import annotations

from urllib.parse import urlsplit

_DEFAULT_PORTS = {"http": 80, "https": 443}


def surt(url: str) -> str:
    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").rstrip(".")
        port = parts.port
    except ValueError:
        return url.lower()
    if not parts.scheme and not host:
        # bare "example.org/path" as a user might type it
        return surt("http://" + url)
    if host.startswith("www.") or (host.startswith("www") and host[3:4].isdigit() and "." in host[4:]):
        host = host.split(".", 1)[1]
    if _is_ip(host):
        key = host
    else:
        key = ",".join(reversed(host.split(".")))
    if port and port != _DEFAULT_PORTS.get(parts.scheme.lower()):
        key += f":{port}"
    path = parts.path or "/"
    query = "&".join(sorted(parts.query.split("&"))) if parts.query else ""
    out = f"{key})" + path.lower()
    if query:
        out += "?" + query.lower()
    return out


def _is_ip(host: str) -> bool:
    if ":" in host:
        return True
    pieces = host.split(".")
    return len(pieces) == 4 and all(p.isdigit() for p in pieces)
