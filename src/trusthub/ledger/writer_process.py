"""The writer's database work in a process of its own, so appends do not share the recorders' GIL.

The group-commit thread stays in the recorders' process: it still collects batches and wakes
recorders, but hands each batch over a pipe (``marshal``: bytes, ints and tuples only) to a
child process that appends it, signs the checkpoint and commits. The child replies only after
the commit, so an acknowledged entry is still durable and signed; if the child dies mid-batch,
the database rolls the transaction back and the batch's recorders get ``LedgerUnavailable``.
Several processes (uvicorn workers, each with its own child) may append to one database: every
batch takes the head row's lock first (``store.lock_head``), after the writers' turn on SQLite
(``turns``).
"""

from __future__ import annotations

import marshal
import signal
from collections.abc import Sequence
from multiprocessing import get_context
from multiprocessing.connection import Connection as Pipe
from multiprocessing.process import BaseProcess
from typing import NamedTuple

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Connection, Engine

from trusthub.ledger.note import Signer
from trusthub.ledger.prepare import PreparedEntry, PreparedRecords

READY = b"ready"
START_TIMEOUT = 60.0


class WriterProcessError(RuntimeError):
    """The writer process failed the batch (rolled back) or is gone."""


class WireEntry(NamedTuple):
    """What the child needs of a prepared entry: the bytes to store, never the decoded entry."""

    leaf_input: bytes
    leaf_hash: bytes
    citizen_tags: tuple[tuple[bytes, int], ...]
    records: PreparedRecords | None


def encode_items(items: Sequence[PreparedEntry]) -> bytes:
    return marshal.dumps(
        [
            (
                item.leaf_input,
                item.leaf_hash,
                item.citizen_tags,
                None if item.records is None else item.records.wire(),
            )
            for item in items
        ]
    )


def decode_items(data: bytes) -> list[WireEntry]:
    return [
        WireEntry(leaf, digest, tags, None if records is None else PreparedRecords(*records))
        for leaf, digest, tags, records in marshal.loads(data)  # noqa: S302 - our own child's pipe
    ]


def _serve(pipe: Pipe, url: str, name: str, seed: bytes, origin: str) -> None:
    """The child's loop: one batch in, one commit, one reply; exits when the parent goes away."""
    from trusthub.db import make_engine
    from trusthub.ledger.turns import WritersTurn
    from trusthub.ledger.writer import Edge, append_batch

    # Ctrl-C reaches the whole process group: let the parent decide, and finish any commit.
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    engine: Engine = make_engine(url)
    turn = WritersTurn(engine)
    signer = Signer(name, Ed25519PrivateKey.from_private_bytes(seed))
    del seed
    connection: Connection | None = None
    edge: Edge | None = None
    pipe.send_bytes(READY)
    while True:
        try:
            data = pipe.recv_bytes()
        except (EOFError, OSError):
            break
        items = decode_items(data)
        try:
            if connection is None:
                connection = engine.connect()
            with turn.held(), connection.begin():
                first, edge = append_batch(connection, items, signer, origin, edge)
            reply: tuple[int, int, str] = (first, edge.size, "")
        except Exception as error:
            # Rolled back; forget the edge and the connection, as the in-process writer does.
            reply = (-1, -1, type(error).__name__)
            edge = None
            if connection is not None:
                connection.invalidate()
                connection.close()
                connection = None
        try:
            pipe.send_bytes(marshal.dumps(reply))
        except (BrokenPipeError, OSError):
            break
    turn.close()
    engine.dispose()


class WriterProcess:
    """The parent's handle on one child writer: send a batch, block (GIL released) for its fate."""

    def __init__(self, url: str, signer: Signer, origin: str) -> None:
        self.url = url
        self.signer = signer
        self.origin = origin
        self._pipe: Pipe | None = None
        self._process: BaseProcess | None = None

    def start(self) -> None:
        context = get_context("spawn")  # never fork a process that runs threads
        parent, child = context.Pipe()
        seed = self.signer._private.private_bytes_raw()  # to our own child only, over a pipe
        process = context.Process(
            target=_serve,
            args=(child, self.url, self.signer.name, seed, self.origin),
            name="ledger-writer",
            daemon=True,
        )
        process.start()
        child.close()
        if not parent.poll(START_TIMEOUT) or parent.recv_bytes() != READY:
            process.kill()
            raise WriterProcessError("the ledger writer process did not start")
        self._pipe, self._process = parent, process

    @property
    def running(self) -> bool:
        return self._pipe is not None

    def append(self, items: Sequence[PreparedEntry]) -> tuple[int, int]:
        """Append and commit a batch in the child: ``(first index, new tree size)``."""
        if self._pipe is None:
            self.start()
        assert self._pipe is not None
        try:
            self._pipe.send_bytes(encode_items(items))
            first, size, error = marshal.loads(self._pipe.recv_bytes())  # noqa: S302
        except (EOFError, OSError) as gone:
            self.stop()  # the batch's fate is settled by the database; start afresh next time
            raise WriterProcessError("the ledger writer process went away") from gone
        if error:
            raise WriterProcessError(f"the ledger writer process could not commit: {error}")
        return int(first), int(size)

    def stop(self, timeout: float = 30.0) -> None:
        """Close the pipe: the child finishes any commit under way, then exits."""
        pipe, process = self._pipe, self._process
        self._pipe = self._process = None
        if pipe is not None:
            pipe.close()
        if process is not None:
            process.join(timeout)
            if process.is_alive():
                process.kill()
                process.join()
