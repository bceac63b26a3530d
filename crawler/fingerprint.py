"""Request fingerprints that include the target: one pass crawls many targets in one crawler,
and a URL that two targets watch must be fetched (and archived) for each of them, while the
duplicate filter still stops a target from fetching the same URL twice."""

from __future__ import annotations

import hashlib

from scrapy.utils.request import RequestFingerprinter


class TargetRequestFingerprinter:
    def __init__(self, crawler=None):
        self._default = RequestFingerprinter(crawler)

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def fingerprint(self, request) -> bytes:
        fp = self._default.fingerprint(request)
        target = request.meta.get("target")
        return hashlib.sha1(fp + target.encode()).digest() if target else fp
