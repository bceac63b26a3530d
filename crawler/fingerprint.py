"""Request fingerprints that include the target: one pass crawls many targets in one crawler. The
spider already shares one fetch of a URL between the targets that list it; the few requests a
target makes of a URL another target's fetch cannot serve (it must read the response itself, and
that was read already) must not be dropped as duplicates of it, while the duplicate filter still
stops a target from fetching the same URL twice."""

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
