"""Tiles and bundles: how the tree's nodes and the entries are packed into rows, as pure code.

The layout follows C2SP tlog-tiles (tiles of height 8, bundles of 256 entries) so that a proof
costs a few row reads and a verify streams large rows. One difference: a stored tile keeps all
eight of its levels, not only the bottom one, so proofs never rehash inside a tile.

A tile ``(level L, index i)`` of width ``w`` covers the tree-level ``8L`` nodes
``[256·i, 256·i + w)``; its row ``r`` (0 to 7) holds the ``w >> r`` nodes of tree level ``8L + r``
above them. The node that would be row 8 is the bottom of tile ``(L + 1, i >> 8)``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from hashlib import sha256

from trusthub.ledger.merkle import HASH_SIZE, LEAF_PREFIX, NODE_PREFIX, Node, NodeLookup

TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT
BUNDLE_SIZE = 256
ENTRY_SEPARATOR = b"\n"

Rows = list[list[bytes]]
TileKey = tuple[int, int]
"""``(tile level, tile index)``."""


class LayoutError(ValueError):
    """Stored bytes do not have the shape the layout promises."""


def empty_rows() -> Rows:
    return [[] for _ in range(TILE_HEIGHT)]


def grow(rows: Rows, bottom: Sequence[bytes]) -> None:
    """Append bottom-row hashes to a tile and hash every internal node they complete."""
    rows[0].extend(bottom)
    prefix = NODE_PREFIX
    for r in range(1, TILE_HEIGHT):
        below, row = rows[r - 1], rows[r]
        start, end = len(row), len(below) // 2
        if start >= end:
            return  # nothing new on this row, so nothing new above it either
        pairs = iter(below[2 * start : 2 * end])  # zip(pairs, pairs): left and right children
        row.extend(
            [
                sha256(prefix + left + right).digest()
                for left, right in zip(pairs, pairs, strict=True)
            ]
        )


def top(rows: Rows) -> bytes:
    """The node above a full tile: the next tile level's bottom-row entry."""
    return sha256(NODE_PREFIX + rows[TILE_HEIGHT - 1][0] + rows[TILE_HEIGHT - 1][1]).digest()


def encode_tile(rows: Rows) -> bytes:
    return b"".join(b"".join(row) for row in rows)


def row_offsets(width: int) -> list[int]:
    """Byte offset of each row in an encoded tile, plus the total length at the end."""
    offsets = [0]
    for r in range(TILE_HEIGHT):
        offsets.append(offsets[-1] + (width >> r) * HASH_SIZE)
    return offsets


_OFFSETS = [row_offsets(width) for width in range(TILE_WIDTH + 1)]
"""Row offsets for every possible width, computed once: the proof path asks for them per node."""


def decode_tile(data: bytes, width: int) -> Rows:
    offsets = row_offsets(width)
    if not 0 < width <= TILE_WIDTH or len(data) != offsets[-1]:
        raise LayoutError(f"a tile of width {width} has {offsets[-1]} bytes, not {len(data)}")
    return [
        [data[i : i + HASH_SIZE] for i in range(offsets[r], offsets[r + 1], HASH_SIZE)]
        for r in range(TILE_HEIGHT)
    ]


def tile_of(node: Node) -> tuple[TileKey, int, int]:
    """Where a node lives: its tile, the row within the tile, and the position in that row."""
    level, index = node
    tile_level, row = divmod(level, TILE_HEIGHT)
    shift = TILE_HEIGHT - row
    return (tile_level, index >> shift), row, index & ((1 << shift) - 1)


def node_from_tile(data: bytes, width: int, row: int, position: int) -> bytes | None:
    """A node's hash from an encoded tile, or None if the tile is not yet wide enough."""
    if position >= width >> row:
        return None
    start = _OFFSETS[width][row] + position * HASH_SIZE
    return data[start : start + HASH_SIZE]


def lookup(tiles: dict[TileKey, Rows]) -> NodeLookup:
    """Read nodes from tiles held in memory (a writer's edge, a freshly built sub-tree)."""

    def node(level: int, index: int) -> bytes:
        key, row, position = tile_of((level, index))
        rows = tiles.get(key)
        if rows is None or position >= len(rows[row]):
            raise LayoutError(f"node ({level}, {index}) is not in the tiles at hand")
        return rows[row][position]

    return node


def edge_keys(size: int) -> list[TileKey]:
    """The partial tile at each level of a tree of ``size`` leaves: all a writer must keep."""
    keys: list[TileKey] = []
    count, level = size, 0
    while count:
        if count % TILE_WIDTH:
            keys.append((level, count // TILE_WIDTH))
        count //= TILE_WIDTH
        level += 1
    return keys


def edge_keys_index(size: int, tile_level: int) -> int:
    """Index of the partial tile at ``tile_level`` in a tree of ``size`` leaves."""
    return (size >> (TILE_HEIGHT * tile_level)) // TILE_WIDTH


def edge_width(size: int, tile_level: int) -> int:
    return (size >> (TILE_HEIGHT * tile_level)) % TILE_WIDTH


def extend(edge: dict[int, Rows], size: int, leaf_hashes: Sequence[bytes]) -> dict[TileKey, Rows]:
    """Add leaf hashes to a tree of ``size`` leaves whose partial tiles are ``edge``.

    ``edge`` maps tile level to the rows of that level's partial tile and is updated in place.
    Returns every tile the new leaves touched, complete or partial, ready to be stored.
    """
    touched: dict[TileKey, Rows] = {}
    new = list(leaf_hashes)
    level = 0
    while new:
        count = size >> (TILE_HEIGHT * level)
        index, offset = divmod(count, TILE_WIDTH)
        rows = edge.pop(level, None)
        if not offset:
            rows = empty_rows()
        elif rows is None or len(rows[0]) != offset:
            raise LayoutError(f"the partial tile at level {level} is missing or stale")
        promoted: list[bytes] = []
        taken = 0
        while taken < len(new):
            chunk = new[taken : taken + TILE_WIDTH - offset]
            grow(rows, chunk)
            touched[(level, index)] = rows
            taken += len(chunk)
            offset += len(chunk)
            if offset == TILE_WIDTH:
                promoted.append(top(rows))
                rows, index, offset = empty_rows(), index + 1, 0
        if offset:
            edge[level] = rows
        new = promoted
        level += 1
    return touched


def bundle_key(index: int) -> tuple[int, int]:
    """The bundle holding entry ``index`` and the entry's position in it."""
    return divmod(index, BUNDLE_SIZE)


def encode_bundle(entries: Iterable[bytes]) -> bytes:
    """Entries one per line: canonical JSON never holds a raw newline, so splitting is exact."""
    entries = list(entries)
    return ENTRY_SEPARATOR.join(entries) + ENTRY_SEPARATOR if entries else b""


def decode_bundle(data: bytes) -> list[bytes]:
    if data and not data.endswith(ENTRY_SEPARATOR):
        raise LayoutError("a bundle must end with a newline")
    return data.split(ENTRY_SEPARATOR)[:-1]


def bundle_leaf_inputs(data: bytes) -> list[bytes]:
    """A bundle's entries each behind the RFC 9162 leaf prefix, ready to hash.

    One replace and one split for the whole bundle instead of a concatenation per entry: a fifth
    less work for a verify that rehashes every entry.
    """
    if not data:
        return []
    if not data.endswith(ENTRY_SEPARATOR):
        raise LayoutError("a bundle must end with a newline")
    marked = data[:-1].replace(ENTRY_SEPARATOR, ENTRY_SEPARATOR + LEAF_PREFIX)
    return (LEAF_PREFIX + marked).split(ENTRY_SEPARATOR)
