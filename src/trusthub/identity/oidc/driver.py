"""The token endpoint's few statements, sent through the database driver itself.

A client-credential grant reads one client row and writes one used ``jti``. Through the ORM,
each statement cost more CPU than the query (session checkout, compilation cache, result
processing), so these go to the DB-API cursor with the dialect's own SQL, on a companion
connection that needs no session at all (see ``unsynced``): a grant that writes nothing else
never opens one.
"""

from __future__ import annotations

import contextlib
import threading
import weakref
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session

from trusthub.db import MAX_OVERFLOW, POOL_SIZE

_UNSYNCED: weakref.WeakKeyDictionary[Engine, Engine | None] = weakref.WeakKeyDictionary()
"""Each main engine's companion, which goes (and is disposed) with it."""
_UNSYNCED_LOCK = threading.Lock()


def relax_sqlite(dbapi_connection: Any, busy_timeout_ms: int) -> None:
    """WAL without an fsync per commit, waiting at most ``busy_timeout_ms`` for the write lock."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
    cursor.close()


def _relaxed_sqlite(dbapi_connection: Any, _record: Any) -> None:
    relax_sqlite(dbapi_connection, 10_000)


def _companion(bind: Engine) -> Engine | None:
    """The companion of a SQLite file or a PostgreSQL database; None for anything else."""
    url = bind.url
    if bind.dialect.name == "postgresql":
        # Autocommit: a statement is its own transaction, so a read or a jti insert is one round
        # trip, not BEGIN, statement and COMMIT (and no ping: see _on_companion).
        return create_engine(
            url,
            isolation_level="AUTOCOMMIT",
            pool_size=POOL_SIZE,
            max_overflow=MAX_OVERFLOW,
            pool_reset_on_return=None,  # autocommit leaves no transaction to roll back
        )
    if bind.dialect.name != "sqlite":
        return None
    if not url.database or url.database == ":memory:" or url.database.startswith("file:"):
        return None
    engine = create_engine(url, connect_args={"check_same_thread": False})
    event.listen(engine, "connect", _relaxed_sqlite)
    return engine


def unsynced(bind: Any) -> Engine | None:
    """A second engine on the same database, for the token endpoint's own statements.

    On PostgreSQL it runs each statement in autocommit; a used jti is inserted there with
    ``synchronous_commit`` off for that statement alone (``store.remember_assertion``).

    On SQLite it is a second engine on the same file: WAL with synchronous=NORMAL.

    The main engine commits with synchronous=FULL (one fsync per commit) for the ledger's sake;
    a used jti does not need that. Its commit is atomic and seen at once by every connection;
    it reaches the disk with the next fsync of the shared WAL (the ledger's next commit, or a
    checkpoint). Only an operating-system crash or power loss before then could forget it,
    reopening a replay window no longer than the assertion's own lifetime (as on PostgreSQL
    with ``synchronous_commit = off``); a crash of the process loses nothing. The ledger's own
    connections keep synchronous=FULL: they never come from this engine.
    """
    if not isinstance(bind, Engine) or bind.dialect.name not in ("sqlite", "postgresql"):
        return None
    with _UNSYNCED_LOCK:
        if bind in _UNSYNCED:
            return _UNSYNCED[bind]
        engine = _companion(bind)
        if engine is not None:
            made = engine
            event.listen(bind, "engine_disposed", lambda _: made.dispose())
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


def one_statement(connection: Any, sql: str, params: Sequence[Any], fetch: bool) -> Any:
    """Run one statement on a DB-API connection: its first row, or its rowcount."""
    cursor = connection.cursor()
    try:
        cursor.execute(sql, tuple(params))
        return cursor.fetchone() if fetch else int(cursor.rowcount)
    finally:
        cursor.close()


def _on_companion(engine: Engine, sql: str, params: Sequence[Any], fetch: bool) -> Any:
    """One statement on a companion connection, committed at once: its row, or its rowcount.

    The companion's pool does not ping a connection before lending it (a round trip per
    statement); a connection found dead instead ends every pooled one and the statement is sent
    once more on a fresh one. Should the lost one have been a jti insert that did reach the
    server, the second try finds it spent and the grant is refused, never granted twice.
    """
    for attempt in (1, 2):
        connection = engine.raw_connection()
        try:
            result = one_statement(connection, sql, params, fetch)
            if getattr(connection.dbapi_connection, "autocommit", None) is not True:
                connection.commit()  # (sqlite3's legacy mode is -1, not True: it commits)
            return result
        except BaseException as error:
            dead = isinstance(error, engine.dialect.loaded_dbapi.Error) and (
                engine.dialect.is_disconnect(error, connection.dbapi_connection, None)
            )
            if dead and attempt == 1:
                connection.invalidate(error)
                engine.dispose(close=False)  # the others are as likely dead: a fresh pool
                continue
            with contextlib.suppress(Exception):  # a dead connection cannot roll back
                connection.rollback()
            raise
        finally:
            connection.close()  # back to the pool (or gone, if invalidated)
    raise AssertionError("unreachable")  # pragma: no cover


def read_row(
    session: Session, sql: Mapping[str, str], params: Sequence[Any]
) -> tuple[Any, ...] | None:
    """One row of a read, in the dialect's SQL; on the companion if the session has no
    connection yet (so a grant that writes nothing never checks one out for it)."""
    bind = session.get_bind()
    side = unsynced(bind) if not has_connection(session) else None
    if side is not None:
        found = _on_companion(side, sql[bind.dialect.name], params, fetch=True)
        return None if found is None else tuple(found)
    cursor = _session_cursor(session)
    try:
        cursor.execute(sql[bind.dialect.name], tuple(params))
        row = cursor.fetchone()
    finally:
        cursor.close()
    return None if row is None else tuple(row)


def write_committed(engine: Engine, sql: str, params: Sequence[Any]) -> int:
    """One statement on a companion connection, committed at once; its rowcount."""
    count: int = _on_companion(engine, sql, params, fetch=False)
    return count


def row_committed(engine: Engine, sql: str, params: Sequence[Any]) -> tuple[Any, ...] | None:
    """One statement on a companion connection, committed at once; its first row."""
    row = _on_companion(engine, sql, params, fetch=True)
    return None if row is None else tuple(row)


def write_in_session(session: Session, sql: str, params: Sequence[Any]) -> bool:
    """One statement in the session's transaction; whether it returned a row (RETURNING)."""
    cursor = _session_cursor(session)
    try:
        cursor.execute(sql, tuple(params))
        return cursor.fetchone() is not None
    finally:
        cursor.close()
