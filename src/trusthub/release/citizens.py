"""Which of the hub's citizens stand behind a release's source rows, so the ledger can tell them.

A registered dataset's records carry the citizen they were matched to. A file is resolved by its
``citizen_id`` column (the hub's own ids, as the demo world's copies carry) or, failing that, by
its ``nhs_number`` column; a value the hub does not know stays unresolved. Nothing here is logged.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pyarrow as pa
from sqlalchemy import select
from sqlalchemy.orm import Session

from trusthub.identifiers import InvalidIdentifier, normalise_nhs_number
from trusthub.identity.models import Citizen
from trusthub.release.schemas import DatasetSource, Source
from trusthub.release.sources import read_registered, read_source

CITIZEN_ID = "citizen_id"
NHS_NUMBER = "nhs_number"
CHUNK = 5_000

RowCitizens = list[int | None]
"""For each source row, the hub's id of the citizen it is about, or None."""


def read_with_citizens(
    source: Source, base: Path, session: Session | None
) -> tuple[pa.Table, RowCitizens | None]:
    """The source table and, when the hub can tell, the citizen behind each row."""
    if isinstance(source, DatasetSource):
        return read_registered(source, session)
    table = read_source(source, base, session)
    return table, None if session is None else resolve_rows(session, table)


def resolve_rows(session: Session, table: pa.Table) -> RowCitizens | None:
    """Resolve by ``citizen_id``, else ``nhs_number``; None when the table has neither column."""
    if CITIZEN_ID in table.column_names:
        return _by_id(session, table.column(CITIZEN_ID).to_pylist())
    if NHS_NUMBER in table.column_names:
        return _by_nhs_number(session, table.column(NHS_NUMBER).to_pylist())
    return None


def _as_id(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit() and value.strip().isascii():
        return int(value.strip())
    return None


def _by_id(session: Session, values: Sequence[object]) -> RowCitizens:
    ids = [_as_id(v) for v in values]
    wanted = sorted({i for i in ids if i is not None})
    known: set[int] = set()
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start : start + CHUNK]
        known.update(session.scalars(select(Citizen.id).where(Citizen.id.in_(chunk))))
    return [i if i in known else None for i in ids]


def _normalised(value: object) -> str | None:
    if value is None:
        return None
    try:
        return normalise_nhs_number(str(value))
    except InvalidIdentifier:
        return None


def _by_nhs_number(session: Session, values: Sequence[object]) -> RowCitizens:
    numbers = [_normalised(v) for v in values]
    wanted = sorted({n for n in numbers if n is not None})
    known: dict[str, int] = {}
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start : start + CHUNK]
        rows = session.execute(
            select(Citizen.nhs_number, Citizen.id).where(Citizen.nhs_number.in_(chunk))
        )
        known.update({number: citizen for number, citizen in rows})
    return [None if n is None else known.get(n) for n in numbers]
