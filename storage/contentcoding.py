"""Undoing an archived payload's Content-Encoding: every coding the crawl accepts (gzip, deflate,
br, zstd), layer by layer, streamed in bounded chunks so that a reader asking for the first bytes
of a bomb never expands all of it.

warcio's own decoder is not used: its br support expects brotlipy's API (`unused_data`), not
Google's `brotli` that Scrapy decodes with, and it has no zstd. The decoders here are the ones
Scrapy uses (Google's brotli, or brotlicffi on PyPy; `compression.zstd`, or its backport).
"""

from __future__ import annotations

import sys
import zlib
from collections.abc import Callable, Iterable, Iterator
from typing import Protocol

CHUNK = 1 << 16


class DecodingError(ValueError):
    """The payload stopped decoding part way (it began as what its header says, then broke)."""


class _Decoder(Protocol):
    """One coding's streaming decoder: `feed` yields output in chunks of at most CHUNK bytes."""

    errors: tuple[type[Exception], ...]  # what it raises on input not in its coding

    def feed(self, data: bytes) -> Iterator[bytes]: ...


class _Zlib:
    """gzip (members one after another) or deflate (zlib-wrapped, or raw as some servers send)."""

    errors: tuple[type[Exception], ...] = (zlib.error,)

    def __init__(self, gzip: bool):
        self.gzip = gzip
        self.raw_tried = gzip  # deflate: zlib-wrapped first, then raw
        self.started = False
        self.obj = zlib.decompressobj(16 + zlib.MAX_WBITS if gzip else zlib.MAX_WBITS)

    def feed(self, data: bytes) -> Iterator[bytes]:
        while data:
            try:
                out = self.obj.decompress(data, CHUNK)
            except zlib.error:
                if self.started or self.raw_tried:
                    raise
                self.raw_tried, self.obj = True, zlib.decompressobj(-zlib.MAX_WBITS)
                continue
            self.started = True
            if out:
                yield out
            if self.obj.eof:
                rest = self.obj.unused_data
                if not (self.gzip and rest[:2] == b"\x1f\x8b"):
                    return  # anything after the stream is not part of it
                self.obj = zlib.decompressobj(16 + zlib.MAX_WBITS)  # the next gzip member
                data = rest
            else:
                data = self.obj.unconsumed_tail


class _Brotli:
    errors: tuple[type[Exception], ...]

    def __init__(self) -> None:
        self.brotli = _brotli()
        self.errors = (self.brotli.error,)
        self.obj = self.brotli.Decompressor()

    def feed(self, data: bytes) -> Iterator[bytes]:
        if self.obj.is_finished():
            return
        out = self.obj.process(data, output_buffer_limit=CHUNK)
        # with output pending, process() takes only empty input until it has given it all (the
        # loop of Scrapy's own bounded decoder: brotlicffi has no can_accept_more_data())
        while out:
            yield out
            if self.obj.is_finished():
                return
            out = self.obj.process(b"", output_buffer_limit=CHUNK)


class _Zstd:
    errors: tuple[type[Exception], ...]

    def __init__(self) -> None:
        self.zstd = _zstd()
        self.errors = (self.zstd.ZstdError,)
        self.obj = self.zstd.ZstdDecompressor()

    def feed(self, data: bytes) -> Iterator[bytes]:
        while True:
            out = self.obj.decompress(data, max_length=CHUNK)
            data = b""
            if out:
                yield out
            if self.obj.eof:
                rest = self.obj.unused_data
                if not rest:
                    return
                self.obj, data = self.zstd.ZstdDecompressor(), rest  # the next frame
            elif self.obj.needs_input:
                return


def _brotli():
    try:
        import brotli
    except ImportError:  # PyPy: the same API from brotlicffi, as Scrapy does
        import brotlicffi as brotli
    return brotli


def _zstd():
    if sys.version_info >= (3, 14):
        from compression import zstd
    else:
        from backports import zstd
    return zstd


DECODERS: dict[str, Callable[[], _Decoder]] = {
    "gzip": lambda: _Zlib(gzip=True),
    "x-gzip": lambda: _Zlib(gzip=True),
    "deflate": lambda: _Zlib(gzip=False),
    "br": _Brotli,
    "zstd": _Zstd,
}


def codings(header: str | None) -> list[str]:
    """The codings of a Content-Encoding header, in the order they were applied."""
    names = [c.strip().lower() for c in (header or "").split(",")]
    return [c for c in names if c and c != "identity"]


def decode(payload: bytes, header: str | None) -> Iterator[bytes]:
    """The payload with its codings undone, last applied first. Decoding stops at a coding it does
    not know, or at one the body turns out not to be in (it comes out from there as it is); a body
    that breaks after it began decoding raises DecodingError."""
    chunks: Iterable[bytes] = _pieces(payload)
    for coding in reversed(codings(header)):
        if coding not in DECODERS:
            break
        chunks = _undo(coding, chunks)
    return iter(chunks)


def _pieces(data: bytes) -> Iterator[bytes]:
    for i in range(0, len(data), CHUNK):
        yield data[i : i + CHUNK]


def _undo(coding: str, chunks: Iterable[bytes]) -> Iterator[bytes]:
    decoder = DECODERS[coding]()
    failures: tuple[type[Exception], ...] = (*decoder.errors, EOFError)
    # the input seen before any output: given back as is if the body turns out not to be `coding`
    unread: list[bytes] | None = []
    it = iter(chunks)
    for chunk in it:
        if unread is not None:
            unread.append(chunk)
        try:
            for out in decoder.feed(chunk):
                unread = None
                yield out
        except failures as exc:
            if unread is None:
                raise DecodingError(f"{coding}: {exc}") from None
            yield from unread
            yield from it
            return
