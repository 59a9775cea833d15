"""Citizen commitments: the public log names no one, yet each citizen can find and prove their part.

For each entry the hub derives a secret blinding value ``r = HMAC(K, entry id ‖ citizen id)``
and publishes ``C = SHA-256(domain ‖ r ‖ citizen id)``. Without ``r`` the commitment hides who
it is (the blinding is 256 random-looking bits, so guessing identifiers does not help) and two
entries about one person cannot be linked. Shown ``r`` on their own page, a citizen recomputes
``C`` and sees the entry is theirs. A private lookup tag ``HMAC(K, citizen id)``, kept in the
hub's database and never published, finds a citizen's entries.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable
from hashlib import sha256

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as crypto_hmac

COMMITMENT_DOMAIN = b"trusthub/ledger/citizen-commitment/v1\n"
_BLINDING_DOMAIN = b"trusthub/ledger/citizen-blinding/v1\n"
_LOOKUP_DOMAIN = b"trusthub/ledger/citizen-lookup/v1\n"
TAG_SIZE = 16
MIN_KEY_SIZE = 32

CitizenId = int | str
"""The identity part's citizen id; recorders and readers must pass the same value."""


def citizen_bytes(citizen_id: CitizenId) -> bytes:
    text = str(citizen_id)
    if not text or "\n" in text:
        raise ValueError("a citizen id must be a non-empty single line")
    return text.encode("utf-8")


class CommitmentKey:
    """The ledger's HMAC key for citizen commitments; it never leaves the hub."""

    __slots__ = ("_key",)

    def __init__(self, key: bytes) -> None:
        if len(key) < MIN_KEY_SIZE:
            raise ValueError(f"the commitment key must be at least {MIN_KEY_SIZE} bytes")
        self._key = key

    def __repr__(self) -> str:
        return "CommitmentKey(<secret>)"

    def lookup_tag(self, citizen_id: CitizenId) -> bytes:
        """Private index key: equal for one citizen, meaningless without the key."""
        message = _LOOKUP_DOMAIN + citizen_bytes(citizen_id)
        return hmac.digest(self._key, message, "sha256")[:TAG_SIZE]

    def blinding(self, entry_id: str, citizen_id: CitizenId) -> bytes:
        message = _BLINDING_DOMAIN + entry_id.encode("ascii") + b"\n" + citizen_bytes(citizen_id)
        return hmac.digest(self._key, message, "sha256")

    def commit(self, entry_id: str, citizen_id: CitizenId) -> tuple[str, bytes]:
        """The public commitment (hex) and the blinding that opens it."""
        blinding = self.blinding(entry_id, citizen_id)
        return commitment(blinding, citizen_id), blinding

    def commit_block(self, entry_id: str, citizens: Iterable[bytes]) -> tuple[bytes, bytes]:
        """``commit`` and ``lookup_tag`` for many citizens of one entry (each already as
        ``citizen_bytes``): the raw commitments and the whole lookup HMACs (whose first
        ``TAG_SIZE`` bytes are ``lookup_tag``), 32 bytes each, concatenated in their order.

        The same values as one citizen at a time, at a fraction of the cost: each HMAC is keyed
        (and fed its domain and the entry id) once, then copied per citizen. The copies are
        ``cryptography``'s, which cost about a quarter less per citizen than ``hmac``'s."""
        new_tag = _keyed(self._key, _LOOKUP_DOMAIN).copy
        new_blinding = _keyed(self._key, _BLINDING_DOMAIN + entry_id.encode("ascii") + b"\n").copy
        new_commitment = sha256(COMMITMENT_DOMAIN).copy
        commitments: list[bytes] = []
        tags: list[bytes] = []
        add_commitment, add_tag = commitments.append, tags.append
        for data in citizens:
            tag = new_tag()
            tag.update(data)
            add_tag(tag.finalize())
            blind = new_blinding()
            blind.update(data)
            digest = new_commitment()
            digest.update(blind.finalize())
            digest.update(data)
            add_commitment(digest.digest())
        return b"".join(commitments), b"".join(tags)


def _keyed(key: bytes, prefix: bytes) -> crypto_hmac.HMAC:
    """A keyed HMAC-SHA256 that has read ``prefix``, to be copied per citizen."""
    keyed = crypto_hmac.HMAC(key, hashes.SHA256())
    keyed.update(prefix)
    return keyed


def commitment(blinding: bytes, citizen_id: CitizenId) -> str:
    """What anyone holding the opening can recompute: needs no key."""
    return sha256(COMMITMENT_DOMAIN + blinding + citizen_bytes(citizen_id)).hexdigest()


def opens(commitment_hex: str, blinding: bytes, citizen_id: CitizenId) -> bool:
    return hmac.compare_digest(commitment(blinding, citizen_id), commitment_hex)
