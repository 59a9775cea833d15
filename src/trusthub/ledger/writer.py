"""Group commit: many recorders, one writer thread, one durable transaction per batch.

Recorders hand prepared entries to the writer and wait. The writer takes everything queued since
its last commit, appends it to the tree, signs a checkpoint for the new size and commits the
lot in one transaction (fsync'd: SQLite runs with synchronous=FULL). Only then does it wake the
recorders with their indices, so an acknowledged entry is always on disk and under a signed
checkpoint, and a crash at any moment leaves either the whole batch or none of it.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

import structlog
from sqlalchemy import Connection, Engine

from trusthub.ledger import merkle, store, tiles
from trusthub.ledger.models import MAIN_TREE
from trusthub.ledger.note import Checkpoint, Signer, sign_checkpoint
from trusthub.ledger.prepare import PreparedEntry

log = structlog.get_logger("trusthub.ledger")


class LedgerUnavailable(RuntimeError):
    """The entry could not be confirmed on the ledger; recorders must not go ahead (HTTP 503)."""


@dataclass(frozen=True, slots=True)
class Receipt:
    """Where an entry landed: its index, its leaf hash, and the first checkpoint that covers it."""

    index: int
    leaf_hash: bytes
    entry_id: str
    tree_size: int


@dataclass(slots=True)
class Edge:
    """The right edge of the main tree: all a writer needs in memory to append."""

    size: int
    tiles: dict[int, tiles.Rows] = field(default_factory=dict)
    bundle: list[bytes] = field(default_factory=list)

    def lookup(self) -> merkle.NodeLookup:
        keyed = {
            (level, tiles.edge_keys_index(self.size, level)): rows
            for level, rows in self.tiles.items()
        }
        return tiles.lookup(keyed)


def load_edge(connection: Connection, size: int) -> Edge:
    edge_tiles, bundle = store.read_edge(connection, size)
    return Edge(size, edge_tiles, bundle)


def build_batch(
    edge: Edge, items: Sequence[PreparedEntry], signer: Signer, origin: str
) -> store.Batch:
    """Append items to the edge (in place) and return the rows to write, checkpoint included."""
    start = edge.size
    touched = tiles.extend(edge.tiles, start, [item.leaf_hash for item in items])
    size = start + len(items)
    out_tiles = {
        (MAIN_TREE, level, idx): (len(rows[0]), tiles.encode_tile(rows))
        for (level, idx), rows in touched.items()
    }
    leaves = edge.bundle + [item.leaf_input for item in items]
    first_bundle = start // tiles.BUNDLE_SIZE
    bundles = {
        (MAIN_TREE, first_bundle + k // tiles.BUNDLE_SIZE): tiles.encode_bundle(
            leaves[k : k + tiles.BUNDLE_SIZE]
        )
        for k in range(0, len(leaves), tiles.BUNDLE_SIZE)
    }
    edge.bundle = (
        leaves[len(leaves) - size % tiles.BUNDLE_SIZE :] if size % tiles.BUNDLE_SIZE else []
    )
    citizens: list[tuple[bytes, int, int]] = []
    for offset, item in enumerate(items):
        index = start + offset
        citizens.extend((tag, index, position) for tag, position in item.citizen_tags)
        if item.records is not None:
            tree = index + 1
            records = item.records.inputs
            for k in range(0, len(records), tiles.BUNDLE_SIZE):
                bundles[(tree, k // tiles.BUNDLE_SIZE)] = tiles.encode_bundle(
                    records[k : k + tiles.BUNDLE_SIZE]
                )
            for (level, idx), encoded in item.records.tiles.items():
                out_tiles[(tree, level, idx)] = encoded
    edge.size = size
    root = merkle.range_hash(0, size, edge.lookup()) if size else merkle.EMPTY_ROOT
    note = sign_checkpoint(Checkpoint(origin, size, root), [signer])
    return store.Batch(size, bundles, out_tiles, citizens, root, note)


def append_batch(
    connection: Connection,
    items: Sequence[PreparedEntry],
    signer: Signer,
    origin: str,
    edge: Edge | None = None,
) -> tuple[int, Edge]:
    """Append in the caller's transaction; returns the first index and the edge to keep."""
    size = store.lock_head(connection)
    if edge is None or edge.size != size:
        edge = load_edge(connection, size)
    batch = build_batch(edge, items, signer, origin)
    store.write_batch(connection, batch)
    return size, edge


class _Batch:
    __slots__ = ("done", "error", "first", "futures", "items", "tree_size")

    def __init__(self) -> None:
        self.items: list[PreparedEntry] = []
        self.done = threading.Event()
        self.error: BaseException | None = None
        self.first = -1
        self.tree_size = -1
        self.futures: dict[asyncio.AbstractEventLoop, asyncio.Future[None]] = {}


def _settle(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class GroupCommitWriter:
    """The single writer of one ledger database, shared by every recorder in the process."""

    def __init__(
        self, engine: Engine, signer: Signer, origin: str, *, max_pending: int = 100_000
    ) -> None:
        self.engine = engine
        self.signer = signer
        self.origin = origin
        self.max_pending = max_pending
        self._lock = threading.Lock()
        self._space = threading.Condition(self._lock)
        self._pending = threading.Event()
        self._open = _Batch()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._connection: Connection | None = None
        self._edge: Edge | None = None
        self.batches = 0

    def start(self) -> None:
        """Make sure the log has a signed checkpoint (size 0 when new) and start writing."""
        if self._thread is not None:
            return
        with self.engine.begin() as connection:
            size = store.lock_head(connection)
            if size == 0 and store.latest_checkpoint(connection) is None:
                empty = sign_checkpoint(
                    Checkpoint(self.origin, 0, merkle.EMPTY_ROOT), [self.signer]
                )
                store.write_batch(connection, store.Batch(0, {}, {}, [], merkle.EMPTY_ROOT, empty))
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="ledger-writer", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Commit what is queued, then stop; later appends fail with LedgerUnavailable."""
        thread = self._thread
        if thread is None:
            return
        with self._lock:
            self._stopping = True
            self._pending.set()
        thread.join(timeout)
        self._thread = None
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def submit(self, prepared: PreparedEntry) -> tuple[_Batch, int]:
        with self._lock:
            return self._enqueue(prepared)

    def _enqueue(self, prepared: PreparedEntry) -> tuple[_Batch, int]:
        if self._stopping or self._thread is None:
            raise LedgerUnavailable("the ledger writer is not running")
        while len(self._open.items) >= self.max_pending:
            if not self._space.wait(timeout=30.0):
                raise LedgerUnavailable("the ledger writer is not keeping up")
        batch = self._open
        batch.items.append(prepared)
        if len(batch.items) == 1:
            self._pending.set()
        return batch, len(batch.items) - 1

    def append(self, prepared: PreparedEntry, timeout: float | None = None) -> Receipt:
        """Queue one entry and block until its batch is committed."""
        batch, position = self.submit(prepared)
        if not batch.done.wait(timeout):
            raise LedgerUnavailable("the entry was not confirmed in time; its fate is unknown")
        return self._receipt(batch, position)

    def append_many(
        self, prepared: Sequence[PreparedEntry], timeout: float | None = None
    ) -> list[Receipt]:
        """Queue several entries at once and wait for all of them."""
        tickets = [self.submit(item) for item in prepared]
        for batch in {id(b): b for b, _ in tickets}.values():
            if not batch.done.wait(timeout):
                raise LedgerUnavailable("entries were not confirmed in time; their fate is unknown")
        return [self._receipt(batch, position) for batch, position in tickets]

    async def append_async(self, prepared: PreparedEntry, timeout: float | None = None) -> Receipt:
        """Queue one entry and wait without blocking the event loop; one wake-up per batch."""
        loop = asyncio.get_running_loop()
        with self._lock:
            batch, position = self._enqueue(prepared)
            future = batch.futures.get(loop)
            if future is None:
                future = batch.futures[loop] = loop.create_future()
        try:
            # Shielded: a cancelled recorder must not cancel the batch's shared future.
            await asyncio.wait_for(asyncio.shield(future), timeout)
        except TimeoutError:
            raise LedgerUnavailable(
                "the entry was not confirmed in time; its fate is unknown"
            ) from None
        return self._receipt(batch, position)

    @staticmethod
    def _receipt(batch: _Batch, position: int) -> Receipt:
        if batch.error is not None:
            raise LedgerUnavailable("the ledger could not commit the entry") from batch.error
        item = batch.items[position]
        return Receipt(batch.first + position, item.leaf_hash, item.entry.id, batch.tree_size)

    def _run(self) -> None:
        while True:
            self._pending.wait(timeout=1.0)
            with self._lock:
                batch = self._open
                if not batch.items:
                    self._pending.clear()
                    if self._stopping:
                        return
                    continue
                self._open = _Batch()
                self._pending.clear()
                self._space.notify_all()
            self._commit(batch)

    def _commit(self, batch: _Batch) -> None:
        try:
            if self._connection is None:
                self._connection = self.engine.connect()
            connection = self._connection
            with connection.begin():
                first, edge = append_batch(
                    connection, batch.items, self.signer, self.origin, self._edge
                )
            self._edge = edge
            batch.first, batch.tree_size = first, edge.size
            self.batches += 1
        except Exception as error:
            # Rolled back: nothing of the batch is stored. Forget the cached edge and connection.
            log.error("ledger.commit_failed", entries=len(batch.items), error=type(error).__name__)
            batch.error = error
            self._edge = None
            if self._connection is not None:
                self._connection.invalidate()
                self._connection.close()
                self._connection = None
        finally:
            batch.done.set()
            for loop, future in batch.futures.items():
                # RuntimeError: that event loop has closed; nobody is waiting there any more.
                with contextlib.suppress(RuntimeError):
                    loop.call_soon_threadsafe(_settle, future)
