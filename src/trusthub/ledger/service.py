"""The ledger's one action layer: recording decisions, reading entries, proofs and citizens' views.

Routes, pages and the CLI call these functions. Readers take a session on the ledger's
database (``deps.LedgerSession`` in routes); recorders take the running ``Ledger``.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from trusthub.ledger import bulk_store, merkle, store
from trusthub.ledger.bulk_workers import Workers
from trusthub.ledger.commitments import CitizenId, CommitmentKey, opens
from trusthub.ledger.entry import CitizenRecord, Entry, decode_entry, decode_record
from trusthub.ledger.models import MAIN_TREE
from trusthub.ledger.prepare import (
    SINGLE,
    AggregateDecision,
    BulkDecision,
    Decision,
    LedgerDecision,
    PreparedEntry,
    prepare,
)
from trusthub.ledger.runtime import Ledger
from trusthub.ledger.writer import Receipt
from trusthub.problems import InvalidInput, NotFound

MAX_CHECKPOINTS_PAGE = 1000


def record(ledger: Ledger, decision: LedgerDecision) -> Receipt:
    """Put one decision on the ledger and return once it is durably committed.

    Raises ``LedgerUnavailable`` if it cannot be confirmed: the recorder must then refuse to
    go ahead (the exchange answers 503), because an access that is not on the ledger must not
    happen.
    """
    return record_prepared(ledger, prepare_entry(ledger, decision))


def prepare_entry(
    ledger: Ledger, decision: LedgerDecision, workers: Workers | None = None
) -> PreparedEntry:
    """The first half of ``record``: commitments, records and hashes, nothing stored. A recorder
    with other work to do may run it alongside (a bulk extract does, while writing its file),
    and share its own bulk ``workers`` with it."""
    return prepare(decision, ledger.keys.commitment, workers)


def record_prepared(ledger: Ledger, prepared: PreparedEntry) -> Receipt:
    """The second half of ``record``: append the entry and return once it is committed."""
    return ledger.writer.append(prepared, record_timeout(ledger.record_timeout, prepared))


async def record_async(ledger: Ledger, decision: LedgerDecision) -> Receipt:
    """As ``record``, for async handlers: waits without blocking the event loop."""
    prepared = prepare(decision, ledger.keys.commitment)
    return await ledger.writer.append_async(
        prepared, record_timeout(ledger.record_timeout, prepared)
    )


SECONDS_PER_RECORD = 1e-4
"""A bulk entry's allowance per citizen record: ten times what a slow disk's writer needs."""


def record_timeout(base: float, prepared: PreparedEntry) -> float:
    """How long a recorder waits: a bulk entry's records take the writer time in proportion,
    so ten million of them must not time out (and be refused) while they are being written."""
    records = 0 if prepared.records is None else prepared.records.count
    return base + records * SECONDS_PER_RECORD


@dataclass(frozen=True, slots=True)
class StoredEntry:
    index: int
    leaf_input: bytes
    entry: Entry


@dataclass(frozen=True, slots=True)
class InclusionProof:
    index: int
    tree_size: int
    leaf_hash: bytes
    path: list[bytes]
    root_hash: bytes


@dataclass(frozen=True, slots=True)
class ConsistencyProof:
    first: int
    second: int
    path: list[bytes]
    first_root: bytes
    second_root: bytes


@dataclass(frozen=True, slots=True)
class RecordProof:
    """A citizen's record in a bulk entry: record → records root → entry → log root."""

    index: int
    position: int
    records_count: int
    record_input: bytes
    record_hash: bytes
    record_path: list[bytes]
    records_root: bytes
    entry_leaf_input: bytes
    inclusion: InclusionProof


@dataclass(frozen=True, slots=True)
class CitizenEntry:
    """An entry about one citizen, with the opening that proves the commitment is theirs."""

    index: int
    position: int | None
    entry: Entry
    record: CitizenRecord | None
    blinding: bytes

    @property
    def commitment(self) -> str:
        subject = self.record.citizen if self.record is not None else self.entry.citizen
        assert subject is not None
        return subject


def tree_size(session: Session) -> int:
    """The size of the latest signed checkpoint: every answer is relative to a signed tree."""
    return store.read_head(session.connection())


def latest_checkpoint(session: Session) -> store.StoredCheckpoint:
    checkpoint = store.latest_checkpoint(session.connection())
    if checkpoint is None:
        raise NotFound("checkpoint")
    return checkpoint


def checkpoints(
    session: Session, from_size: int = 0, limit: int = 100
) -> list[store.StoredCheckpoint]:
    """Published checkpoints with tree size ``from_size`` or more, oldest first."""
    limit = max(1, min(limit, MAX_CHECKPOINTS_PAGE))
    return store.checkpoints_from(session.connection(), from_size, limit)


def _invalid(field: str, message: str) -> InvalidInput:
    return InvalidInput([{"field": field, "message": message}])


def _size(session: Session, requested: int | None, field: str = "tree_size") -> int:
    current = tree_size(session)
    if requested is None:
        return current
    if not 0 < requested <= current:
        raise _invalid(field, f"must be between 1 and the log's size, {current}")
    return requested


def get_entry(session: Session, index: int) -> StoredEntry:
    if not 0 <= index < tree_size(session):
        raise NotFound("ledger entry")
    leaf_input = store.read_leaves(session.connection(), MAIN_TREE, [index])[index]
    return StoredEntry(index, leaf_input, decode_entry(leaf_input))


def _inclusion(session: Session, index: int, size: int) -> InclusionProof:
    ranges = merkle.inclusion_ranges(index, size)
    needed = merkle.nodes_for([*ranges, (0, size), (index, index + 1)])
    nodes = store.read_nodes(session.connection(), MAIN_TREE, needed)
    return _proof(nodes, ranges, index, size)


def _proof(
    nodes: dict[merkle.Node, bytes], ranges: list[tuple[int, int]], index: int, size: int
) -> InclusionProof:
    def lookup(level: int, position: int) -> bytes:
        return nodes[(level, position)]

    return InclusionProof(
        index=index,
        tree_size=size,
        leaf_hash=nodes[(0, index)],
        path=merkle.hash_ranges(ranges, lookup),
        root_hash=merkle.range_hash(0, size, lookup),
    )


def inclusion_proof(session: Session, index: int, tree_size: int | None = None) -> InclusionProof:
    """RFC 9162 inclusion proof of entry ``index`` in the tree of ``tree_size`` (or the latest)."""
    size = _size(session, tree_size)
    if not 0 <= index < size:
        raise _invalid("index", "must be below tree_size")
    return _inclusion(session, index, size)


def consistency_proof(session: Session, first: int, second: int | None = None) -> ConsistencyProof:
    """RFC 9162 consistency proof that the tree of ``second`` extends the tree of ``first``."""
    second = _size(session, second, "second")
    if not 0 < first <= second:
        raise _invalid("first", "must be between 1 and second")
    ranges = merkle.consistency_ranges(first, second)
    needed = merkle.nodes_for([*ranges, (0, first), (0, second)])
    nodes = store.read_nodes(session.connection(), MAIN_TREE, needed)

    def lookup(level: int, position: int) -> bytes:
        return nodes[(level, position)]

    return ConsistencyProof(
        first=first,
        second=second,
        path=merkle.hash_ranges(ranges, lookup),
        first_root=merkle.range_hash(0, first, lookup),
        second_root=merkle.range_hash(0, second, lookup),
    )


def record_proof(
    session: Session, index: int, position: int, tree_size: int | None = None
) -> RecordProof:
    """Prove one citizen's record inside bulk entry ``index``, and the entry inside the log."""
    inclusion = inclusion_proof(session, index, tree_size)
    stored = get_entry(session, index)
    records = stored.entry.records
    if records is None:
        raise _invalid("index", "is not a bulk entry")
    if not 0 <= position < records.count:
        raise _invalid("position", f"must be below the entry's {records.count} records")
    ranges = merkle.inclusion_ranges(position, records.count)
    needed = merkle.nodes_for([*ranges, (0, records.count), (position, position + 1)])
    nodes, read = bulk_store.read_nodes(session.connection(), index, needed, [position])
    subtree = _proof(nodes, ranges, position, records.count)
    record_input = read[position]
    return RecordProof(
        index=index,
        position=position,
        records_count=records.count,
        record_input=record_input,
        record_hash=subtree.leaf_hash,
        record_path=subtree.path,
        records_root=subtree.root_hash,
        entry_leaf_input=stored.leaf_input,
        inclusion=inclusion,
    )


def entries_for_citizen(
    session: Session, citizen_id: CitizenId, key: CommitmentKey
) -> list[CitizenEntry]:
    """Every entry about a citizen, found through the private index and checked by opening.

    Each result carries the blinding value, so the citizen (and only they, on their own page)
    can recompute the public commitment and see that the entry is theirs.
    """
    connection = session.connection()
    size = tree_size(session)
    tag = key.lookup_tag(citizen_id)
    pairs = [(i, p) for i, p in store.citizen_entries(connection, tag, size) if i < size]
    pairs = sorted(pairs + bulk_store.citizen_records(connection, tag, size))
    leaves = store.read_leaves(connection, MAIN_TREE, sorted({i for i, _ in pairs}))
    found: list[CitizenEntry] = []
    for index, position in pairs:
        entry = decode_entry(leaves[index])
        blinding = key.blinding(entry.id, citizen_id)
        if position == SINGLE:
            if entry.citizen is not None and opens(entry.citizen, blinding, citizen_id):
                found.append(CitizenEntry(index, None, entry, None, blinding))
            continue
        record_input = bulk_store.read_records(connection, index, [position])[position]
        record = decode_record(record_input)
        if opens(record.citizen, blinding, citizen_id):
            found.append(CitizenEntry(index, position, entry, record, blinding))
    return found


__all__ = [
    "AggregateDecision",
    "BulkDecision",
    "CitizenEntry",
    "ConsistencyProof",
    "Decision",
    "InclusionProof",
    "RecordProof",
    "StoredEntry",
    "checkpoints",
    "consistency_proof",
    "entries_for_citizen",
    "get_entry",
    "inclusion_proof",
    "latest_checkpoint",
    "prepare_entry",
    "record",
    "record_async",
    "record_prepared",
    "record_proof",
    "tree_size",
]
