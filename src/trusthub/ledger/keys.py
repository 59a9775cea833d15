"""The ledger's keys from settings; a development key is generated (and said so) only when unset."""

from __future__ import annotations

import base64
import binascii
import secrets
from dataclasses import dataclass
from pathlib import Path

import structlog
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from trusthub.config import Settings
from trusthub.devkeys import development_secret
from trusthub.ledger.commitments import CommitmentKey
from trusthub.ledger.note import ED25519, PRIVATE_KEY_PREFIX, Signer, Verifier, key_id

log = structlog.get_logger("trusthub.ledger")

SIGNING_KEY_FILE = "signing-key"
COMMITMENT_KEY_FILE = "commitment-key"


class LedgerKeyError(ValueError):
    """A configured ledger key cannot be used; the message never shows the key."""


@dataclass(frozen=True)
class LedgerKeys:
    """The checkpoint signer, every key whose old checkpoints still count, the commitment key."""

    signer: Signer
    verifiers: tuple[Verifier, ...]
    commitment: CommitmentKey


def signer_from_text(text: str, name: str) -> Signer:
    """Accept a note private key, a PKCS#8 PEM key or a base64 32-byte seed."""
    text = text.strip()
    if text.startswith(PRIVATE_KEY_PREFIX):
        signer = Signer.from_skey(text)
        if signer.name != name:
            raise LedgerKeyError("the note key's name must be the ledger origin")
        return signer
    if text.startswith("-----BEGIN"):
        private = load_pem_private_key(text.encode(), password=None)
        if not isinstance(private, Ed25519PrivateKey):
            raise LedgerKeyError("the PEM signing key is not an Ed25519 key")
        return Signer(name, private)
    try:
        seed = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as error:
        raise LedgerKeyError("the signing key is neither a note key, PEM nor base64") from error
    if len(seed) != 32:
        raise LedgerKeyError("a base64 signing key must hold a 32-byte Ed25519 seed")
    return Signer(name, Ed25519PrivateKey.from_private_bytes(seed))


def skey_text(name: str, seed: bytes) -> str:
    """A Go ``sumdb/note`` private key string, so operators can use Go tooling with it."""
    public = Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes_raw()
    encoded = base64.b64encode(bytes([ED25519]) + seed).decode()
    return f"{PRIVATE_KEY_PREFIX}{name}+{key_id(name, public).hex()}+{encoded}"


def commitment_from_text(text: str) -> CommitmentKey:
    try:
        return CommitmentKey(base64.b64decode(text.strip(), validate=True))
    except (binascii.Error, ValueError) as error:
        raise LedgerKeyError("the commitment key must be base64 of at least 32 bytes") from error


def _key_dir(settings: Settings) -> Path:
    return settings.ledger_key_dir / settings.ledger_origin.replace("/", "_")


def load_keys(settings: Settings) -> LedgerKeys:
    """Keys for this hub; unset keys fall back to development keys kept under ``var/``."""
    name = settings.ledger_origin
    missing = [
        variable
        for variable, value in (
            ("TRUSTHUB_LEDGER_SIGNING_KEY", settings.ledger_signing_key),
            ("TRUSTHUB_LEDGER_COMMITMENT_KEY", settings.ledger_commitment_key),
        )
        if value is None
    ]
    if missing and settings.environment == "production":
        raise LedgerKeyError(f"production needs its keys configured: set {', '.join(missing)}")
    if settings.ledger_signing_key is not None:
        signer = signer_from_text(settings.ledger_signing_key.get_secret_value(), name)
    else:
        text = development_secret(
            _key_dir(settings),
            SIGNING_KEY_FILE,
            lambda: skey_text(name, secrets.token_bytes(32)),
        )
        signer = signer_from_text(text, name)
        log.warning("ledger.development_signing_key", vkey=signer.verifier.vkey)
    if settings.ledger_commitment_key is not None:
        commitment = commitment_from_text(settings.ledger_commitment_key.get_secret_value())
    else:
        text = development_secret(
            _key_dir(settings),
            COMMITMENT_KEY_FILE,
            lambda: base64.b64encode(secrets.token_bytes(32)).decode(),
        )
        commitment = commitment_from_text(text)
    previous = tuple(Verifier.from_vkey(vkey) for vkey in settings.ledger_previous_keys)
    return LedgerKeys(signer, (signer.verifier, *previous), commitment)


def configured_verifiers(settings: Settings) -> list[Verifier]:
    """The keys whose checkpoints count, without creating any: for verifiers and monitors."""
    name = settings.ledger_origin
    found: list[Verifier] = []
    if settings.ledger_signing_key is not None:
        found.append(
            signer_from_text(settings.ledger_signing_key.get_secret_value(), name).verifier
        )
    else:
        path = _key_dir(settings) / SIGNING_KEY_FILE
        if path.exists():
            found.append(signer_from_text(path.read_text(), name).verifier)
    found.extend(Verifier.from_vkey(vkey) for vkey in settings.ledger_previous_keys)
    return found
