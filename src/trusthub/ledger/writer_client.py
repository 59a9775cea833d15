"""An app process's line to its ledger's shared writer server (``writer_server``).

The group-commit thread sends each batch as soon as it has one and goes on gathering the next;
a reader thread takes the server's answers, which come in the order the batches went, each only
after its commit. Every batch sent is settled exactly once: by its answer, or — when the line
breaks first — as failed, its fate left to the database (a rolled-back transaction, or a commit
whose answer was lost: a decision recorded but not acted on, the safe side). The next batch
connects again, starting a server if none answers.
"""

from __future__ import annotations

import collections
import contextlib
import marshal
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence

from trusthub.ledger.note import Signer
from trusthub.ledger.prepare import PreparedEntry
from trusthub.ledger.writer_process import encode_items
from trusthub.ledger.writer_server import (
    GRACE,
    ServerPaths,
    WireError,
    hello,
    recv_frame,
    send_frame,
    server_paths,
)

CONNECT_TIMEOUT = 60.0
"""Seconds to reach a server, starting one if need be (a new one imports SQLAlchemy first)."""
MAX_IN_FLIGHT = 32
"""Batches sent and not yet answered; beyond this the next batch grows on this side instead."""

Settle = Callable[[int, int, str | None], None]
"""Called once per batch, from the reader thread: ``(first index, tree size, error or None)``."""


class SharedWriterError(RuntimeError):
    """The writer server could not be reached, failed the batch, or went away before answering."""


def canonical_url(url: str) -> str:
    """The same database named the same way by every worker (an absolute SQLite path)."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        assert parsed.database is not None
        parsed = parsed.set(database=os.path.realpath(parsed.database))
    return parsed.render_as_string(hide_password=False)


class _Line:
    """One connection: its socket, the batches awaiting answers in order, and its reader."""

    def __init__(self, sock: socket.socket, server_pid: int) -> None:
        self.sock = sock
        self.server_pid = server_pid
        self.waiting: collections.deque[Settle] = collections.deque()
        self.lock = threading.Condition()
        self.dead = False
        self.reader = threading.Thread(target=self._read, name="ledger-writer-line", daemon=True)
        self.reader.start()

    def _read(self) -> None:
        while True:
            try:
                first, size, error = marshal.loads(recv_frame(self.sock))  # noqa: S302
            except (OSError, WireError, EOFError, ValueError, TypeError):
                break
            with self.lock:
                settle = self.waiting.popleft() if self.waiting else None
                self.lock.notify_all()
            if settle is None:
                break  # an answer to nothing: the line cannot be trusted any more
            settle(int(first), int(size), error or None)
        self.fail("the ledger writer server went away")

    def fail(self, reason: str) -> None:
        """Break the line: every batch still waiting fails, once; the reader wakes and ends."""
        with self.lock:
            self.dead = True
            orphans = list(self.waiting)
            self.waiting.clear()
            self.lock.notify_all()
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        for settle in orphans:
            settle(-1, -1, reason)

    def send(self, payload: bytes, settle: Settle) -> None:
        with self.lock:
            while len(self.waiting) >= MAX_IN_FLIGHT and not self.dead:
                self.lock.wait()
            if self.dead:
                raise SharedWriterError("the ledger writer server went away")
            self.waiting.append(settle)
        try:
            send_frame(self.sock, payload)  # one sender (the writer thread): order is kept
        except OSError:
            self.fail("the ledger writer server went away")

    def drain(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        with self.lock:
            while self.waiting and not self.dead:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self.lock.wait(remaining)

    def close(self) -> None:
        self.fail("the ledger writer stopped before the server answered")
        self.reader.join(5.0)
        self.sock.close()


class SharedWriter:
    """The handle a ``GroupCommitWriter`` in shared mode sends its batches through."""

    def __init__(
        self,
        url: str,
        signer: Signer,
        origin: str,
        *,
        directory: str | None = None,
        grace: float = GRACE,
        connect_timeout: float = CONNECT_TIMEOUT,
    ) -> None:
        self.url = canonical_url(url)
        self.signer = signer
        self.origin = origin
        self.grace = grace
        self.connect_timeout = connect_timeout
        self.paths: ServerPaths = server_paths(self.url, origin, signer.verifier.vkey, directory)
        self._line: _Line | None = None
        self._started: list[subprocess.Popen[bytes]] = []
        self.sent = 0

    @property
    def server_pid(self) -> int | None:
        line = self._line
        return None if line is None or line.dead else line.server_pid

    def connect(self) -> None:
        if self._line is None or self._line.dead:
            if self._line is not None:
                self._line.close()
            self._line = self._connect()

    def send(self, items: Sequence[PreparedEntry], settle: Settle) -> None:
        """Send a batch: either this raises (``settle`` is never called) or it is called once."""
        payload = encode_items(items)
        self.connect()
        assert self._line is not None
        try:
            self._line.send(payload, settle)
        except SharedWriterError:  # the line broke before the batch went: another line may take it
            self.connect()
            self._line.send(payload, settle)
        self.sent += 1

    def close(self, timeout: float = 30.0) -> None:
        """Wait for the answers still due, then hang up; the server stays for other processes."""
        line, self._line = self._line, None
        if line is not None:
            line.drain(timeout)
            line.close()
        self._started = [p for p in self._started if p.poll() is None]

    def _connect(self) -> _Line:
        deadline = time.monotonic() + self.connect_timeout
        delay = 0.005
        while True:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.settimeout(max(0.1, deadline - time.monotonic()))
                sock.connect(self.paths.socket)
                send_frame(sock, hello(self.paths.fingerprint, "append"))
                answer = marshal.loads(recv_frame(sock))  # noqa: S302 - our own user's server
                if answer[0] != "ok":
                    raise SharedWriterError(f"the ledger writer server refused: {answer[1]}")
                sock.settimeout(None)
                return _Line(sock, int(answer[1]))
            except (OSError, WireError, EOFError) as failed:
                sock.close()
                if time.monotonic() > deadline:
                    raise SharedWriterError("no ledger writer server could be reached") from failed
                self._start_server()
            time.sleep(delay)
            delay = min(delay * 2, 0.1)

    def _start_server(self) -> None:
        """Start a server unless ours is still starting; if another has the lock, ours just ends."""
        self._started = [p for p in self._started if p.poll() is None]
        if self._started:
            return
        read, write = os.pipe()
        environment = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        try:
            process = subprocess.Popen(  # noqa: S603 - our own module, our interpreter
                [sys.executable, "-m", "trusthub.ledger.writer_server", str(read)],
                pass_fds=(read,),
                stdin=subprocess.DEVNULL,
                env=environment,
                start_new_session=True,  # Ctrl-C and a worker's end leave its commit alone
            )
        finally:
            os.close(read)
        seed = self.signer._private.private_bytes_raw()  # to our own child only, over a pipe
        config = {
            "url": self.url,
            "name": self.signer.name,
            "seed": seed,
            "origin": self.origin,
            "socket": self.paths.socket,
            "lock": self.paths.lock,
            "key": self.paths.fingerprint,
            "grace": self.grace,
        }
        try:
            with os.fdopen(write, "wb") as pipe:
                pipe.write(marshal.dumps(config))
        except BrokenPipeError:
            pass  # it ended already; the next attempt starts another
        self._started.append(process)


def server_stats(paths: ServerPaths, timeout: float = 10.0) -> dict[str, int] | None:
    """The running server's counters (commits, batches, entries, merged…); None if none runs."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.connect(paths.socket)
            send_frame(sock, hello(paths.fingerprint, "stats"))
            stats: dict[str, int] = marshal.loads(recv_frame(sock))  # noqa: S302
        except (OSError, WireError):
            return None
    return stats
