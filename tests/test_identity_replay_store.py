"""The used-assertion store: every jti counts once, across transactions, engines and threads.

A client-credential grant's jti is committed at once on a companion connection (on SQLite one
that skips the fsync, on PostgreSQL one in autocommit with synchronous_commit off); these tests
hold that path to the same promises as an insert in the request's own transaction.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from trusthub.db import make_engine, make_session_factory, transaction
from trusthub.identity.oidc import driver, store
from trusthub.identity.oidc.clients import load_client
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


def _remember_relaxed(factory: sessionmaker[Session], jti: str) -> bool:
    """As a client-credential grant does: the jti is the transaction's one write."""
    with transaction(factory) as session:
        store.relax_commit_durability(session)
        seen = store.remember_assertion(session, "client-1", jti, utcnow() + timedelta(1))
        assert not driver.has_connection(session)  # the request never took a connection
        return seen


def test_a_relaxed_jti_is_committed_at_once_even_when_the_request_fails(
    session_factory: sessionmaker[Session],
) -> None:
    try:
        with transaction(session_factory) as session:
            store.relax_commit_durability(session)
            assert store.remember_assertion(session, "client-1", "spent", utcnow() + timedelta(1))
            raise RuntimeError("the token could not be issued")
    except RuntimeError:
        pass
    assert _count(session_factory) == 1
    assert not _remember_relaxed(session_factory, "spent")
    assert not _remember(session_factory, "spent")  # nor in a request's own transaction


def test_the_token_endpoint_statements_outlive_their_connections(
    session_factory: sessionmaker[Session], engine: Engine, database_url: str
) -> None:
    """The companion pool lends connections unpinged: one found dead is replaced, once."""
    if not database_url.startswith("postgresql"):
        return  # a SQLite file has no server to drop connections
    assert _remember_relaxed(session_factory, "before")
    with engine.connect() as admin:
        killed = admin.exec_driver_sql(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).scalar()
    assert killed  # the companion's pooled connection among them
    with transaction(session_factory) as session:
        assert load_client(session, "nobody") is None  # a read, on a fresh connection
    assert _remember_relaxed(session_factory, "after")
    assert not _remember_relaxed(session_factory, "after")
    assert not _remember_relaxed(session_factory, "before")
