"""The monitor catches forks and shrinking logs; the group-commit writer serves many recorders."""

from __future__ import annotations

import asyncio
import threading

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from ledger_support import ORIGIN, decision, make_key, make_signer
from trusthub.ledger import merkle, service
from trusthub.ledger.monitor import MonitorState, poll
from trusthub.ledger.note import Checkpoint, sign_checkpoint
from trusthub.ledger.prepare import prepare
from trusthub.ledger.runtime import Ledger
from trusthub.ledger.verify import verify
from trusthub.ledger.writer import GroupCommitWriter


def test_the_monitor_follows_a_growing_hub(client: TestClient) -> None:
    ledger: Ledger = client.app.state.ledger  # type: ignore[attr-defined]
    state = MonitorState()
    first = poll(client, "http://testserver", state, every_checkpoint=True)
    assert first.ok and state.tree_size == 0 and state.keys
    for i in range(7):
        service.record(ledger, decision(i))
    second = poll(client, "http://testserver", state, every_checkpoint=True)
    assert second.ok and second.checked == 7 and state.tree_size == 7
    for i in range(3):
        service.record(ledger, decision(i))
    third = poll(client, "http://testserver", state, every_checkpoint=False)
    assert third.ok and third.checked == 1 and state.tree_size == 10


def _fake_hub(notes: dict[str, str], proof: list[str]) -> httpx.Client:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/checkpoint"):
            return httpx.Response(200, text=notes["latest"])
        if request.url.path.endswith("/proofs/consistency"):
            return httpx.Response(200, json={"consistency_path": proof})
        return httpx.Response(404)

    return httpx.Client(transport=httpx.MockTransport(handler), base_url="http://hub")


def _state(signer_vkey: str, size: int, root: bytes) -> MonitorState:
    return MonitorState(origin=ORIGIN, keys=[signer_vkey], tree_size=size, root_hash=root.hex())


def test_the_monitor_raises_the_alarm_on_a_fork_a_shrink_and_a_bad_signature() -> None:
    signer, stranger = make_signer(), make_signer()
    leaves = [merkle.leaf_hash(bytes([i])) for i in range(8)]
    root4, root8 = merkle.root_of_hashes(leaves[:4]), merkle.root_of_hashes(leaves)
    honest_proof = [merkle.root_of_hashes(leaves[4:])]
    latest = sign_checkpoint(Checkpoint(ORIGIN, 8, root8), [signer])
    vkey = signer.verifier.vkey

    with _fake_hub({"latest": latest}, [h.hex() for h in honest_proof]) as hub:
        assert poll(hub, "http://hub", _state(vkey, 4, root4)).ok

    forked = merkle.root_of_hashes([*leaves[:7], merkle.leaf_hash(b"x")])
    fork = sign_checkpoint(Checkpoint(ORIGIN, 8, forked), [signer])
    with _fake_hub({"latest": fork}, [h.hex() for h in honest_proof]) as hub:
        result = poll(hub, "http://hub", _state(vkey, 4, root4))
        assert not result.ok and "not consistent" in result.alarms[0]

    with _fake_hub({"latest": latest}, []) as hub:
        result = poll(hub, "http://hub", _state(vkey, 8, forked))
        assert not result.ok

    with _fake_hub({"latest": sign_checkpoint(Checkpoint(ORIGIN, 4, root4), [signer])}, []) as hub:
        state = _state(vkey, 8, root8)
        result = poll(hub, "http://hub", state)
        assert "shrank" in result.alarms[0] and state.tree_size == 8

    with _fake_hub(
        {"latest": sign_checkpoint(Checkpoint(ORIGIN, 8, root8), [stranger])}, []
    ) as hub:
        result = poll(hub, "http://hub", _state(vkey, 4, root4))
        assert "does not verify" in result.alarms[0]


def test_many_threads_and_tasks_share_one_writer_and_get_distinct_indices(
    database_url: str, engine: Engine
) -> None:
    signer, key = make_signer(), make_key()
    writer = GroupCommitWriter(engine, signer, ORIGIN)
    writer.start()
    indices: list[int] = []
    lock = threading.Lock()

    def thread_recorder(n: int) -> None:
        for i in range(25):
            receipt = writer.append(prepare(decision(n * 100 + i), key), timeout=30)
            with lock:
                indices.append(receipt.index)

    async def task_recorders() -> None:
        async def one(i: int) -> None:
            receipt = await writer.append_async(prepare(decision(i), key), timeout=30)
            indices.append(receipt.index)

        await asyncio.gather(*(one(i) for i in range(200)))

    try:
        threads = [threading.Thread(target=thread_recorder, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        asyncio.run(task_recorders())
        for thread in threads:
            thread.join()
    finally:
        writer.stop()
    assert sorted(indices) == list(range(400))
    assert writer.batches < 400  # group commit did group
    report = verify(database_url, ORIGIN, [signer.verifier], workers=1)
    assert report.ok and report.leaves == 400, report.findings
