"""A bulk entry's records, stored packed or as JSON lines (before packing), are each provable
into the entry and the log, and each citizen finds exactly their own record."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from ledger_bulk_support import BIG, BIG_INDEX, REFUSED, BulkLog, bulk_log, positions, to_json_form
from ledger_support import make_key, make_signer, rfc_leaf, rfc_verify_inclusion
from trusthub.ledger import service
from trusthub.ledger.commitments import CommitmentKey, opens
from trusthub.ledger.entry import Outcome, decode_record


@pytest.fixture(params=["packed", "json-lines"])
def stored(request: pytest.FixtureRequest, engine: Engine) -> tuple[BulkLog, CommitmentKey]:
    key = make_key()
    log = bulk_log(engine, make_signer(), key)
    if request.param == "json-lines":
        to_json_form(engine, BIG_INDEX, log.big, key, log.citizens)
    return log, key


def test_every_record_proves_into_its_entry_and_the_log(
    engine: Engine, stored: tuple[BulkLog, CommitmentKey]
) -> None:
    log, _ = stored
    assert log.big.records is not None
    expected = log.big.records.record_inputs()
    with Session(engine) as session:
        checkpoint = service.latest_checkpoint(session)
        for position in range(BIG):
            proof = service.record_proof(session, BIG_INDEX, position)
            assert proof.record_input == expected[position]
            assert proof.record_hash == rfc_leaf(proof.record_input)
            assert proof.records_root == log.big.records.root
            assert rfc_verify_inclusion(
                position, BIG, proof.record_hash, proof.record_path, proof.records_root
            ), position
            inclusion = proof.inclusion
            assert rfc_verify_inclusion(
                BIG_INDEX,
                checkpoint.tree_size,
                rfc_leaf(proof.entry_leaf_input),
                inclusion.path,
                checkpoint.root_hash,
            )


def test_each_citizen_finds_their_own_record_and_a_stranger_finds_none(
    engine: Engine, stored: tuple[BulkLog, CommitmentKey]
) -> None:
    log, key = stored
    where = positions(log.big, key, log.citizens)
    sample = sorted({*range(0, BIG, 37), *REFUSED, BIG - 1})
    with Session(engine) as session:
        for number in sample:
            citizen = log.citizens[number]
            found = service.entries_for_citizen(session, citizen, key)
            in_bulk = [f for f in found if f.position is not None]
            assert [(f.index, f.position) for f in in_bulk] == [(BIG_INDEX, where[number])]
            record = in_bulk[0].record
            assert record is not None
            refused = number in REFUSED
            assert record.decision is (Outcome.REFUSE if refused else Outcome.PERMIT)
            assert opens(record.citizen, in_bulk[0].blinding, citizen)
        # Citizen 1000 also has an entry of their own at index 4.
        found = service.entries_for_citizen(session, log.citizens[0], key)
        assert sorted((f.index, f.position) for f in found) == [
            (BIG_INDEX, where[0]),
            (4, None),
        ]
        stranger = service.entries_for_citizen(session, 999, key)
        assert [f for f in stranger if f.position is not None] == []
        assert service.entries_for_citizen(session, 5_000_000, key) == []


def test_the_records_stored_are_the_records_prepared(
    engine: Engine, stored: tuple[BulkLog, CommitmentKey]
) -> None:
    """Read back through the store, each record is the canonical JSON that was hashed."""
    log, _ = stored
    assert log.big.records is not None
    from trusthub.ledger import bulk_store

    with engine.connect() as connection:
        read = bulk_store.read_records(connection, BIG_INDEX, list(range(BIG)))
    assert [read[p] for p in range(BIG)] == log.big.records.record_inputs()
    assert all(decode_record(data) for data in read.values())
