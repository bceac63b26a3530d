"""A site whose pages need their requisites to look right, on two loopback hosts: the pages and
their stylesheets on 127.0.0.1, the logo and the font on a "CDN" at 127.0.0.2. The stylesheet
@imports another and sets a colour nothing else sets (BRAND), so a replay shows whether the archived
CSS was used; robots.txt forbids one image (/private/); an <object> embeds a document."""

from __future__ import annotations

from pathlib import Path

from tests.httpserver import SiteServer, page

BRAND = "rgb(12, 34, 56)"  # the headline's colour, set by the archived stylesheet alone


def png(width: int = 3, height: int = 2) -> bytes:
    """A real PNG a browser decodes (grey pixels), made here rather than kept as a binary file."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\0" + b"\x80\x80\x80" * width for _ in range(height))
    head = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", head)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


PNG = png()
# a real TrueType font (tests/data/requisites/make_font.py), so a browser says it loaded
FONT = (Path(__file__).parent / "data" / "requisites" / "archived.ttf").read_bytes()


def article(cdn: str, text: str) -> str:
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>Statement</title>
<link rel="stylesheet" href="/style.css"></head>
<body><header><img id="logo" src="{cdn}/logo.png" alt="logo"></header>
<article><h1 class="brand">Statement on the flood</h1><p>{text}</p>
<img src="/private/secret.png" alt="denied by robots.txt">
<object data="/map.html" type="text/html"></object></article></body></html>"""


def style(cdn: str) -> str:
    return f"""@import "/print.css";
@font-face {{ font-family: Archived; src: url({cdn}/font.ttf) format("truetype"); }}
.brand {{ color: {BRAND}; font-family: Archived, serif; }}"""


def serve(site: SiteServer, cdn: SiteServer, text: str = "The river rose two metres.") -> None:
    r = site.routes
    r["/robots.txt"] = page("User-agent: *\nDisallow: /private/\n", content_type="text/plain")
    r["/statement"] = page(article(cdn.base, text))
    r["/other"] = page(article(cdn.base, "A second page with the same stylesheet."))
    r["/style.css"] = page(style(cdn.base), content_type="text/css", etag='"css-1"')
    r["/print.css"] = page("@media print { .brand { color: black } }", content_type="text/css")
    r["/private/secret.png"] = page(PNG, content_type="image/png")
    r["/map.html"] = page("<!doctype html><p>An embedded map.</p>")  # a document, no page
    c = cdn.routes
    c["/robots.txt"] = page("User-agent: *\nAllow: /\n", content_type="text/plain")
    c["/logo.png"] = page(PNG, content_type="image/png", etag='"logo-1"')
    c["/font.ttf"] = page(FONT, content_type="font/ttf")
