"""The used-assertion store: every jti counts once, across transactions, engines and threads.

On SQLite the jti is committed on a companion connection that skips the fsync; these tests hold
that path to the same promises as PostgreSQL's in-transaction insert.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from trusthub.db import make_engine, make_session_factory, transaction
from trusthub.identity.oidc import store
from trusthub.identity.oidc.models import UsedAssertion
from trusthub.models_common import utcnow


def _remember(
    factory: sessionmaker[Session], jti: str, ttl: timedelta = timedelta(minutes=5)
) -> bool:
    with transaction(factory) as session:
        return store.remember_assertion(session, "client-1", jti, utcnow() + ttl)


def test_a_jti_counts_once_even_from_another_engine(
    session_factory: sessionmaker[Session], database_url: str
) -> None:
    assert _remember(session_factory, "once")
    assert not _remember(session_factory, "once")
    other = make_engine(database_url)  # another worker process on the same database
    try:
        assert not _remember(make_session_factory(other), "once")
        assert _remember(make_session_factory(other), "twice")
    finally:
        other.dispose()
    assert not _remember(session_factory, "twice")


def test_racing_uses_of_one_jti_let_exactly_one_through(
    session_factory: sessionmaker[Session],
) -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: _remember(session_factory, "raced"), range(16)))
    assert results.count(True) == 1


def _count(factory: sessionmaker[Session]) -> int:
    with transaction(factory) as session:
        return int(session.scalar(select(func.count()).select_from(UsedAssertion)) or 0)


def test_a_spent_jti_stays_spent_on_sqlite_when_the_request_fails_afterwards(
    session_factory: sessionmaker[Session], database_url: str
) -> None:
    try:
        with transaction(session_factory) as session:
            assert store.remember_assertion(session, "client-1", "then-failed", utcnow())
            raise RuntimeError("the token could not be issued")
    except RuntimeError:
        pass
    # SQLite commits the jti on its own at once; PostgreSQL rolls it back with the request,
    # whose token was never issued, so there is nothing to replay either way.
    assert _count(session_factory) == (1 if database_url.startswith("sqlite") else 0)


def test_after_a_write_the_jti_rides_in_the_request_transaction(
    session_factory: sessionmaker[Session],
) -> None:
    """Never a second writer waiting on the first (SQLite has one write lock)."""
    try:
        with transaction(session_factory) as session:
            session.add(UsedAssertion(key="x" * 64, expires_at=utcnow()))
            session.flush()
            assert store.remember_assertion(session, "client-1", "after-write", utcnow())
            raise RuntimeError("rolled back")
    except RuntimeError:
        pass
    assert _count(session_factory) == 0


def test_expired_jtis_are_purged_and_live_ones_kept(
    session_factory: sessionmaker[Session], engine: Engine
) -> None:
    assert _remember(session_factory, "old", ttl=timedelta(minutes=-1))
    assert _remember(session_factory, "live")
    with transaction(session_factory) as session:
        assert store.purge_expired(session)["assertions"] == 1
    assert not _remember(session_factory, "live")
    assert _remember(session_factory, "old")  # expired and purged: its assertion is refused anyway


def _synchronous_commit(session: Session) -> str:
    return str(session.connection().exec_driver_sql("SHOW synchronous_commit").scalar())


def test_only_a_relaxed_grant_skips_the_wal_flush_and_only_for_its_own_transaction(
    session_factory: sessionmaker[Session], database_url: str
) -> None:
    if not database_url.startswith("postgresql"):
        return  # SQLite relaxes with its companion connection, tested above
    strict = "SET LOCAL synchronous_commit TO on"  # whatever the test server's own default
    with transaction(session_factory) as session:
        session.connection().exec_driver_sql(strict)
        store.relax_commit_durability(session)
        assert store.remember_assertion(session, "client-1", "relaxed", utcnow() + timedelta(1))
        assert _synchronous_commit(session) == "off"
        assert not store.remember_assertion(session, "client-1", "relaxed", utcnow())
    with transaction(session_factory) as session:
        session.connection().exec_driver_sql(strict)
        assert store.remember_assertion(session, "client-1", "strict", utcnow() + timedelta(1))
        assert _synchronous_commit(session) == "on"
    assert not _remember(session_factory, "relaxed") and not _remember(session_factory, "strict")
