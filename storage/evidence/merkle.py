"""The Merkle tree of the evidence log, exactly as RFC 9162 (Certificate Transparency 2.0, §2.1)
defines it, with SHA-256: the tree head of n leaves, inclusion proofs (one entry is in the tree of
size n) and consistency proofs (the tree of size m is a prefix of the tree of size n), and their
verification.

Why it is written here rather than imported: the arithmetic is four short recursive definitions
and two verification loops, specified to the bit by the RFC, and the verifier must run anywhere a
receipt is checked (it is copied into no bundle, but a third party can read these ~150 lines
against the RFC). No maintained pure-Python library offers both proofs in RFC form: pymerkle
(tested against, tests/storage/test_merkle.py) serialises its own proof layout and pins its
dependencies; the transparency-dev libraries are Go. Tested against the RFC 6962 test vectors
(tests/data/merkle/rfc6962-vectors.json) and against pymerkle.

Hashes are 32-byte `bytes`; a leaf is given as its data (`leaf_hash` hashes it) and a tree as
the list of its leaf hashes, oldest first.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()  # MTH({}) = SHA-256()


def leaf_hash(data: bytes) -> bytes:
    """MTH({d}) = SHA-256(0x00 || d)"""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right)"""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """k, the largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def root(leaves: Sequence[bytes]) -> bytes:
    """MTH(D[n]) of the leaf hashes `leaves`. Computed level by level, the odd node of a level
    carried up unchanged: the same tree as the RFC's recursive split at k (each left subtree is
    perfect), in one pass."""
    if not leaves:
        return EMPTY_ROOT
    level = list(leaves)
    while len(level) > 1:
        nxt = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0]


class Frontier:
    """The perfect subtrees whose roots, folded right to left, give the tree head (a "compact
    range"): a log appends leaves and gets its new head without re-reading older leaves."""

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = ()):
        if len(hashes) != bin(size).count("1"):
            raise ValueError(f"a tree of {size} leaves has {bin(size).count('1')} subtree roots")
        self.size = size
        self.hashes = list(hashes)  # left to right, the largest subtree first

    def append(self, leaf: bytes) -> None:
        self.hashes.append(leaf)
        self.size += 1
        # each trailing 1 bit of the old size is a subtree of the new leaf's size: merge them
        n = self.size
        while n % 2 == 0:
            right = self.hashes.pop()
            self.hashes[-1] = node_hash(self.hashes[-1], right)
            n //= 2

    def root(self) -> bytes:
        if not self.hashes:
            return EMPTY_ROOT
        r = self.hashes[-1]
        for h in reversed(self.hashes[:-1]):
            r = node_hash(h, r)
        return r


def inclusion_proof(index: int, leaves: Sequence[bytes]) -> list[bytes]:
    """PATH(m, D[n]) (RFC 9162 §2.1.3.1): the audit path of leaf `index` (from 0) in the tree of
    the leaf hashes `leaves`, nearest sibling first."""
    if not 0 <= index < len(leaves):
        raise ValueError(f"leaf {index} is not in a tree of {len(leaves)}")

    def path(m: int, lo: int, hi: int) -> list[bytes]:
        n = hi - lo
        if n == 1:
            return []
        k = _split(n)
        if m < k:
            return [*path(m, lo, lo + k), root(leaves[lo + k : hi])]
        return [*path(m - k, lo + k, hi), root(leaves[lo : lo + k])]

    return path(index, 0, len(leaves))


def consistency_proof(first: int, leaves: Sequence[bytes]) -> list[bytes]:
    """PROOF(m, D[n]) (RFC 9162 §2.1.4.1): that the tree of the first `first` leaves is a prefix of
    the tree of `leaves`. Empty when the sizes are equal, or `first` is 0 (nothing to prove)."""
    n = len(leaves)
    if not 0 <= first <= n:
        raise ValueError(f"a tree of {first} is not a prefix of a tree of {n}")
    if first in (0, n):
        return []

    def subproof(m: int, lo: int, hi: int, complete: bool) -> list[bytes]:
        n = hi - lo
        if m == n:
            return [] if complete else [root(leaves[lo:hi])]
        k = _split(n)
        if m <= k:
            return [*subproof(m, lo, lo + k, complete), root(leaves[lo + k : hi])]
        return [*subproof(m - k, lo + k, hi, False), root(leaves[lo : lo + k])]

    return subproof(first, 0, n, True)


def _sized(*hashes: bytes) -> bool:
    return all(isinstance(h, bytes) and len(h) == HASH_SIZE for h in hashes)


def verify_inclusion(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes], root_hash: bytes
) -> bool:
    """RFC 9162 §2.1.3.2: does `proof` show the leaf hash `leaf` at `index` in the tree of `size`
    leaves whose head is `root_hash`?"""
    if not 0 <= index < size or not _sized(leaf, root_hash, *proof):
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root_hash


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]
) -> bool:
    """RFC 9162 §2.1.4.2: does `proof` show the tree of `first` leaves (head `first_root`) to be a
    prefix of the tree of `second` leaves (head `second_root`)?"""
    if not 0 <= first <= second or not _sized(first_root, second_root, *proof):
        return False
    if first == second:
        return not proof and first_root == second_root
    if first == 0 or not proof:
        return False  # the empty tree is a prefix of every tree: there is nothing to prove
    path = list(proof)
    if first & (first - 1) == 0:  # a power of two: the first tree is a subtree of the second
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == first_root and sr == second_root and sn == 0


class Tree:
    """A whole log's tree, for many proofs and heads of one set of leaves: the roots of every
    aligned perfect subtree are computed once (2n hashes), and then a head, an inclusion proof or
    a consistency proof costs O(log² n) instead of O(n)."""

    def __init__(self, leaves: Sequence[bytes]):
        self.size = len(leaves)
        self._levels: list[list[bytes]] = [list(leaves)]
        while len(self._levels[-1]) > 1:
            lower = self._levels[-1]
            self._levels.append(
                [node_hash(lower[i], lower[i + 1]) for i in range(0, len(lower) - 1, 2)]
            )

    def _range(self, lo: int, hi: int) -> bytes:
        """MTH(D[lo:hi]); `lo` is aligned to the largest power of two below hi - lo, as every
        range of the RFC's recursion is."""
        n = hi - lo
        if n & (n - 1) == 0:  # a perfect subtree: stored
            level = n.bit_length() - 1
            return self._levels[level][lo >> level]
        k = _split(n)
        return node_hash(self._range(lo, lo + k), self._range(lo + k, hi))

    def root(self, size: int | None = None) -> bytes:
        size = self.size if size is None else size
        if not 0 <= size <= self.size:
            raise ValueError(f"a tree of {self.size} has no head of size {size}")
        return EMPTY_ROOT if size == 0 else self._range(0, size)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        size = self.size if size is None else size
        if not 0 <= index < size <= self.size:
            raise ValueError(f"leaf {index} is not in a tree of {size}")

        def path(m: int, lo: int, hi: int) -> list[bytes]:
            if hi - lo == 1:
                return []
            k = _split(hi - lo)
            if m < k:
                return [*path(m, lo, lo + k), self._range(lo + k, hi)]
            return [*path(m - k, lo + k, hi), self._range(lo, lo + k)]

        return path(index, 0, size)

    def consistency_proof(self, first: int, second: int | None = None) -> list[bytes]:
        second = self.size if second is None else second
        if not 0 <= first <= second <= self.size:
            raise ValueError(f"a tree of {first} is not a prefix of a tree of {second}")
        if first in (0, second):
            return []

        def subproof(m: int, lo: int, hi: int, complete: bool) -> list[bytes]:
            if m == hi - lo:
                return [] if complete else [self._range(lo, hi)]
            k = _split(hi - lo)
            if m <= k:
                return [*subproof(m, lo, lo + k, complete), self._range(lo + k, hi)]
            return [*subproof(m - k, lo + k, hi, False), self._range(lo, lo + k)]

        return subproof(first, 0, second, True)
