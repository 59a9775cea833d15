"""A bulk entry's records computed a column at a time (and across processes) are byte for byte
those of one citizen at a time: commitments, tags, record inputs, tiles, root and entry."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger_support import decision, make_key
from trusthub.ledger import bulk_records
from trusthub.ledger.commitments import CitizenId, CommitmentKey
from trusthub.ledger.entry import CitizenRecord, EntryError, Outcome, encode_entry, encode_record
from trusthub.ledger.merkle import leaf_hash
from trusthub.ledger.prepare import (
    BulkDecision,
    CitizenColumns,
    CitizenOutcome,
    PreparedEntry,
    build_subtree,
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
    expected = build_subtree(inputs)
    assert prepared.records is not None
    assert prepared.records.inputs == inputs
    assert prepared.records.tiles == expected.tiles
    assert prepared.records.root == expected.root
    assert prepared.citizen_tags == tuple((tag, i) for i, (_, tag, _) in enumerate(parts))
    assert prepared.entry.records is not None
    assert prepared.entry.records.root == expected.root.hex()
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
def test_commit_many_is_commit_and_lookup_tag_for_each(
    citizens: list[CitizenId], entry_id: str
) -> None:
    commitments, tags = KEY.commit_many(entry_id, citizens)
    assert commitments == [KEY.commit(entry_id, c)[0] for c in citizens]
    assert tags == [KEY.lookup_tag(c) for c in citizens]


@given(citizens=bulk.filter(lambda parts: len(parts) >= 3))
@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
def test_across_processes_the_bytes_are_the_same(citizens: list[CitizenOutcome]) -> None:
    _one_at_a_time(prepare(_decision(citizens), KEY, workers=3), citizens, KEY)


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("twice", [(7, 7), (7, "7")])
def test_a_citizen_twice_in_one_bulk_decision_is_refused(
    workers: int, twice: tuple[CitizenId, CitizenId]
) -> None:
    citizens = [CitizenOutcome(c) for c in (1, twice[0], 2, 3, twice[1], 4)]
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
    huge = replace(small, records=replace(small.records, inputs=[b""] * 10_000_000))
    assert 10.0 < record_timeout(10.0, small) < 11.0
    assert record_timeout(10.0, huge) >= 600.0


def test_without_processes_to_be_had_the_records_are_made_here_alike(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_processes(*args: object, **kwargs: object) -> None:
        raise OSError("no processes left")

    monkeypatch.setattr(bulk_records, "ProcessPoolExecutor", no_processes)
    citizens = [CitizenOutcome(c) for c in range(1, 40)]
    _one_at_a_time(prepare(_decision(citizens), KEY, workers=2), citizens, KEY)


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
