"""SQL for bulk entries: their packed records, upper tiles, templates and private index.

A bulk entry at index ``i`` keeps its records as tree ``i + 1`` in ``ledger_bundles`` (256 a row)
and its tiles from tile level 1 up in ``ledger_tiles``; the lowest eight levels are rehashed from
the one row a proof needs. Entries stored before the packed form (JSON records, every tile, one
index row per citizen) are read through the same functions.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import Connection, select

from trusthub.ledger import bulk_form, merkle, store, tiles
from trusthub.ledger.bulk_form import BOTTOM_LEVELS, Template
from trusthub.ledger.bulk_records import PreparedRecords
from trusthub.ledger.models import LedgerBulkEntry, LedgerBulkIndex

COPY_FROM = 64
"""Rows from which PostgreSQL is sent them with binary COPY rather than in one statement."""

_TABLES = {
    "ledger_bundles": (("tree", "idx", "data"), ["int8", "int8", "bytea"]),
    "ledger_tiles": (
        ("tree", "level", "idx", "width", "hashes"),
        ["int8", "int2", "int8", "int2", "bytea"],
    ),
    "ledger_bulk_entries": (("leaf_index", "count", "templates"), ["int8", "int8", "bytea"]),
    "ledger_bulk_index": (("bucket", "leaf_index", "data"), ["int4", "int8", "bytea"]),
}


def write(connection: Connection, entries: Sequence[tuple[int, PreparedRecords]]) -> None:
    """Store bulk entries' records, tiles, templates and index rows, in the batch's transaction.
    A bulk entry's tree is new, so its rows are plain inserts."""
    if not entries:
        return
    rows: dict[str, list[tuple[object, ...]]] = {name: [] for name in _TABLES}
    for index, records in entries:
        tree = index + 1
        rows["ledger_bundles"] += [(tree, k, data) for k, data in enumerate(records.rows)]
        rows["ledger_tiles"] += [
            (tree, level, idx, width, data) for (level, idx), (width, data) in records.tiles.items()
        ]
        rows["ledger_bulk_entries"].append((index, records.count, records.templates))
        rows["ledger_bulk_index"] += [(bucket, index, data) for bucket, data in records.index]
    for name, table_rows in rows.items():
        _insert(connection, name, table_rows)


def _insert(connection: Connection, table: str, rows: list[tuple[object, ...]]) -> None:
    if not rows:
        return
    columns, types = _TABLES[table]
    names = ", ".join(columns)
    if connection.dialect.name == "postgresql" and len(rows) >= COPY_FROM:
        store.copy_rows(
            connection, f"COPY {table} ({names}) FROM STDIN (FORMAT BINARY)", types, rows
        )
        return
    marker = store.marker(connection)
    values = ", ".join([marker] * len(columns))
    sql = f"INSERT INTO {table} ({names}) VALUES ({values})"  # noqa: S608 - our own names
    connection.exec_driver_sql(sql, rows)


def templates(connection: Connection, index: int) -> list[Template] | None:
    """A packed bulk entry's record templates; None for an entry stored before the packed form."""
    data = connection.execute(
        select(LedgerBulkEntry.templates).where(LedgerBulkEntry.leaf_index == index)
    ).scalar_one_or_none()
    return None if data is None else bulk_form.decode_templates(bytes(data))


def record_rows(connection: Connection, index: int, rows: Iterable[int]) -> dict[int, list[bytes]]:
    """Rows of a bulk entry's records, each as its records' canonical bytes, in either form."""
    stored = store.read_bundles(connection, index + 1, rows)
    if not stored:
        return {}
    packed = templates(connection, index)
    found: dict[int, list[bytes]] = {}
    for row, data in stored.items():
        if packed is None:
            found[row] = tiles.decode_bundle(data)
            continue
        numbers, commitments = bulk_form.unpack_row(data, len(packed))
        found[row] = bulk_form.record_inputs(packed, numbers, commitments)
    return found


def read_records(connection: Connection, index: int, positions: Sequence[int]) -> dict[int, bytes]:
    """Records of bulk entry ``index`` by position, reading each row once."""
    width = 1 << BOTTOM_LEVELS
    rows = record_rows(connection, index, {p // width for p in positions})
    found: dict[int, bytes] = {}
    for position in positions:
        records = rows.get(position // width, [])
        if position % width >= len(records):
            raise store.StorageError(f"bulk entry {index} has no stored record {position}")
        found[position] = records[position % width]
    return found


def read_nodes(
    connection: Connection, index: int, nodes: Iterable[merkle.Node]
) -> dict[merkle.Node, bytes]:
    """Nodes of a bulk entry's records tree: from level 8 up out of its tiles, below that
    rehashed from the rows of records that hold them (one or two rows for a proof)."""
    wanted = set(nodes)
    low = {node for node in wanted if node[0] < BOTTOM_LEVELS}
    found = store.read_nodes(connection, index + 1, wanted - low)
    rows = record_rows(connection, index, {idx >> (BOTTOM_LEVELS - lvl) for lvl, idx in low})
    built = {
        row: tiles.lookup(tiles.extend({}, 0, [merkle.leaf_hash(r) for r in records]))
        for row, records in rows.items()
    }
    for level, idx in low:
        row = idx >> (BOTTOM_LEVELS - level)
        lookup = built.get(row)
        if lookup is None:
            raise store.StorageError(f"bulk entry {index} has no stored row {row}")
        try:
            found[(level, idx)] = lookup(level, idx - (row << (BOTTOM_LEVELS - level)))
        except tiles.LayoutError:
            raise store.StorageError(f"bulk entry {index} has no node {(level, idx)}") from None
    return found


def citizen_records(connection: Connection, tag: bytes, size: int) -> list[tuple[int, int]]:
    """``(leaf index, position)`` of the packed bulk records whose index key matches a tag:
    candidates, each to be confirmed by opening its commitment."""
    bucket, key = bulk_form.bucket_and_key(tag)
    rows = connection.execute(
        select(LedgerBulkIndex.leaf_index, LedgerBulkIndex.data).where(
            LedgerBulkIndex.bucket == bucket, LedgerBulkIndex.leaf_index < size
        )
    )
    return [
        (int(index), position)
        for index, data in rows
        for position in bulk_form.find_positions(bytes(data), key)
    ]
