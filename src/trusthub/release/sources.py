"""Read a release's source — CSV, Parquet or a registered dataset — into one Arrow table."""

from __future__ import annotations

import csv
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from sqlalchemy import select
from sqlalchemy.orm import Session

from trusthub.problems import Problem
from trusthub.registry.models import Dataset, DatasetRecord, Organisation
from trusthub.release.schemas import CsvSource, DatasetSource, ParquetSource, Source


class SpecError(Problem):
    """A specification that cannot be released as written; nothing has been written."""

    def __init__(self, detail: str, *, field: str = "spec") -> None:
        super().__init__(
            422,
            "Invalid release specification",
            detail,
            kind="invalid-release-spec",
            errors=[{"field": field, "message": detail}],
        )


def resolve(path: str, base: Path) -> Path:
    candidate = Path(path)
    return candidate if candidate.is_absolute() else (base / candidate).resolve()


def _existing(path: str, base: Path, field: str) -> Path:
    resolved = resolve(path, base)
    if not resolved.is_file():
        raise SpecError(f"no file at {resolved}", field=field)
    return resolved


def read_source(source: Source, base: Path, session: Session | None) -> pa.Table:
    """The whole source as an Arrow table; CSV types are inferred (numbers, dates, text)."""
    if isinstance(source, CsvSource):
        path = _existing(source.csv, base, "source.csv")
        try:
            return pacsv.read_csv(
                path,
                parse_options=pacsv.ParseOptions(delimiter=source.separator),
                convert_options=pacsv.ConvertOptions(strings_can_be_null=False),
            )
        except pa.ArrowInvalid as error:  # its message can quote a row: never pass it on
            raise SpecError(
                "the CSV file cannot be read: check the separator and that every row has "
                "as many fields as the header",
                field="source.csv",
            ) from error
    if isinstance(source, ParquetSource):
        path = _existing(source.parquet, base, "source.parquet")
        try:
            return pq.read_table(path)
        except (pa.ArrowInvalid, OSError) as error:
            raise SpecError("the Parquet file cannot be read", field="source.parquet") from error
    return _registered(source, session)


def _registered(source: DatasetSource, session: Session | None) -> pa.Table:
    return read_registered(source, session)[0]


def read_registered(
    source: DatasetSource, session: Session | None
) -> tuple[pa.Table, list[int | None]]:
    """A registered dataset's records and, row for row, the citizen each was matched to."""
    if session is None:
        raise SpecError("a registered dataset needs the database", field="source.dataset")
    organisation, slug = source.dataset.split("/", 1)
    dataset = session.scalar(
        select(Dataset)
        .join(Organisation)
        .where(Organisation.slug == organisation, Dataset.slug == slug)
    )
    if dataset is None:
        raise SpecError("no registered dataset by that name", field="source.dataset")
    names = [f.name for f in dataset.fields]
    rows = session.execute(
        select(DatasetRecord.data, DatasetRecord.citizen_id)
        .where(DatasetRecord.dataset_id == dataset.id)
        .order_by(DatasetRecord.id)
    ).all()
    columns = {n: [data.get(n) for data, _ in rows] for n in names}
    citizens = [citizen for _, citizen in rows]
    if not rows:
        return pa.table({n: pa.array([], pa.string()) for n in names}), citizens
    return pa.table(columns), citizens


def read_table_rows(path: Path, separator: str) -> list[list[str]]:
    """A hierarchy file's rows (small, so plain csv suffices)."""
    with path.open(newline="", encoding="utf-8") as handle:
        return [row for row in csv.reader(handle, delimiter=separator) if row]
