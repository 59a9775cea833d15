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
from typing import Literal, Protocol

import structlog
from sqlalchemy import Connection, Engine

from trusthub.ledger import merkle, store, tiles
from trusthub.ledger.models import MAIN_TREE
from trusthub.ledger.note import Checkpoint, Signer, sign_checkpoint
from trusthub.ledger.prepare import PreparedEntry, PreparedRecords
from trusthub.ledger.turns import WritersTurn
from trusthub.ledger.writer_client import SharedWriter, SharedWriterError
from trusthub.ledger.writer_process import WriterProcess

log = structlog.get_logger("trusthub.ledger")

WriterMode = Literal["thread", "process", "shared"]
"""Where a batch is committed: by the writer thread itself, by a child process of this process,
or by the one writer server that every process of this ledger shares (``writer_server``)."""


class LedgerUnavailable(RuntimeError):
    """The entry could not be confirmed on the ledger; recorders must not go ahead (HTTP 503)."""


@dataclass(slots=True)
class Receipt:
    """Where an entry landed: its index, its leaf hash, and the first checkpoint that covers it.

    Not frozen: one is built per acknowledged entry on the recorders' event loop, and a frozen
    dataclass's ``__init__`` costs four times as much.
    """

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


class Appendable(Protocol):
    """What appending needs of an entry: a ``PreparedEntry``, or its bytes sent to a process."""

    @property
    def leaf_input(self) -> bytes: ...
    @property
    def leaf_hash(self) -> bytes: ...
    @property
    def citizen_tags(self) -> tuple[tuple[bytes, int], ...]: ...
    @property
    def records(self) -> PreparedRecords | None: ...


def build_batch(
    edge: Edge, items: Sequence[Appendable], signer: Signer, origin: str
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
    citizens = [
        (tag, index, position)
        for index, item in enumerate(items, start)
        for tag, position in item.citizen_tags
    ]
    bulk = [(i, item.records) for i, item in enumerate(items, start) if item.records is not None]
    edge.size = size
    root = merkle.range_hash(0, size, edge.lookup()) if size else merkle.EMPTY_ROOT
    note = sign_checkpoint(Checkpoint(origin, size, root), [signer])
    return store.Batch(size, bundles, out_tiles, citizens, root, note, bulk)


def append_batch(
    connection: Connection,
    items: Sequence[Appendable],
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


class _Waiters:
    """The async recorders of one batch on one event loop: one wake-up call and one timer."""

    __slots__ = ("deadlines", "futures", "positions", "timer")

    def __init__(self) -> None:
        self.futures: list[asyncio.Future[Receipt]] = []
        self.positions: list[int] = []
        self.deadlines: list[float] = []
        self.timer: asyncio.TimerHandle | None = None


class _Stage:
    """Entries queued on one event loop since its last turn, handed to the writer together.

    One lock round per loop turn instead of one per recorder: with thousands of recorders the
    lock's hand-offs to and from the writer thread cost more than the recording itself.
    """

    __slots__ = ("deadlines", "futures", "items")

    def __init__(self) -> None:
        self.items: list[PreparedEntry] = []
        self.futures: list[asyncio.Future[Receipt]] = []
        self.deadlines: list[float] = []


class _Batch:
    __slots__ = ("done", "error", "first", "items", "tree_size", "waiters")

    def __init__(self) -> None:
        self.items: list[PreparedEntry] = []
        self.done = threading.Event()
        self.error: BaseException | None = None
        self.first = -1
        self.tree_size = -1
        self.waiters: dict[asyncio.AbstractEventLoop, _Waiters] = {}


HAND_OVER_AT = 128
"""A loop's queued entries go to the writer at the end of its turn or when this many wait, so
that the writer starts on a batch while the loop is still waking the last batch's recorders."""

_NOT_CONFIRMED = "the entry was not confirmed in time; its fate is unknown"


def _settle(batch: _Batch, waiters: _Waiters) -> None:
    """Runs on the recorders' loop once the batch is decided: wakes each of them, once."""
    if waiters.timer is not None:
        waiters.timer.cancel()
        waiters.timer = None
    error, first, size, items = batch.error, batch.first, batch.tree_size, batch.items
    for future, position in zip(waiters.futures, waiters.positions, strict=True):
        if future.done():  # a cancelled or timed-out recorder has gone already
            continue
        if error is not None:
            failed = LedgerUnavailable("the ledger could not commit the entry")
            failed.__cause__ = error
            future.set_exception(failed)
        else:
            item = items[position]
            future.set_result(Receipt(first + position, item.leaf_hash, item.entry.id, size))


def _expire(loop: asyncio.AbstractEventLoop, waiters: _Waiters) -> None:
    """Fail the recorders whose timeout has passed; re-arm for the next deadline, if any."""
    now = loop.time()
    upcoming = float("inf")
    for future, deadline in zip(waiters.futures, waiters.deadlines, strict=True):
        if future.done():
            continue
        if deadline <= now:
            future.set_exception(LedgerUnavailable(_NOT_CONFIRMED))
        else:
            upcoming = min(upcoming, deadline)
    waiters.timer = (
        None if upcoming == float("inf") else loop.call_at(upcoming, _expire, loop, waiters)
    )


class GroupCommitWriter:
    """The single writer of one ledger database, shared by every recorder in the process.

    With ``mode="process"`` (or ``process=True``) the database work of each batch runs in a child
    process (``writer_process``), so the recorders' event loop keeps this process's GIL to
    itself. With ``mode="shared"`` each batch goes to the ledger's writer server, which merges
    the batches of every process (every uvicorn worker) into one commit (``writer_server``).
    """

    def __init__(
        self,
        engine: Engine,
        signer: Signer,
        origin: str,
        *,
        max_pending: int = 100_000,
        process: bool = False,
        mode: WriterMode | None = None,
        shared_grace: float | None = None,
    ) -> None:
        self.engine = engine
        self.mode: WriterMode = mode or ("process" if process else "thread")
        self._worker: WriterProcess | None = None
        self._shared: SharedWriter | None = None
        self._shared_grace = shared_grace
        self.signer = signer
        self.origin = origin
        self.max_pending = max_pending
        self._lock = threading.Lock()
        self._space = threading.Condition(self._lock)
        self._pending = threading.Event()
        self._open = _Batch()
        self._stages: dict[asyncio.AbstractEventLoop, _Stage] = {}
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._connection: Connection | None = None
        self._edge: Edge | None = None
        self._turn = WritersTurn(engine)
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
        url = self.engine.url.render_as_string(hide_password=False)
        if self.mode != "thread" and self.engine.url.database in (None, "", ":memory:"):
            log.warning("ledger.writer_process_needs_a_shared_database", mode=self.mode)
            self.mode = "thread"  # another process cannot see a private in-memory database
        if self.mode == "process":
            self._worker = WriterProcess(url, self.signer, self.origin)
            self._worker.start()
        elif self.mode == "shared":
            self._shared = SharedWriter(url, self.signer, self.origin)
            if self._shared_grace is not None:
                self._shared.grace = self._shared_grace
            self._shared.connect()  # start the server now, not on the first recorder's time
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
        if self._worker is not None:
            self._worker.stop(timeout)
            self._worker = None
        if self._shared is not None:
            self._shared.close(timeout)  # every batch sent is answered or failed by now
            self._shared = None
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        self._turn.close()

    def submit(self, prepared: PreparedEntry) -> tuple[_Batch, int]:
        with self._lock:
            return self._enqueue(prepared)

    def _enqueue(self, prepared: PreparedEntry) -> tuple[_Batch, int]:
        return self._enqueue_many([prepared])

    def _enqueue_many(self, prepared: Sequence[PreparedEntry]) -> tuple[_Batch, int]:
        """Add entries to the open batch (lock held); returns it and the first one's position."""
        if self._stopping or self._thread is None:
            raise LedgerUnavailable("the ledger writer is not running")
        while len(self._open.items) >= self.max_pending:
            if not self._space.wait(timeout=30.0):
                raise LedgerUnavailable("the ledger writer is not keeping up")
        batch = self._open
        start = len(batch.items)
        batch.items.extend(prepared)
        if start == 0:
            self._pending.set()
        return batch, start

    def append(self, prepared: PreparedEntry, timeout: float | None = None) -> Receipt:
        """Queue one entry and block until its batch is committed."""
        batch, position = self.submit(prepared)
        if not batch.done.wait(timeout):
            raise LedgerUnavailable(_NOT_CONFIRMED)
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
        """Queue one entry and wait without blocking the event loop.

        Each recorder awaits a future of its own (so cancelling one cancels no other). The
        entries queued in one turn of the loop reach the writer together at the end of that turn
        (``_hand_over``); the writer wakes all of a batch's recorders on a loop with one
        thread-safe call, and one timer per batch and loop enforces the timeouts.
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Receipt] = loop.create_future()
        stage = self._stages.get(loop)
        if stage is None:
            stage = self._stages[loop] = _Stage()
            loop.call_soon(self._hand_over, loop)
        stage.items.append(prepared)
        stage.futures.append(future)
        stage.deadlines.append(float("inf") if timeout is None else loop.time() + timeout)
        if len(stage.items) >= HAND_OVER_AT:
            self._hand_over(loop)
        return await future

    def _hand_over(self, loop: asyncio.AbstractEventLoop) -> None:
        """Give the writer one loop turn's entries under one lock; fail them all if it is down."""
        stage = self._stages.pop(loop, None)
        if stage is None:
            return  # handed over already, when it filled up
        try:
            with self._lock:
                batch, start = self._enqueue_many(stage.items)
                waiters = batch.waiters.get(loop)
                if waiters is None:
                    waiters = batch.waiters[loop] = _Waiters()
                waiters.futures.extend(stage.futures)
                waiters.positions.extend(range(start, start + len(stage.items)))
                waiters.deadlines.extend(stage.deadlines)
                soonest = min(stage.deadlines)
                if waiters.timer is None and soonest != float("inf"):
                    waiters.timer = loop.call_at(soonest, _expire, loop, waiters)
        except LedgerUnavailable as refused:
            for future in stage.futures:
                if not future.done():
                    future.set_exception(LedgerUnavailable(*refused.args))

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

    def _send(self, shared: SharedWriter, batch: _Batch) -> None:
        """Hand the batch to the writer server; its answer settles it on the line's reader."""

        def settle(first: int, size: int, error: str | None) -> None:
            if error is None:
                batch.first, batch.tree_size = first, size
                self.batches += 1
            else:
                log.error("ledger.commit_failed", entries=len(batch.items), error=error)
                batch.error = SharedWriterError(error)
            self._finish(batch)

        try:
            shared.send(batch.items, settle)
        except Exception as error:  # not sent: nothing of it can be in the log
            log.error("ledger.commit_failed", entries=len(batch.items), error=type(error).__name__)
            batch.error = error
            self._finish(batch)

    def _commit(self, batch: _Batch) -> None:
        if self._shared is not None:
            self._send(self._shared, batch)
            return
        try:
            if self._worker is not None:
                batch.first, batch.tree_size = self._worker.append(batch.items)
                self.batches += 1
                return
            if self._connection is None:
                self._connection = self.engine.connect()
            connection = self._connection
            with self._turn.held(), connection.begin():
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
            self._finish(batch)

    @staticmethod
    def _finish(batch: _Batch) -> None:
        """The batch is decided: wake its blocking recorders and, on each loop, its async ones."""
        batch.done.set()
        for loop, waiters in batch.waiters.items():
            # RuntimeError: that event loop has closed; nobody is waiting there any more.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_settle, batch, waiters)
