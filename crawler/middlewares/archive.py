"""Hands every HTTP exchange to the archive, below Scrapy's redirect and decompression middlewares,
so that redirects, error pages and encoded payloads are archived as they were received."""

from __future__ import annotations

import logging

from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.utils._compression import (  # the bounded decoders Scrapy's own middleware uses
    _DecompressionMaxSizeExceeded,
    _inflate,
    _unbrotli,
    _unzstd,
)
from scrapy.utils.gz import gunzip

from crawler.outcomes import record_exchange, record_failure
from storage.timestamps import utcnow

log = logging.getLogger(__name__)
# gzip needs its own decoder: _inflate reads zlib or raw deflate streams, not a gzip header.
_DECODERS = {
    b"gzip": gunzip,
    b"x-gzip": gunzip,
    b"deflate": _inflate,
    b"br": _unbrotli,
    b"zstd": _unzstd,
}


# Deflate (gzip, zlib) never expands more than 1032:1 (Mark Adler, zlib's co-author): a body that
# cannot reach max_size through its deflate layers need not be decoded to know it is no bomb.
_DEFLATE_MAX_RATIO = 1032
_DEFLATE = {b"gzip", b"x-gzip", b"deflate"}


class ResponseRejected(IgnoreRequest):
    """The response was received but refused (a decompression bomb); already recorded as failed."""

    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


class ArchiveMiddleware:
    def __init__(self, crawler, max_size: int):
        self.crawler = crawler
        self.max_size = max_size

    @classmethod
    def from_crawler(cls, crawler):
        if not crawler.settings.getbool("WARC_ENABLED", True):
            raise NotConfigured
        return cls(crawler, crawler.settings.getint("DOWNLOAD_MAXSIZE"))

    def process_request(self, request):
        # WARC-Date is when the request went out (the last middleware before the wire).
        request.meta["fetch_started"] = utcnow()
        return None

    def process_response(self, request, response):
        wire = request.meta.pop("wire", None)
        if wire is None:
            return response  # not fetched over HTTP by our handler (data:, file:, cache)
        spider = self.crawler.spider
        max_size = request.meta.get("download_maxsize", self.max_size)
        decoded = self._decoded_size_exceeds(response, max_size)
        if decoded is not None:
            record_failure(
                spider,
                request,
                "gzip-bomb",
                f"{len(response.body)} B expand past {max_size} B ({decoded} B so far)",
            )
            raise ResponseRejected("gzip-bomb", f"expands past {max_size} B")
        record_exchange(spider, request, response, *wire)
        return response

    @staticmethod
    def _decoded_size_exceeds(response, max_size: int) -> int | None:
        encodings = [
            e.strip().lower()
            for v in response.headers.getlist(b"Content-Encoding")
            for e in v.split(b",")
        ]
        if not max_size or not encodings:
            return None
        body = response.body
        bound = len(body)  # the most the layers decoded below could expand it to
        bounded = True
        for enc in reversed(encodings):
            if enc not in _DECODERS:
                break  # decoding stops here (see below)
            if enc not in _DEFLATE:
                bounded = False  # br and zstd have no useful bound: decode
                break
            bound *= _DEFLATE_MAX_RATIO
        if bounded and bound <= max_size:
            # saves decoding every page twice (Scrapy's HttpCompressionMiddleware decodes it again)
            return None
        try:
            for enc in reversed(encodings):
                decoder = _DECODERS.get(enc)
                if decoder is None:
                    return None
                body = decoder(body, max_size=max_size)
        except _DecompressionMaxSizeExceeded as exc:
            return exc.decompressed_size
        except Exception:  # noqa: BLE001 - a corrupt encoding is archived as received; Scrapy reports it later
            return None
        return None
