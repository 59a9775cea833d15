"""One engine and session factory per database URL, tuned for SQLite and PostgreSQL alike."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, MetaData, create_engine, event, exc
from sqlalchemy.engine import make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base with stable constraint names, so Alembic batch mode works on SQLite."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _tune_sqlite(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


POOL_SIZE = 20
"""Connections an engine keeps open: enough for the requests a worker serves at once (16 to 40
threads), so that a busy server reuses connections instead of opening and closing overflow ones
(a new SQLite connection runs its pragmas; a new PostgreSQL one starts a backend process)."""
MAX_OVERFLOW = 20


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """Build an engine; for SQLite, create the file's folder and switch on WAL and foreign keys."""
    parsed = make_url(url)
    kwargs: dict[str, Any] = {"echo": echo, "pool_size": POOL_SIZE, "max_overflow": MAX_OVERFLOW}
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"check_same_thread": False}
        if parsed.database in (None, "", ":memory:"):
            del kwargs["pool_size"], kwargs["max_overflow"]  # one shared connection (StaticPool)
        engine = create_engine(parsed, **kwargs)
        event.listen(engine, "connect", _tune_sqlite)
        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    engine = create_engine(parsed, **kwargs)
    event.listen(engine, "checkin", _note_idle)
    event.listen(engine, "checkout", _pinger(engine.dialect))
    return engine


PING_AFTER_IDLE = 1.0
"""Seconds a PostgreSQL connection may rest in the pool and still be lent without a ping.

A ping before every checkout (``pool_pre_ping``) cost a round trip per transaction. A server
restart or a dropped connection shows on a connection that has rested, so only those are pinged;
a busy pool's connections, back in use within moments, are not. A connection that dies while in
use fails its statement, and SQLAlchemy then ends every pooled connection older than it."""


def _note_idle(_dbapi_connection: Any, record: Any) -> None:
    record.info["idle_since"] = time.monotonic()


def _pinger(dialect: Any) -> Callable[[Any, Any, Any], None]:
    """A checkout listener that pings a connection which has rested (``PING_AFTER_IDLE``)."""

    def ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as error:
            if dialect.is_disconnect(error, dbapi_connection, None):
                raise exc.InvalidatePoolError() from error  # a fresh connection and pool
            raise

    return ping_if_idle


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session whose work is committed whole or not at all."""
    with factory() as session, session.begin():
        yield session
