"""Turn a recorder's decision into ledger bytes before the writer sees it: no I/O, no clear ids.

Recorders (the exchange, identity and release parts) describe a decision with the citizen's id
in clear; ``prepare`` swaps the id for a commitment, encodes the canonical entry and hashes it, so
the single writer thread only stores. A bulk disclosure becomes one entry whose ``records``
commit to an RFC 9162 sub-tree of per-citizen records, sorted by commitment so that their order
reveals nothing about the extract. An aggregate decision (statistics, a release whose people the
hub cannot resolve) becomes an entry about no one.
"""

from __future__ import annotations

import itertools
import operator
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from trusthub.ledger import bulk_records, merkle, tiles
from trusthub.ledger.commitments import CitizenId, CommitmentKey
from trusthub.ledger.entry import (
    CitizenRecord,
    Entry,
    EntryError,
    LawfulBasis,
    Outcome,
    RecordsSummary,
    encode_entry,
    encode_record,
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
    citizen): ``citizen_ids[i]``'s outcome and reasons are ``outcomes[shapes[i]]``."""

    citizen_ids: Sequence[CitizenId]
    shapes: Sequence[int]
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
class PreparedRecords:
    """A bulk entry's sub-tree, ready to store: record inputs in tree order and encoded tiles."""

    inputs: list[bytes]
    tiles: dict[tiles.TileKey, tuple[int, bytes]]
    root: bytes


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
    decision: LedgerDecision, key: CommitmentKey, workers: int | None = None
) -> PreparedEntry:
    """Commit to the citizen(s), build the canonical entry and hash it (a large bulk entry's
    records on ``workers`` processes: by default one per core)."""
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


def build_subtree(
    inputs: Sequence[bytes], hashes: Sequence[bytes] | None = None
) -> PreparedRecords:
    """Hash record inputs into tiles and a root, as the main log would (``hashes``: their leaf
    hashes, when already computed)."""
    if hashes is None:
        hashes = [merkle.leaf_hash(data) for data in inputs]
    touched = tiles.extend({}, 0, hashes)
    lookup = tiles.lookup(touched)
    root = merkle.range_hash(0, len(hashes), lookup)
    encoded = {k: (len(rows[0]), tiles.encode_tile(rows)) for k, rows in touched.items()}
    return PreparedRecords(list(inputs), encoded, root)


_PLACEHOLDER = "0" * 64


def record_template(outcome: Outcome, reasons: tuple[str, ...]) -> tuple[bytes, bytes]:
    """A citizen record's canonical bytes before and after its commitment, checked once per
    outcome and reasons: records then cost a concatenation each, not an encoder call. The
    commitment is the first key in canonical order, so it is the first 64 zeros found."""
    encoded = encode_record(CitizenRecord(_PLACEHOLDER, outcome, reasons))
    head, _, tail = encoded.partition(_PLACEHOLDER.encode("ascii"))
    return head, tail


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


def _prepare_bulk(
    decision: BulkDecision, key: CommitmentKey, workers: int | None = None
) -> PreparedEntry:
    columns = decision.citizens
    if not isinstance(columns, CitizenColumns):
        columns = _columns(columns)
    if not columns.citizen_ids:
        raise EntryError("a bulk decision needs at least one citizen")
    shapes = columns.shapes
    if len(shapes) != len(columns.citizen_ids) or not 0 <= min(shapes) <= max(shapes) < len(
        columns.outcomes
    ):
        raise EntryError("every citizen needs one of the outcomes")
    entry_id = secrets.token_hex(16)
    templates = [record_template(outcome, tuple(reasons)) for outcome, reasons in columns.outcomes]
    ids, kinds = columns.citizen_ids, columns.shapes
    made = bulk_records.build(key, entry_id, ids, kinds, templates, workers)
    commitments = made.commitments
    # One citizen twice commits twice to the same value, so the sorted column shows it.
    if any(map(operator.eq, commitments, itertools.islice(commitments, 1, None))):
        raise EntryError("a citizen appears twice in one bulk decision")
    subtree = build_subtree(made.inputs, made.hashes)
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
        records=RecordsSummary(count=len(commitments), root=subtree.root.hex()),
    )
    leaf_input = encode_entry(entry)
    tags = tuple(zip(made.tags, range(len(commitments)), strict=True))
    return PreparedEntry(entry, leaf_input, merkle.leaf_hash(leaf_input), tags, subtree)
