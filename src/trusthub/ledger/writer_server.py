"""One ledger writer per database for all of a server's worker processes, over a Unix socket.

Each uvicorn worker used to commit its own batches, and two workers' writers took turns on the
head row (and, on SQLite, on the writers' turn): half-sized batches, each waiting for the other's
commit. Here one process per ledger database takes prepared batches from every app process
(``writer_client``), merges everything that arrived while its previous commit ran into one
transaction, signs the checkpoint, commits, and only then answers each batch with its first
index and the new tree size. If it dies mid-batch the transaction rolls back and its clients fail
their batches (``LedgerUnavailable``); the next batch starts a new server.

The app processes start it themselves (``python -m trusthub.ledger.writer_server``, which imports
only what the work needs): the database URL and signing seed arrive over a pipe, never in argv or
the environment. An exclusive ``flock`` on a lock file beside the socket, held for the server's
life, decides which one serves: a second server that loses it exits at once, and a stale socket
file is simply replaced by the lock's holder. The server ends once its last client has gone and
none came back within a grace period. The socket lives in a directory only our user may enter,
and a peer of another user is refused as well.

Only the standard library is imported at the top: a server that loses the lock costs little.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import marshal
import os
import selectors
import signal
import socket
import struct
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any

PROTOCOL = 1
GRACE = 10.0
"""Seconds a server waits for a client after its last one has gone before it exits."""
_HEADER = struct.Struct("!Q")
_READ_CHUNK = 1 << 20
_SOCKET_PATH_MAX = 100  # sun_path holds 108 bytes on Linux, 104 on macOS


class WireError(RuntimeError):
    """The other end of a writer socket closed, or sent something we cannot read."""


@dataclass(frozen=True)
class ServerPaths:
    """Where the writer server of one ledger (database, origin and key) listens and locks."""

    socket: str
    lock: str
    fingerprint: str


def fingerprint(url: str, origin: str, verifier_key: str) -> str:
    """One server per database, log name and signing key: clients of another key get their own."""
    return hashlib.sha256(f"{url}\n{origin}\n{verifier_key}".encode()).hexdigest()


def private_directory(base: str | None = None) -> str:
    """A directory only this user may enter (made if missing; refused if anyone else could)."""
    path = os.path.join(base or tempfile.gettempdir(), f"trusthub-{os.getuid()}")
    if len(path) > _SOCKET_PATH_MAX - 30:
        if base is not None:
            raise ValueError(f"{base} is too long a place for a Unix socket")
        path = f"/tmp/trusthub-{os.getuid()}"  # noqa: S108 - checked below like any other
    os.makedirs(path, mode=0o700, exist_ok=True)
    status = os.lstat(path)
    if not os.path.isdir(path) or os.path.islink(path):
        raise PermissionError(f"{path} is not a plain directory")
    if status.st_uid != os.getuid() or status.st_mode & 0o077:
        raise PermissionError(f"{path} must belong to this user alone (mode 0700)")
    return path


def server_paths(url: str, origin: str, verifier_key: str, base: str | None = None) -> ServerPaths:
    key = fingerprint(url, origin, verifier_key)
    directory = private_directory(base)
    stem = os.path.join(directory, f"ledger-{key[:20]}")
    return ServerPaths(f"{stem}.sock", f"{stem}.lock", key)


def frame(payload: bytes) -> bytes:
    return _HEADER.pack(len(payload)) + payload


def send_frame(sock: socket.socket, payload: bytes) -> None:
    if len(payload) < 1 << 16:
        sock.sendall(frame(payload))
    else:  # no copy of a large batch just to put eight bytes in front of it
        sock.sendall(_HEADER.pack(len(payload)))
        sock.sendall(payload)


def _exactly(sock: socket.socket, size: int) -> bytes:
    buffer = bytearray(size)
    view = memoryview(buffer)
    got = 0
    while got < size:
        count = sock.recv_into(view[got:])
        if count == 0:
            raise WireError("the writer socket closed")
        got += count
    return bytes(buffer)


def recv_frame(sock: socket.socket) -> bytes:
    (size,) = _HEADER.unpack(_exactly(sock, _HEADER.size))
    return _exactly(sock, size)


def take_frames(buffer: bytearray) -> list[bytes]:
    """The whole frames at the front of a client's buffer (removed from it); a partial one stays."""
    frames: list[bytes] = []
    start = 0
    while len(buffer) - start >= _HEADER.size:
        (size,) = _HEADER.unpack_from(buffer, start)
        end = start + _HEADER.size + size
        if end > len(buffer):
            break
        frames.append(bytes(buffer[start + _HEADER.size : end]))
        start = end
    del buffer[:start]
    return frames


def hello(key: str, kind: str) -> bytes:
    """A client's first frame: which ledger it means, and whether it appends or asks for stats."""
    return marshal.dumps(("trusthub-ledger-writer", PROTOCOL, key, kind))


# --- the server -----------------------------------------------------------------------------


@dataclass
class Stats:
    """What the server has done, for tests and operators: ``commits < batches`` means merging."""

    commits: int = 0
    batches: int = 0
    entries: int = 0
    merged: int = 0  # commits holding batches of more than one client
    failed: int = 0

    def as_dict(self, clients: int) -> dict[str, int]:
        return {
            "pid": os.getpid(),
            "clients": clients,
            "commits": self.commits,
            "batches": self.batches,
            "entries": self.entries,
            "merged": self.merged,
            "failed": self.failed,
        }


@dataclass(eq=False)
class _Client:
    sock: socket.socket
    buffer: bytearray = field(default_factory=bytearray)
    greeted: bool = False
    gone: bool = False


class _Committer:
    """The database side: one connection, the cached right edge, one transaction per round."""

    def __init__(self, url: str, name: str, seed: bytes, origin: str) -> None:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        from trusthub.db import make_engine
        from trusthub.ledger.note import Signer
        from trusthub.ledger.turns import WritersTurn

        self.engine = make_engine(url)
        self.turn = WritersTurn(self.engine)
        self.signer = Signer(name, Ed25519PrivateKey.from_private_bytes(seed))
        self.origin = origin
        self.connection: Any = None
        self.edge: Any = None

    def commit(self, items: list[Any]) -> tuple[int, int]:
        from trusthub.ledger.writer import append_batch

        try:
            if self.connection is None:
                self.connection = self.engine.connect()
            with self.turn.held(), self.connection.begin():
                first, self.edge = append_batch(
                    self.connection, items, self.signer, self.origin, self.edge
                )
            return first, int(self.edge.size)
        except Exception:
            # Rolled back: forget the edge and the connection, as the in-process writer does.
            self.edge = None
            if self.connection is not None:
                self.connection.invalidate()
                self.connection.close()
                self.connection = None
            raise

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
        self.turn.close()
        self.engine.dispose()


class Server:
    """The loop: accept, read whole frames, commit all that waits in one transaction, answer."""

    def __init__(
        self, listener: socket.socket, key: str, committer: _Committer, grace: float
    ) -> None:
        self.listener = listener
        self.key = key
        self.committer = committer
        self.grace = grace
        self.stats = Stats()
        self.clients: dict[socket.socket, _Client] = {}
        self.selector = selectors.DefaultSelector()
        self.selector.register(listener, selectors.EVENT_READ, None)
        self.stopping = False

    def run(self) -> None:
        idle_since = time.monotonic()
        while not self.stopping:
            pending: list[tuple[_Client, bytes]] = []
            for selected, _ in self.selector.select(timeout=1.0):
                if selected.data is None:
                    self._accept()
                else:
                    pending.extend(self._read(selected.data))
            if pending:
                self._commit(pending)
            if self.clients:
                idle_since = time.monotonic()
            elif time.monotonic() - idle_since > self.grace:
                return

    def _accept(self) -> None:
        while True:
            try:
                sock, _ = self.listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            if not _same_user(sock):
                sock.close()
                continue
            sock.setblocking(False)
            client = _Client(sock)
            self.clients[sock] = client
            self.selector.register(sock, selectors.EVENT_READ, client)

    def _read(self, client: _Client) -> list[tuple[_Client, bytes]]:
        """Everything the client has sent so far; its whole batches are returned to commit."""
        closed = False
        while True:
            try:
                chunk = client.sock.recv(_READ_CHUNK)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                closed = True
                break
            if not chunk:
                closed = True
                break
            client.buffer += chunk
        batches: list[tuple[_Client, bytes]] = []
        for payload in take_frames(client.buffer):
            if client.greeted:
                batches.append((client, payload))
            elif not self._greet(client, payload):
                closed = True
                break
        if closed:
            self._drop(client)  # its batches already received are still committed: safe side
        return batches

    def _greet(self, client: _Client, payload: bytes) -> bool:
        try:
            magic, protocol, key, kind = marshal.loads(payload)  # noqa: S302 - same user only
        except (EOFError, ValueError, TypeError):
            return False
        if magic != "trusthub-ledger-writer" or protocol != PROTOCOL or key != self.key:
            self._reply(client, [marshal.dumps(("refused", "another ledger or protocol"))])
            return False
        if kind == "stats":
            self._reply(client, [marshal.dumps(self.stats.as_dict(len(self.clients)))])
            return False
        client.greeted = True
        self._reply(client, [marshal.dumps(("ok", os.getpid()))])
        return True

    def _commit(self, pending: list[tuple[_Client, bytes]]) -> None:
        from trusthub.ledger.writer_process import decode_items

        replies: dict[_Client, list[bytes]] = {}
        parts: list[tuple[_Client, int]] = []  # (client, entries) in commit order
        items: list[Any] = []
        for client, payload in pending:
            try:
                decoded = decode_items(payload)
            except Exception:  # a batch we cannot read fails alone
                parts.append((client, -1))
                continue
            items.extend(decoded)
            parts.append((client, len(decoded)))
        self.stats.batches += len(pending)
        outcome: tuple[int, int] | str
        try:
            outcome = self.committer.commit(items) if items else (0, 0)
        except Exception as error:
            _log("ledger.writer_server.failed", entries=len(items), error=type(error).__name__)
            outcome = type(error).__name__
        if items:
            if isinstance(outcome, str):
                self.stats.failed += 1
            else:
                self.stats.commits += 1
                self.stats.entries += len(items)
                if len({client for client, count in parts if count > 0}) > 1:
                    self.stats.merged += 1
        offset = outcome[0] if isinstance(outcome, tuple) else 0
        for client, count in parts:
            if count < 0:
                reply = marshal.dumps((-1, -1, "the batch could not be read"))
            elif isinstance(outcome, str):
                reply = marshal.dumps((-1, -1, outcome))
            else:
                reply = marshal.dumps((offset, outcome[1], ""))
                offset += count
            replies.setdefault(client, []).append(reply)
        for client, answers in replies.items():
            self._reply(client, answers)

    def _reply(self, client: _Client, payloads: list[bytes]) -> None:
        """Answers are small: a client whose socket cannot take them now has stopped reading."""
        if client.gone:
            return
        try:
            client.sock.sendall(b"".join(frame(p) for p in payloads))
        except OSError:
            self._drop(client)

    def _drop(self, client: _Client) -> None:
        if client.gone:
            return
        client.gone = True
        self.clients.pop(client.sock, None)
        self.selector.unregister(client.sock)
        client.sock.close()

    def close(self) -> None:
        for client in list(self.clients.values()):
            self._drop(client)
        self.selector.close()


def _same_user(sock: socket.socket) -> bool:
    if not hasattr(socket, "SO_PEERCRED"):
        return True  # the directory's mode 0700 still keeps other users out
    credentials = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", credentials)
    return bool(uid == os.getuid())


def _log(event: str, **fields: object) -> None:
    import structlog

    structlog.get_logger("trusthub.ledger").error(event, **fields)


def _read_config(fd: int) -> dict[str, Any]:
    chunks = []
    with os.fdopen(fd, "rb") as pipe:
        while chunk := pipe.read(1 << 16):
            chunks.append(chunk)
    config: dict[str, Any] = marshal.loads(b"".join(chunks))  # noqa: S302 - our parent's pipe
    return config


def main(fd: int) -> int:
    """Serve one ledger until idle; exit 0 at once if another server holds its lock."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the clients decide; a commit is finished
    config = _read_config(fd)
    lock = os.open(config["lock"], os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return 0  # another server has this ledger
    path = config["socket"]
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)  # a stale socket of a server that died: the lock is ours, so is the name
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    os.chmod(path, 0o600)
    listener.listen(256)
    listener.setblocking(False)
    server: Server | None = None
    try:
        committer = _Committer(config["url"], config["name"], config["seed"], config["origin"])
        del config["seed"]
        server = Server(listener, config["key"], committer, float(config["grace"]))

        def stop(_signal: int, _frame: object) -> None:
            assert server is not None
            server.stopping = True  # the commit under way, if any, is finished first

        signal.signal(signal.SIGTERM, stop)
        server.run()
        committer.close()
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)  # before the lock goes: a new server may then bind the name at once
        listener.close()
        if server is not None:
            server.close()
        os.close(lock)
    return 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1])))
