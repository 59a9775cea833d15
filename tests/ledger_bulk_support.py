"""Bulk-entry test helpers: a log with a large bulk entry, and the storage form used before
bulk entries were packed (JSON records, every tile, one index row per citizen)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Engine, text

from ledger_support import ORIGIN, bulk, decision
from trusthub.ledger import merkle, tiles
from trusthub.ledger.commitments import CommitmentKey
from trusthub.ledger.models import EPOCH_BITS
from trusthub.ledger.note import Signer
from trusthub.ledger.prepare import PreparedEntry, prepare
from trusthub.ledger.writer import GroupCommitWriter

BIG = 700
"""Records in the large bulk entry: two full rows of 256 and a short one of 188."""
BIG_INDEX = 3
REFUSED = (5, 77, 300, 699)


@dataclass(frozen=True)
class BulkLog:
    prepared: list[PreparedEntry]
    citizens: list[int]

    @property
    def big(self) -> PreparedEntry:
        return self.prepared[BIG_INDEX]


def bulk_log(engine: Engine, signer: Signer, key: CommitmentKey, count: int = BIG) -> BulkLog:
    """Three single entries, one bulk entry of ``count`` citizens at index 3, two more singles."""
    citizens = list(range(1000, 1000 + count))
    writer = GroupCommitWriter(engine, signer, ORIGIN)
    writer.start()
    try:
        items = [prepare(decision(c), key) for c in (1, 2, 3)]
        items.append(prepare(bulk(citizens, [1000 + r for r in REFUSED if r < count]), key))
        items += [prepare(decision(c), key) for c in (1000, 4)]
        writer.append_many(items[:2])
        writer.append_many(items[2:])
    finally:
        writer.stop()
    return BulkLog(items, citizens)


def positions(prepared: PreparedEntry, key: CommitmentKey, citizens: Sequence[int]) -> list[int]:
    """Each citizen's position among the entry's records (records are sorted by commitment)."""
    assert prepared.records is not None
    order = {
        key.commit(prepared.entry.id, c)[0]: n
        for n, c in enumerate(citizens)  # commitment → citizen number
    }
    found = [0] * len(citizens)
    for position, record in enumerate(prepared.records.record_inputs()):
        commitment = record.split(b'"citizen":"', 1)[1][:64].decode()
        found[order[commitment]] = position
    return found


def to_json_form(
    engine: Engine, index: int, prepared: PreparedEntry, key: CommitmentKey, citizens: Sequence[int]
) -> None:
    """Rewrite a stored bulk entry as it was stored before packing: JSON records 256 a row,
    tiles from level 0, one citizen index row per record, no templates or index-by-prefix rows."""
    assert prepared.records is not None
    records = prepared.records.record_inputs()
    tree = index + 1
    built = tiles.extend({}, 0, [merkle.leaf_hash(r) for r in records])
    where = {"tree": tree}
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM ledger_bundles WHERE tree = :tree"), where)
        connection.execute(text("DELETE FROM ledger_tiles WHERE tree = :tree"), where)
        for name in ("ledger_bulk_entries", "ledger_bulk_index"):
            connection.execute(text(f"DELETE FROM {name} WHERE leaf_index = :i"), {"i": index})
        for k in range(0, len(records), tiles.BUNDLE_SIZE):
            connection.execute(
                text("INSERT INTO ledger_bundles (tree, idx, data) VALUES (:tree, :idx, :data)"),
                {"tree": tree, "idx": k // 256, "data": tiles.encode_bundle(records[k : k + 256])},
            )
        for (level, idx), rows in built.items():
            connection.execute(
                text(
                    "INSERT INTO ledger_tiles (tree, level, idx, width, hashes) "
                    "VALUES (:tree, :level, :idx, :width, :hashes)"
                ),
                {
                    "tree": tree,
                    "level": level,
                    "idx": idx,
                    "width": len(rows[0]),
                    "hashes": tiles.encode_tile(rows),
                },
            )
        for citizen, position in zip(citizens, positions(prepared, key, citizens), strict=True):
            connection.execute(
                text(
                    "INSERT INTO ledger_citizen_index (epoch, tag, leaf_index, position) "
                    "VALUES (:epoch, :tag, :index, :position)"
                ),
                {
                    "epoch": index >> EPOCH_BITS,
                    "tag": key.lookup_tag(citizen),
                    "index": index,
                    "position": position,
                },
            )
