"""The running ledger: its writer never competes with the app's recorders for a connection."""

from __future__ import annotations

from sqlalchemy import create_engine

from ledger_support import decision
from trusthub.config import Settings
from trusthub.ledger import service as ledger_service
from trusthub.ledger.runtime import open_ledger


def test_a_recorder_holding_every_app_connection_still_gets_its_entry_written(
    settings: Settings,
) -> None:
    """The app's pool has one connection and the recorder holds it while it waits: the writer
    must draw from a pool of its own, or the entry could never be written."""
    app_engine = create_engine(settings.database_url, pool_size=1, max_overflow=0, pool_timeout=1)
    ledger = open_ledger(settings, app_engine)
    ledger.start()
    try:
        with app_engine.connect():
            receipt = ledger_service.record(ledger, decision(7))
        assert ledger.writer.engine is not app_engine and ledger.engine is app_engine
        with ledger.sessions() as session:
            assert ledger_service.get_entry(session, receipt.index).leaf_input
    finally:
        ledger.close()
        app_engine.dispose()
