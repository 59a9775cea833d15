"""A bulk entry's per-citizen records as columns of bytes, across processes when there are many.

Two passes, each over parts of 65,536 citizens that one process per core takes in turn:
commitments and lookup tags in the citizens' order (``CommitmentKey.commit_block``), then, after
one sort of the commitments here, each part's record leaf hashes and the roots of its full rows
of 256 (the sub-tree's level 8). Parts travel as bytes, never as an object per citizen; what is
kept are the packed rows, the tiles from level 8 up, and the private index (``bulk_form``). The
record inputs are exactly those of one citizen at a time: a property test compares the two. The
commitment key goes to our own child processes over their pipes only, as the writer process's
signing key does.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from trusthub.ledger import bulk_form, bulk_workers, merkle, tiles
from trusthub.ledger.bulk_form import COMMITMENT_SIZE, Template
from trusthub.ledger.commitments import CommitmentKey
from trusthub.ledger.entry import EntryError

PARALLEL_FROM = 200_000
"""Citizens from which a second process pays for its start (about a tenth of a second)."""
PART = 1 << 16
"""Citizens per piece of work: one level-1 tile's worth, so parts never share a row or tile."""
ROW = 1 << bulk_form.BOTTOM_LEVELS
TAG_STRIDE = 4
"""Eight-byte words in a whole lookup HMAC: an index keeps the first of each."""
LOW = np.uint64(0xFFFFFFFF)

Shapes = npt.NDArray[np.int64]
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class PreparedRecords:
    """A bulk entry's sub-tree, ready to store: packed rows of records, the tiles from tile
    level 1 up, the root, and the private index rows ``(bucket, data)``."""

    count: int
    root: bytes
    templates: bytes
    rows: list[bytes]
    tiles: dict[tiles.TileKey, tuple[int, bytes]]
    index: list[tuple[int, bytes]]

    def wire(self) -> tuple[Any, ...]:
        """The fields in order, as ``marshal`` carries them to a writer process."""
        return (self.count, self.root, self.templates, self.rows, self.tiles, self.index)

    def record_inputs(self) -> list[bytes]:
        """Every record's canonical bytes, in tree order (for tests and small entries)."""
        templates = bulk_form.decode_templates(self.templates)
        inputs: list[bytes] = []
        for row in self.rows:
            numbers, commitments = bulk_form.unpack_row(row, len(templates))
            inputs += bulk_form.record_inputs(templates, numbers, commitments)
        return inputs


def _commit_part(key: bytes, entry_id: str, ids: bytes) -> tuple[bytes, bytes]:
    """Pass one: a part's commitments and the first eight bytes of each citizen's lookup tag,
    in the citizens' order."""
    commitments, tags = CommitmentKey(key).commit_block(entry_id, ids.split(b"\n")[:-1])
    return commitments, np.frombuffer(tags, dtype=np.uint64)[::TAG_STRIDE].tobytes()


def _hash_part(
    templates: list[Template],
    width: int,
    numbers: bytes | memoryview,
    commitments: bytes | memoryview,
) -> tuple[bytes, bytes]:
    """Pass two: a sorted part's row roots (level 8), and the leaf hashes of a last short row."""
    values = list(numbers) if width == 1 else _unpack(numbers, width)
    hashes = bulk_form.leaf_hashes(templates, values, commitments)
    roots = bulk_form.bundle_roots(hashes)
    return b"".join(roots), b"".join(hashes[len(roots) * ROW :])


def _unpack(numbers: bytes | memoryview, width: int) -> list[int]:
    return np.frombuffer(numbers, dtype=f">u{width}").tolist()  # type: ignore[no-any-return]


TASKS: dict[str, Callable[..., Any]] = {"commit": _commit_part, "hash": _hash_part}
"""What a worker process may be asked to run (``bulk_workers``)."""


def build(
    key: CommitmentKey,
    entry_id: str,
    ids: bytes,
    shapes: Shapes,
    templates: Sequence[Template],
    workers: int | bulk_workers.Workers | None = None,
) -> PreparedRecords:
    """Every citizen's record in commitment order; ``ids`` holds one ``citizen_bytes`` per line
    and ``shapes[i]`` is the i-th citizen's template. ``workers`` defaults to one process per
    core for a large entry, else this process alone; a caller with other bulk work may share
    its own running ``Workers`` instead."""
    count = len(shapes)
    if count >= bulk_form.MAX_RECORDS:
        raise EntryError(f"a bulk entry holds fewer than {bulk_form.MAX_RECORDS} records")
    if workers is not None and not isinstance(workers, int):
        try:
            return _build(workers.map, key, entry_id, ids, shapes, list(templates))
        except bulk_workers.WorkerError as error:
            _warn_in_process(error)
            with _pool(1) as run:
                return _build(run, key, entry_id, ids, shapes, list(templates))
    if workers is None:
        workers = (os.cpu_count() or 1) if count >= PARALLEL_FROM else 1
    workers = max(1, min(workers, -(-count // PART)))
    try:
        with _pool(workers) as run:
            return _build(run, key, entry_id, ids, shapes, list(templates))
    except (OSError, bulk_workers.WorkerError) as error:
        if workers == 1:
            raise
        # No processes to be had (limits, a failed worker): make the records here instead.
        _warn_in_process(error)
        with _pool(1) as run:
            return _build(run, key, entry_id, ids, shapes, list(templates))


def _warn_in_process(error: Exception) -> None:
    # Imported here: worker processes load this module and never log, and structlog's import
    # is a tenth of a second of each one's start.
    import structlog

    structlog.get_logger("trusthub.ledger").warning(
        "ledger.bulk_records_in_process", error=type(error).__name__
    )


Runner = Callable[..., list[Any]]


@contextmanager
def _pool(workers: int) -> Iterator[Runner]:
    """``run(task, *columns)``: a task of ``TASKS`` over columns, in order, here or in
    ``workers`` processes."""
    if workers == 1:
        yield lambda task, *columns: list(map(TASKS[task], *columns))
        return
    with bulk_workers.Workers(workers) as processes:
        yield processes.map


def _id_parts(ids: bytes, count: int) -> list[bytes]:
    """The block of ids cut at line ends into parts of about ``PART`` citizens."""
    parts: list[bytes] = []
    step = max(1, len(ids) * PART // count)
    start = 0
    while start < len(ids):
        end = ids.find(b"\n", min(start + step, len(ids)) - 1) + 1
        parts.append(ids[start:end])
        start = end
    return parts


def _build(
    run: Runner,
    key: CommitmentKey,
    entry_id: str,
    ids: bytes,
    shapes: Shapes,
    templates: list[Template],
) -> PreparedRecords:
    count = len(shapes)
    parts = _id_parts(ids, count)
    # The key goes to our own worker processes only, over their pipes.
    secret = key._key
    made = run("commit", [secret] * len(parts), [entry_id] * len(parts), parts)
    commitments = b"".join(part for part, _ in made)
    tags = b"".join(tag for _, tag in made)
    del made
    if len(commitments) != count * COMMITMENT_SIZE:
        raise EntryError("every citizen needs one of the outcomes")
    order = _commitment_order(commitments, count)
    # One 32-byte item per commitment: a gather of whole items, not of rows of bytes.
    gathered = np.frombuffer(commitments, dtype=f"V{COMMITMENT_SIZE}")[order]
    ordered = gathered.view(np.uint8).data  # the sorted commitments, never copied again
    del commitments
    width = bulk_form.number_width(len(templates))
    numbers = shapes[order].astype(">u1" if width == 1 else f">u{width}").tobytes()
    parts_count = -(-count // PART)
    sorted_numbers, sorted_commitments = memoryview(numbers), ordered
    # The workers hash while this thread files the index and packs the rows.
    with ThreadPoolExecutor(1, thread_name_prefix="ledger-records") as side:
        hashing = side.submit(
            run,
            "hash",
            [templates] * parts_count,
            [width] * parts_count,
            [sorted_numbers[k * width : (k + PART) * width] for k in range(0, count, PART)],
            [
                sorted_commitments[k * COMMITMENT_SIZE : (k + PART) * COMMITMENT_SIZE]
                for k in range(0, count, PART)
            ],
        )
        index = _index_rows(tags, order)
        del tags, order
        rows = [
            bulk_form.pack_row(
                numbers[k * width : (k + ROW) * width],
                ordered[k * COMMITMENT_SIZE : (k + ROW) * COMMITMENT_SIZE],
            )
            for k in range(0, count, ROW)
        ]
        hashed = hashing.result()
    roots = _split(b"".join(roots for roots, _ in hashed))
    short = _split(hashed[-1][1])
    stored, root = subtree(count, roots, short)
    encoded = bulk_form.encode_templates(templates)
    return PreparedRecords(count, root, encoded, rows, stored, index)


def _split(blob: bytes) -> list[bytes]:
    return [blob[i : i + merkle.HASH_SIZE] for i in range(0, len(blob), merkle.HASH_SIZE)]


def subtree(
    count: int, roots: Sequence[bytes], short: Sequence[bytes]
) -> tuple[dict[tiles.TileKey, tuple[int, bytes]], bytes]:
    """The tiles from tile level 1 up, encoded, and the root of ``count`` records, from the
    roots of their full rows and the leaf hashes of a last short row."""
    if len(roots) != count // ROW or len(short) != count % ROW:
        raise EntryError("the rows of records do not add up to their count")
    above = tiles.extend({}, 0, list(roots))
    high = tiles.lookup(above)
    low = tiles.lookup(tiles.extend({}, 0, list(short))) if short else None
    base = len(roots) * ROW

    def node(level: int, index: int) -> bytes:
        if level >= bulk_form.BOTTOM_LEVELS:
            return high(level - bulk_form.BOTTOM_LEVELS, index)
        assert low is not None
        return low(level, index - (base >> level))

    root = merkle.range_hash(0, count, node)
    stored = {
        (level + 1, idx): (len(rows[0]), tiles.encode_tile(rows))
        for (level, idx), rows in above.items()
    }
    return stored, root


def _commitment_order(commitments: bytes, count: int) -> npt.NDArray[np.intp]:
    """Positions in commitment order. One sort of 64-bit words, each a commitment's first four
    bytes over its position (a sort of plain numbers, three times faster than an argsort), then
    any commitments that start alike put in order by all 32 bytes. Two equal commitments are
    one citizen twice."""
    first = np.frombuffer(commitments, dtype=">u8")[:: COMMITMENT_SIZE // 8].astype(np.uint64)
    words = (first & ~LOW) | np.arange(count, dtype=np.uint64)
    words.sort()
    order = (words & LOW).astype(np.intp)
    high = words >> np.uint64(32)
    ties = np.flatnonzero(high[1:] == high[:-1])
    if ties.size:
        _settle_ties(order, ties, commitments)
    return order


def _settle_ties(order: npt.NDArray[np.intp], ties: npt.NDArray[np.intp], data: bytes) -> None:
    """Sort each run of equal first eight bytes by the whole commitment (rarely more than one)."""

    def full(i: int) -> bytes:
        return data[i * COMMITMENT_SIZE : (i + 1) * COMMITMENT_SIZE]

    tied = set(ties.tolist())  # i where the i-th and (i + 1)-th commitments start alike
    for start in sorted(tied):
        if start - 1 in tied:
            continue
        end = start
        while end in tied:
            end += 1
        run = sorted(order[start : end + 1].tolist(), key=full)
        if any(full(a) == full(b) for a, b in itertools.pairwise(run)):
            raise EntryError("a citizen appears twice in one bulk decision")
        order[start : end + 1] = run


def _index_rows(tags: bytes, order: npt.NDArray[np.intp]) -> list[tuple[int, bytes]]:
    """One row per 16-bit tag prefix: the next four tag bytes and the record's position, for
    each citizen in it (grouped with one stable radix sort on the prefix; a lookup scans its
    short row, so rows need no order within)."""
    count = len(order)
    position = np.empty(count, dtype=np.uint64)
    position[order] = np.arange(count, dtype=np.uint64)
    keys = np.frombuffer(tags, dtype=">u8").astype(np.uint64)
    buckets = (keys >> np.uint64(64 - 8 * bulk_form.BUCKET_BYTES)).astype(np.uint16)
    by_bucket = np.argsort(buckets, kind="stable")
    # Each pair as one big-endian word: the four tag bytes after the prefix, then the position.
    pairs = ((keys >> np.uint64(16)) << np.uint64(32)) | position
    data = pairs[by_bucket].astype(">u8").tobytes()
    sizes = np.bincount(buckets, minlength=1 << (8 * bulk_form.BUCKET_BYTES))
    filled = np.flatnonzero(sizes)
    ends = (np.cumsum(sizes)[filled] * bulk_form.PAIR_SIZE).tolist()
    starts = [0, *ends[:-1]]
    return list(zip(filled.tolist(), map(data.__getitem__, map(slice, starts, ends)), strict=True))
