"""The token endpoint's few statements, sent through the database driver itself.

A client-credential grant reads one client row and writes one used ``jti``. Through the ORM,
each statement cost more CPU than the query (session checkout, compilation cache, result
processing), so these go to the DB-API cursor with the dialect's own SQL. On SQLite they use a
companion connection that needs no session at all (see ``unsynced``), so a grant that writes
nothing else never opens one; on PostgreSQL they ride in the request's transaction.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session

_UNSYNCED: weakref.WeakKeyDictionary[Engine, Engine] = weakref.WeakKeyDictionary()
"""Each main engine's companion, which goes (and is disposed) with it."""
_UNSYNCED_LOCK = threading.Lock()


def _relaxed_sqlite(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def unsynced(bind: Any) -> Engine | None:
    """A second engine on the same SQLite file, for used jtis only: WAL with synchronous=NORMAL.

    The main engine commits with synchronous=FULL (one fsync per commit) for the ledger's sake;
    a used jti does not need that. Its commit is atomic and seen at once by every connection;
    it reaches the disk with the next fsync of the shared WAL (the ledger's next commit, or a
    checkpoint). Only an operating-system crash or power loss before then could forget it,
    reopening a replay window no longer than the assertion's own lifetime (as on PostgreSQL
    with ``synchronous_commit = off``); a crash of the process loses nothing. The ledger's own
    connections keep synchronous=FULL: they never come from this engine.
    """
    if not isinstance(bind, Engine) or bind.dialect.name != "sqlite":
        return None
    url = bind.url
    if not url.database or url.database == ":memory:" or url.database.startswith("file:"):
        return None
    with _UNSYNCED_LOCK:
        engine = _UNSYNCED.get(bind)
        if engine is None:
            engine = create_engine(url, connect_args={"check_same_thread": False})
            event.listen(engine, "connect", _relaxed_sqlite)
            event.listen(bind, "engine_disposed", lambda _: engine.dispose())
            _UNSYNCED[bind] = engine
        return engine


def has_connection(session: Session) -> bool:
    """Whether this session's transaction has a connection already (so may hold locks)."""
    transaction = session.get_transaction()
    return bool(transaction is not None and getattr(transaction, "_connections", True))


def has_written(session: Session) -> bool:
    """Whether this SQLite transaction holds (or may hold) the write lock already."""
    if session.new or session.dirty or session.deleted:
        return True
    if not has_connection(session):
        return False
    connection = session.connection().connection.dbapi_connection
    return bool(getattr(connection, "in_transaction", True))


def _session_cursor(session: Session) -> Any:
    return session.connection().connection.dbapi_connection.cursor()  # type: ignore[union-attr]


def read_row(
    session: Session, sql: Mapping[str, str], params: Sequence[Any]
) -> tuple[Any, ...] | None:
    """One row of a read, in the dialect's SQL; outside the session on SQLite if it has none."""
    bind = session.get_bind()
    side = unsynced(bind) if not has_connection(session) else None
    if side is not None:
        connection = side.raw_connection()
        try:
            cursor = connection.cursor()
            try:
                cursor.execute(sql["sqlite"], tuple(params))
                found = cursor.fetchone()
            finally:
                cursor.close()
        finally:
            connection.close()  # back to the pool
        return None if found is None else tuple(found)
    cursor = _session_cursor(session)
    try:
        cursor.execute(sql[bind.dialect.name], tuple(params))
        row = cursor.fetchone()
    finally:
        cursor.close()
    return None if row is None else tuple(row)


def write_committed(engine: Engine, sql: str, params: Sequence[Any]) -> int:
    """One statement on the DB-API connection itself, committed at once; its rowcount."""
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        try:
            cursor.execute(sql, tuple(params))
            count = int(cursor.rowcount)
        finally:
            cursor.close()
        connection.commit()
    except BaseException:
        connection.rollback()
        raise
    finally:
        connection.close()  # back to the pool
    return count


def write_in_session(session: Session, sql: str, params: Sequence[Any]) -> bool:
    """One statement in the session's transaction; whether it returned a row (RETURNING)."""
    cursor = _session_cursor(session)
    try:
        cursor.execute(sql, tuple(params))
        return cursor.fetchone() is not None
    finally:
        cursor.close()
