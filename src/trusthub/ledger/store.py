"""SQL for the ledger tables: the only module that knows how bundles, tiles and heads are stored."""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import chain
from operator import itemgetter
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, insert, select, text

from trusthub.ledger import merkle, tiles
from trusthub.ledger.models import (
    EPOCH_BITS,
    MAIN_TREE,
    LedgerBundle,
    LedgerCheckpoint,
    LedgerCitizenIndex,
)
from trusthub.models_common import utcnow

if TYPE_CHECKING:
    from trusthub.ledger.bulk_records import PreparedRecords

HEAD_ID = 1

_LOCK_HEAD = text("UPDATE ledger_head SET tree_size = tree_size WHERE id = :id")
_INSERT_HEAD = text(
    "INSERT INTO ledger_head (id, tree_size) VALUES (:id, 0) ON CONFLICT (id) DO NOTHING"
)


class StorageError(RuntimeError):
    """Stored ledger data is missing or malformed where the tree says it must be."""


@dataclass(frozen=True, slots=True)
class StoredCheckpoint:
    tree_size: int
    root_hash: bytes
    note: str
    created_at: datetime


@dataclass(slots=True)
class Batch:
    """Everything one group commit writes, in one transaction."""

    tree_size: int
    bundles: dict[tuple[int, int], bytes]
    tiles: dict[tuple[int, int, int], tuple[int, bytes]]
    citizens: list[tuple[bytes, int, int]]
    root_hash: bytes
    note: str
    bulk: list[tuple[int, PreparedRecords]] = field(default_factory=list)
    """Bulk entries by index: their records, tiles and index go in with ``bulk_store``."""


def lock_head(connection: Connection) -> int:
    """Take the writer's lock (the head row) first, so that SQLite grabs its write lock at once."""
    if connection.execute(_LOCK_HEAD, {"id": HEAD_ID}).rowcount == 0:
        connection.execute(_INSERT_HEAD, {"id": HEAD_ID})
        connection.execute(_LOCK_HEAD, {"id": HEAD_ID})
    return read_head(connection)


def read_head(connection: Connection) -> int:
    mark = marker(connection)
    size = connection.exec_driver_sql(
        f"SELECT tree_size FROM ledger_head WHERE id = {mark}",  # noqa: S608 - a placeholder
        (HEAD_ID,),
    ).scalar_one_or_none()
    return int(size or 0)


def write_batch(connection: Connection, batch: Batch) -> None:
    bundle_rows = [(tree, idx, data) for (tree, idx), data in batch.bundles.items()]
    tile_rows = [
        (tree, lvl, idx, width, data) for (tree, lvl, idx), (width, data) in batch.tiles.items()
    ]
    citizen_rows = [(index >> EPOCH_BITS, tag, index, pos) for tag, index, pos in batch.citizens]
    # By tag, a bulk entry's rows fill the index's B-tree page after page, not at random pages
    # (ten times faster at a million rows); the tag alone sorts far faster than whole rows.
    citizen_rows.sort(key=itemgetter(1))
    if connection.dialect.name == "postgresql":
        _unnest(connection, _PG_BUNDLES, bundle_rows)
        _unnest(connection, _PG_TILES, tile_rows)
        if len(citizen_rows) >= COPY_FROM:
            copy_rows(connection, _PG_COPY_CITIZENS, _PG_CITIZEN_TYPES, citizen_rows)
        else:
            _unnest(connection, _PG_CITIZENS, citizen_rows)
    else:
        _insert_many(connection, _BUNDLES, 3, bundle_rows, 64)
        _insert_many(connection, _TILES, 5, tile_rows, 64)
        _insert_many(connection, _CITIZENS, 4, citizen_rows, CITIZEN_ROWS_PER_STATEMENT)
    if batch.bulk:
        from trusthub.ledger import bulk_store  # it builds on this module

        bulk_store.write(connection, batch.bulk)
    connection.execute(
        insert(LedgerCheckpoint).values(
            tree_size=batch.tree_size,
            root_hash=batch.root_hash,
            note=batch.note,
            created_at=utcnow(),
        )
    )
    connection.execute(
        text("UPDATE ledger_head SET tree_size = :size WHERE id = :id"),
        {"size": batch.tree_size, "id": HEAD_ID},
    )


CITIZEN_ROWS_PER_STATEMENT = 400
_BUNDLES = (
    "INSERT INTO ledger_bundles (tree, idx, data) VALUES {values} "
    "ON CONFLICT (tree, idx) DO UPDATE SET data = excluded.data"
)
_TILES = (
    "INSERT INTO ledger_tiles (tree, level, idx, width, hashes) VALUES {values} "
    "ON CONFLICT (tree, level, idx) DO UPDATE SET width = excluded.width, hashes = excluded.hashes"
)
_CITIZENS = "INSERT INTO ledger_citizen_index (epoch, tag, leaf_index, position) VALUES {values}"
_PG_BUNDLES = (
    "INSERT INTO ledger_bundles (tree, idx, data) "
    "SELECT * FROM unnest(%b::bigint[], %b::bigint[], %b::bytea[]) "
    "ON CONFLICT (tree, idx) DO UPDATE SET data = excluded.data"
)
_PG_TILES = (
    "INSERT INTO ledger_tiles (tree, level, idx, width, hashes) SELECT * FROM "
    "unnest(%b::bigint[], %b::smallint[], %b::bigint[], %b::smallint[], %b::bytea[]) "
    "ON CONFLICT (tree, level, idx) DO UPDATE SET width = excluded.width, hashes = excluded.hashes"
)
_PG_CITIZENS = (
    "INSERT INTO ledger_citizen_index (epoch, tag, leaf_index, position) "
    "SELECT * FROM unnest(%b::bigint[], %b::bytea[], %b::bigint[], %b::bigint[])"
)


_PG_COPY_CITIZENS = (
    "COPY ledger_citizen_index (epoch, tag, leaf_index, position) FROM STDIN (FORMAT BINARY)"
)
_PG_CITIZEN_TYPES = ["int8", "bytea", "int8", "int8"]
COPY_FROM = 5000
"""Index rows from which COPY is used: at 800,000 rows it takes half the time of unnest."""


def marker(connection: Connection) -> str:
    """The placeholder of the connection's DB-API driver, for plain SQL on the hot paths."""
    return "%s" if connection.dialect.paramstyle in ("format", "pyformat") else "?"


def _insert_many(
    connection: Connection, head: str, width: int, rows: Sequence[tuple[object, ...]], per: int
) -> None:
    """Many rows per statement: one driver call (and one GIL hand-over) per ``per`` rows."""
    group = "(" + ", ".join([marker(connection)] * width) + ")"
    for start in range(0, len(rows), per):
        chunk = rows[start : start + per]
        sql = head.format(values=", ".join([group] * len(chunk)))
        connection.exec_driver_sql(sql, tuple(chain.from_iterable(chunk)))


def copy_rows(
    connection: Connection, sql: str, types: list[str], rows: Sequence[tuple[object, ...]]
) -> None:
    """PostgreSQL: rows streamed with binary COPY (psycopg's copy), in the batch's transaction."""
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    with cursor, cursor.copy(sql) as copy:
        copy.set_types(types)
        for row in rows:
            copy.write_row(row)


def _unnest(connection: Connection, sql: str, rows: Sequence[tuple[object, ...]]) -> None:
    """PostgreSQL: every row in one statement of one array per column, so the SQL text is fixed
    (prepared once, never re-parsed) however many rows a batch has."""
    if rows:
        connection.exec_driver_sql(sql, tuple(list(column) for column in zip(*rows, strict=True)))


FULL_TILE_CACHE = 4096
"""Full tiles kept per engine (at most ~16 kB each). A full tile never changes, so serving it
from memory is safe; the partial tiles at the tree's right edge are always read afresh."""

_full_tiles: weakref.WeakKeyDictionary[Engine, OrderedDict[tuple[int, int, int], bytes]] = (
    weakref.WeakKeyDictionary()
)
_cache_lock = threading.Lock()


def _tile_cache(connection: Connection) -> OrderedDict[tuple[int, int, int], bytes]:
    with _cache_lock:
        cache = _full_tiles.get(connection.engine)
        if cache is None:
            cache = _full_tiles[connection.engine] = OrderedDict()
        return cache


def read_tiles(
    connection: Connection, tree: int, keys: Iterable[tiles.TileKey]
) -> dict[tiles.TileKey, tuple[int, bytes]]:
    """Tiles by key: full ones from the engine's cache when there, the rest in one query."""
    cache = _tile_cache(connection)
    found: dict[tiles.TileKey, tuple[int, bytes]] = {}
    by_level: dict[int, list[int]] = {}
    with _cache_lock:
        for level, idx in sorted(set(keys)):
            data = cache.get((tree, level, idx))
            if data is None:
                by_level.setdefault(level, []).append(idx)
            else:
                cache.move_to_end((tree, level, idx))
                found[(level, idx)] = (tiles.TILE_WIDTH, data)
    if not by_level:
        return found
    # One indexed lookup per tile level: a row-value IN would make SQLite scan the whole tree.
    # Plain DB-API SQL: this is the proof path, where statement building would cost the most.
    mark = marker(connection)
    parts, params = [], []
    for level, idxs in by_level.items():
        markers = ", ".join([mark] * len(idxs))
        where = f"WHERE tree = {mark} AND level = {mark} AND idx IN ({markers})"
        parts.append("SELECT level, idx, width, hashes FROM ledger_tiles " + where)  # noqa: S608
        params += [tree, level, *idxs]
    cursor = connection.connection.cursor()
    try:
        cursor.execute(" UNION ALL ".join(parts), tuple(params))
        rows = cursor.fetchall()
    finally:
        cursor.close()
    fresh: list[tuple[tuple[int, int, int], bytes]] = []
    for level, idx, width, data in rows:
        found[(level, idx)] = (width, bytes(data))
        if width == tiles.TILE_WIDTH:
            fresh.append(((tree, level, idx), found[(level, idx)][1]))
    if fresh:
        with _cache_lock:
            cache.update(fresh)
            while len(cache) > FULL_TILE_CACHE:
                cache.popitem(last=False)
    return found


def read_nodes(
    connection: Connection, tree: int, nodes: Iterable[merkle.Node]
) -> dict[merkle.Node, bytes]:
    """Interior hashes by ``(level, index)``, in one query over the tiles that hold them."""
    located = {node: tiles.tile_of(node) for node in nodes}
    stored = read_tiles(connection, tree, (key for key, _, _ in located.values()))
    found: dict[merkle.Node, bytes] = {}
    for node, (key, row, position) in located.items():
        width, data = stored.get(key, (0, b""))
        value = tiles.node_from_tile(data, width, row, position) if width else None
        if value is None:
            raise StorageError(f"tree {tree} has no stored node {node}")
        found[node] = value
    return found


def read_bundles(connection: Connection, tree: int, indices: Iterable[int]) -> dict[int, bytes]:
    wanted = sorted(set(indices))
    if not wanted:
        return {}
    rows = connection.execute(
        select(LedgerBundle.idx, LedgerBundle.data).where(
            LedgerBundle.tree == tree, LedgerBundle.idx.in_(wanted)
        )
    )
    return {idx: bytes(data) for idx, data in rows}


def read_leaves(connection: Connection, tree: int, indices: Sequence[int]) -> dict[int, bytes]:
    """Leaf inputs by index, fetching each bundle once."""
    bundles = read_bundles(connection, tree, (tiles.bundle_key(i)[0] for i in indices))
    leaves: dict[int, bytes] = {}
    for index in indices:
        bundle, position = tiles.bundle_key(index)
        entries = tiles.decode_bundle(bundles.get(bundle, b""))
        if position >= len(entries):
            raise StorageError(f"tree {tree} has no stored leaf {index}")
        leaves[index] = entries[position]
    return leaves


def read_edge(connection: Connection, size: int) -> tuple[dict[int, tiles.Rows], list[bytes]]:
    """The main tree's partial tiles and partial bundle: what a writer needs to append."""
    keys = tiles.edge_keys(size)
    stored = read_tiles(connection, MAIN_TREE, keys)
    edge: dict[int, tiles.Rows] = {}
    for level, idx in keys:
        width, data = stored.get((level, idx), (0, b""))
        if width != tiles.edge_width(size, level):
            raise StorageError(f"partial tile ({level}, {idx}) does not match tree size {size}")
        edge[level] = tiles.decode_tile(data, width)
    bundle, count = tiles.bundle_key(size)
    partial: list[bytes] = []
    if count:
        partial = tiles.decode_bundle(
            read_bundles(connection, MAIN_TREE, [bundle]).get(bundle, b"")
        )
        if len(partial) != count:
            raise StorageError(f"partial bundle {bundle} does not match tree size {size}")
    return edge, partial


_CHECKPOINT_COLUMNS = (
    LedgerCheckpoint.tree_size,
    LedgerCheckpoint.root_hash,
    LedgerCheckpoint.note,
    LedgerCheckpoint.created_at,
)


def latest_checkpoint(connection: Connection) -> StoredCheckpoint | None:
    row = connection.execute(
        select(*_CHECKPOINT_COLUMNS).order_by(LedgerCheckpoint.tree_size.desc()).limit(1)
    ).first()
    return StoredCheckpoint(row[0], bytes(row[1]), row[2], row[3]) if row else None


def checkpoints_from(connection: Connection, size: int, limit: int) -> list[StoredCheckpoint]:
    rows = connection.execute(
        select(*_CHECKPOINT_COLUMNS)
        .where(LedgerCheckpoint.tree_size >= size)
        .order_by(LedgerCheckpoint.tree_size)
        .limit(limit)
    )
    return [StoredCheckpoint(s, bytes(r), n, c) for s, r, n, c in rows]


def citizen_entries(connection: Connection, tag: bytes, size: int) -> list[tuple[int, int]]:
    """A citizen's ``(leaf index, position)`` pairs: one index seek per epoch of the log."""
    found: list[tuple[int, int]] = []
    epochs = list(range((max(size, 1) - 1 >> EPOCH_BITS) + 1))
    for start in range(0, len(epochs), 1000):
        rows = connection.execute(
            select(LedgerCitizenIndex.leaf_index, LedgerCitizenIndex.position).where(
                LedgerCitizenIndex.epoch.in_(epochs[start : start + 1000]),
                LedgerCitizenIndex.tag == tag,
            )
        )
        found.extend((int(i), int(p)) for i, p in rows)
    return sorted(found)
