"""The public ledger API on both backends: every proof checks out with the RFC's own algorithms."""

from __future__ import annotations

import base64
import hashlib

from fastapi.testclient import TestClient

from ledger_support import (
    bulk,
    decision,
    rfc_leaf,
    rfc_verify_consistency,
    rfc_verify_inclusion,
    spec_open,
)
from trusthub.ledger import service
from trusthub.ledger.commitments import opens
from trusthub.ledger.note import Checkpoint
from trusthub.ledger.runtime import Ledger


def _ledger(client: TestClient) -> Ledger:
    ledger: Ledger = client.app.state.ledger  # type: ignore[attr-defined]
    return ledger


def _fill(client: TestClient) -> list[service.Receipt]:
    ledger = _ledger(client)
    receipts = [service.record(ledger, decision(i % 4)) for i in range(13)]
    receipts.append(service.record(ledger, bulk(range(2, 12), refused=[3])))
    receipts += [service.record(ledger, decision(2)) for _ in range(4)]
    return receipts


def _checkpoints(client: TestClient) -> dict[int, bytes]:
    page = client.get("/ledger/v1/checkpoints", params={"from": 0, "limit": 1000}).json()
    return {c["tree_size"]: bytes.fromhex(c["root_hash"]) for c in page["checkpoints"]}


def test_a_new_ledger_publishes_a_signed_empty_checkpoint(client: TestClient) -> None:
    response = client.get("/ledger/v1/checkpoint")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    vkey = client.get("/ledger/v1/keys").json()["keys"][0]
    text = spec_open(response.text, vkey)
    assert Checkpoint.parse(text).size == 0
    assert Checkpoint.parse(text).root == hashlib.sha256(b"").digest()


def test_entries_and_inclusion_proofs_verify_with_the_rfc_algorithm(client: TestClient) -> None:
    receipts = _fill(client)
    assert [r.index for r in receipts] == list(range(18))
    roots = _checkpoints(client)
    assert set(roots) == {0, *range(1, 19)}  # one signed checkpoint per group commit
    vkey = client.get("/ledger/v1/keys").json()["keys"][0]
    latest = Checkpoint.parse(spec_open(client.get("/ledger/v1/checkpoint").text, vkey))
    assert latest.size == 18 and latest.root == roots[18]
    for receipt in receipts:
        body = client.get(f"/ledger/v1/entries/{receipt.index}").json()
        leaf_input = base64.b64decode(body["leaf_input"])
        assert rfc_leaf(leaf_input) == receipt.leaf_hash
        assert body["entry"]["id"] == receipt.entry_id
        for size in (receipt.index + 1, 18):
            proof = client.get(
                "/ledger/v1/proofs/inclusion", params={"index": receipt.index, "tree_size": size}
            ).json()
            assert proof["leaf_hash"] == receipt.leaf_hash.hex()
            assert proof["root_hash"] == roots[size].hex()
            path = [bytes.fromhex(h) for h in proof["inclusion_path"]]
            assert rfc_verify_inclusion(receipt.index, size, receipt.leaf_hash, path, roots[size])


def test_consistency_proofs_verify_between_every_pair_of_checkpoints(client: TestClient) -> None:
    _fill(client)
    roots = _checkpoints(client)
    for first in range(1, 19):
        for second in range(first + 1, 19):
            proof = client.get(
                "/ledger/v1/proofs/consistency", params={"first": first, "second": second}
            ).json()
            assert proof["first_root"] == roots[first].hex()
            assert proof["second_root"] == roots[second].hex()
            path = [bytes.fromhex(h) for h in proof["consistency_path"]]
            assert rfc_verify_consistency(first, second, roots[first], roots[second], path)
    same = client.get("/ledger/v1/proofs/consistency", params={"first": 5, "second": 5}).json()
    assert same["consistency_path"] == []


def test_each_citizen_in_a_bulk_entry_can_prove_their_record(client: TestClient) -> None:
    receipts = _fill(client)
    bulk_index = receipts[13].index
    entry = client.get(f"/ledger/v1/entries/{bulk_index}").json()["entry"]
    assert "citizen" not in entry and entry["records"]["count"] == 10
    for position in range(10):
        proof = client.get(
            "/ledger/v1/proofs/record", params={"index": bulk_index, "position": position}
        ).json()
        record_input = base64.b64decode(proof["record_input"])
        record_hash = rfc_leaf(record_input)
        assert proof["record_hash"] == record_hash.hex()
        records_root = bytes.fromhex(entry["records"]["root"])
        path = [bytes.fromhex(h) for h in proof["record_path"]]
        assert rfc_verify_inclusion(position, 10, record_hash, path, records_root)
        inclusion = proof["inclusion"]
        entry_leaf = rfc_leaf(base64.b64decode(proof["entry_leaf_input"]))
        assert rfc_verify_inclusion(
            bulk_index,
            inclusion["tree_size"],
            entry_leaf,
            [bytes.fromhex(h) for h in inclusion["inclusion_path"]],
            bytes.fromhex(inclusion["root_hash"]),
        )


def test_a_citizen_finds_exactly_their_entries(client: TestClient) -> None:
    receipts = _fill(client)
    ledger = _ledger(client)
    with ledger.sessions() as session:
        found = service.entries_for_citizen(session, 2, ledger.keys.commitment)
        nobody = service.entries_for_citizen(session, 999, ledger.keys.commitment)
    expected = [r.index for r in receipts[:13] if r.index % 4 == 2] + [13, 14, 15, 16, 17]
    assert [f.index for f in found] == expected
    assert nobody == []
    in_bulk = [f for f in found if f.position is not None]
    assert len(in_bulk) == 1 and in_bulk[0].record is not None
    for item in found:
        assert opens(item.commitment, item.blinding, 2)
        assert not opens(item.commitment, item.blinding, 3)


def test_bad_requests_are_problems(client: TestClient) -> None:
    _fill(client)
    assert client.get("/ledger/v1/entries/18").status_code == 404
    for params in (
        {"index": 18},
        {"index": 1, "tree_size": 19},
        {"index": 5, "tree_size": 5},
    ):
        response = client.get("/ledger/v1/proofs/inclusion", params=params)
        assert response.status_code == 422
        assert response.headers["content-type"] == "application/problem+json"
    bad = client.get("/ledger/v1/proofs/consistency", params={"first": 9, "second": 4})
    assert bad.status_code == 422
    not_bulk = client.get("/ledger/v1/proofs/record", params={"index": 0, "position": 0})
    assert not_bulk.status_code == 422


def test_checkpoint_history_pages(client: TestClient) -> None:
    _fill(client)
    first = client.get("/ledger/v1/checkpoints", params={"from": 3, "limit": 5}).json()
    assert [c["tree_size"] for c in first["checkpoints"]] == [3, 4, 5, 6, 7]
    assert first["next_from"] == 8
    last = client.get("/ledger/v1/checkpoints", params={"from": 15}).json()
    assert [c["tree_size"] for c in last["checkpoints"]] == [15, 16, 17, 18]
    assert last["next_from"] is None
