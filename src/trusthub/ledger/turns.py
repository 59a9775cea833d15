"""Writers of one SQLite ledger in several processes take turns through an OS file lock.

SQLite makes a second writer wait in its busy handler, which sleeps and polls (up to 100 ms a
time), so two server workers appending to one ledger stall each other for far longer than a
commit takes. A blocking ``flock`` on a file beside the database wakes the next writer the
moment the lock is released. PostgreSQL queues lock waiters itself and needs no such help.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine

LOCK_SUFFIX = "-ledger-writer.lock"


def lock_path(engine: Engine) -> str | None:
    """The turn file of a SQLite file database; None where no turn-taking is needed."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or database in (None, "", ":memory:"):
        return None
    return f"{database}{LOCK_SUFFIX}"


class WritersTurn:
    """One process's handle on the turn file, opened once and locked around each commit."""

    def __init__(self, engine: Engine) -> None:
        self.path = lock_path(engine)
        self._fd: int | None = None

    @contextmanager
    def held(self) -> Iterator[None]:
        if self.path is None:
            yield
            return
        if self._fd is None:
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self._fd, fcntl.LOCK_EX)  # blocks with the GIL released
        try:
            yield
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
