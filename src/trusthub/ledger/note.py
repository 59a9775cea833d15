"""C2SP signed notes and tlog-checkpoints with Ed25519, so any transparency-log tool can check us.

A checkpoint is the note text ``<origin>\\n<tree size>\\n<base64 root hash>\\n`` followed by a
blank line and one line per signature, ``— <key name> base64(key ID ‖ Ed25519 signature)``. The
key ID is the first four bytes of SHA-256(key name ‖ 0x0A ‖ 0x01 ‖ public key), and keys travel
as Go ``sumdb/note`` strings: ``<name>+<hex key ID>+<base64(0x01 ‖ public key)>``.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from hashlib import sha256

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from trusthub.ledger.merkle import HASH_SIZE

ED25519 = 0x01
SIGNATURE_PREFIX = "\u2014 "
PRIVATE_KEY_PREFIX = "PRIVATE+KEY+"
MAX_SIGNATURES = 100
_NAME = re.compile(r"[^\s+]+")
_DECIMAL = re.compile(r"0|[1-9][0-9]*")


class NoteError(ValueError):
    """A note or key is malformed, or no trusted signature on it verifies."""


def _b64decode(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as error:
        raise NoteError("not standard base64") from error


def _check_name(name: str) -> None:
    if _NAME.fullmatch(name) is None:
        raise NoteError("a key name must be non-empty, without spaces or '+'")


def key_id(name: str, public_key: bytes) -> bytes:
    return sha256(name.encode() + b"\n" + bytes([ED25519]) + public_key).digest()[:4]


@dataclass(frozen=True)
class Verifier:
    """A named Ed25519 public key that checks note signatures."""

    name: str
    public_key: bytes

    def __post_init__(self) -> None:
        _check_name(self.name)
        if len(self.public_key) != 32:
            raise NoteError("an Ed25519 public key has 32 bytes")

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, self.public_key)

    @property
    def vkey(self) -> str:
        encoded = base64.b64encode(bytes([ED25519]) + self.public_key).decode()
        return f"{self.name}+{self.key_id.hex()}+{encoded}"

    @classmethod
    def from_vkey(cls, vkey: str) -> Verifier:
        name, sep, rest = vkey.strip().partition("+")
        hex_id, sep2, material = rest.partition("+")
        if not (sep and sep2 and len(hex_id) == 8):
            raise NoteError("a verifier key reads name+keyid+key")
        raw = _b64decode(material)
        if len(raw) != 33 or raw[0] != ED25519:
            raise NoteError("only Ed25519 verifier keys are supported")
        verifier = cls(name, raw[1:])
        if verifier.key_id.hex() != hex_id.lower():
            raise NoteError("the verifier key's ID does not match its name and key")
        return verifier

    def verify(self, message: bytes, signature: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, message)
        except InvalidSignature:
            return False
        return True


class Signer:
    """A named Ed25519 private key that signs notes; its secret never leaves the object."""

    __slots__ = ("_private", "verifier")

    def __init__(self, name: str, private_key: Ed25519PrivateKey) -> None:
        self._private = private_key
        self.verifier = Verifier(name, private_key.public_key().public_bytes_raw())

    def __repr__(self) -> str:
        return f"Signer({self.verifier.vkey!r})"

    @property
    def name(self) -> str:
        return self.verifier.name

    @classmethod
    def from_skey(cls, skey: str) -> Signer:
        """Read a Go ``sumdb/note`` private key: PRIVATE+KEY+name+keyid+base64(0x01 ‖ seed)."""
        if not skey.startswith(PRIVATE_KEY_PREFIX):
            raise NoteError("not a note private key")
        name, _, rest = skey.strip()[len(PRIVATE_KEY_PREFIX) :].partition("+")
        hex_id, _, material = rest.partition("+")
        raw = _b64decode(material)
        if len(raw) != 33 or raw[0] != ED25519:
            raise NoteError("only Ed25519 note keys are supported")
        signer = cls(name, Ed25519PrivateKey.from_private_bytes(raw[1:]))
        if signer.verifier.key_id.hex() != hex_id.lower():
            raise NoteError("the private key's ID does not match its name and key")
        return signer

    def sign(self, text: str) -> str:
        """One signature line for ``text``."""
        signature = self._private.sign(text.encode())
        blob = base64.b64encode(self.verifier.key_id + signature).decode()
        return f"{SIGNATURE_PREFIX}{self.name} {blob}\n"


def _check_text(text: str) -> None:
    if not text.endswith("\n"):
        raise NoteError("note text must end with a newline")
    if any(ord(c) < 0x20 and c != "\n" for c in text):
        raise NoteError("note text must not hold control characters")


def sign_note(text: str, signers: Sequence[Signer]) -> str:
    _check_text(text)
    if not signers:
        raise NoteError("a note needs at least one signer")
    return text + "\n" + "".join(signer.sign(text) for signer in signers)


@dataclass(frozen=True)
class NoteSignature:
    name: str
    key_id: bytes
    signature: bytes


def split_note(note: str) -> tuple[str, list[NoteSignature]]:
    """The signed text and its signature lines, checked for shape but not yet verified."""
    cut = note.rfind("\n\n")
    if cut < 0 or not note.endswith("\n"):
        raise NoteError("a signed note is text, a blank line and signature lines")
    text, lines = note[: cut + 1], note[cut + 2 :].splitlines()
    _check_text(text)
    if not lines or len(lines) > MAX_SIGNATURES:
        raise NoteError("a signed note carries 1 to 100 signatures")
    signatures = []
    for line in lines:
        if not line.startswith(SIGNATURE_PREFIX):
            raise NoteError("signature lines begin with an em dash and a space")
        name, _, blob = line[len(SIGNATURE_PREFIX) :].partition(" ")
        _check_name(name)
        raw = _b64decode(blob)
        if len(raw) < 5:
            raise NoteError("a signature holds a key ID and signature bytes")
        signatures.append(NoteSignature(name, raw[:4], raw[4:]))
    return text, signatures


def open_note(note: str, verifiers: Iterable[Verifier]) -> tuple[str, list[Verifier]]:
    """The text of a note and the known keys that signed it (C2SP signed-note rules).

    Signatures from unknown keys are ignored; one from a known key that fails rejects the note;
    a note with no verified known signature is rejected.
    """
    text, signatures = split_note(note)
    known = {(v.name, v.key_id): v for v in verifiers}
    signed_by: list[Verifier] = []
    for signature in signatures:
        verifier = known.get((signature.name, signature.key_id))
        if verifier is None:
            continue
        if not verifier.verify(text.encode(), signature.signature):
            raise NoteError(f"the signature by {verifier.name} does not verify")
        signed_by.append(verifier)
    if not signed_by:
        raise NoteError("no signature by a trusted key")
    return text, signed_by


@dataclass(frozen=True)
class Checkpoint:
    """A tree head: the origin names the log, the root commits to its first ``size`` leaves."""

    origin: str
    size: int
    root: bytes

    def text(self) -> str:
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode()}\n"

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        lines = text.split("\n")
        if len(lines) < 4 or lines[-1] != "" or any(not line for line in lines[:-1]):
            raise NoteError("a checkpoint is origin, size and root hash lines")
        origin, size, root = lines[0], lines[1], _b64decode(lines[2])
        if _DECIMAL.fullmatch(size) is None:
            raise NoteError("a checkpoint's tree size is a decimal without leading zeros")
        if len(root) != HASH_SIZE:
            raise NoteError("a checkpoint's root hash has 32 bytes")
        return cls(origin, int(size), root)


def sign_checkpoint(checkpoint: Checkpoint, signers: Sequence[Signer]) -> str:
    return sign_note(checkpoint.text(), signers)


def open_checkpoint(note: str, origin: str, verifiers: Iterable[Verifier]) -> Checkpoint:
    """Verify a signed checkpoint from the log named ``origin`` and return its tree head."""
    text, _ = open_note(note, verifiers)
    checkpoint = Checkpoint.parse(text)
    if checkpoint.origin != origin:
        raise NoteError("the checkpoint is for another log")
    return checkpoint
