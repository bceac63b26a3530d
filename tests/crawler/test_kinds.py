"""The target kinds: the Scrapy-free list of names the watchlist is checked against and the
spider's classes are one registry."""

from __future__ import annotations

import subprocess
import sys

import pytest

from crawler.kinds import NAMES
from crawler.spiders.kind import Kind
from crawler.spiders.watchlist import WatchlistSpider  # noqa: F401 - registers the kinds
from monitor.config import KINDS
from tests.conftest import ROOT


def test_every_listed_kind_has_its_class_and_the_watchlist_accepts_exactly_those():
    assert set(Kind.registry) == set(NAMES)
    assert KINDS == NAMES


def test_a_kind_not_listed_fails_when_its_class_is_defined():
    with pytest.raises(TypeError, match="crawler.kinds.NAMES"):
        type("Video", (Kind,), {"name": "video"})
    assert "video" not in Kind.registry


def test_the_list_of_kinds_imports_no_scrapy():
    code = "import sys, monitor.config; print('scrapy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert out.stdout.strip() == "False", out.stderr
