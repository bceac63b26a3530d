"""Run in the pymerkle tool venv (tests/storage/test_merkle.py): reads leaf data (hex, one a line)
from stdin and prints, as JSON, pymerkle's root of every prefix and its verdict on the proofs
given (our inclusion and consistency proofs are checked against pymerkle's own, by roots)."""

import json
import sys

from pymerkle import InmemoryTree

data = json.load(sys.stdin)
tree = InmemoryTree(algorithm="sha256")
for leaf in data["leaves"]:
    tree.append_entry(bytes.fromhex(leaf))
out = {"roots": [tree.get_root(n).hex() for n in range(1, len(data["leaves"]) + 1)]}
# pymerkle's own proofs, verified by pymerkle against the roots we computed
verdicts = []
for index, size, leaf_hash, root in data["inclusion"]:
    proof = tree.prove_inclusion(index + 1, size)
    try:
        proof.verify(bytes.fromhex(leaf_hash), bytes.fromhex(root))
        verdicts.append(True)
    except Exception:  # noqa: BLE001 - pymerkle raises InvalidProof
        verdicts.append(False)
out["inclusion"] = verdicts
verdicts = []
for first, second, first_root, second_root in data["consistency"]:
    proof = tree.prove_consistency(first, second)
    try:
        proof.verify(bytes.fromhex(first_root), bytes.fromhex(second_root))
        verdicts.append(True)
    except Exception:  # noqa: BLE001
        verdicts.append(False)
out["consistency"] = verdicts
json.dump(out, sys.stdout)
