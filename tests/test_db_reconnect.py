"""PostgreSQL connections that died while resting in the pool are replaced before use.

The pool pings only a connection that has rested for ``db.PING_AFTER_IDLE`` seconds, instead of
every connection on every checkout; these tests end the server's side of every pooled connection
(as a restart does) and expect the next transaction to succeed all the same.
"""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from pg_support import end_every_other_backend
from trusthub import db


def _pool_a_connection(engine: Engine) -> None:
    with engine.connect() as connection:
        assert connection.execute(text("SELECT 1")).scalar() == 1


def test_a_rested_connection_found_dead_is_replaced(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = postgres_url
    engine = db.make_engine(url)
    try:
        _pool_a_connection(engine)
        end_every_other_backend(url)
        monkeypatch.setattr(db, "PING_AFTER_IDLE", 0.0)  # every pooled connection has rested
        with db.transaction(db.make_session_factory(engine)) as session:
            assert session.execute(text("SELECT 2")).scalar() == 2
    finally:
        engine.dispose()


def test_a_busy_connection_is_not_pinged_so_its_death_shows_once(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without the ping the first statement fails; SQLAlchemy then renews the pool."""
    url = postgres_url
    engine = db.make_engine(url)
    try:
        _pool_a_connection(engine)
        end_every_other_backend(url)
        monkeypatch.setattr(db, "PING_AFTER_IDLE", 3600.0)  # as if just used
        with pytest.raises(OperationalError), engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        _pool_a_connection(engine)
    finally:
        engine.dispose()
