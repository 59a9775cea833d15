"""C2SP signed notes and checkpoints: Go's reference vector and a verifier written from the spec."""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger_support import ORIGIN, spec_open
from trusthub.ledger.keys import signer_from_text, skey_text
from trusthub.ledger.note import (
    Checkpoint,
    NoteError,
    Signer,
    Verifier,
    open_checkpoint,
    open_note,
    sign_checkpoint,
    sign_note,
)

# golang.org/x/mod/sumdb/note's own test key and note (note_test.go).
GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
GO_NOTE = (
    GO_TEXT + "\n— PeterNeumann "
    "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)


def test_our_signer_reproduces_the_go_reference_note_byte_for_byte() -> None:
    signer = Signer.from_skey(GO_SKEY)
    assert signer.verifier.vkey == GO_VKEY
    assert sign_note(GO_TEXT, [signer]) == GO_NOTE


def test_the_go_note_opens_with_our_verifier_and_tampering_fails() -> None:
    verifier = Verifier.from_vkey(GO_VKEY)
    assert open_note(GO_NOTE, [verifier]) == (GO_TEXT, [verifier])
    with pytest.raises(NoteError):
        open_note(GO_NOTE.replace("cryptography", "cryptographY"), [verifier])


def test_checkpoints_verify_with_a_verifier_written_from_the_spec() -> None:
    signer = signer_from_text(skey_text(ORIGIN, bytes(range(32))), ORIGIN)
    checkpoint = Checkpoint(ORIGIN, 20852163, hashlib.sha256(b"root").digest())
    note = sign_checkpoint(checkpoint, [signer])
    lines = note.split("\n")
    assert lines[:3] == [ORIGIN, "20852163", base64.b64encode(checkpoint.root).decode()]
    assert lines[3] == "" and lines[4].startswith(f"— {ORIGIN} ")
    assert spec_open(note, signer.verifier.vkey) == checkpoint.text()
    assert open_checkpoint(note, ORIGIN, [signer.verifier]) == checkpoint


def test_checkpoint_tampering_is_rejected() -> None:
    signer = Signer(ORIGIN, Ed25519PrivateKey.generate())
    note = sign_checkpoint(Checkpoint(ORIGIN, 10, b"\x01" * 32), [signer])
    for forged in [note.replace("\n10\n", "\n11\n"), note.replace(ORIGIN, "other/log", 1)]:
        with pytest.raises(NoteError):
            open_checkpoint(forged, ORIGIN, [signer.verifier])
    stranger = Signer(ORIGIN, Ed25519PrivateKey.generate())
    with pytest.raises(NoteError, match="no signature by a trusted key"):
        open_checkpoint(note, ORIGIN, [stranger.verifier])


def test_rotation_cosigned_notes_open_with_either_key_and_unknown_keys_are_ignored() -> None:
    old = Signer(ORIGIN, Ed25519PrivateKey.generate())
    new = Signer(ORIGIN, Ed25519PrivateKey.generate())
    note = sign_checkpoint(Checkpoint(ORIGIN, 3, b"\x02" * 32), [new, old])
    assert open_note(note, [old.verifier])[1] == [old.verifier]
    assert open_note(note, [new.verifier])[1] == [new.verifier]


@pytest.mark.parametrize(
    "text",
    [
        "origin\n1\n",
        "origin\n01\nAAAA\n",
        "origin\n1\nnot base64!\n",
        "origin\n1\n" + base64.b64encode(b"short").decode() + "\n",
        "\n1\n" + base64.b64encode(b"\x00" * 32).decode() + "\n",
    ],
)
def test_malformed_checkpoint_bodies_are_rejected(text: str) -> None:
    with pytest.raises(NoteError):
        Checkpoint.parse(text)


def test_keys_load_from_pem_seed_and_note_formats() -> None:
    from cryptography.hazmat.primitives import serialization

    private = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    seed = base64.b64encode(bytes(range(32))).decode()
    vkeys = {
        signer_from_text(text, ORIGIN).verifier.vkey
        for text in (pem, seed, skey_text(ORIGIN, bytes(range(32))))
    }
    assert len(vkeys) == 1
    with pytest.raises(ValueError, match="origin"):
        signer_from_text(GO_SKEY, ORIGIN)
