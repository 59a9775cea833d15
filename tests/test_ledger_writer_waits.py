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
from trusthub.ledger.writer import GroupCommitWriter, LedgerUnavailable


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
