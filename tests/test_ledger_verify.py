"""`trusthub ledger verify`: every kind of tampering is caught and the first bad index named."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from ledger_bulk_support import BIG_INDEX, BulkLog, bulk_log, to_json_form
from ledger_support import ORIGIN, fill, make_key, make_signer
from trusthub.ledger import store, tiles
from trusthub.ledger.cli import ledger_app
from trusthub.ledger.merkle import leaf_hash
from trusthub.ledger.note import Signer
from trusthub.ledger.prepare import PreparedEntry, prepare
from trusthub.ledger.verify import Report, verify
from trusthub.ledger.writer import GroupCommitWriter, LedgerUnavailable

BATCHES = [300, 200, 5, 1, 120]  # 626 entries: three full bundles and a partial one
SIZE = sum(BATCHES)


def _verify(url: str, signer: Signer) -> Report:
    return verify(url, ORIGIN, [signer.verifier], workers=1)


def _bundle(engine: Engine, idx: int, tree: int = 0) -> list[bytes]:
    with engine.connect() as connection:
        return tiles.decode_bundle(store.read_bundles(connection, tree, [idx])[idx])


def _put_bundle(engine: Engine, idx: int, entries: list[bytes], tree: int = 0) -> None:
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE ledger_bundles SET data = :data WHERE tree = :tree AND idx = :idx"),
            {"data": tiles.encode_bundle(entries), "tree": tree, "idx": idx},
        )


@pytest.fixture
def logged(engine: Engine) -> tuple[Signer, list[PreparedEntry]]:
    signer = make_signer()
    return signer, fill(engine, signer, make_key(), BATCHES, bulk_every=97)


def test_an_untouched_log_verifies(
    database_url: str, logged: tuple[Signer, list[PreparedEntry]]
) -> None:
    signer, _ = logged
    report = _verify(database_url, signer)
    assert report.ok, report.findings
    assert (report.leaves, report.tree_size, report.checkpoints) == (SIZE, SIZE, 6)
    assert report.bulk_entries == SIZE // 97


def _change(entries: list[bytes]) -> list[bytes]:
    entries[17] = entries[17].replace(b'"dwp"', b'"hmrc"')
    return entries


def _delete(entries: list[bytes]) -> list[bytes]:
    del entries[17]
    return entries


def _insert(entries: list[bytes]) -> list[bytes]:
    entries.insert(17, entries[40])
    return entries


def _reorder(entries: list[bytes]) -> list[bytes]:
    entries[17], entries[18] = entries[18], entries[17]
    return entries


@pytest.mark.parametrize("tamper", [_change, _delete, _insert, _reorder])
def test_a_tampered_entry_is_named(
    database_url: str,
    engine: Engine,
    logged: tuple[Signer, list[PreparedEntry]],
    tamper: Callable[[list[bytes]], list[bytes]],
) -> None:
    signer, _ = logged
    _put_bundle(engine, 1, tamper(_bundle(engine, 1)))
    report = _verify(database_url, signer)
    assert not report.ok
    assert report.first_bad_index == 256 + 17, report.findings


def test_a_deleted_bundle_row_is_named(
    database_url: str, engine: Engine, logged: tuple[Signer, list[PreparedEntry]]
) -> None:
    signer, _ = logged
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM ledger_bundles WHERE tree = 0 AND idx = 1"))
    report = _verify(database_url, signer)
    assert report.first_bad_index == 256
    assert any("bundle 1 is missing" in f.message for f in report.findings)


def test_swapped_bundle_rows_are_named(
    database_url: str, engine: Engine, logged: tuple[Signer, list[PreparedEntry]]
) -> None:
    signer, _ = logged
    first, second = _bundle(engine, 0), _bundle(engine, 1)
    _put_bundle(engine, 0, second)
    _put_bundle(engine, 1, first)
    assert _verify(database_url, signer).first_bad_index == 0


def test_an_entry_inserted_at_the_end_is_named(
    database_url: str, engine: Engine, logged: tuple[Signer, list[PreparedEntry]]
) -> None:
    signer, appended = logged
    last = SIZE // 256
    _put_bundle(engine, last, [*_bundle(engine, last), appended[3].leaf_input])
    report = _verify(database_url, signer)
    assert report.first_bad_index == SIZE, report.findings


def test_a_truncated_log_is_named(
    database_url: str, engine: Engine, logged: tuple[Signer, list[PreparedEntry]]
) -> None:
    signer, _ = logged
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM ledger_bundles WHERE tree = 0 AND idx = 2"))
        connection.execute(text("DELETE FROM ledger_bundles WHERE tree = 0 AND idx = 1"))
        connection.execute(text("UPDATE ledger_head SET tree_size = 256"))
    report = _verify(database_url, signer)
    assert report.first_bad_index == 256
    assert any("signs entries that are missing" in f.message for f in report.findings)


def test_a_rewritten_history_with_recomputed_hashes_is_caught_by_the_signatures(
    database_url: str, engine: Engine, logged: tuple[Signer, list[PreparedEntry]]
) -> None:
    """An attacker with the database but not the key rebuilds every hash: checkpoints object."""
    signer, appended = logged
    leaves = [p.leaf_input for p in appended]
    leaves[300] = leaves[300].replace(b'"dwp"', b'"hmrc"')
    rebuilt = tiles.extend({}, 0, [leaf_hash(x) for x in leaves])
    with engine.begin() as connection:
        for k in range(0, len(leaves), tiles.BUNDLE_SIZE):
            connection.execute(
                text("UPDATE ledger_bundles SET data = :d WHERE tree = 0 AND idx = :i"),
                {"d": tiles.encode_bundle(leaves[k : k + 256]), "i": k // 256},
            )
        for (level, idx), rows in rebuilt.items():
            connection.execute(
                text(
                    "UPDATE ledger_tiles SET hashes = :h WHERE tree = 0 AND level = :l AND idx = :i"
                ),
                {"h": tiles.encode_tile(rows), "l": level, "i": idx},
            )
    report = _verify(database_url, signer)
    assert not report.ok
    assert any("were rewritten" in f.message for f in report.findings)
    assert report.first_bad_index is not None and report.first_bad_index <= 300


def test_a_forged_checkpoint_is_caught(
    database_url: str, engine: Engine, logged: tuple[Signer, list[PreparedEntry]]
) -> None:
    signer, _ = logged
    forger = make_signer()
    with engine.begin() as connection:
        note = connection.execute(
            text("SELECT note FROM ledger_checkpoints WHERE tree_size = 500")
        ).scalar_one()
        forged = note.replace(
            note.split("\n")[-2], forger.sign(note[: note.rindex("\n\n") + 1]).strip()
        )
        connection.execute(
            text("UPDATE ledger_checkpoints SET note = :n WHERE tree_size = 500"), {"n": forged}
        )
    report = _verify(database_url, signer)
    assert any("checkpoint 500" in f.message for f in report.findings)


def _row(engine: Engine, tree: int, idx: int) -> bytes:
    with engine.connect() as connection:
        return store.read_bundles(connection, tree, [idx])[idx]


def _put_row(engine: Engine, tree: int, idx: int, data: bytes) -> None:
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE ledger_bundles SET data = :data WHERE tree = :tree AND idx = :idx"),
            {"data": data, "tree": tree, "idx": idx},
        )


def _flip_outcome(data: bytes) -> bytes:
    """Give the first record the other of the entry's two templates (permit, refuse)."""
    return data[:1] + bytes([data[1] ^ 1]) + data[2:]


def _change_commitment(data: bytes) -> bytes:
    return data[:-1] + bytes([data[-1] ^ 0x01])


def _swap_records(data: bytes) -> bytes:
    """Swap the first two records: template numbers and commitments alike."""
    count = (len(data) - 1) // 33
    numbers, commitments = bytearray(data[1 : 1 + count]), data[1 + count :]
    numbers[0], numbers[1] = numbers[1], numbers[0]
    swapped = commitments[32:64] + commitments[:32] + commitments[64:]
    return data[:1] + bytes(numbers) + swapped


@pytest.mark.parametrize(
    ("tamper", "says"),
    [
        (_flip_outcome, "records do not match root"),
        (_change_commitment, "records do not match root"),
        (_swap_records, "not in commitment order"),
        (lambda data: data[:-1], "wrong mark or length"),
        (lambda data: b"{" + data[1:], "wrong mark or length"),
    ],
)
def test_a_changed_packed_bulk_record_names_its_entry(
    database_url: str,
    engine: Engine,
    logged: tuple[Signer, list[PreparedEntry]],
    tamper: Callable[[bytes], bytes],
    says: str,
) -> None:
    signer, _ = logged
    tree = 96 + 1  # the first bulk entry is at index 96: five records, one short row
    _put_row(engine, tree, 0, tamper(_row(engine, tree, 0)))
    report = _verify(database_url, signer)
    assert report.first_bad_index == 96, report.findings
    assert any(f.index == 96 and says in f.message for f in report.findings), report.findings


@pytest.fixture
def big(engine: Engine) -> tuple[Signer, BulkLog]:
    signer = make_signer()
    return signer, bulk_log(engine, signer, make_key())


def _sql(engine: Engine, statement: str, **values: object) -> None:
    with engine.begin() as connection:
        connection.execute(text(statement), values)


BIG_TREE = BIG_INDEX + 1
TAMPERING: dict[str, tuple[str, dict[str, object], str]] = {
    "a row deleted": (
        "DELETE FROM ledger_bundles WHERE tree = :tree AND idx = 1",
        {"tree": BIG_TREE},
        "row 1 is missing",
    ),
    "the last row deleted": (
        "DELETE FROM ledger_bundles WHERE tree = :tree AND idx = 2",
        {"tree": BIG_TREE},
        "512 records, not 700",
    ),
    "a row added": (
        "INSERT INTO ledger_bundles (tree, idx, data) SELECT tree, 3, data FROM ledger_bundles "
        "WHERE tree = :tree AND idx = 0",
        {"tree": BIG_TREE},
        "follows a short row",
    ),
    "an upper tile changed": (
        "UPDATE ledger_tiles SET hashes = :hashes WHERE tree = :tree AND level = 1",
        {"tree": BIG_TREE, "hashes": bytes(96)},
        "tile (1, 0) disagrees",
    ),
    "a tile added": (
        "INSERT INTO ledger_tiles (tree, level, idx, width, hashes) "
        "VALUES (:tree, 0, 0, 1, :hashes)",
        {"tree": BIG_TREE, "hashes": bytes(32 * 8)},
        "stored tile (0, 0) has no records under it",
    ),
    "the count changed": (
        "UPDATE ledger_bulk_entries SET count = 699 WHERE leaf_index = :index",
        {"index": BIG_INDEX},
        "stored count 699",
    ),
    "a template made a refusal": (
        "UPDATE ledger_bulk_entries SET templates = :templates WHERE leaf_index = :index",
        {
            "index": BIG_INDEX,
            "templates": b'[["{\\"citizen\\":\\"","\\",\\"decision\\":\\"refuse\\",'
            b'\\"reasons\\":[],\\"v\\":1}"],["{\\"citizen\\":\\"",'
            b'"\\",\\"decision\\":\\"refuse\\",\\"reasons\\":'
            b'[\\"national_data_opt_out\\"],\\"v\\":1}"]]',
        },
        "records do not match root",
    ),
    "a template not canonical": (
        "UPDATE ledger_bulk_entries SET templates = :templates WHERE leaf_index = :index",
        {"index": BIG_INDEX, "templates": b'[["{\\"citizen\\": \\"", "\\"}"]]'},
        "canonical",
    ),
    "the packed form forgotten": (
        "DELETE FROM ledger_bulk_entries WHERE leaf_index = :index",
        {"index": BIG_INDEX},
        "bulk entry 3",
    ),
}


def test_a_large_packed_bulk_entry_verifies(database_url: str, big: tuple[Signer, BulkLog]) -> None:
    signer, _ = big
    report = _verify(database_url, signer)
    assert report.ok, report.findings
    assert report.bulk_entries == 1


@pytest.mark.parametrize("case", sorted(TAMPERING))
def test_tampering_with_a_packed_bulk_entry_names_it(
    database_url: str, engine: Engine, big: tuple[Signer, BulkLog], case: str
) -> None:
    signer, _ = big
    statement, values, says = TAMPERING[case]
    _sql(engine, statement, **values)
    report = _verify(database_url, signer)
    assert report.first_bad_index == BIG_INDEX, report.findings
    assert any(says in f.message for f in report.findings), report.findings


def test_a_bulk_entry_stored_before_packing_still_verifies_and_its_changes_are_caught(
    database_url: str, engine: Engine
) -> None:
    signer, key = make_signer(), make_key()
    log = bulk_log(engine, signer, key)
    to_json_form(engine, BIG_INDEX, log.big, key, log.citizens)
    assert _verify(database_url, signer).ok
    records = _bundle(engine, 1, BIG_TREE)
    permitted = next(i for i, record in enumerate(records) if b'"permit"' in record)
    records[permitted] = records[permitted].replace(b'"permit"', b'"refuse"')
    _put_bundle(engine, 1, records, BIG_TREE)
    report = _verify(database_url, signer)
    assert report.first_bad_index == BIG_INDEX
    assert any(f.index == BIG_INDEX and "bulk entry 3" in f.message for f in report.findings)


def test_the_cli_reports_success_and_the_first_bad_index(
    database_url: str,
    engine: Engine,
    logged: tuple[Signer, list[PreparedEntry]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    signer, _ = logged
    runner = CliRunner()
    args = ["verify", "--database-url", database_url, "--key", signer.verifier.vkey]
    monkeypatch.setenv("TRUSTHUB_LEDGER_ORIGIN", ORIGIN)
    from trusthub.config import get_settings

    get_settings.cache_clear()
    try:
        good = runner.invoke(ledger_app, [*args, "--workers", "1"])
        assert good.exit_code == 0, good.output
        assert "ledger verifies" in good.output
        _put_bundle(engine, 1, _change(_bundle(engine, 1)))
        bad = runner.invoke(ledger_app, [*args, "--workers", "1"])
        assert bad.exit_code == 1
        assert "first index that disagrees: 273" in bad.output
    finally:
        get_settings.cache_clear()


def test_a_failed_commit_acknowledges_nothing_and_leaves_a_log_that_verifies(
    database_url: str, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    signer, key = make_signer(), make_key()
    fill(engine, signer, key, [10])
    writer = GroupCommitWriter(engine, signer, ORIGIN)
    writer.start()
    original = store.write_batch

    def fail_halfway(connection: object, batch: store.Batch) -> None:
        original(connection, batch)  # type: ignore[arg-type]
        raise OSError("disk gone mid-transaction")

    try:
        monkeypatch.setattr(store, "write_batch", fail_halfway)
        with pytest.raises(LedgerUnavailable):
            writer.append(prepare(_decision(1), key), timeout=10)
        monkeypatch.setattr(store, "write_batch", original)
        receipt = writer.append(prepare(_decision(2), key), timeout=10)
    finally:
        writer.stop()
    assert receipt.index == 10 and receipt.tree_size == 11
    report = _verify(database_url, signer)
    assert report.ok and report.leaves == 11, report.findings


def _decision(citizen: int) -> object:
    from ledger_support import decision

    return decision(citizen)


CRASHING_WRITER = textwrap.dedent(
    """
    import sys
    from ledger_support import fill, make_key, signer_from_seed
    from trusthub.db import make_engine

    engine = make_engine(sys.argv[1])
    print("started", flush=True)
    fill(engine, signer_from_seed(), make_key(), [50, 7, 300, 1, 64] * 1000)
    """
)


def test_a_writer_killed_mid_batch_leaves_a_log_that_verifies(tmp_path: Path) -> None:
    """SIGKILL the writer at an arbitrary moment: each batch is there whole or not at all."""
    from ledger_support import signer_from_seed
    from trusthub.migrations import upgrade

    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    upgrade(url)
    script = tmp_path / "writer.py"
    script.write_text(CRASHING_WRITER)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent), *sys.path])}
    for delay in (0.7, 1.3):
        process = subprocess.Popen(  # noqa: S603 - our own script, our interpreter
            [sys.executable, str(script), url], stdout=subprocess.PIPE, env=env
        )
        assert process.stdout is not None
        assert process.stdout.readline().strip() == b"started"
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.wait()
        report = _verify(url, signer_from_seed())
        assert report.ok, report.findings
        assert report.leaves > 0 and report.leaves == report.tree_size


@pytest.mark.slow
def test_verify_in_parallel_processes_agrees(tmp_path: Path) -> None:
    from trusthub.db import make_engine
    from trusthub.migrations import upgrade

    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    upgrade(url)
    engine = make_engine(url)
    signer = make_signer()
    appended = fill(engine, signer, make_key(), [40_000, 40_000, 3])
    serial = verify(url, ORIGIN, [signer.verifier], workers=1)
    parallel = verify(url, ORIGIN, [signer.verifier], workers=2)
    assert serial.ok and parallel.ok
    assert serial.leaves == parallel.leaves == len(appended)
    _put_bundle(engine, 300, _change(_bundle(engine, 300)))
    assert verify(url, ORIGIN, [signer.verifier], workers=2).first_bad_index == 300 * 256 + 17
    engine.dispose()
