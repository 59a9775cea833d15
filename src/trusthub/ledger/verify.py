"""Recompute the whole ledger from storage and hold it against every signed checkpoint.

Leaves are rehashed from the stored entry bytes, every stored tile is rebuilt and compared byte
for byte, and each checkpoint's signature and root are checked. A changed, deleted, inserted,
reordered or truncated entry shows up as the first index that disagrees. The work is split into
chunks of 65,536 leaves (one level-1 tile) and spread over processes, one per core.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from hashlib import sha256
from multiprocessing import get_context

from sqlalchemy import Connection, Engine, func, select, text, union_all

from trusthub.db import make_engine
from trusthub.ledger import bulk_verify, merkle, store, tiles
from trusthub.ledger.entry import EntryError, decode_entry
from trusthub.ledger.models import MAIN_TREE, LedgerBundle, LedgerHead, LedgerTile
from trusthub.ledger.note import NoteError, Verifier, open_checkpoint
from trusthub.ledger.store import HEAD_ID

CHUNK_BITS = 2 * tiles.TILE_HEIGHT
CHUNK = 1 << CHUNK_BITS
"""Leaves per chunk: exactly the leaves under one level-1 tile."""
MIN_CHUNKS_PER_PROCESS = 4
"""Unless told how many processes to use, verify checks a log of fewer chunks than this per core
in its own process: starting processes (importing the app in each) would cost more than it saves."""
BULK_MARK = b'"records":{'


@dataclass(frozen=True, slots=True)
class Finding:
    """Something that disagrees; ``index`` is the first entry it implicates, when one is known."""

    index: int | None
    message: str
    exact: bool = False


@dataclass
class Report:
    tree_size: int = 0
    leaves: int = 0
    checkpoints: int = 0
    bulk_entries: int = 0
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings

    @property
    def first_bad_index(self) -> int | None:
        """The first entry shown to disagree; a leaf-level finding beats a range's lower bound."""
        exact = [f.index for f in self.findings if f.index is not None and f.exact]
        indices = exact or [f.index for f in self.findings if f.index is not None]
        return min(indices) if indices else None


@dataclass(frozen=True, slots=True)
class SubtreeResult:
    """What one rebuilt (sub)tree chunk tells the parent."""

    leaves: int
    findings: list[Finding]
    top: bytes | None
    prefixes: dict[int, list[bytes]]
    bulk: list[tuple[int, int, str]]


def _first_difference(a: Sequence[bytes], b: Sequence[bytes]) -> int:
    for position, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return position
    return min(len(a), len(b))


def _compare_tiles(
    tree: int,
    level_offset: int,
    index_offset: dict[int, int],
    built: dict[tiles.TileKey, tiles.Rows],
    stored: dict[tiles.TileKey, tuple[int, bytes]],
    leaf_base: int,
) -> list[Finding]:
    """Stored tiles must equal rebuilt ones byte for byte; name the first leaf a difference hits."""
    findings: list[Finding] = []
    for (level, idx), rows in sorted(built.items()):
        key = (level + level_offset, idx + index_offset[level])
        width, data = stored.pop(key, (0, b""))
        if width == len(rows[0]) and data == tiles.encode_tile(rows):
            continue
        stored_rows = tiles.decode_tile(data, width) if width else tiles.empty_rows()
        exact = False
        for row in range(tiles.TILE_HEIGHT):
            position = _first_difference(rows[row], stored_rows[row])
            if position < max(len(rows[row]), len(stored_rows[row])):
                tree_level = (level + level_offset) * tiles.TILE_HEIGHT + row
                node_index = (idx * tiles.TILE_WIDTH >> row) + position
                first_leaf = leaf_base + (node_index << tree_level)
                exact = tree_level == 0
                break
        else:
            first_leaf = leaf_base
        what = "entry hashes" if exact else "interior hashes"
        findings.append(Finding(first_leaf, f"tree {tree}: {what} in tile {key} disagree", exact))
    for key in sorted(stored):
        findings.append(Finding(None, f"tree {tree}: stored tile {key} has no entries under it"))
    return findings


def _entries(
    tree: int, bundles: dict[int, bytes], first_bundle: int, count: int, limit: int | None
) -> tuple[list[bytes], list[Finding], list[int]]:
    """The chunk's leaf inputs (entries behind the leaf prefix) in order, up to the first missing
    or short bundle.

    Also the offsets (into the leaves) of the bundles that may hold a bulk entry: one search per
    bundle rather than one per leaf.
    """
    leaves: list[bytes] = []
    bulk: list[int] = []
    for k in range(first_bundle, first_bundle + count):
        data = bundles.pop(k, None)
        if data is None:
            if limit is None or k * tiles.BUNDLE_SIZE < limit:
                index = k * tiles.BUNDLE_SIZE
                return leaves, [Finding(index, f"tree {tree}: bundle {k} is missing", True)], bulk
            break
        try:
            part = tiles.bundle_leaf_inputs(data)
        except tiles.LayoutError:
            where = k * tiles.BUNDLE_SIZE
            return leaves, [Finding(where, f"tree {tree}: bundle {k} is malformed", True)], bulk
        if BULK_MARK in data:
            bulk.append(len(leaves))
        leaves.extend(part)
        if len(part) != tiles.BUNDLE_SIZE:
            break
    findings = [
        Finding(k * tiles.BUNDLE_SIZE, f"tree {tree}: bundle {k} lies beyond the end", True)
        for k in sorted(bundles)
    ]
    return leaves, findings, bulk


def rebuild(
    connection: Connection,
    tree: int,
    chunk: int,
    prefix_sizes: Sequence[int] = (),
    limit: int | None = None,
) -> SubtreeResult:
    """Rehash one chunk of a tree from its bundles and check its level-0 and level-1 tiles."""
    base = chunk * CHUNK
    first_bundle = base // tiles.BUNDLE_SIZE
    per_chunk = CHUNK // tiles.BUNDLE_SIZE
    marker = store.marker(connection)
    bundles = {
        int(idx): bytes(data)
        for idx, data in connection.exec_driver_sql(
            "SELECT idx, data FROM ledger_bundles "  # noqa: S608 - placeholders only
            f"WHERE tree = {marker} AND idx >= {marker} AND idx < {marker}",
            (tree, first_bundle, first_bundle + per_chunk),
        )
    }
    columns = (LedgerTile.level, LedgerTile.idx, LedgerTile.width, LedgerTile.hashes)
    bottom = select(*columns).where(
        LedgerTile.tree == tree,
        LedgerTile.level == 0,
        LedgerTile.idx >= first_bundle,
        LedgerTile.idx < first_bundle + per_chunk,
    )
    above = select(*columns).where(
        LedgerTile.tree == tree, LedgerTile.level == 1, LedgerTile.idx == chunk
    )
    stored = {
        (int(level), int(idx)): (int(width), bytes(data))
        for level, idx, width, data in connection.execute(union_all(bottom, above))
    }
    leaves, findings, bulk_bundles = _entries(tree, bundles, first_bundle, per_chunk, limit)
    hashes = [sha256(leaf).digest() for leaf in leaves]  # RFC 9162: the prefix is in place
    built = tiles.extend({}, 0, hashes)
    lookup = tiles.lookup(built)
    prefixes = {
        size: [lookup(*node) for node in merkle.range_nodes(0, size - base)]
        for size in prefix_sizes
        if base < size <= base + len(hashes)
    }
    top = None
    for key in [k for k in built if k[0] == 2]:
        top = built.pop(key)[0][0]
    findings += _compare_tiles(tree, 0, {0: first_bundle, 1: chunk}, built, stored, base)
    bulk: list[tuple[int, int, str]] = []
    if tree == MAIN_TREE:
        for start in bulk_bundles:
            part = leaves[start : start + tiles.BUNDLE_SIZE]
            for offset, leaf in enumerate(part, start):
                if BULK_MARK not in leaf:
                    continue
                try:
                    records = decode_entry(leaf[1:]).records
                except EntryError:
                    findings.append(Finding(base + offset, "entry is not canonical", True))
                    continue
                if records is not None:
                    bulk.append((base + offset, records.count, records.root))
    return SubtreeResult(len(leaves), findings, top, prefixes, bulk)


_ENGINE: Engine | None = None


def _worker_chunk(url: str, chunk: int, prefix_sizes: list[int], limit: int) -> SubtreeResult:
    global _ENGINE
    if _ENGINE is None:
        _ENGINE = make_engine(url)
    with _ENGINE.connect() as connection:
        _map_the_file(connection)
        return rebuild(connection, MAIN_TREE, chunk, prefix_sizes, limit)


MMAP_SIZE = 1 << 40
"""SQLite reads a bundle's overflow pages from a memory map three times as fast as through
read(): verify maps the whole file (address space only; the page cache holds the data)."""


def _map_the_file(connection: Connection) -> None:
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql(f"PRAGMA mmap_size={MMAP_SIZE}")


def check_subtree(connection: Connection, index: int, count: int, root: str) -> list[Finding]:
    """A bulk entry's records must hash to the root its entry publishes."""
    if bulk_verify.is_packed(connection, index):
        problems = bulk_verify.check(connection, index, count, root)
        return [Finding(index, f"bulk entry {index}: {problem}") for problem in problems]
    tree = index + 1
    findings: list[Finding] = []
    tops: list[bytes] = []
    leaves = 0
    for chunk in range((count + CHUNK - 1) // CHUNK):
        result = rebuild(connection, tree, chunk, [count], limit=count)
        findings += [Finding(index, f"bulk entry {index}: {f.message}") for f in result.findings]
        leaves += result.leaves
        if result.top is not None:
            tops.append(result.top)
        prefix = result.prefixes.get(count)
        if prefix is not None:
            nodes = _high_nodes(_high_lookup(tops), chunk * CHUNK) + prefix
            if _fold(nodes).hex() != root:
                findings.append(Finding(index, f"bulk entry {index}: records do not match root"))
    if leaves != count:
        findings.append(Finding(index, f"bulk entry {index}: {leaves} records, not {count}"))
    return findings


def _fold(nodes: Sequence[bytes]) -> bytes:
    """The root of a tree starting at leaf 0 from its perfect subtrees, largest first."""
    if not nodes:
        return merkle.EMPTY_ROOT
    root = nodes[-1]
    for node in reversed(nodes[:-1]):
        root = merkle.node_hash(node, root)
    return root


def _high_lookup(tops: Sequence[bytes]) -> merkle.NodeLookup:
    """Nodes above whole chunks, by level counted from the chunk roots (which are level 0)."""
    return tiles.lookup(tiles.extend({}, 0, list(tops)))


def _high_nodes(lookup: merkle.NodeLookup, base: int) -> list[bytes]:
    """Perfect subtrees of at least one chunk covering leaves ``[0, base)``, largest first."""
    return [lookup(*node) for node in merkle.range_nodes(0, base >> CHUNK_BITS)]


def _chunks(
    url: str,
    connection: Connection,
    count: int,
    sizes: dict[int, list[int]],
    workers: int,
    limit: int,
) -> Iterator[SubtreeResult]:
    if workers <= 1 or count <= 1:
        for chunk in range(count):
            yield rebuild(connection, MAIN_TREE, chunk, sizes.get(chunk, []), limit)
        return
    context = get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        yield from pool.map(
            _worker_chunk,
            [url] * count,
            range(count),
            [sizes.get(chunk, []) for chunk in range(count)],
            [limit] * count,
        )


def verify(
    url: str,
    origin: str,
    verifiers: Sequence[Verifier],
    *,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Report:
    """Check the ledger at ``url`` against its checkpoints; the report names what disagrees."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            _map_the_file(connection)
            return _verify(url, connection, origin, verifiers, workers, progress)
    finally:
        engine.dispose()


def _verify(
    url: str,
    connection: Connection,
    origin: str,
    verifiers: Sequence[Verifier],
    workers: int | None,
    progress: Callable[[int, int], None] | None,
) -> Report:
    report = Report()
    head = connection.execute(
        select(LedgerHead.tree_size).where(LedgerHead.id == HEAD_ID)
    ).scalar_one_or_none()
    checkpoints = [
        (int(size), bytes(root), note)
        for size, root, note in connection.execute(
            text("SELECT tree_size, root_hash, note FROM ledger_checkpoints ORDER BY tree_size")
        )
    ]
    last_bundle = connection.execute(
        select(func.max(LedgerBundle.idx)).where(LedgerBundle.tree == MAIN_TREE)
    ).scalar_one_or_none()
    signed = checkpoints[-1][0] if checkpoints else 0
    report.tree_size = max(int(head or 0), signed)
    stored_span = (int(last_bundle) + 1) * tiles.BUNDLE_SIZE if last_bundle is not None else 0
    count = (max(report.tree_size, stored_span) + CHUNK - 1) // CHUNK
    sizes: dict[int, list[int]] = {}
    for size, _, _ in checkpoints:
        if size:
            sizes.setdefault((size - 1) // CHUNK, []).append(size)
    tops: list[bytes] = []
    prefixes: dict[int, list[bytes]] = {}
    bulk: list[tuple[int, int, str]] = []
    contiguous = True
    processes = workers or os.cpu_count() or 1
    if workers is None and count < MIN_CHUNKS_PER_PROCESS * processes:
        processes = 1  # a small log: checking it here beats starting processes
    for result in _chunks(url, connection, count, sizes, processes, report.tree_size):
        if contiguous:
            report.leaves += result.leaves
            if result.top is not None:
                tops.append(result.top)
        contiguous = contiguous and result.leaves == CHUNK
        report.findings += result.findings
        prefixes.update(result.prefixes)
        bulk += result.bulk
        if progress is not None:
            progress(min(report.leaves, report.tree_size), report.tree_size)
    report.findings += _check_high_tiles(connection, tops)
    report.findings += _check_checkpoints(report, checkpoints, tops, prefixes, origin, verifiers)
    if head is None or int(head) != signed:
        report.findings.append(
            Finding(min(int(head or 0), signed), "the head row disagrees with the last checkpoint")
        )
    if report.leaves > signed:
        report.findings.append(
            Finding(signed, "entries lie beyond the last signed checkpoint", True)
        )
    for index, records, root in bulk:
        if index < report.leaves:
            report.bulk_entries += 1
            report.findings += check_subtree(connection, index, records, root)
    report.findings.sort(key=lambda f: (f.index is None, f.index or 0))
    return report


def _check_high_tiles(connection: Connection, tops: Sequence[bytes]) -> list[Finding]:
    """Tiles of level 2 and up hold nodes above whole chunks: rebuild them from chunk roots."""
    built = tiles.extend({}, 0, list(tops))
    stored = {
        (int(level), int(idx)): (int(width), bytes(data))
        for level, idx, width, data in connection.execute(
            select(LedgerTile.level, LedgerTile.idx, LedgerTile.width, LedgerTile.hashes).where(
                LedgerTile.tree == MAIN_TREE, LedgerTile.level >= 2
            )
        )
    }
    offsets = {level: 0 for level, _ in built} | {level: 0 for level, _ in stored}
    return _compare_tiles(MAIN_TREE, 2, offsets, built, stored, 0)


def _check_checkpoints(
    report: Report,
    checkpoints: Sequence[tuple[int, bytes, str]],
    tops: Sequence[bytes],
    prefixes: dict[int, list[bytes]],
    origin: str,
    verifiers: Sequence[Verifier],
) -> list[Finding]:
    findings: list[Finding] = []
    agreed = 0
    high = _high_lookup(tops)
    for size, root, note in checkpoints:
        report.checkpoints += 1
        try:
            signed = open_checkpoint(note, origin, verifiers)
        except NoteError as error:
            findings.append(Finding(agreed, f"checkpoint {size}: {error}"))
            continue
        if signed.size != size or signed.root != root:
            findings.append(
                Finding(agreed, f"checkpoint {size}: row disagrees with its signed note")
            )
            continue
        if size > report.leaves:
            findings.append(
                Finding(report.leaves, f"checkpoint {size} signs entries that are missing", True)
            )
            continue
        base = (size >> CHUNK_BITS) << CHUNK_BITS
        nodes = _high_nodes(high, base) + (prefixes.get(size, []) if size > base else [])
        if _fold(nodes) != signed.root:
            findings.append(
                Finding(agreed, f"checkpoint {size}: entries {agreed}..{size - 1} were rewritten")
            )
            continue
        agreed = size
    return findings
