"""Turn a recorder's decision into ledger bytes before the writer sees it: no I/O, no clear ids.

Recorders (the exchange, identity and release parts) describe a decision with the citizen's id
in clear; ``prepare`` swaps the id for a commitment, encodes the canonical entry and hashes it, so
the single writer thread only stores. A bulk disclosure becomes one entry whose ``records``
commit to an RFC 9162 sub-tree of per-citizen records, sorted by commitment so that their order
reveals nothing about the extract. An aggregate decision (statistics, a release whose people the
hub cannot resolve) becomes an entry about no one.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt

from trusthub.ledger import bulk_form, bulk_records, merkle
from trusthub.ledger.bulk_records import PreparedRecords as PreparedRecords
from trusthub.ledger.bulk_workers import Workers
from trusthub.ledger.commitments import CitizenId, CommitmentKey, citizen_bytes
from trusthub.ledger.entry import (
    Entry,
    EntryError,
    LawfulBasis,
    Outcome,
    RecordsSummary,
    encode_entry,
)

SINGLE = -1
"""Position recorded in the citizen index for an entry about one citizen (not a bulk record)."""


@dataclass(frozen=True, slots=True)
class Decision:
    """One access decision about one citizen, as a recorder knows it."""

    citizen_id: CitizenId
    organisation: str
    client: str
    purpose: str
    outcome: Outcome
    agreement: str | None = None
    lawful_basis: LawfulBasis | None = None
    fields: Sequence[str] = ()
    reasons: Sequence[str] = ()
    source: str = "exchange"
    time: datetime | None = None


@dataclass(frozen=True, slots=True)
class CitizenOutcome:
    """One citizen's part of a bulk decision (an opted-out citizen is refused, with the reason)."""

    citizen_id: CitizenId
    outcome: Outcome = Outcome.PERMIT
    reasons: Sequence[str] = ()


@dataclass(frozen=True, slots=True)
class CitizenColumns:
    """Many citizens' parts as columns, for bulk work that holds them so (no object per
    citizen): ``citizen_ids[i]``'s outcome and reasons are ``outcomes[shapes[i]]``.

    ``citizen_ids`` may also be one block of bytes: each id's UTF-8 followed by a newline, as
    a CSV writer puts a column of integers; ``shapes`` may be a NumPy array."""

    citizen_ids: Sequence[CitizenId] | bytes
    shapes: Sequence[int] | npt.NDArray[np.integer]
    outcomes: Sequence[tuple[Outcome, tuple[str, ...]]]


@dataclass(frozen=True, slots=True)
class BulkDecision:
    """One decision covering many citizens, such as an extract for research."""

    citizens: Sequence[CitizenOutcome] | CitizenColumns
    organisation: str
    client: str
    purpose: str
    outcome: Outcome
    agreement: str | None = None
    lawful_basis: LawfulBasis | None = None
    fields: Sequence[str] = ()
    reasons: Sequence[str] = ()
    source: str = "exchange"
    time: datetime | None = None


@dataclass(frozen=True, slots=True)
class AggregateDecision:
    """A decision about no identifiable person, such as differentially private statistics."""

    organisation: str
    client: str
    purpose: str
    outcome: Outcome
    agreement: str | None = None
    lawful_basis: LawfulBasis | None = None
    fields: Sequence[str] = ()
    reasons: Sequence[str] = ()
    source: str = "exchange"
    time: datetime | None = None


LedgerDecision = Decision | BulkDecision | AggregateDecision
"""Anything a recorder can put on the ledger."""


@dataclass(frozen=True, slots=True)
class PreparedEntry:
    """Everything the writer stores for one entry; holds commitments and tags, never an id."""

    entry: Entry
    leaf_input: bytes
    leaf_hash: bytes
    citizen_tags: tuple[tuple[bytes, int], ...]
    records: PreparedRecords | None = field(default=None)


def _now(moment: datetime | None) -> datetime:
    return moment if moment is not None else datetime.now(UTC)


def prepare(
    decision: LedgerDecision, key: CommitmentKey, workers: int | Workers | None = None
) -> PreparedEntry:
    """Commit to the citizen(s), build the canonical entry and hash it (a large bulk entry's
    records on ``workers`` processes: by default one per core, or the caller's own)."""
    if isinstance(decision, BulkDecision):
        return _prepare_bulk(decision, key, workers)
    if isinstance(decision, AggregateDecision):
        return _prepare_aggregate(decision)
    entry_id = secrets.token_hex(16)
    commitment, _ = key.commit(entry_id, decision.citizen_id)
    entry = Entry(
        id=entry_id,
        time=_now(decision.time),
        source=decision.source,
        organisation=decision.organisation,
        client=decision.client,
        agreement=decision.agreement,
        purpose=decision.purpose,
        lawful_basis=decision.lawful_basis,
        fields=tuple(decision.fields),
        decision=decision.outcome,
        reasons=tuple(decision.reasons),
        citizen=commitment,
    )
    leaf_input = encode_entry(entry)
    tag = key.lookup_tag(decision.citizen_id)
    return PreparedEntry(entry, leaf_input, merkle.leaf_hash(leaf_input), ((tag, SINGLE),))


def _prepare_aggregate(decision: AggregateDecision) -> PreparedEntry:
    entry = Entry(
        id=secrets.token_hex(16),
        time=_now(decision.time),
        source=decision.source,
        organisation=decision.organisation,
        client=decision.client,
        agreement=decision.agreement,
        purpose=decision.purpose,
        lawful_basis=decision.lawful_basis,
        fields=tuple(decision.fields),
        decision=decision.outcome,
        reasons=tuple(decision.reasons),
    )
    leaf_input = encode_entry(entry)
    return PreparedEntry(entry, leaf_input, merkle.leaf_hash(leaf_input), ())


def record_template(outcome: Outcome, reasons: tuple[str, ...]) -> bulk_form.Template:
    """A citizen record's canonical bytes before and after its commitment (``bulk_form``)."""
    return bulk_form.template(outcome, reasons)


def _columns(citizens: Sequence[CitizenOutcome]) -> CitizenColumns:
    shapes: dict[tuple[Outcome, tuple[str, ...]], int] = {}
    kinds: list[int] = []
    for part in citizens:
        shape = (part.outcome, tuple(part.reasons))
        kind = shapes.get(shape)
        if kind is None:
            kind = shapes[shape] = len(shapes)
        kinds.append(kind)
    return CitizenColumns([part.citizen_id for part in citizens], kinds, list(shapes))


def _id_block(ids: Sequence[CitizenId] | bytes) -> bytes:
    """The ids one per line; a block given as bytes must be one non-empty UTF-8 id a line."""
    if not isinstance(ids, bytes):
        return b"".join(citizen_bytes(c) + b"\n" for c in ids)
    if ids and (not ids.endswith(b"\n") or ids.startswith(b"\n") or b"\n\n" in ids):
        raise ValueError("a citizen id must be a non-empty single line")
    try:
        ids.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("citizen ids must be UTF-8") from None
    return ids


def _prepare_bulk(
    decision: BulkDecision, key: CommitmentKey, workers: int | Workers | None = None
) -> PreparedEntry:
    columns = decision.citizens
    if not isinstance(columns, CitizenColumns):
        columns = _columns(columns)
    ids = _id_block(columns.citizen_ids)
    count = ids.count(b"\n")
    if not count:
        raise EntryError("a bulk decision needs at least one citizen")
    shapes = np.asarray(columns.shapes, dtype=np.int64)
    if shapes.shape != (count,) or not 0 <= shapes.min() <= shapes.max() < len(columns.outcomes):
        raise EntryError("every citizen needs one of the outcomes")
    entry_id = secrets.token_hex(16)
    templates = [record_template(outcome, tuple(reasons)) for outcome, reasons in columns.outcomes]
    records = bulk_records.build(key, entry_id, ids, shapes, templates, workers)
    entry = Entry(
        id=entry_id,
        time=_now(decision.time),
        source=decision.source,
        organisation=decision.organisation,
        client=decision.client,
        agreement=decision.agreement,
        purpose=decision.purpose,
        lawful_basis=decision.lawful_basis,
        fields=tuple(decision.fields),
        decision=decision.outcome,
        reasons=tuple(decision.reasons),
        records=RecordsSummary(count=records.count, root=records.root.hex()),
    )
    leaf_input = encode_entry(entry)
    return PreparedEntry(entry, leaf_input, merkle.leaf_hash(leaf_input), (), records)
