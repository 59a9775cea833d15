"""Async recorders' waits: timeouts and cancellation touch only the recorder they belong to."""

from __future__ import annotations

import asyncio
import threading

import pytest
from sqlalchemy import Engine

from ledger_support import ORIGIN, decision, make_key, make_signer
from trusthub.ledger import store
from trusthub.ledger.prepare import prepare
from trusthub.ledger.verify import verify
from trusthub.ledger.writer import HAND_OVER_AT, GroupCommitWriter, LedgerUnavailable, Receipt


def test_a_stuck_commit_times_recorders_out_and_a_cancelled_one_leaves_the_rest_waiting(
    database_url: str, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    signer, key = make_signer(), make_key()
    writer = GroupCommitWriter(engine, signer, ORIGIN)
    writer.start()
    release = threading.Event()
    original = store.write_batch

    def stuck(connection: object, batch: store.Batch) -> None:
        release.wait(30)
        original(connection, batch)  # type: ignore[arg-type]

    monkeypatch.setattr(store, "write_batch", stuck)

    async def main() -> tuple[list[BaseException | int], bool]:
        async def one(citizen: int, timeout: float | None) -> int:
            receipt = await writer.append_async(prepare(decision(citizen), key), timeout)
            return receipt.index

        short = [asyncio.create_task(one(c, 0.2)) for c in range(3)]
        patient = [asyncio.create_task(one(c, 30)) for c in range(3, 6)]
        doomed = asyncio.create_task(one(6, None))
        timed_out = await asyncio.gather(*short, return_exceptions=True)
        doomed.cancel()
        await asyncio.sleep(0)
        release.set()
        results = await asyncio.gather(*patient, return_exceptions=True)
        return [*timed_out, *results], doomed.cancelled()

    try:
        outcomes, cancelled = asyncio.run(main())
    finally:
        release.set()
        writer.stop()
    assert all(isinstance(o, LedgerUnavailable) for o in outcomes[:3]), outcomes
    assert cancelled
    patient = outcomes[3:]
    assert all(isinstance(index, int) and 0 <= index < 7 for index in patient), patient
    assert len(set(patient)) == 3
    # The timed-out and cancelled recorders never learnt their entries' fate; the entries were
    # committed anyway, with the patient ones, which is the safe direction.
    report = verify(database_url, ORIGIN, [signer.verifier], workers=1)
    assert report.ok and report.leaves == 7, report.findings


def test_recorders_queued_in_one_loop_turn_each_learn_their_own_index(
    database_url: str, engine: Engine
) -> None:
    """More recorders in one turn than a hand-over holds: every entry lands once, in order."""
    signer, key = make_signer(), make_key()
    writer = GroupCommitWriter(engine, signer, ORIGIN)
    writer.start()
    count = 3 * HAND_OVER_AT + 7
    prepared = [prepare(decision(citizen), key) for citizen in range(count)]

    async def main() -> list[Receipt]:
        return await asyncio.gather(*(writer.append_async(p, timeout=30) for p in prepared))

    try:
        receipts = asyncio.run(main())
    finally:
        writer.stop()
    assert sorted(r.index for r in receipts) == list(range(count))
    for receipt, entry in zip(receipts, prepared, strict=True):
        assert receipt.leaf_hash == entry.leaf_hash
        assert receipt.entry_id == entry.entry.id
        assert receipt.tree_size > receipt.index
    report = verify(database_url, ORIGIN, [signer.verifier], workers=1)
    assert report.ok and report.leaves == count, report.findings


def test_a_stopped_writer_refuses_every_recorder_of_the_turn(engine: Engine) -> None:
    signer, key = make_signer(), make_key()
    writer = GroupCommitWriter(engine, signer, ORIGIN)
    writer.start()
    writer.stop()

    async def main() -> list[BaseException | Receipt]:
        entries = [prepare(decision(citizen), key) for citizen in range(HAND_OVER_AT + 3)]
        return await asyncio.gather(
            *(writer.append_async(e, timeout=5) for e in entries), return_exceptions=True
        )

    outcomes = asyncio.run(main())
    assert all(isinstance(o, LedgerUnavailable) for o in outcomes), outcomes
    with engine.connect() as connection:
        assert store.read_head(connection) == 0
