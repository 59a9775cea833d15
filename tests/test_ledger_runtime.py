"""The running ledger: its writer never competes with the app's recorders for a connection, and
a large bulk entry's index, written the bulk way, finds each citizen."""

from __future__ import annotations

from sqlalchemy import create_engine, func, select

from ledger_support import decision
from trusthub.config import Settings
from trusthub.ledger import bulk_form, store
from trusthub.ledger import service as ledger_service
from trusthub.ledger.entry import Outcome
from trusthub.ledger.models import LedgerBulkIndex, LedgerCitizenIndex
from trusthub.ledger.prepare import BulkDecision, CitizenOutcome
from trusthub.ledger.runtime import open_ledger
from trusthub.ledger.verify import verify


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


def test_each_citizen_of_a_large_bulk_entry_finds_their_record(settings: Settings) -> None:
    """Enough citizens that every row is written the bulk way (COPY on PostgreSQL): each one
    still finds exactly their own record through the index by tag prefix, and the log verifies."""
    count = store.COPY_FROM + 1000
    ledger = open_ledger(settings)
    ledger.start()
    try:
        receipt = ledger_service.record(
            ledger,
            BulkDecision(
                citizens=[CitizenOutcome(c) for c in range(1, count + 1)],
                organisation="northmoor-university",
                client="extracts",
                purpose="research",
                outcome=Outcome.PERMIT,
            ),
        )
        with ledger.sessions() as session:
            for citizen in (1, 2, count // 2, count):
                found = ledger_service.entries_for_citizen(session, citizen, ledger.keys.commitment)
                assert [(e.index, e.record is not None) for e in found] == [(receipt.index, True)]
            assert not ledger_service.entries_for_citizen(
                session, count + 1, ledger.keys.commitment
            )
            rows = session.execute(select(func.count()).select_from(LedgerCitizenIndex))
            assert rows.scalar_one() == 0  # no index row per citizen: one per tag prefix
            pairs = sum(len(data) for data in session.scalars(select(LedgerBulkIndex.data)))
            assert pairs == bulk_form.PAIR_SIZE * count
        report = verify(
            settings.ledger_url, settings.ledger_origin, [ledger.keys.signer.verifier], workers=1
        )
        assert report.ok
    finally:
        ledger.close()
