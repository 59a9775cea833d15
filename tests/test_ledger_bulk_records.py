"""A bulk entry's records computed a column at a time (and across processes) are byte for byte
those of one citizen at a time: commitments, record inputs, tiles, root, index and entry."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger_support import decision, make_key, rfc_mth
from trusthub.ledger import bulk_form, bulk_records, bulk_workers, tiles
from trusthub.ledger.commitments import CitizenId, CommitmentKey, citizen_bytes
from trusthub.ledger.entry import CitizenRecord, EntryError, Outcome, encode_entry, encode_record
from trusthub.ledger.merkle import leaf_hash
from trusthub.ledger.prepare import (
    BulkDecision,
    CitizenColumns,
    CitizenOutcome,
    PreparedEntry,
    prepare,
)
from trusthub.ledger.service import record_timeout

KEY = make_key()

citizen_ids = st.one_of(
    st.integers(min_value=0, max_value=10**12),
    st.text(min_size=1, max_size=20).filter(lambda text: "\n" not in text),
)
outcomes = st.builds(
    CitizenOutcome,
    citizen_ids,
    st.sampled_from(Outcome),
    st.lists(st.sampled_from(["citizen_opted_out", "consent_missing", "exemption:x"]), max_size=2),
)
bulk = st.lists(outcomes, min_size=1, max_size=60, unique_by=lambda part: str(part.citizen_id))


def _decision(citizens: list[CitizenOutcome] | CitizenColumns) -> BulkDecision:
    return BulkDecision(
        citizens=citizens,
        organisation="northmoor-university",
        client="extracts",
        purpose="research",
        outcome=Outcome.PERMIT,
        fields=("nhs_number", "sex"),
        reasons=("removed:citizen_opted_out:1",),
        source="exchange-bulk",
    )


def _one_at_a_time(
    prepared: PreparedEntry, citizens: list[CitizenOutcome], key: CommitmentKey
) -> None:
    """The per-citizen encoding, as the ledger defined it first, against what was prepared."""
    entry_id = prepared.entry.id
    parts = sorted(
        (
            key.commit(entry_id, part.citizen_id)[0],
            key.lookup_tag(part.citizen_id),
            encode_record(
                CitizenRecord(
                    key.commit(entry_id, part.citizen_id)[0], part.outcome, tuple(part.reasons)
                )
            ),
        )
        for part in citizens
    )
    inputs = [record for _, _, record in parts]
    records = prepared.records
    assert records is not None
    assert records.record_inputs() == inputs
    assert records.count == len(citizens)
    assert records.root == rfc_mth(inputs)
    # Tiles from tile level 1 up (the lowest eight levels are rehashed from a row when needed).
    every = tiles.extend({}, 0, [leaf_hash(data) for data in inputs])
    expected = {k: (len(r[0]), tiles.encode_tile(r)) for k, r in every.items() if k[0] >= 1}
    assert records.tiles == expected
    # Each citizen is found by their tag in the private index, at their record's position.
    index = dict(records.index)
    assert len(index) == len(records.index)
    for position, (_, tag, _) in enumerate(parts):
        bucket, key_bytes = bulk_form.bucket_and_key(tag)
        assert position in bulk_form.find_positions(index[bucket], key_bytes)
    assert sum(len(row) for row in index.values()) == bulk_form.PAIR_SIZE * len(citizens)
    assert prepared.citizen_tags == ()
    assert prepared.entry.records is not None
    assert prepared.entry.records.root == records.root.hex()
    assert prepared.entry.records.count == len(citizens)
    assert prepared.leaf_input == encode_entry(prepared.entry)
    assert prepared.leaf_hash == leaf_hash(prepared.leaf_input)


@given(citizens=bulk)
@settings(max_examples=200, deadline=None)
def test_a_column_at_a_time_gives_the_bytes_of_one_citizen_at_a_time(
    citizens: list[CitizenOutcome],
) -> None:
    _one_at_a_time(prepare(_decision(citizens), KEY, workers=1), citizens, KEY)


@given(
    citizens=st.lists(citizen_ids, min_size=1, max_size=50),
    entry_id=st.text("0123456789abcdef", min_size=32, max_size=32),
)
@settings(max_examples=200, deadline=None)
def test_commit_block_is_commit_and_lookup_tag_for_each(
    citizens: list[CitizenId], entry_id: str
) -> None:
    commitments, tags = KEY.commit_block(entry_id, [citizen_bytes(c) for c in citizens])
    assert commitments == b"".join(bytes.fromhex(KEY.commit(entry_id, c)[0]) for c in citizens)
    assert [tags[i : i + 16] for i in range(0, len(tags), 32)] == [
        KEY.lookup_tag(c) for c in citizens
    ]


@pytest.fixture
def small_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Parts of one row, so that a few hundred citizens already take several processes."""
    monkeypatch.setattr(bulk_records, "PART", 256)


def _many(count: int) -> list[CitizenOutcome]:
    reasons = [(), ("citizen_opted_out",), ("consent_missing", "exemption:x")]
    return [
        CitizenOutcome(
            c * 7919 % 100_003, Outcome.REFUSE if c % 3 else Outcome.PERMIT, reasons[c % 3]
        )
        for c in range(count)
    ]


@pytest.mark.usefixtures("small_parts")
@pytest.mark.parametrize(("count", "workers"), [(700, 2), (1_300, 3)])
def test_across_processes_the_bytes_are_the_same(
    count: int, workers: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[int] = []

    class Counted(bulk_workers.Workers):
        def __init__(self, count: int) -> None:
            started.append(count)
            super().__init__(count)

    monkeypatch.setattr(bulk_workers, "Workers", Counted)
    citizens = _many(count)
    _one_at_a_time(prepare(_decision(citizens), KEY, workers=workers), citizens, KEY)
    assert started == [workers]


@pytest.mark.usefixtures("small_parts")
@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("twice", [(7, 7), (7, "7")])
def test_a_citizen_twice_in_one_bulk_decision_is_refused(
    workers: int, twice: tuple[CitizenId, CitizenId]
) -> None:
    citizens = [CitizenOutcome(c) for c in (1, twice[0], *range(10, 600), twice[1], 4)]
    with pytest.raises(EntryError, match="twice"):
        prepare(_decision(citizens), KEY, workers=workers)


def test_an_invalid_citizen_id_is_refused_from_another_process_too() -> None:
    citizens = [CitizenOutcome(c) for c in (1, 2, 3, "a\nb")]
    with pytest.raises(ValueError, match="single line"):
        prepare(_decision(citizens), KEY, workers=2)


def test_a_bulk_entry_waits_in_proportion_to_its_records_and_a_single_one_does_not() -> None:
    single = prepare(decision(1), KEY)
    small = prepare(_decision([CitizenOutcome(c) for c in range(10)]), KEY)
    assert record_timeout(10.0, single) == 10.0
    assert small.records is not None
    huge = replace(small, records=replace(small.records, count=10_000_000))
    assert 10.0 < record_timeout(10.0, small) < 11.0
    assert record_timeout(10.0, huge) >= 600.0


@pytest.mark.usefixtures("small_parts")
def test_without_processes_to_be_had_the_records_are_made_here_alike(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_processes(*args: object, **kwargs: object) -> None:
        raise OSError("no processes left")

    monkeypatch.setattr(bulk_workers, "Workers", no_processes)
    citizens = _many(600)
    _one_at_a_time(prepare(_decision(citizens), KEY, workers=2), citizens, KEY)


@pytest.mark.usefixtures("small_parts")
def test_when_a_worker_dies_the_records_are_made_here_alike(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class Dying(bulk_workers.Workers):
        def map(self, task: str, *columns: Sequence[Any]) -> list[Any]:
            for worker in self._workers:
                worker.process.kill()
                worker.process.wait()
            return super().map(task, *columns)

    monkeypatch.setattr(bulk_workers, "Workers", Dying)
    citizens = _many(600)
    _one_at_a_time(prepare(_decision(citizens), KEY, workers=2), citizens, KEY)


def test_workers_give_results_in_order_and_name_a_failure() -> None:
    parts = [b"".join(b"%d\n" % c for c in range(k, k + 5)) for k in range(0, 50, 5)]
    with bulk_workers.Workers(2) as workers:
        made = workers.map("commit", [KEY._key] * 10, ["ab" * 16] * 10, parts)
        assert made == [bulk_records._commit_part(KEY._key, "ab" * 16, part) for part in parts]
        with pytest.raises(bulk_workers.WorkerError, match="ValueError"):
            workers.map("commit", [b"short"], ["ab" * 16], [b"1\n"])


PSEUDONYMS = "trusthub.exchange.bulk_pseudonyms"


def test_one_pool_runs_two_tables_of_tasks_submitted_from_two_threads() -> None:
    from trusthub.exchange.bulk_pseudonyms import pseudonym_block

    parts = [b"".join(b"%d\n" % c for c in range(k, k + 5)) for k in range(0, 50, 5)]
    offsets = np.array([0, 3, 3, 7], dtype=np.int64).tobytes()
    tables = (bulk_workers.RECORDS, PSEUDONYMS)
    with bulk_workers.Workers(2, tables) as workers, ThreadPoolExecutor(2) as threads:
        commits = threads.submit(workers.map, "commit", [KEY._key] * 10, ["ab" * 16] * 10, parts)
        blocks = [
            threads.submit(
                lambda: workers.submit("pseudonymise", b"k" * 32, "nhs_number", offsets, b"abcdefg")
            )
            for _ in range(6)
        ]
        assert commits.result() == [
            bulk_records._commit_part(KEY._key, "ab" * 16, part) for part in parts
        ]
        here = pseudonym_block(b"k" * 32, "nhs_number", offsets, b"abcdefg")
        assert [job.result().result() for job in blocks] == [here] * 6


def test_the_default_pool_runs_records_only() -> None:
    with (
        bulk_workers.Workers(1) as workers,
        pytest.raises(bulk_workers.WorkerError, match="KeyError"),
    ):
        workers.map("pseudonymise", [b"k" * 32], ["f"], [b""], [b""])


def test_a_killed_worker_fails_its_tasks_instead_of_leaving_them_waiting() -> None:
    parts = [b"1\n"] * 8
    with bulk_workers.Workers(2) as workers:
        for worker in workers._workers:
            worker.process.kill()
            worker.process.wait()
        with pytest.raises(bulk_workers.WorkerError, match="went away"):
            workers.map("commit", [KEY._key] * 8, ["ab" * 16] * 8, parts)


def test_closing_ends_a_worker_that_does_not_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bulk_workers, "STOP_TIMEOUT", 0.5)
    workers = bulk_workers.Workers(1)
    stuck = workers._workers[0].process
    os.kill(stuck.pid, signal.SIGSTOP)
    job = workers.submit("commit", KEY._key, "ab" * 16, b"1\n")
    while not job.running():  # sent, and waiting for an answer that will not come
        time.sleep(0.01)
    workers.close()
    assert isinstance(job.exception(), bulk_workers.WorkerError)
    assert stuck.returncode is not None


def test_closing_cancels_the_tasks_not_yet_started() -> None:
    workers = bulk_workers.Workers(1)
    part = b"".join(b"%d\n" % c for c in range(20_000))
    jobs = [workers.submit("commit", KEY._key, "ab" * 16, part) for _ in range(50)]
    workers.close()
    assert any(job.cancelled() for job in jobs)
    assert all(job.cancelled() or job.done() for job in jobs)


@given(citizens=bulk)
@settings(max_examples=100, deadline=None)
def test_citizens_given_as_columns_give_the_same_bytes(citizens: list[CitizenOutcome]) -> None:
    shapes = list(dict.fromkeys((part.outcome, tuple(part.reasons)) for part in citizens))
    columns = CitizenColumns(
        [part.citizen_id for part in citizens],
        [shapes.index((part.outcome, tuple(part.reasons))) for part in citizens],
        shapes,
    )
    _one_at_a_time(prepare(_decision(columns), KEY, workers=1), citizens, KEY)


@pytest.mark.parametrize("shapes", [[0, 1], [0, -1], [0]])
def test_columns_whose_outcomes_do_not_match_are_refused(shapes: list[int]) -> None:
    columns = CitizenColumns([1, 2], shapes, [(Outcome.PERMIT, ())])
    with pytest.raises(EntryError, match="outcomes"):
        prepare(_decision(columns), KEY)


@given(citizens=bulk)
@settings(max_examples=50, deadline=None)
def test_citizens_given_as_a_block_of_lines_give_the_same_bytes(
    citizens: list[CitizenOutcome],
) -> None:
    shapes = list(dict.fromkeys((part.outcome, tuple(part.reasons)) for part in citizens))
    columns = CitizenColumns(
        b"".join(citizen_bytes(part.citizen_id) + b"\n" for part in citizens),
        np.array([shapes.index((part.outcome, tuple(part.reasons))) for part in citizens]),
        shapes,
    )
    _one_at_a_time(prepare(_decision(columns), KEY, workers=1), citizens, KEY)


@pytest.mark.parametrize(
    "block", [b"1\n\n2\n", b"\n1\n", b"1\n2", b"1\n\xff\n"], ids=["empty", "first", "end", "utf8"]
)
def test_a_block_that_is_not_one_id_a_line_is_refused(block: bytes) -> None:
    columns = CitizenColumns(block, [0, 0], [(Outcome.PERMIT, ())])
    with pytest.raises(ValueError, match=r"single line|UTF-8"):
        prepare(_decision(columns), KEY)


def test_a_block_with_more_or_fewer_ids_than_outcomes_is_refused() -> None:
    for shapes in ([0], [0, 0, 0]):
        columns = CitizenColumns(b"1\n2\n", shapes, [(Outcome.PERMIT, ())])
        with pytest.raises(EntryError, match="outcomes"):
            prepare(_decision(columns), KEY)


def _forced_ties(draw: st.DrawFn) -> list[bytes]:
    prefixes = draw(st.lists(st.binary(min_size=8, max_size=8), min_size=1, max_size=4))
    return draw(
        st.lists(
            st.tuples(st.sampled_from(prefixes), st.binary(min_size=24, max_size=24)).map(
                lambda parts: parts[0] + parts[1]
            ),
            min_size=1,
            max_size=40,
            unique=True,
        )
    )


@given(commitments=st.composite(_forced_ties)())
@settings(max_examples=200, deadline=None)
def test_commitments_that_start_alike_are_still_sorted_by_all_their_bytes(
    commitments: list[bytes],
) -> None:
    order = bulk_records._commitment_order(b"".join(commitments), len(commitments))
    assert [commitments[i] for i in order] == sorted(commitments)


def test_two_equal_commitments_behind_a_shared_prefix_are_one_citizen_twice() -> None:
    same = b"\x07" * 32
    commitments = [b"\x07" * 8 + b"\x01" * 24, same, b"\x00" * 32, same]
    with pytest.raises(EntryError, match="twice"):
        bulk_records._commitment_order(b"".join(commitments), len(commitments))


@pytest.mark.parametrize("count", [1, 255, 256, 257, 511, 512, 700])
def test_rows_tiles_and_root_at_the_edges_of_a_row(count: int) -> None:
    citizens = [
        CitizenOutcome(c, Outcome.REFUSE if c % 7 else Outcome.PERMIT) for c in range(count)
    ]
    prepared = prepare(_decision(citizens), KEY, workers=1)
    assert prepared.records is not None
    assert len(prepared.records.rows) == -(-count // 256)
    _one_at_a_time(prepared, citizens, KEY)


ORPHANED = """
import sys, time
from trusthub.ledger import bulk_workers

workers = bulk_workers.Workers(2)
print(" ".join(str(w.process.pid) for w in workers._workers), flush=True)
time.sleep(600)
"""


def _gone(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return "\nState:\tZ" in status  # ended, waiting for its new parent to reap it


def test_workers_end_when_their_parent_is_killed(tmp_path: Path) -> None:
    """SIGKILL the process that started them: the workers read the end of their input and exit."""
    script = tmp_path / "parent.py"
    script.write_text(ORPHANED)
    parent = subprocess.Popen(  # noqa: S603 - our own script, our interpreter
        [sys.executable, str(script)], stdout=subprocess.PIPE
    )
    assert parent.stdout is not None
    pids = [int(pid) for pid in parent.stdout.readline().split()]
    assert len(pids) == 2 and not any(_gone(pid) for pid in pids)
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 30
    while not all(_gone(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert all(_gone(pid) for pid in pids)
