"""WARC digests: the algorithms an archive may write (`[archive] digest`), and the payload digest
of bytes in the algorithm of a digest already stored.

warcio writes `ALGO:BASE32` (`sha256:…` or `sha1:…`) through its Digester; this module only
chooses the algorithm and reproduces the same text for comparisons. An archive can hold both:
one written with sha1 before SHA-256 became the default keeps its old records, and a new payload
is compared with an old one in the old one's algorithm (like with like), so revisits are still
found across the switch.
"""

from __future__ import annotations

from warcio.utils import Digester

ALGORITHMS = ("sha256", "sha1")
DEFAULT = "sha256"


def algorithm_of(digest: str) -> str:
    """`sha256` of `sha256:ABC…` (a digest without a known prefix is an error of its archive)."""
    algo, sep, _ = digest.partition(":")
    algo = algo.lower()
    if not sep or algo not in ALGORITHMS:
        raise ValueError(f"not a WARC digest of {' or '.join(ALGORITHMS)}: {digest!r}")
    return algo


def digest_of(data: bytes, algorithm: str) -> str:
    """The WARC digest text of `data`, exactly as warcio writes it."""
    d = Digester(algorithm)
    d.update(data)
    return str(d)


def same_payload(payload: bytes, digest: str, stored: str) -> bool:
    """Is `payload` (whose digest in the writer's algorithm is `digest`) the payload whose digest
    is `stored`? Compared in the stored digest's algorithm: an older record may be sha1."""
    try:
        algo = algorithm_of(stored)
    except ValueError:
        return False
    if algo == algorithm_of(digest):
        return digest == stored
    return digest_of(payload, algo) == stored
