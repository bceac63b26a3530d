"""Our SURT keys are the keys pywb computes (the `surt` package, its default IA canonicaliser), so
catalog lookups, our CDXJ and pywb's index agree on every URL."""

from __future__ import annotations

import pytest
import surt as surt_package

from storage.surt import surt

URLS = [
    "http://www.Example.org:80/a?b=2&a=1#x",
    "https://example.org:443/",
    "https://example.org:8443/X/Y?Z=1",
    "http://example.org",
    "http://www2.example.org/a",
    "http://wwwx.example.org/",
    "http://example.org/a%20b?q=A B",
    "http://[::1]:8080/a",
    "http://example.org/a?b&a=1&a=0",
    "http://EXAMPLE.org./a/",
    "http://example.org/?",
    "http://user:pw@example.org/p",
    "http://example.org/a;x=1",
    "http://example.org/a/b/",
    "http://example.org/a/?x=1",
    "http://127.0.0.1:34951/a",
    "http://10.0.0.1/",
    "https://192.168.1.20:443/x",
    "http://3232235777/",
    "http://0300.0250.01.01/",
    "http://example.org/A%2fB",
    "http://example.org/a%2Fb%252F",
    "http://example.org/a?jsessionid=0123456789abcdef0123456789abcdef&x=1",
    "http://example.org/a?B=2&a=1",
    "http://example.org:/a",
    "HTTP://Example.org/a?x=%41",
    "example.org/foo",
    "http://example.org/a/./b/../c",
    "http://example.org//a//b",
    "http://www.example.org/%7Euser/",
    "http://bücher.de/straße?ä=1",
    "https://example.org/search?q=%E2%82%AC&lang=en",
    "http://example.org/a?",
    "http://http://example.org/x",
    "http://example.org:8080",
    "http://example.org/a?x=&y",
    "urn:isbn:123",
    "http://example.org/ a",
    "https://www.ohchr.org/en/press-releases/2026/11/statement?utm_source=feed&id=7",
]


@pytest.mark.parametrize("url", URLS)
def test_same_key_as_pywb(url):
    assert surt(url) == surt_package.surt(url)


def test_scheme_www_port_and_query_order_do_not_matter():
    assert (
        len(
            {
                surt(u)
                for u in [
                    "http://www.example.org/a?b=1&a=2",
                    "https://example.org:443/a?a=2&b=1",
                    "http://example.org:80/a/?a=2&b=1#top",
                    "example.org/a?b=1&a=2",
                ]
            }
        )
        == 1
    )
