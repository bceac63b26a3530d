"""Signed notes and checkpoints (storage.evidence.notes) against the example of Go's
golang.org/x/mod/sumdb/note (its package documentation and note_test.go): the same key signs the
same text into the same bytes, and its verifier key string is read and written the same."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from storage.evidence import notes

# golang.org/x/mod/sumdb/note: the signer key is base64(0x01 || the Ed25519 seed)
GO_SIGNER = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VERIFIER = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
GO_NOTE = (
    GO_TEXT + "\n— PeterNeumann "
    "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)


def go_key() -> Ed25519PrivateKey:
    seed = base64.b64decode(GO_SIGNER.split("+", 4)[4])
    assert seed[:1] == b"\x01"
    return Ed25519PrivateKey.from_private_bytes(seed[1:])


def test_signs_as_go_does():
    key = go_key()
    assert notes.sign(GO_TEXT, "PeterNeumann", [key]) == GO_NOTE
    assert notes.verifier_key("PeterNeumann", key.public_key()) == GO_VERIFIER


def test_verifies_go_s_note_and_rejects_a_changed_one():
    v = notes.Verifier.parse(GO_VERIFIER)
    assert str(v) == GO_VERIFIER
    text, good = notes.verify(GO_NOTE, [v])
    assert text == GO_TEXT and good == [v]
    with pytest.raises(notes.NoteError, match="does not verify"):
        notes.verify(GO_NOTE.replace("cryptography", "cryptographY"), [v])
    other = Ed25519PrivateKey.generate().public_key()
    with pytest.raises(notes.NoteError, match="no signature of a known key"):
        notes.verify(GO_NOTE, [notes.Verifier("PeterNeumann", notes.key_id("x", other), other)])


@pytest.mark.parametrize(
    "bad",
    [
        GO_VERIFIER.replace("c74f20a3", "c74f20a4"),
        GO_VERIFIER[:-2],
        "PeterNeumann+c74f20a3",
        "+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
    ],
)
def test_bad_verifier_keys(bad):
    with pytest.raises(notes.NoteError):
        notes.Verifier.parse(bad)


def test_checkpoint_text_round_trip():
    cp = notes.Checkpoint("warcwatch/abc", 12, bytes(range(32)), "2026-12-03T17:00:00.000000Z")
    assert cp.text() == (
        "warcwatch/abc\n12\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n"
        "time 2026-12-03T17:00:00.000000Z\n"
    )
    assert notes.Checkpoint.parse(cp.text()) == cp
    with pytest.raises(notes.NoteError):
        notes.Checkpoint.parse("warcwatch/abc\n012\nAAEC\n")
