"""Shared ledger test helpers: independent RFC 9162 verifiers and small log builders.

The verifiers here are written from the RFC text on purpose, separately from
``trusthub.ledger.merkle``, so that the library is checked by code it does not share.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Sequence

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import Engine

from trusthub.ledger.commitments import CommitmentKey
from trusthub.ledger.entry import LawfulBasis, Outcome
from trusthub.ledger.note import Signer
from trusthub.ledger.prepare import BulkDecision, CitizenOutcome, Decision, PreparedEntry, prepare
from trusthub.ledger.writer import GroupCommitWriter

ORIGIN = "test.trusthub.example/ledger"


def rfc_hash(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def rfc_leaf(data: bytes) -> bytes:
    return rfc_hash(b"\x00" + data)


def rfc_mth(leaves: Sequence[bytes]) -> bytes:
    """RFC 9162 §2.1.1 MTH, recursively, over leaf inputs."""
    n = len(leaves)
    if n == 0:
        return rfc_hash(b"")
    if n == 1:
        return rfc_leaf(leaves[0])
    k = 1
    while k * 2 < n:
        k *= 2
    return rfc_hash(b"\x01" + rfc_mth(leaves[:k]) + rfc_mth(leaves[k:]))


def rfc_verify_inclusion(
    leaf_index: int, tree_size: int, leaf_hash: bytes, path: Sequence[bytes], root: bytes
) -> bool:
    """RFC 9162 §2.1.3.2, step by step."""
    if leaf_index >= tree_size:
        return False
    fn, sn, r = leaf_index, tree_size - 1, leaf_hash
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = rfc_hash(b"\x01" + p + r)
            if not fn & 1:
                while not (fn & 1 or fn == 0):
                    fn >>= 1
                    sn >>= 1
        else:
            r = rfc_hash(b"\x01" + r + p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def rfc_verify_consistency(
    first: int,
    second: int,
    first_hash: bytes,
    second_hash: bytes,
    consistency_path: Sequence[bytes],
) -> bool:
    """RFC 9162 §2.1.4.2, step by step (for 0 < first < second)."""
    path = list(consistency_path)
    # 1. If consistency_path is an empty array, stop and fail the proof verification.
    if not path:
        return False
    # 2. If first is an exact power of 2, then prepend first_hash to the consistency_path array.
    if first & (first - 1) == 0:
        path.insert(0, first_hash)
    # 3. Set fn to first - 1 and sn to second - 1.
    fn, sn = first - 1, second - 1
    # 4. If LSB(fn) is set, then right-shift both fn and sn equally until LSB(fn) is not set.
    while fn & 1:
        fn >>= 1
        sn >>= 1
    # 5. Set both fr and sr to the first value in the consistency_path array.
    fr = sr = path[0]
    # 6. For each subsequent value c in the consistency_path array:
    for c in path[1:]:
        # a. If sn is 0, then stop the iteration and fail the proof verification.
        if sn == 0:
            return False
        # b. If LSB(fn) is set, or if fn is equal to sn, then:
        if fn & 1 or fn == sn:
            # i. Set fr to HASH(0x01 || c || fr). Set sr to HASH(0x01 || c || sr).
            fr = rfc_hash(b"\x01" + c + fr)
            sr = rfc_hash(b"\x01" + c + sr)
            # ii. If LSB(fn) is not set, then right-shift both fn and sn equally until
            #     either LSB(fn) is set or fn is 0.
            if not fn & 1:
                while not (fn & 1 or fn == 0):
                    fn >>= 1
                    sn >>= 1
        else:
            # Otherwise: Set sr to HASH(0x01 || sr || c).
            sr = rfc_hash(b"\x01" + sr + c)
        # c. Finally, right-shift both fn and sn one time.
        fn >>= 1
        sn >>= 1
    # 7. Verify fr == first_hash, sr == second_hash and sn == 0.
    return fr == first_hash and sr == second_hash and sn == 0


def make_signer() -> Signer:
    return Signer(ORIGIN, Ed25519PrivateKey.generate())


def make_key() -> CommitmentKey:
    return CommitmentKey(os.urandom(32))


def decision(citizen_id: int | str, **changes: object) -> Decision:
    fields: dict[str, object] = {
        "citizen_id": citizen_id,
        "organisation": "dwp",
        "client": "dwp-benefits-portal",
        "purpose": "benefits_administration",
        "agreement": "dwp-hmrc-income-2026",
        "lawful_basis": LawfulBasis.PUBLIC_TASK,
        "outcome": Outcome.PERMIT,
        "fields": ["nino", "income"],
        "reasons": ["agreement covers purpose"],
    }
    fields.update(changes)
    return Decision(**fields)  # type: ignore[arg-type]


def bulk(citizens: Sequence[int], refused: Sequence[int] = ()) -> BulkDecision:
    parts = [
        CitizenOutcome(c, Outcome.REFUSE, ("national_data_opt_out",))
        if c in refused
        else CitizenOutcome(c)
        for c in citizens
    ]
    return BulkDecision(
        citizens=parts,
        organisation="ucl",
        client="ucl-eye-research",
        purpose="research",
        agreement="moorfields-ucl-2026",
        lawful_basis=LawfulBasis.PUBLIC_TASK,
        outcome=Outcome.PERMIT,
        fields=["retinal_scan", "age_band"],
    )


def fill(
    engine: Engine,
    signer: Signer,
    key: CommitmentKey,
    batches: Sequence[int],
    *,
    bulk_every: int = 0,
) -> list[PreparedEntry]:
    """Append ``batches`` (entry counts per group commit) and return what was appended."""
    writer = GroupCommitWriter(engine, signer, ORIGIN)
    writer.start()
    appended: list[PreparedEntry] = []
    try:
        counter = 0
        for size in batches:
            items = []
            for _ in range(size):
                counter += 1
                if bulk_every and counter % bulk_every == 0:
                    items.append(prepare(bulk(range(counter, counter + 5), [counter]), key))
                else:
                    items.append(prepare(decision(counter % 97), key))
            writer.append_many(items)
            appended += items
    finally:
        writer.stop()
    return appended


def spec_open(note: str, vkey: str) -> str:
    """An independent reading of c2sp.org/signed-note for one Ed25519 key: returns the text."""
    name, key_id_hex, material = vkey.split("+", 2)
    raw = base64.b64decode(material)
    assert raw[0] == 0x01
    public = raw[1:]
    expected_id = hashlib.sha256(name.encode() + b"\n" + b"\x01" + public).digest()[:4]
    assert expected_id.hex() == key_id_hex
    split = note.rindex("\n\n")
    text, signature_lines = note[: split + 1], note[split + 2 :].splitlines()
    for line in signature_lines:
        dash, signer, blob = line.split(" ")
        assert dash == "\u2014"
        decoded = base64.b64decode(blob)
        if signer == name and decoded[:4] == expected_id:
            try:
                Ed25519PublicKey.from_public_bytes(public).verify(decoded[4:], text.encode())
            except InvalidSignature as error:
                raise AssertionError("bad signature") from error
            return text
    raise AssertionError("no signature by the key")


def signer_from_seed(seed: bytes = b"\x07" * 32) -> Signer:
    """A fixed signer, so a test and the process it kills agree on the key."""
    return Signer(ORIGIN, Ed25519PrivateKey.from_private_bytes(seed))
