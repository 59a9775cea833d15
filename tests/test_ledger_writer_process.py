"""The writer in a process of its own, and several processes appending to one ledger database."""

from __future__ import annotations

import asyncio
import fcntl
import os
import signal

import pytest
from sqlalchemy import Engine

from ledger_support import ORIGIN, decision, make_key, make_signer
from trusthub.ledger.commitments import CommitmentKey
from trusthub.ledger.note import Signer
from trusthub.ledger.prepare import BulkDecision, CitizenOutcome, prepare
from trusthub.ledger.turns import lock_path
from trusthub.ledger.verify import verify
from trusthub.ledger.writer import GroupCommitWriter, LedgerUnavailable


def _record(writer: GroupCommitWriter, key: CommitmentKey, citizens: range) -> list[int]:
    async def main() -> list[int]:
        async def one(citizen: int) -> int:
            receipt = await writer.append_async(prepare(decision(citizen), key), timeout=60)
            return receipt.index

        return list(await asyncio.gather(*(one(c) for c in citizens)))

    return asyncio.run(main())


def _check(url: str, signer: Signer, size: int) -> None:
    report = verify(url, ORIGIN, [signer.verifier], workers=1)
    assert report.ok, report.findings
    assert report.leaves == size == report.tree_size


def test_two_writer_processes_share_one_log_without_losing_or_repeating_an_index(
    database_url: str, engine: Engine
) -> None:
    """Two uvicorn workers, each with its own writer process, appending at once."""
    signer, key = make_signer(), make_key()
    first = GroupCommitWriter(engine, signer, ORIGIN, process=True)
    second = GroupCommitWriter(engine, signer, ORIGIN, process=True)
    first.start()
    second.start()
    try:

        async def both() -> list[int]:
            async def via(writer: GroupCommitWriter, citizen: int) -> int:
                prepared = prepare(decision(citizen), key)
                return (await writer.append_async(prepared, timeout=60)).index

            jobs = [via(first if c % 2 else second, c) for c in range(300)]
            return list(await asyncio.gather(*jobs))

        indices = asyncio.run(both())
        bulk = BulkDecision(
            citizens=[CitizenOutcome(c) for c in range(1000, 1300)],
            organisation="ons",
            client="ons-research",
            purpose="research",
            outcome=decision(0).outcome,
        )
        indices.append(first.append(prepare(bulk, key), timeout=60).index)
        indices.append(second.append(prepare(decision(7), key), timeout=60).index)
    finally:
        first.stop()
        second.stop()
    assert sorted(indices) == list(range(302))
    _check(database_url, signer, 302)


def test_a_killed_writer_process_fails_its_batch_and_is_replaced(
    database_url: str, engine: Engine
) -> None:
    signer, key = make_signer(), make_key()
    writer = GroupCommitWriter(engine, signer, ORIGIN, process=True)
    writer.start()
    try:
        assert _record(writer, key, range(20)) == list(range(20))
        worker = writer._worker
        assert worker is not None and worker._process is not None
        pid = worker._process.pid
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        worker._process.join()
        with pytest.raises(LedgerUnavailable):
            writer.append(prepare(decision(99), key), timeout=60)
        later = writer.append(prepare(decision(100), key), timeout=60)
    finally:
        writer.stop()
    assert later.index == 20 and later.tree_size == 21
    _check(database_url, signer, 21)


def test_an_acknowledged_entry_is_committed_by_the_time_the_writer_process_answers(
    database_url: str, engine: Engine
) -> None:
    """Read back through another connection right after each acknowledgement."""
    from trusthub.ledger import store

    signer, key = make_signer(), make_key()
    writer = GroupCommitWriter(engine, signer, ORIGIN, process=True)
    writer.start()
    try:
        for citizen in range(5):
            receipt = writer.append(prepare(decision(citizen), key), timeout=60)
            with engine.connect() as connection:
                assert store.read_head(connection) >= receipt.tree_size == receipt.index + 1
                leaf = store.read_leaves(connection, 0, [receipt.index])[receipt.index]
                checkpoint = store.latest_checkpoint(connection)
            assert checkpoint is not None and checkpoint.tree_size >= receipt.tree_size
            assert leaf.startswith(b"{")
    finally:
        writer.stop()
    _check(database_url, signer, 5)


def test_on_sqlite_a_writer_waits_for_the_writers_turn_held_by_another_process(
    database_url: str, engine: Engine
) -> None:
    """Whoever holds the turn file's lock commits alone; the waiting writer goes on after it."""
    path = lock_path(engine)
    if engine.dialect.name != "sqlite":
        assert path is None  # PostgreSQL queues writers on the head row by itself
        return
    assert path is not None
    signer, key = make_signer(), make_key()
    writer = GroupCommitWriter(engine, signer, ORIGIN)
    writer.start()
    holder = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(holder, fcntl.LOCK_EX)  # another process's writer, mid-commit

        async def blocked() -> BaseException | None:
            try:
                await writer.append_async(prepare(decision(1), key), timeout=0.5)
            except LedgerUnavailable as refused:
                return refused
            return None

        assert isinstance(asyncio.run(blocked()), LedgerUnavailable)
        fcntl.flock(holder, fcntl.LOCK_UN)
        indices = _record(writer, key, range(2, 5))
    finally:
        os.close(holder)
        writer.stop()
    # The timed-out entry's fate was unknown to its recorder; it committed once the turn came.
    assert sorted(indices) == [1, 2, 3]
    _check(database_url, signer, 4)
