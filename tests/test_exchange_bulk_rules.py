"""The bulk path's pure parts agree with the online ones: the consent table with apply_choices,
column pseudonyms with minimise.pseudonym."""

from __future__ import annotations

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trusthub.consent.rules import Use, apply_choices
from trusthub.consent.state import ChoiceState
from trusthub.exchange.bulk_pseudonyms import pseudonym_block
from trusthub.exchange.bulk_rules import ChoiceFacts, choice_table
from trusthub.exchange.minimise import pseudonym
from trusthub.exchange.policy import CHOICE_REASONS
from trusthub.exchange.pseudonyms import pseudonym_column, pseudonymise_column, value_blocks
from trusthub.ledger.commitments import CommitmentKey
from trusthub.ledger.entry import CitizenRecord, Outcome, decode_record, encode_record
from trusthub.ledger.prepare import BulkDecision, CitizenOutcome, prepare
from trusthub.registry.agreement_rules import DataForm, LawfulBasis, PurposeCategory

SCOPES = st.frozensets(st.sampled_from(["DSA-1", "DSA-2", "DSA-3"]))
USES = st.builds(
    Use,
    st.sampled_from(["DSA-1", "DSA-2"]),
    st.sampled_from(PurposeCategory),
    st.sampled_from(DataForm),
    st.sampled_from(LawfulBasis),
)
STATES = st.builds(ChoiceState, st.booleans(), SCOPES, SCOPES, SCOPES)


@settings(max_examples=500, deadline=None)
@given(USES, STATES)
def test_the_table_decides_as_the_rule_does(use: Use, state: ChoiceState) -> None:
    table = {row.facts: row for row in choice_table(use)}
    row = table[ChoiceFacts.of(use.agreement, state)]
    outcome = apply_choices(use, state)
    expected = None if outcome.refusal is None else CHOICE_REASONS[outcome.refusal].value
    assert row.refusal == expected
    if outcome.exemption is not None:
        assert row.ledger_reasons == (f"exemption:{outcome.exemption.value}",)


def test_the_table_refuses_an_opted_out_citizen_for_research_unless_they_consented() -> None:
    use = Use("DSA-1", PurposeCategory.RESEARCH, DataForm.PSEUDONYMISED, LawfulBasis.PUBLIC_TASK)
    table = {row.facts: row for row in choice_table(use)}
    assert table[ChoiceFacts(True, False, False, False)].refusal == "citizen_opted_out"
    consented = table[ChoiceFacts(True, False, True, False)]
    assert consented.refusal is None
    assert consented.ledger_reasons == ("exemption:citizen_consented",)
    assert table[ChoiceFacts(False, True, False, False)].refusal == "citizen_objected"


@settings(max_examples=200, deadline=None)
@given(
    st.binary(min_size=32, max_size=48),
    st.sampled_from(["nhs_number", "given_name", "nino"]),
    st.lists(st.one_of(st.none(), st.text(max_size=30)), max_size=40),
)
def test_column_pseudonyms_equal_the_online_ones(
    key: bytes, name: str, values: list[str | None]
) -> None:
    column = pa.array(values, pa.string())
    expected = [None if v is None else pseudonym(key, name, v) for v in values]
    assert pseudonymise_column(key, name, column).to_pylist() == expected


@given(
    st.lists(st.one_of(st.none(), st.text(max_size=12)), min_size=1, max_size=30),
    st.integers(0, 10),
    st.integers(1, 4),
)
def test_sliced_and_chunked_columns_travel_as_blocks_and_come_back_alike(
    values: list[str | None], start: int, chunks: int
) -> None:
    key = b"\x07" * 32
    sliced = pa.array(values, pa.string()).slice(min(start, len(values)))
    size = -(-len(sliced) // chunks) or 1
    column = pa.chunked_array(
        [sliced.slice(i, size) for i in range(0, len(sliced), size)] or [sliced], pa.string()
    )
    offsets, data = value_blocks(column)
    block = pseudonym_block(key, "nino", offsets, data)
    expected = [None if v is None else pseudonym(key, "nino", v) for v in sliced.to_pylist()]
    assert pseudonym_column(block, column).to_pylist() == expected


def test_a_block_that_does_not_fit_its_column_is_refused() -> None:
    with pytest.raises(ValueError, match="does not match"):
        pseudonym_column(b"x" * 42, pa.array(["a"]))


def test_different_keys_give_different_pseudonyms() -> None:
    column = pa.array(["9434765919"])
    first = pseudonymise_column(b"\x01" * 32, "nhs_number", column).to_pylist()
    second = pseudonymise_column(b"\x02" * 32, "nhs_number", column).to_pylist()
    assert first != second


REASONS = st.lists(
    st.text(
        alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1, max_size=20
    ),
    max_size=3,
)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(Outcome), REASONS), min_size=1, max_size=30))
def test_bulk_records_are_byte_identical_to_the_canonical_encoding(
    shapes: list[tuple[Outcome, list[str]]],
) -> None:
    key = CommitmentKey(b"\x09" * 32)
    citizens = [
        CitizenOutcome(n + 1, outcome, reasons) for n, (outcome, reasons) in enumerate(shapes)
    ]
    prepared = prepare(BulkDecision(citizens, "org", "client", "research", Outcome.PERMIT), key)
    assert prepared.records is not None
    expected = sorted((key.commit(prepared.entry.id, c.citizen_id)[0], c) for c in citizens)
    for data, (commitment, citizen) in zip(prepared.records.record_inputs(), expected, strict=True):
        record = CitizenRecord(commitment, citizen.outcome, tuple(citizen.reasons))
        assert data == encode_record(record)
        assert decode_record(data) == record
