"""A client-credential grant's two statements, run from the event loop without blocking it.

A grant is mostly CPU (two signatures) and two short statements; handing all of it to a worker
thread cost more CPU than the grant (the hop, and the two threads taking the GIL in turn), so
the grant runs on the event loop and only its statements are waited for:

- PostgreSQL: an asyncio psycopg connection in autocommit, one per concurrent grant, kept per
  event loop (a connection belongs to the loop that opened it). No ping before use: a
  connection found dead ends the loop's idle ones and the statement is sent once more on a
  fresh one, as ``driver._on_companion`` does.
- SQLite: the statement on a connection that never waits for the write lock (busy timeout 0).
  A read never needs it (WAL); a write that finds it taken raises ``WouldWait`` and the caller
  sends it from a worker thread instead, where waiting is harmless.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
import weakref
from collections.abc import Sequence
from typing import Any

import psycopg
from sqlalchemy import Engine, create_engine, event

from trusthub.db import MAX_OVERFLOW, POOL_SIZE
from trusthub.identity.oidc import driver

IDLE_PER_LOOP = POOL_SIZE + MAX_OVERFLOW
"""At most this many idle PostgreSQL connections kept per event loop; more are closed."""


class WouldWait(RuntimeError):
    """The statement would wait for SQLite's write lock: send it from a worker thread."""


def _no_wait_sqlite(dbapi_connection: Any, _record: Any) -> None:
    driver.relax_sqlite(dbapi_connection, 0)


class _Connections:
    """One event loop's idle PostgreSQL connections to one database."""

    def __init__(self, conninfo: str) -> None:
        self.conninfo = conninfo
        self.idle: list[psycopg.AsyncConnection[Any]] = []

    async def take(self) -> psycopg.AsyncConnection[Any]:
        if self.idle:
            return self.idle.pop()
        return await psycopg.AsyncConnection.connect(self.conninfo, autocommit=True)

    def give_back(self, connection: psycopg.AsyncConnection[Any]) -> None:
        if connection.closed or len(self.idle) >= IDLE_PER_LOOP:
            _close_now(connection)
        else:
            self.idle.append(connection)

    def close_all(self) -> None:
        idle, self.idle = self.idle, []
        for connection in idle:
            _close_now(connection)


def _close_now(connection: psycopg.AsyncConnection[Any]) -> None:
    """Close without awaiting (from dispose, or any loop): ends the socket at once."""
    with contextlib.suppress(Exception):
        connection.pgconn.finish()


class LoopStatements:
    """The statements of one main engine's database, as the event loop may run them."""

    def __init__(self, bind: Engine) -> None:
        self.dialect = bind.dialect.name
        self._lock = threading.Lock()
        self._loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Connections] = (
            weakref.WeakKeyDictionary()
        )
        self._conninfo = ""
        self._sqlite: Engine | None = None
        if self.dialect == "postgresql":
            url = bind.url.set(drivername="postgresql")
            self._conninfo = url.render_as_string(hide_password=False)
        else:
            self._sqlite = create_engine(
                bind.url, connect_args={"check_same_thread": False, "timeout": 0}
            )
            event.listen(self._sqlite, "connect", _no_wait_sqlite)

    def _connections(self) -> _Connections:
        loop = asyncio.get_running_loop()
        found = self._loops.get(loop)
        if found is None:
            with self._lock:
                found = self._loops.setdefault(loop, _Connections(self._conninfo))
        return found

    async def run(self, sql: str, params: Sequence[Any], fetch: bool) -> Any:
        """One statement, committed at once: its first row (``fetch``), or its rowcount."""
        if self._sqlite is not None:
            return self._run_sqlite(self._sqlite, sql, params, fetch)
        connections = self._connections()
        for attempt in (1, 2):
            connection = await connections.take()
            try:
                cursor = await connection.execute(sql, tuple(params))
                result = await cursor.fetchone() if fetch else int(cursor.rowcount)
            except psycopg.Error as error:
                dead = connection.broken and isinstance(error, psycopg.OperationalError)
                if dead and attempt == 1:
                    _close_now(connection)
                    connections.close_all()  # the others are as likely dead
                    continue
                connections.give_back(connection)
                raise
            except BaseException:
                _close_now(connection)  # cancelled mid-statement: its state is unknown
                raise
            connections.give_back(connection)
            return result
        raise AssertionError("unreachable")  # pragma: no cover

    @staticmethod
    def _run_sqlite(engine: Engine, sql: str, params: Sequence[Any], fetch: bool) -> Any:
        connection = engine.raw_connection()
        try:
            result = driver.one_statement(connection, sql, params, fetch)
            connection.commit()
            return result
        except sqlite3.OperationalError as error:
            with contextlib.suppress(Exception):
                connection.rollback()
            if "locked" in str(error) or "busy" in str(error):
                raise WouldWait(str(error)) from error
            raise
        except BaseException:
            with contextlib.suppress(Exception):
                connection.rollback()
            raise
        finally:
            connection.close()

    def dispose(self) -> None:
        with self._lock:
            pools = list(self._loops.values())
            self._loops.clear()
        for pool in pools:
            pool.close_all()
        if self._sqlite is not None:
            self._sqlite.dispose()


_BY_ENGINE: weakref.WeakKeyDictionary[Engine, LoopStatements | None] = weakref.WeakKeyDictionary()
_BY_ENGINE_LOCK = threading.Lock()


def loop_statements(bind: Engine) -> LoopStatements | None:
    """The loop-side statements for this engine's database; None where there are none (a SQLite
    database in memory, another dialect): the grant then runs in a worker thread as before."""
    found = _BY_ENGINE.get(bind, False)
    if found is not False:
        return found  # type: ignore[return-value]
    with _BY_ENGINE_LOCK:
        if bind in _BY_ENGINE:
            return _BY_ENGINE[bind]
        made: LoopStatements | None = None
        database = bind.url.database or ""
        if bind.dialect.name == "postgresql" and bind.dialect.driver == "psycopg":
            made = LoopStatements(bind)
        elif bind.dialect.name == "sqlite" and database not in ("", ":memory:"):
            made = None if database.startswith("file:") else LoopStatements(bind)
        if made is not None:
            kept = made
            event.listen(bind, "engine_disposed", lambda _: kept.dispose())
        _BY_ENGINE[bind] = made
        return made
