"""Bulk extracts: opt-outs and consents applied as sets, only agreed fields, pseudonyms, rows
refused by number, nothing half-applied, every matched citizen on one ledger entry."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from bulk_support import (
    CAROL,
    DAN,
    PATIENTS,
    UNKNOWN,
    BulkWorld,
    build_bulk_world,
    invalid_nhs_number,
    write_csv,
)
from identity_world import ADA, BOB, World, machine_token
from trusthub.exchange import bulk
from trusthub.exchange.bulk_input import InputRefused
from trusthub.exchange.keys import pseudonym_master_key
from trusthub.exchange.minimise import agreement_pseudonym_key, pseudonym
from trusthub.exchange.sources import DatabaseSource
from trusthub.ledger import bulk_records, bulk_workers
from trusthub.ledger import service as ledger_service
from trusthub.ledger.verify import verify
from trusthub.problems import Problem


@pytest.fixture
def world(hub: World, tmp_path: Path) -> BulkWorld:
    return build_bulk_world(hub, tmp_path)


def _run(world: BulkWorld, agreement: str, rows: list[dict[str, str]] | Path, **extra: Any) -> Any:
    source = rows if isinstance(rows, Path) else write_csv(world.tmp / "in.csv", rows)
    output = extra.pop("output", world.tmp / "out" / "extract.parquet")
    with world.session() as session:
        return bulk.run_extract(
            session,
            world.ledger,
            pseudonym_master_key(world.hub.settings),
            DatabaseSource(session),
            agreement=world.agreements.get(agreement, agreement),
            recipient=extra.pop("recipient", "dwp"),
            client="test-client",
            input_path=source,
            output_path=output,
            **extra,
        )


def _tree_size(world: BulkWorld) -> int:
    with world.ledger.sessions() as session:
        return ledger_service.tree_size(session)


def _verifies(world: BulkWorld) -> bool:
    settings = world.hub.settings
    report = verify(
        settings.ledger_url, settings.ledger_origin, [world.ledger.keys.signer.verifier], workers=1
    )
    return report.ok


def _nothing_left(world: BulkWorld) -> bool:
    out = world.tmp / "out"
    return not out.exists() or not any(out.iterdir())


def test_opt_outs_objections_and_consents_are_applied_with_each_reason_counted(
    world: BulkWorld,
) -> None:
    receipt = _run(world, "research", PATIENTS)
    assert receipt.rows_in == 7
    assert receipt.removed == {"citizen_objected": 1, "citizen_opted_out": 2, "no_such_record": 1}
    assert receipt.rows_out == 3
    table = pq.read_table(receipt.output)
    assert table.column_names == ["nhs_number", "sex", "diagnosis"]
    assert table.column("diagnosis").to_pylist() == ["glaucoma", "amd", "retinopathy"]
    assert receipt.citizens == 4
    assert _verifies(world)


def test_the_opt_out_binds_an_identifiable_research_extract_too_and_consent_is_per_agreement(
    world: BulkWorld,
) -> None:
    receipt = _run(world, "identifiable", PATIENTS)
    assert receipt.removed == {"citizen_opted_out": 3, "no_such_record": 1}
    assert pq.read_table(receipt.output).column("nhs_number").to_pylist() == [ADA, DAN, ADA]


def test_fields_outside_the_agreement_never_leave(world: BulkWorld) -> None:
    receipt = _run(world, "identifiable", PATIENTS)
    data = Path(receipt.output).read_bytes()
    table = pq.read_table(receipt.output)
    assert "given_name" not in table.column_names
    for name in ("Ada", "Dan", "Carol", "Una"):
        assert name.encode() not in data


def test_pseudonyms_are_the_online_ones_stable_within_and_different_across_agreements(
    world: BulkWorld,
) -> None:
    first = pq.read_table(_run(world, "research", PATIENTS).output).column("nhs_number")
    again = pq.read_table(_run(world, "research", PATIENTS).output).column("nhs_number")
    other = pq.read_table(_run(world, "research2", PATIENTS).output).column("nhs_number")
    assert first.to_pylist() == again.to_pylist()
    key = agreement_pseudonym_key(
        pseudonym_master_key(world.hub.settings), world.agreements["research"]
    )
    assert first[0].as_py() == pseudonym(key, "nhs_number", ADA) == first[2].as_py()
    assert first[0].as_py() != other[0].as_py()
    assert ADA not in first.to_pylist() + other.to_pylist()


@pytest.fixture
def shared_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Worker processes even for a few citizens, and a batch of output per row."""
    monkeypatch.setattr(bulk_records, "PARALLEL_FROM", 1)
    monkeypatch.setattr(bulk, "BATCH_ROWS", 1)


@pytest.mark.usefixtures("shared_workers")
def test_on_shared_worker_processes_the_extract_and_its_entry_are_the_same(
    world: BulkWorld,
) -> None:
    here = pq.read_table(_run(world, "research", PATIENTS, output=world.tmp / "a.parquet").output)
    started = []
    real = bulk_workers.Workers.__init__

    def counted(self: bulk_workers.Workers, *args: Any) -> None:
        started.append(args)
        real(self, *args)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(bulk_workers.Workers, "__init__", counted)
        receipt = _run(world, "research", PATIENTS)
    assert len(started) == 1  # one pool for the pseudonyms and the entry's records alike
    table = pq.read_table(receipt.output)
    assert table.equals(here)
    key = agreement_pseudonym_key(
        pseudonym_master_key(world.hub.settings), world.agreements["research"]
    )
    assert table.column("nhs_number")[0].as_py() == pseudonym(key, "nhs_number", ADA)
    with world.ledger.sessions() as session:
        found = ledger_service.entries_for_citizen(
            session, world.citizen_ids[BOB], world.ledger.keys.commitment
        )
    assert receipt.ledger_index in [e.index for e in found]
    assert _verifies(world)


@pytest.mark.usefixtures("shared_workers")
def test_when_the_workers_die_the_pseudonyms_are_made_here_alike(
    world: BulkWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    here = pq.read_table(_run(world, "research", PATIENTS, output=world.tmp / "a.parquet").output)

    class Dying(bulk_workers.Workers):
        def submit(self, task: str, *arguments: Any) -> Any:
            for worker in self._workers:
                worker.process.kill()
                worker.process.wait()
            return super().submit(task, *arguments)

    monkeypatch.setattr(bulk, "Workers", Dying)
    receipt = _run(world, "research", PATIENTS)
    assert pq.read_table(receipt.output).equals(here)
    assert _verifies(world)


@pytest.mark.usefixtures("shared_workers")
def test_a_crash_while_writing_on_workers_leaves_no_output_and_no_entry(
    world: BulkWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = pq.ParquetWriter.write_table
    written = []

    def crash(self: pq.ParquetWriter, table: pa.Table, *args: Any) -> None:
        written.append(table.num_rows)
        if len(written) == 2:
            raise OSError("disk gone")
        real(self, table, *args)

    monkeypatch.setattr(pq.ParquetWriter, "write_table", crash)
    size = _tree_size(world)
    with pytest.raises(OSError, match="disk gone"):
        _run(world, "research", PATIENTS)
    assert _nothing_left(world) and _tree_size(world) == size
    assert _verifies(world)


def test_every_matched_citizen_finds_their_part_of_one_bulk_entry(world: BulkWorld) -> None:
    receipt = _run(world, "research", PATIENTS)
    expected = {
        ADA: ("permit", []),
        BOB: ("refuse", ["citizen_opted_out"]),
        CAROL: ("permit", ["exemption:citizen_consented"]),
        DAN: ("refuse", ["citizen_objected"]),
    }
    with world.ledger.sessions() as session:
        for nhs, (decision, reasons) in expected.items():
            found = ledger_service.entries_for_citizen(
                session, world.citizen_ids[nhs], world.ledger.keys.commitment
            )
            assert [e.index for e in found] == [receipt.ledger_index]
            record = found[0].record
            assert record is not None
            assert (record.decision.value, list(record.reasons)) == (decision, reasons)
        entry = ledger_service.get_entry(session, receipt.ledger_index).entry
    assert entry.records is not None and entry.records.count == 4
    assert entry.agreement == world.agreements["research"]
    assert "removed:citizen_opted_out:2" in entry.reasons
    assert ADA not in json.dumps(entry.fields)


def test_invalid_nhs_numbers_refuse_the_input_by_row_and_nothing_is_written(
    world: BulkWorld,
) -> None:
    rows = [*PATIENTS]
    rows.insert(2, {**PATIENTS[0], "nhs_number": invalid_nhs_number(943_476_591)})
    rows.append({**PATIENTS[0], "nhs_number": "12345"})
    size = _tree_size(world)
    with pytest.raises(InputRefused) as refused:
        _run(world, "research", rows)
    assert [e["row"] for e in refused.value.errors] == [3, 9]
    assert _nothing_left(world) and _tree_size(world) == size


def test_invalid_nhs_numbers_can_be_left_out_and_are_listed(world: BulkWorld) -> None:
    rows = [{**PATIENTS[0], "nhs_number": "943 476 5918"}, *PATIENTS]
    receipt = _run(world, "research", rows, skip_invalid=True)
    assert receipt.invalid_rows == [1] and receipt.invalid_count == 1
    assert receipt.rows_out == 3


def test_a_malformed_csv_row_is_refused_by_row_number(world: BulkWorld) -> None:
    path = write_csv(world.tmp / "in.csv", PATIENTS)
    lines = path.read_text().splitlines()
    lines[3] += ",extra"
    lines[5] = "only-one-field"
    path.write_text("\n".join(lines) + "\n")
    size = _tree_size(world)
    with pytest.raises(InputRefused) as refused:
        _run(world, "research", path)
    assert [e["row"] for e in refused.value.errors] == [3, 5]
    assert _nothing_left(world) and _tree_size(world) == size


def test_unknown_columns_are_refused(world: BulkWorld) -> None:
    rows = [{**row, "religion": "none"} for row in PATIENTS]
    with pytest.raises(InputRefused) as refused:
        _run(world, "research", rows)
    assert refused.value.errors == [{"column": "religion", "message": "not a field of the dataset"}]
    assert _nothing_left(world)


def test_parquet_input_is_numbered_by_row(world: BulkWorld) -> None:
    rows = [*PATIENTS, {**PATIENTS[0], "nhs_number": "0000000001"}]
    path = world.tmp / "in.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path)
    with pytest.raises(InputRefused) as refused:
        _run(world, "research", path)
    assert [e["row"] for e in refused.value.errors] == [8]
    receipt = _run(world, "research", path, skip_invalid=True)
    assert receipt.rows_out == 3 and receipt.invalid_rows == [8]


@pytest.mark.parametrize(("agreement", "recipient", "reason"), [
    ("to_bank", "dwp", "wrong_recipient"),
    ("research", "bank", "wrong_recipient"),
    ("DSA-1999-99999", "dwp", "no_such_agreement"),
    ("anonymised_ids", "dwp", "identifier_in_anonymised_data"),
])  # fmt: skip
def test_an_extract_the_agreement_does_not_allow_is_refused_outright(
    world: BulkWorld, agreement: str, recipient: str, reason: str
) -> None:
    size = _tree_size(world)
    with pytest.raises(bulk.ExtractRefused) as refused:
        _run(world, agreement, PATIENTS, recipient=recipient)
    assert [r.value for r in refused.value.reasons] == [reason]
    assert _nothing_left(world) and _tree_size(world) == size


def test_an_anonymised_extract_carries_no_identifier_and_the_opt_out_does_not_bind_it(
    world: BulkWorld,
) -> None:
    receipt = _run(world, "anonymised", PATIENTS)
    table = pq.read_table(receipt.output)
    assert table.column_names == ["sex"]
    assert receipt.pseudonymised == [] and receipt.removed == {"no_such_record": 1}
    assert receipt.rows_out == 6


def test_a_crash_while_writing_leaves_no_output_and_no_entry(
    world: BulkWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = bulk._write_output

    def crash(run: Any, target: Path, *args: Any) -> None:
        real(run, target, *args)
        raise OSError("disk gone")

    monkeypatch.setattr(bulk, "_write_output", crash)
    size = _tree_size(world)
    with pytest.raises(OSError, match="disk gone"):
        _run(world, "research", PATIENTS)
    assert _nothing_left(world) and _tree_size(world) == size
    assert _verifies(world)


def test_without_the_ledger_there_is_no_output(world: BulkWorld) -> None:
    size = _tree_size(world)
    world.ledger.writer.stop()
    with pytest.raises(Problem) as failed:
        _run(world, "research", PATIENTS)
    assert failed.value.status == 503
    assert _nothing_left(world) and _tree_size(world) == size
    assert _verifies(world)


def test_a_killed_run_after_recording_leaves_the_entry_and_no_partial_file(
    world: BulkWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Dying between the ledger and the rename overstates on the ledger, never understates."""

    def die(temporary: Path, target: Path) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(bulk, "_publish", die)
    size = _tree_size(world)
    with pytest.raises(KeyboardInterrupt):
        _run(world, "research", PATIENTS)
    assert _nothing_left(world) and _tree_size(world) == size + 1
    assert _verifies(world)


def _post(world: BulkWorld, agreement: str, body: bytes, **form: str) -> Any:
    token = machine_token(world.hub).json()["access_token"]
    return world.hub.client.post(
        "/exchange/v1/extracts",
        data={"agreement": world.agreements.get(agreement, agreement), **form},
        files={"file": ("patients.csv", body, "text/csv")},
        headers={"Authorization": f"Bearer {token}"},
    )


def test_the_api_answers_with_parquet_and_the_receipt(world: BulkWorld) -> None:
    body = write_csv(world.tmp / "in.csv", PATIENTS).read_bytes()
    answer = _post(world, "research", body)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == bulk_parquet_type()
    receipt = json.loads(answer.headers["TrustHub-Receipt"])
    assert receipt["rows_out"] == 3 and receipt["removed"]["citizen_opted_out"] == 2
    table = pq.read_table(pa.BufferReader(answer.content))
    assert table.num_rows == 3 and "given_name" not in table.column_names


def bulk_parquet_type() -> str:
    return "application/vnd.apache.parquet"


def test_the_api_refuses_bad_rows_as_problem_json(world: BulkWorld) -> None:
    rows = [*PATIENTS, {**PATIENTS[0], "nhs_number": UNKNOWN[:9] + "x"}]
    body = write_csv(world.tmp / "in.csv", rows).read_bytes()
    answer = _post(world, "research", body)
    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["errors"] == [
        {"row": 8, "message": "have an invalid NHS number (modulus 11)"}
    ]
    assert UNKNOWN[:9] not in answer.text
    refused = _post(world, "to_bank", body)
    assert refused.status_code == 403
    assert refused.json()["errors"] == [{"reason": "wrong_recipient"}]
