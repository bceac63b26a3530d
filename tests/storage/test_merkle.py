"""storage.evidence.merkle against the RFC 6962 test vectors (tests/data/merkle, with their
source) and against an independent implementation, pymerkle (run from a venv of its own: it pins
its dependencies)."""

from __future__ import annotations

import hashlib
import json
import random
import subprocess
from pathlib import Path

import pytest

from storage.evidence import merkle
from tests.toolvenv import tool_venv

DATA = Path(__file__).parents[1] / "data" / "merkle" / "rfc6962-vectors.json"
V = json.loads(DATA.read_text())
LEAVES = [merkle.leaf_hash(bytes.fromhex(x)) for x in V["leaf_inputs"]]
ROOTS = [bytes.fromhex(r) for r in V["roots"]]
SOME = bytes.fromhex("abacaba000000000000000000000000000000000000000000060061e00123456")


def hexes(xs):
    return [bytes.fromhex(x) for x in xs]


def test_leaf_hashes_and_roots_of_every_size():
    assert [h.hex() for h in LEAVES] == V["leaf_hashes"]
    for n in range(len(LEAVES) + 1):
        assert merkle.root(LEAVES[:n]) == ROOTS[n], n
        f = merkle.Frontier()
        for leaf in LEAVES[:n]:
            f.append(leaf)
        assert f.root() == ROOTS[n] and f.size == n
        # a frontier taken up again from what a checkpoint stores
        assert merkle.Frontier(n, f.hashes).root() == ROOTS[n]


@pytest.mark.parametrize("case", V["inclusion"], ids=lambda c: f"{c['index']}-of-{c['size']}")
def test_inclusion_vectors(case):
    i, n, proof = case["index"], case["size"], hexes(case["proof"])
    assert merkle.inclusion_proof(i, LEAVES[:n]) == proof
    assert merkle.verify_inclusion(i, n, LEAVES[i], proof, ROOTS[n])


@pytest.mark.parametrize("case", V["inclusion"][1:], ids=lambda c: f"{c['index']}-of-{c['size']}")
def test_inclusion_rejects_what_the_vectors_reject(case):
    """The mutations transparency-dev's generator makes of each valid proof."""
    i, n, proof = case["index"], case["size"], hexes(case["proof"])
    root, leaf = ROOTS[n], LEAVES[i]
    bad = [
        (i - 1, n, leaf, proof, root),
        (i + 1, n, leaf, proof, root),
        (i ^ 2, n, leaf, proof, root),
        (i, n * 2, leaf, proof, root),
        (i, n // 2, leaf, proof, root),
        (i, n, b"WrongLeaf", proof, root),
        (i, n, leaf, proof, merkle.EMPTY_ROOT),
        (i, n, leaf, proof, SOME),
        (i, n, leaf, [*proof, b""], root),
        (i, n, leaf, [*proof, root], root),
        (i, n, leaf, [b"", *proof], root),
        (i, n, leaf, [root, *proof], root),
        (i, n, leaf, proof[:-1], root),
    ]
    for k in range(len(proof)):
        flipped = list(proof)
        flipped[k] = bytes([flipped[k][0] ^ 8]) + flipped[k][1:]
        bad.append((i, n, leaf, flipped, root))
    if len(proof) > 1:
        bad.append((i, n, leaf, [proof[0], SOME, *proof[1:]], root))
    for args in bad:
        assert not merkle.verify_inclusion(*args), args


@pytest.mark.parametrize("case", V["consistency"], ids=lambda c: f"{c['first']}-to-{c['second']}")
def test_consistency_vectors(case):
    m, n, proof = case["first"], case["second"], hexes(case["proof"])
    assert merkle.consistency_proof(m, LEAVES[:n]) == proof
    assert merkle.verify_consistency(m, n, ROOTS[m], ROOTS[n], proof)


@pytest.mark.parametrize(
    "case", V["consistency"][1:], ids=lambda c: f"{c['first']}-to-{c['second']}"
)
def test_consistency_rejects_what_the_vectors_reject(case):
    m, n, proof = case["first"], case["second"], hexes(case["proof"])
    r1, r2 = ROOTS[m], ROOTS[n]
    bad = [
        (m - 1, n, r1, r2, proof),
        (m + 1, n, r1, r2, proof),
        (m ^ 2, n, r1, r2, proof),
        (m, n * 2, r1, r2, proof),
        (m, n // 2, r1, r2, proof),
        (m, n, b"WrongRoot", r2, proof),
        (m, n, r1, b"WrongRoot", proof),
        (m, n, r2, r1, proof),
        (m, n, r1, r2, []),
        (m, n, r1, r2, [*proof, b""]),
        (m, n, r1, r2, [*proof, r1]),
        (m, n, r1, r2, [*proof, r2]),
        (m, n, r1, r2, [b"", *proof]),
        (m, n, r1, r2, [r1, *proof]),
        (m, n, r1, r2, [r2, *proof]),
        (m, n, r1, r2, [proof[0], *proof]),
        (m, n, r1, r2, proof[:-1]),
    ]
    for k in range(len(proof)):
        flipped = list(proof)
        flipped[k] = bytes([flipped[k][0] ^ 16]) + flipped[k][1:]
        bad.append((m, n, r1, r2, flipped))
    for args in bad:
        assert not merkle.verify_consistency(*args), args


def test_consistency_edge_cases():
    r1, r2 = hashlib.sha256(b"1").digest(), hashlib.sha256(b"2").digest()
    assert merkle.verify_consistency(0, 0, r1, r1, [])
    assert merkle.verify_consistency(1, 1, r2, r2, [])
    assert not merkle.verify_consistency(0, 0, r1, r2, [])
    assert not merkle.verify_consistency(0, 1, r1, r2, [])  # nothing to prove of an empty tree
    assert not merkle.verify_consistency(1, 0, r1, r2, [])
    assert not merkle.verify_consistency(1, 1, r1, r1, [merkle.EMPTY_ROOT])
    assert not merkle.verify_consistency(0, 1, r1, r1, [merkle.EMPTY_ROOT])


def test_against_pymerkle():
    """Roots of every size up to 150 equal pymerkle's, and for a spread of (index, size) and
    (first, second) our proofs verify against our roots while pymerkle's own proofs verify
    against our roots too: the two implementations agree on the tree."""
    bin_dir = tool_venv("pymerkle", "pymerkle==7.0.0")
    rnd = random.Random(12)
    data = [rnd.randbytes(rnd.randrange(0, 40)) for _ in range(150)]
    leaves = [merkle.leaf_hash(d) for d in data]
    roots = [merkle.root(leaves[:n]) for n in range(151)]
    inclusion = [(i, n) for n in (1, 2, 3, 7, 8, 9, 63, 64, 65, 150) for i in {0, n // 2, n - 1}]
    consistency = [(m, n) for n in (2, 5, 8, 17, 64, 100, 150) for m in {1, n // 3 or 1, n - 1}]
    for i, n in inclusion:
        proof = merkle.inclusion_proof(i, leaves[:n])
        assert merkle.verify_inclusion(i, n, leaves[i], proof, roots[n]), (i, n)
    for m, n in consistency:
        proof = merkle.consistency_proof(m, leaves[:n])
        assert merkle.verify_consistency(m, n, roots[m], roots[n], proof), (m, n)
    request = {
        "leaves": [d.hex() for d in data],
        "inclusion": [(i, n, leaves[i].hex(), roots[n].hex()) for i, n in inclusion],
        "consistency": [(m, n, roots[m].hex(), roots[n].hex()) for m, n in consistency],
    }
    proc = subprocess.run(
        [str(bin_dir / "python"), str(Path(__file__).with_name("merkle_pymerkle.py"))],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    theirs = json.loads(proc.stdout)
    assert theirs["roots"] == [r.hex() for r in roots[1:]]
    assert all(theirs["inclusion"]) and all(theirs["consistency"])


def test_the_whole_tree_gives_the_same_heads_and_proofs():
    """merkle.Tree (subtree roots computed once) against the RFC's recursive definitions."""
    rnd = random.Random(5)
    leaves = [merkle.leaf_hash(rnd.randbytes(8)) for _ in range(70)]
    tree = merkle.Tree(leaves)
    for n in range(71):
        assert tree.root(n) == merkle.root(leaves[:n])
        for i in range(n):
            assert tree.inclusion_proof(i, n) == merkle.inclusion_proof(i, leaves[:n])
        for m in range(n + 1):
            assert tree.consistency_proof(m, n) == merkle.consistency_proof(m, leaves[:n])
    small = merkle.Tree(LEAVES)
    assert [small.root(n) for n in range(9)] == ROOTS
