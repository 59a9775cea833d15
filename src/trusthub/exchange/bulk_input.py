"""Reading a bulk input file: CSV or Parquet, every row numbered, malformed rows refused by number.

Row numbers are 1-based and count data rows only (a CSV header is not a row), so ``row 3`` is
the third record after the header. Error messages name rows and columns, never a value, since
the values are personal data.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from trusthub.problems import Problem

MAX_LISTED = 1000
"""Row numbers listed in one refusal; the count says how many there are in all."""


class InputRefused(Problem):
    """The input cannot be used as it is; nothing was written and nothing recorded."""

    def __init__(self, detail: str, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(422, "Input refused", detail, kind="input-refused", errors=errors)


def row_errors(rows: list[int], message: str, total: int | None = None) -> InputRefused:
    total = len(rows) if total is None else total
    listed = rows[:MAX_LISTED]
    more = f" (the first {len(listed)} are listed)" if total > len(listed) else ""
    return InputRefused(
        f"{total} row(s) {message}{more}: {', '.join(map(str, listed[:20]))}"
        + ("…" if len(listed) > 20 else ""),
        [{"row": row, "message": message} for row in listed],
    )


@dataclass(frozen=True, slots=True)
class Staged:
    """The input as Parquet for DuckDB, rows numbered; its columns as the user named them."""

    path: Path
    columns: tuple[str, ...]
    numbered: bool
    """True when the file already holds ``_row``; else it comes from the file's row order."""

    def rows(self) -> int:
        """How many rows the file holds, from its footer (so before any is read)."""
        return int(pq.ParquetFile(self.path).metadata.num_rows)

    def relation(self) -> str:
        """SQL for the staged rows, ``_row`` first."""
        source = "'" + str(self.path).replace("'", "''") + "'"
        if self.numbered:
            return f"SELECT * FROM read_parquet({source})"  # noqa: S608
        return (
            "SELECT file_row_number + 1 AS _row, * EXCLUDE (file_row_number) "  # noqa: S608
            f"FROM read_parquet({source}, file_row_number = true)"
        )


def _header(path: Path) -> list[str]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        try:
            first = next(csv.reader(handle), None)
        except (csv.Error, UnicodeDecodeError):
            raise InputRefused("the CSV header cannot be read") from None
    if not first:
        raise InputRefused("the CSV file has no header row")
    names = [name.strip() for name in first]
    if len(set(names)) != len(names) or not all(names):
        raise InputRefused("the CSV header has empty or repeated column names")
    return names


def stage_csv(path: Path, scratch: Path, single_column: str | None = None) -> Staged:
    """Copy a CSV file to Parquet, all columns as text; refuse it if any row is malformed.

    ``single_column`` reads a file of one value per line, with or without that header.
    """
    if single_column is None:
        names = _header(path)
        read = pcsv.ReadOptions(use_threads=False, skip_rows=1, column_names=names)
        offset = 1
    else:
        names = [single_column]
        read = pcsv.ReadOptions(use_threads=False, column_names=names)
        offset = 0
    bad: list[int] = []

    def invalid(row: Any) -> str:
        bad.append(int(row.number) - offset if row.number is not None else -1)
        return "skip"

    convert = pcsv.ConvertOptions(
        column_types=dict.fromkeys(names, pa.string()), strings_can_be_null=False
    )
    target = scratch / "staged.parquet"
    schema = pa.schema([(n, pa.string()) for n in names] + [("_row", pa.int64())])
    row = 0
    try:
        reader = pcsv.open_csv(
            path,
            read_options=read,
            parse_options=pcsv.ParseOptions(invalid_row_handler=invalid, ignore_empty_lines=False),
            convert_options=convert,
        )
        with pq.ParquetWriter(target, schema, compression="none") as writer:
            for batch in reader:
                rows = pa.array(range(row + 1, row + 1 + batch.num_rows), pa.int64())
                row += batch.num_rows
                writer.write_batch(
                    pa.RecordBatch.from_arrays([*batch.columns, rows], schema=schema)
                )
    except (pa.ArrowInvalid, UnicodeDecodeError):
        raise InputRefused("the CSV file cannot be parsed (check quoting and encoding)") from None
    if bad:
        raise row_errors(sorted(bad), "do not have the header's number of fields")
    return Staged(target, tuple(names), numbered=True)


def stage_parquet(path: Path) -> Staged:
    try:
        schema = pq.read_schema(path)
    except (pa.ArrowInvalid, OSError):
        raise InputRefused("the Parquet file cannot be read") from None
    names = list(schema.names)
    if len(set(names)) != len(names) or "_row" in names:
        raise InputRefused("the Parquet file has repeated or reserved column names")
    return Staged(path, tuple(names), numbered=False)


def stage(path: Path, scratch: Path) -> Staged:
    """Stage a CSV or Parquet file, chosen by its first bytes (Parquet files start ``PAR1``)."""
    try:
        with path.open("rb") as handle:
            magic = handle.read(4)
    except OSError:
        raise InputRefused("the input file cannot be opened") from None
    return stage_parquet(path) if magic == b"PAR1" else stage_csv(path, scratch)


ProgressFn = Callable[[str, int, int], None]
