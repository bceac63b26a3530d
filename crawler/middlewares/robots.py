"""robots.txt, as Scrapy's RobotsTxtMiddleware reads it, with every waiting request given the
parser.

Scrapy 2.13+ lets the requests that arrive while a host's robots.txt is being fetched await one
shared Deferred through `maybe_deferred_to_future`, which consumes its result: the first waiter gets
the parser and every later one gets None, which Scrapy reads as "allow everything". A pass starting
many pages on one host would fetch pages robots.txt forbids.
"""

from __future__ import annotations

from scrapy.downloadermiddlewares import robotstxt
from scrapy.utils.httpobj import urlparse_cached


class RobotsTxtMiddleware(robotstxt.RobotsTxtMiddleware):
    async def robot_parser(self, request):
        parser = await super().robot_parser(request)
        if parser is None:
            # once fetched, the host's parser is stored (None only when robots.txt failed)
            parser = self._parsers.get(urlparse_cached(request).netloc)
        return parser
