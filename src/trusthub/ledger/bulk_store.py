"""SQL for bulk entries: their packed records, upper tiles, templates and private index.

A bulk entry at index ``i`` keeps its records as tree ``i + 1`` in ``ledger_bundles`` (256 a row)
and its tiles from tile level 1 up in ``ledger_tiles``; the lowest eight levels are rehashed from
the one row a proof needs. Entries stored before the packed form (JSON records, every tile, one
index row per citizen) are read through the same functions.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Iterable, Sequence

from sqlalchemy import Connection, Engine, select

from trusthub.ledger import bulk_form, merkle, store, tiles
from trusthub.ledger.bulk_form import BOTTOM_LEVELS, Template
from trusthub.ledger.bulk_records import PreparedRecords
from trusthub.ledger.models import LedgerBulkIndex

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


TEMPLATE_CACHE = 1024
"""Bulk entries whose templates each process keeps: stored once, they never change."""

_templates: weakref.WeakKeyDictionary[Engine, OrderedDict[int, list[Template] | None]] = (
    weakref.WeakKeyDictionary()
)
_cache_lock = threading.Lock()


def templates(connection: Connection, index: int) -> list[Template] | None:
    """A packed bulk entry's record templates; None for an entry stored before the packed form."""
    with _cache_lock:
        cache = _templates.setdefault(connection.engine, OrderedDict())
        if index in cache:
            cache.move_to_end(index)
            return cache[index]
    mark = store.marker(connection)
    data = connection.exec_driver_sql(
        f"SELECT templates FROM ledger_bulk_entries WHERE leaf_index = {mark}",  # noqa: S608
        (index,),
    ).scalar_one_or_none()
    found = None if data is None else bulk_form.decode_templates(bytes(data))
    if found is not None or store.read_head(connection) > index:
        with _cache_lock:  # an entry's absence is kept only once the entry is committed
            cache[index] = found
            while len(cache) > TEMPLATE_CACHE:
                cache.popitem(last=False)
    return found


class _Rows:
    """Rows of one bulk entry's records as read, in either form, decoded on demand."""

    def __init__(self, connection: Connection, index: int, rows: Iterable[int]) -> None:
        wanted = sorted(set(rows))
        self.index = index
        self.data: dict[int, bytes] = {}
        if wanted:
            mark = store.marker(connection)
            marks = ", ".join([mark] * len(wanted))
            self.data = {
                int(row): bytes(data)
                for row, data in connection.exec_driver_sql(
                    "SELECT idx, data FROM ledger_bundles "  # noqa: S608 - placeholders only
                    f"WHERE tree = {mark} AND idx IN ({marks})",
                    (index + 1, *wanted),
                )
            }
        self.templates = templates(connection, index) if self.data else None

    def _row(self, row: int) -> bytes:
        data = self.data.get(row)
        if data is None:
            raise store.StorageError(f"bulk entry {self.index} has no stored row {row}")
        return data

    def records(self, row: int) -> list[bytes]:
        if self.templates is None:
            return tiles.decode_bundle(self._row(row))
        numbers, commitments = bulk_form.unpack_row(self._row(row), len(self.templates))
        return bulk_form.record_inputs(self.templates, numbers, commitments)

    def hashes(self, row: int) -> list[bytes]:
        if self.templates is None:
            return [merkle.leaf_hash(record) for record in self.records(row)]
        numbers, commitments = bulk_form.unpack_row(self._row(row), len(self.templates))
        return bulk_form.leaf_hashes(self.templates, numbers, commitments)


def read_records(connection: Connection, index: int, positions: Sequence[int]) -> dict[int, bytes]:
    """Records of bulk entry ``index`` by position, reading each row once."""
    rows = _Rows(connection, index, (p >> BOTTOM_LEVELS for p in positions))
    return _records(rows, positions)


def _records(rows: _Rows, positions: Sequence[int]) -> dict[int, bytes]:
    width = 1 << BOTTOM_LEVELS
    decoded = {row: rows.records(row) for row in {p // width for p in positions}}
    found: dict[int, bytes] = {}
    for position in positions:
        records = decoded[position // width]
        if position % width >= len(records):
            raise store.StorageError(f"bulk entry {rows.index} has no stored record {position}")
        found[position] = records[position % width]
    return found


def read_nodes(
    connection: Connection, index: int, nodes: Iterable[merkle.Node], positions: Sequence[int] = ()
) -> tuple[dict[merkle.Node, bytes], dict[int, bytes]]:
    """Nodes of a bulk entry's records tree, and the records at ``positions``: from level 8 up
    out of its tiles, below that rehashed from the rows that hold them (one or two rows for a
    proof, the record's own among them)."""
    wanted = set(nodes)
    low = {node for node in wanted if node[0] < BOTTOM_LEVELS}
    found = store.read_nodes(connection, index + 1, wanted - low)
    below = {idx >> (BOTTOM_LEVELS - level) for level, idx in low}
    rows = _Rows(connection, index, below | {p >> BOTTOM_LEVELS for p in positions})
    built = {row: tiles.lookup(tiles.extend({}, 0, rows.hashes(row))) for row in below}
    for level, idx in low:
        row = idx >> (BOTTOM_LEVELS - level)
        try:
            found[(level, idx)] = built[row](level, idx - (row << (BOTTOM_LEVELS - level)))
        except tiles.LayoutError:
            raise store.StorageError(f"bulk entry {index} has no node {(level, idx)}") from None
    return found, _records(rows, positions)


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
