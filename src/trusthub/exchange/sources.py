"""Where the bulk pipeline finds citizens and their choices: the database, or a Parquet snapshot.

Both give DuckDB the same two relations, ``citizens (citizen_id, nhs_number)`` and
``choice_events (citizen_id, kind, action, scope, occurred_at, seq)``. The database source reads
every citizen's NHS number in one pass; for tens of millions of citizens a Parquet snapshot of
the same tables (the demo world's ``citizens.parquet`` and ``choice_events.parquet``) is faster.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

import duckdb
import pyarrow as pa
from sqlalchemy import select
from sqlalchemy.orm import Session

from trusthub.consent.models import ChoiceEvent
from trusthub.identity.models import Citizen
from trusthub.problems import Problem

FETCH = 100_000


def _utc(moment: datetime) -> datetime:
    """Naive UTC, as DuckDB compares it; SQLite hands back naive datetimes that are UTC."""
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


class CitizenSource(Protocol):
    def register(self, con: duckdb.DuckDBPyConnection) -> None:
        """Make the ``citizens`` and ``choice_events`` relations visible in ``con``."""


class DatabaseSource:
    """Citizens and choice events straight from the hub's database."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def register(self, con: duckdb.DuckDBPyConnection) -> None:
        ids: list[int] = []
        numbers: list[str | None] = []
        rows = self.session.execute(select(Citizen.id, Citizen.nhs_number)).yield_per(FETCH)
        for citizen_id, nhs in rows:
            ids.append(citizen_id)
            numbers.append(nhs)
        citizens = pa.table(
            {"citizen_id": pa.array(ids, pa.int64()), "nhs_number": pa.array(numbers, pa.string())}
        )
        events = self.session.execute(
            select(
                ChoiceEvent.citizen_id,
                ChoiceEvent.kind,
                ChoiceEvent.action,
                ChoiceEvent.scope,
                ChoiceEvent.occurred_at,
                ChoiceEvent.id,
            )
        ).all()
        choice_events = pa.table(
            {
                "citizen_id": pa.array([e[0] for e in events], pa.int64()),
                "kind": pa.array([e[1].value for e in events], pa.string()),
                "action": pa.array([e[2].value for e in events], pa.string()),
                "scope": pa.array([e[3] for e in events], pa.string()),
                "occurred_at": pa.array(
                    [e[4].replace(tzinfo=None) for e in events], pa.timestamp("us")
                ),
                "seq": pa.array([e[5] for e in events], pa.int64()),
            }
        )
        con.register("citizens", citizens)
        con.register("choice_events", choice_events)


class ParquetSource:
    """A snapshot directory holding ``citizens.parquet`` and ``choice_events.parquet``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def register(self, con: duckdb.DuckDBPyConnection) -> None:
        citizens = self.directory / "citizens.parquet"
        events = self.directory / "choice_events.parquet"
        if not citizens.is_file() or not events.is_file():
            raise Problem(
                500,
                "Snapshot incomplete",
                "the snapshot needs citizens.parquet and choice_events.parquet",
                kind="snapshot-incomplete",
            )

        def path(p: Path) -> str:
            return "'" + str(p).replace("'", "''") + "'"

        con.execute(
            "CREATE VIEW citizens AS SELECT CAST(citizen_id AS BIGINT) AS citizen_id, "  # noqa: S608
            f"CAST(nhs_number AS VARCHAR) AS nhs_number FROM read_parquet({path(citizens)})"
        )
        con.execute(
            "CREATE VIEW choice_events AS SELECT CAST(citizen_id AS BIGINT) AS citizen_id, "  # noqa: S608
            "kind, action, scope, CAST(occurred_at AS TIMESTAMP) AS occurred_at, "
            "file_row_number AS seq "
            f"FROM read_parquet({path(events)}, file_row_number = true)"
        )
