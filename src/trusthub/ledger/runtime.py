"""The ledger as the running app holds it: its database, keys and the one group-commit writer."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from trusthub.config import Settings
from trusthub.db import make_engine, make_session_factory
from trusthub.ledger.keys import LedgerKeys, load_keys
from trusthub.ledger.writer import GroupCommitWriter, WriterMode


@dataclass
class Ledger:
    """Built once per app (``app.state.ledger``); recorders and readers reach the ledger here."""

    origin: str
    engine: Engine
    sessions: sessionmaker[Session]
    keys: LedgerKeys
    writer: GroupCommitWriter
    record_timeout: float
    owns_engine: bool = False

    def start(self) -> None:
        self.writer.start()

    def close(self) -> None:
        self.writer.stop()
        if self.writer.engine is not self.engine:
            self.writer.engine.dispose()
        if self.owns_engine:
            self.engine.dispose()


def _private(engine: Engine) -> bool:
    """An in-memory SQLite database exists only behind its own engine: it cannot be shared."""
    return engine.url.get_backend_name() == "sqlite" and engine.url.database in (
        None,
        "",
        ":memory:",
    )


def writer_mode(settings: Settings) -> WriterMode:
    """``ledger_writer`` if set, else the older ``ledger_writer_process`` flag, else the thread."""
    if settings.ledger_writer is not None:
        return settings.ledger_writer
    return "process" if settings.ledger_writer_process else "thread"


def open_ledger(settings: Settings, engine: Engine | None = None) -> Ledger:
    """Readers use the app's engine when the ledger shares its database, else the ledger's own.

    The writer always has an engine (a pool) of its own: a recorder that holds one of the
    readers' connections while it waits for its entry can then never starve the writer."""
    owns = engine is None or settings.ledger_url != settings.database_url
    if owns:
        engine = make_engine(settings.ledger_url, echo=settings.sql_echo)
    assert engine is not None
    writer_engine = (
        engine if _private(engine) else make_engine(settings.ledger_url, echo=settings.sql_echo)
    )
    keys = load_keys(settings)
    writer = GroupCommitWriter(
        writer_engine, keys.signer, settings.ledger_origin, mode=writer_mode(settings)
    )
    return Ledger(
        origin=settings.ledger_origin,
        engine=engine,
        sessions=make_session_factory(engine),
        keys=keys,
        writer=writer,
        record_timeout=settings.ledger_record_timeout,
        owns_engine=owns,
    )
