"""Entry encoding: one canonical byte string per entry, and no personal data in any of it."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger_support import bulk, decision, make_key
from trusthub.ledger import merkle
from trusthub.ledger.commitments import commitment, opens
from trusthub.ledger.entry import (
    Entry,
    EntryError,
    LawfulBasis,
    Outcome,
    RecordsSummary,
    decode_entry,
    decode_record,
    encode_entry,
)
from trusthub.ledger.prepare import AggregateDecision, prepare

NHS_NUMBER = "9434765919"

token = st.from_regex(r"[a-z0-9][a-z0-9._-]{0,20}", fullmatch=True)
reason = st.from_regex(r"[ -~]{1,40}", fullmatch=True)


def test_leaf_input_is_sorted_compact_json_with_the_documented_fields() -> None:
    prepared = prepare(
        decision(NHS_NUMBER, time=datetime(2026, 11, 24, 21, 5, 3, 123456, tzinfo=UTC)),
        make_key(),
    )
    text = prepared.leaf_input.decode("ascii")
    body = json.loads(text)
    assert text == json.dumps(body, sort_keys=True, separators=(",", ":"))
    assert list(body) == sorted(body)
    assert set(body) == {
        "agreement", "citizen", "client", "decision", "fields", "id", "lawful_basis",
        "organisation", "purpose", "reasons", "source", "time", "v",
    }  # fmt: skip
    assert body["time"] == "2026-11-24T21:05:03.123456Z"
    assert body["fields"] == ["income", "nino"]
    assert prepared.leaf_hash == merkle.leaf_hash(prepared.leaf_input)
    assert b"\n" not in prepared.leaf_input


@settings(max_examples=150, deadline=None)
@given(
    organisation=token,
    client=token,
    agreement=st.none() | token,
    purpose=st.from_regex(r"[a-z][a-z0-9_]{1,20}", fullmatch=True),
    basis=st.none() | st.sampled_from(LawfulBasis),
    fields=st.lists(token, max_size=8),
    outcome=st.sampled_from(Outcome),
    reasons=st.lists(reason, max_size=4),
    moment=st.datetimes(timezones=st.just(UTC)),
)
def test_encoding_round_trips_exactly(
    organisation: str,
    client: str,
    agreement: str | None,
    purpose: str,
    basis: LawfulBasis | None,
    fields: list[str],
    outcome: Outcome,
    reasons: list[str],
    moment: datetime,
) -> None:
    entry = Entry(
        id="0" * 32,
        time=moment,
        source="exchange",
        organisation=organisation,
        client=client,
        agreement=agreement,
        purpose=purpose,
        lawful_basis=basis,
        fields=tuple(fields),
        decision=outcome,
        reasons=tuple(reasons),
        citizen="ab" * 32,
    )
    data = encode_entry(entry)
    assert decode_entry(data) == entry
    assert encode_entry(decode_entry(data)) == data


@pytest.mark.parametrize(
    "mangle",
    [
        lambda text: text.replace('{"agreement"', '{ "agreement"'),
        lambda text: text.replace('"v":1', '"v":1,"extra":2'),
        lambda text: text.replace('"v":1', '"v":2'),
        lambda text: text.replace('["income","nino"]', '["nino","income"]'),
        lambda text: text.replace('"decision":"permit"', '"decision":"allow"'),
        lambda text: text.replace('Z"', '+00:00"'),
        lambda text: text[:-1],
    ],
)
def test_non_canonical_or_unknown_encodings_are_refused(mangle: object) -> None:
    data = prepare(decision(1), make_key()).leaf_input.decode()
    changed = mangle(data)  # type: ignore[operator]
    assert changed != data
    with pytest.raises(EntryError):
        decode_entry(changed.encode())


@pytest.mark.parametrize(
    "changes",
    [
        {"organisation": "DWP benefits"},
        {"purpose": "Benefits"},
        {"fields": ["nino\n"]},
        {"reasons": ["café"]},
        {"time": datetime(2026, 1, 1)},
    ],
)
def test_malformed_decisions_are_refused(changes: dict[str, object]) -> None:
    with pytest.raises(EntryError):
        prepare(decision(1, **changes), make_key())


def test_the_leaf_names_no_one_and_the_opening_proves_whose_it_is() -> None:
    key = make_key()
    first = prepare(decision(NHS_NUMBER), key)
    second = prepare(decision(NHS_NUMBER), key)
    for prepared in (first, second):
        assert NHS_NUMBER.encode() not in prepared.leaf_input
        assert prepared.entry.citizen is not None
    # Two accesses to one person cannot be linked from the public log.
    assert first.entry.citizen != second.entry.citizen
    # The citizen, shown the blinding value, can check the commitment is theirs; no one else fits.
    blinding = key.blinding(first.entry.id, NHS_NUMBER)
    assert first.entry.citizen is not None
    assert opens(first.entry.citizen, blinding, NHS_NUMBER)
    assert commitment(blinding, NHS_NUMBER) == first.entry.citizen
    assert not opens(first.entry.citizen, blinding, "9434765870")
    assert not opens(first.entry.citizen, key.blinding(second.entry.id, NHS_NUMBER), NHS_NUMBER)
    # The private lookup tag is stable per citizen but is not in the public bytes either.
    assert first.citizen_tags == second.citizen_tags
    assert first.citizen_tags[0][0] not in first.leaf_input


def test_bulk_entries_commit_to_sorted_per_citizen_records() -> None:
    key = make_key()
    prepared = prepare(bulk(range(1, 41), refused=[7]), key)
    assert prepared.records is not None and prepared.entry.records is not None
    records = [decode_record(data) for data in prepared.records.record_inputs()]
    assert [r.citizen for r in records] == sorted(r.citizen for r in records)
    assert prepared.entry.records.count == 40
    hashes = [merkle.leaf_hash(data) for data in prepared.records.record_inputs()]
    assert merkle.root_of_hashes(hashes).hex() == prepared.entry.records.root
    refused = [r for r in records if r.decision is Outcome.REFUSE]
    assert len(refused) == 1 and refused[0].reasons == ("national_data_opt_out",)
    assert opens(refused[0].citizen, key.blinding(prepared.entry.id, 7), 7)
    assert b"citizen_id" not in b"".join(prepared.records.record_inputs())
    with pytest.raises(EntryError):
        prepare(bulk([1, 2, 1]), key)


def test_an_entry_names_at_most_one_of_a_citizen_and_records() -> None:
    single = prepare(decision(1), make_key()).entry
    many = prepare(bulk([1, 2, 3]), make_key()).entry
    with pytest.raises(EntryError):
        replace(single, records=many.records)
    assert replace(single, citizen=None).is_aggregate
    assert replace(many, records=None).is_aggregate
    assert not single.is_aggregate and not many.is_aggregate


def _aggregate(**changes: object) -> AggregateDecision:
    fields: dict[str, object] = {
        "organisation": "ons",
        "client": "release-officer",
        "purpose": "open_publication",
        "outcome": Outcome.PERMIT,
        "fields": ["age", "hours"],
        "reasons": ["release:adult-dp", "epsilon:0.5"],
        "source": "release",
    }
    fields.update(changes)
    return AggregateDecision(**fields)  # type: ignore[arg-type]


def test_an_aggregate_entry_has_neither_key_and_no_citizen_index_rows() -> None:
    prepared = prepare(_aggregate(), make_key())
    body = json.loads(prepared.leaf_input)
    assert "citizen" not in body and "records" not in body
    assert set(body) == {
        "agreement", "client", "decision", "fields", "id", "lawful_basis", "organisation",
        "purpose", "reasons", "source", "time", "v",
    }  # fmt: skip
    assert prepared.citizen_tags == () and prepared.records is None
    assert decode_entry(prepared.leaf_input) == prepared.entry
    assert prepared.leaf_hash == merkle.leaf_hash(prepared.leaf_input)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda text: text.replace('"agreement"', '"citizen":null,"agreement"'),
        lambda text: text.replace('"agreement"', '"records":null,"agreement"'),
        lambda text: text.replace('"agreement"', '"records":{},"agreement"'),
    ],
)
def test_an_aggregate_entry_has_one_encoding(mangle: object) -> None:
    data = prepare(_aggregate(), make_key()).leaf_input.decode()
    with pytest.raises(EntryError):
        decode_entry(mangle(data).encode())  # type: ignore[operator]


def test_an_entry_with_both_a_citizen_and_records_does_not_decode() -> None:
    data = prepare(bulk([1, 2]), make_key()).leaf_input.decode()
    both = data.replace('"client"', '"citizen":"' + "ab" * 32 + '","client"')
    with pytest.raises(EntryError):
        decode_entry(both.encode())


@settings(max_examples=200, deadline=None)
@given(
    subject=st.sampled_from(["citizen", "records", "none"]),
    fields=st.lists(token, max_size=8),
    reasons=st.lists(reason, max_size=4),
    outcome=st.sampled_from(Outcome),
)
def test_every_subject_shape_round_trips_exactly(
    subject: str, fields: list[str], reasons: list[str], outcome: Outcome
) -> None:
    entry = Entry(
        id="1" * 32,
        time=datetime(2026, 3, 1, tzinfo=UTC),
        source="release",
        organisation="ucl",
        client="release-officer",
        agreement=None,
        purpose="research",
        lawful_basis=None,
        fields=tuple(fields),
        decision=outcome,
        reasons=tuple(reasons),
        citizen="cd" * 32 if subject == "citizen" else None,
        records=RecordsSummary(3, "ef" * 32) if subject == "records" else None,
    )
    data = encode_entry(entry)
    assert decode_entry(data) == entry
    assert (b'"citizen"' in data, b'"records"' in data) == (
        subject == "citizen",
        subject == "records",
    )


def test_production_refuses_to_run_on_generated_ledger_keys(tmp_path: Path) -> None:
    from trusthub.config import Settings
    from trusthub.ledger.keys import LedgerKeyError, load_keys

    production = Settings(environment="production", ledger_key_dir=tmp_path)
    with pytest.raises(LedgerKeyError, match="TRUSTHUB_LEDGER_SIGNING_KEY"):
        load_keys(production)
    assert list(tmp_path.iterdir()) == []
