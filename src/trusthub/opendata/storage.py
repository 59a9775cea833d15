"""Queryable tables on disk: one immutable DuckDB file per resource version, read concurrently.

A table is written once, sorted by the columns people filter on, so DuckDB's zone maps skip most
of a 30-million-row table for a district-and-date query; it is never changed afterwards, which
is what lets old versions stay downloadable and lets connections and chart data be cached.
"""

from __future__ import annotations

import contextlib
import os
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

READER: dict[str, str | int] = {"memory_limit": "512MB", "threads": 1}
"""Searches read a row group or two, so one thread answers them without waiting on a busy
machine's scheduler; downloads encode on their own threads; and the buffer cache stays small so
that streaming a whole table keeps memory flat."""

TABLE = "data"
"""The one table inside each resource's DuckDB file."""

ROW_ID = "_id"
"""CKAN's row number column, served from DuckDB's rowid so that it costs no storage."""

CKAN_TYPES = {
    "VARCHAR": "text",
    "BIGINT": "int8",
    "INTEGER": "int4",
    "SMALLINT": "int2",
    "TINYINT": "int2",
    "UBIGINT": "numeric",
    "UINTEGER": "int8",
    "USMALLINT": "int4",
    "UTINYINT": "int2",
    "HUGEINT": "numeric",
    "DOUBLE": "float8",
    "FLOAT": "float4",
    "DATE": "date",
    "TIMESTAMP": "timestamp",
    "TIMESTAMP WITH TIME ZONE": "timestamptz",
    "TIME": "time",
    "BOOLEAN": "bool",
    "BLOB": "bytea",
}


def ckan_type(duckdb_type: str) -> str:
    """The PostgreSQL type name CKAN's DataStore would report for a DuckDB column type."""
    if duckdb_type.startswith("DECIMAL"):
        return "numeric"
    return CKAN_TYPES.get(duckdb_type, "text")


def quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def table_path(data_dir: Path, resource_id: str) -> Path:
    return data_dir / "tables" / f"{resource_id}.duckdb"


def file_dir(data_dir: Path, resource_id: str) -> Path:
    return data_dir / "files" / resource_id


@dataclass(frozen=True)
class Column:
    name: str
    type: str


def describe(select_sql: str) -> list[Column]:
    """The columns a trusted SELECT (a loader's) would produce, without reading the data."""
    with duckdb.connect(":memory:") as connection:
        rows = connection.execute(f"DESCRIBE {select_sql}").fetchall()
    return [Column(str(r[0]), str(r[1])) for r in rows]


def materialise(
    select_sql: str,
    target: Path,
    *,
    sort_by: Sequence[str] = (),
    progress: Callable[[float], None] | None = None,
    memory_limit: str = "4GB",
) -> int:
    """Write a trusted SELECT into a new DuckDB file, sorted, and return its row count.

    The file appears under its final name only when complete, so a crash leaves no half table.
    ``progress`` is told DuckDB's own estimate of how far it is, in percent.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{uuid.uuid4().hex}.partial")
    order = f" ORDER BY {', '.join(quote_identifier(c) for c in sort_by)}" if sort_by else ""
    try:
        with duckdb.connect(str(partial)) as connection:
            connection.execute("SET preserve_insertion_order = true")
            connection.execute(f"SET memory_limit = {quote_literal(memory_limit)}")
            connection.execute(
                f"SET temp_directory = {quote_literal(str(target.parent / '.spill'))}"
            )
            connection.execute("SET enable_progress_bar = true")
            connection.execute("SET enable_progress_bar_print = false")
            create = f"CREATE TABLE {TABLE} AS SELECT * FROM ({select_sql}){order}"
            _execute_watched(connection, create, progress)
            count = connection.execute(f"SELECT count(*) FROM {TABLE}").fetchone()
            connection.execute("CHECKPOINT")
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
        Path(f"{partial}.wal").unlink(missing_ok=True)
    return int(count[0]) if count else 0


def _execute_watched(
    connection: duckdb.DuckDBPyConnection, sql: str, progress: Callable[[float], None] | None
) -> None:
    """Run a long statement, polling DuckDB's progress estimate from this thread meanwhile."""
    if progress is None:
        connection.execute(sql)
        return
    failure: list[BaseException] = []

    def work() -> None:
        try:
            connection.execute(sql)
        except BaseException as error:  # handed back to the caller's thread below
            failure.append(error)

    worker = threading.Thread(target=work, name="duckdb-materialise", daemon=True)
    worker.start()
    while worker.is_alive():
        worker.join(0.5)
        with contextlib.suppress(duckdb.Error):
            done = connection.query_progress()
            if done >= 0:
                progress(float(done))
    if failure:
        raise failure[0]
    progress(100.0)


class _Databases:
    """Read-only connections to table files, kept open: the files never change once written."""

    def __init__(self, size: int = 64) -> None:
        self._open: OrderedDict[str, duckdb.DuckDBPyConnection] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def cursor(self, path: Path) -> duckdb.DuckDBPyConnection:
        key = str(path)
        with self._lock:
            connection = self._open.get(key)
            if connection is None:
                if not path.is_file():
                    raise FileNotFoundError(key)
                connection = duckdb.connect(key, read_only=True, config=dict(READER))
                self._open[key] = connection
                while len(self._open) > self._size:
                    _, old = self._open.popitem(last=False)
                    old.close()
            self._open.move_to_end(key)
            return connection.cursor()

    def forget(self, path: Path) -> None:
        with self._lock:
            connection = self._open.pop(str(path), None)
        if connection is not None:
            connection.close()


databases = _Databases()


def columns(path: Path) -> list[Column]:
    """The stored table's columns, in order, as DuckDB types."""
    with databases.cursor(path) as cursor:
        rows = cursor.execute(f"DESCRIBE {TABLE}").fetchall()
    return [Column(str(r[0]), str(r[1])) for r in rows]


def query(
    path: Path, sql: str, params: Sequence[Any] = ()
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Run a SELECT that trusted code built (with bound parameters) on one table file."""
    with databases.cursor(path) as cursor:
        result = cursor.execute(sql, list(params))
        names = [d[0] for d in result.description or []]
        return names, result.fetchall()


class QueryTimeout(Exception):
    """A user's SQL ran past its time limit and was interrupted."""


@dataclass(frozen=True)
class SqlResult:
    columns: list[Column]
    rows: list[tuple[Any, ...]]
    truncated: bool


def run_sql(
    sql: str,
    tables: Mapping[str, Path],
    *,
    timeout: float,
    rows_max: int,
    memory_limit: str = "2GB",
    threads: int = 2,
) -> SqlResult:
    """Run checked SQL in a fresh locked sandbox that sees only ``tables``, as views by id.

    The sandbox has no file system access (so no read_csv, COPY, ATTACH or INSTALL), its settings
    are locked, every table is attached read-only, and a timer interrupts it after ``timeout``.
    """
    connection = duckdb.connect(":memory:")
    interrupted = threading.Event()

    def _interrupt() -> None:
        interrupted.set()
        connection.interrupt()

    timer = threading.Timer(timeout, _interrupt)
    try:
        for n, (name, path) in enumerate(sorted(tables.items())):
            alias = f"resource_{n}"
            connection.execute(f"ATTACH {quote_literal(str(path))} AS {alias} (READ_ONLY)")
            connection.execute(
                f"CREATE VIEW {quote_identifier(name)} AS "
                f"SELECT rowid + 1 AS {ROW_ID}, * FROM {alias}.{TABLE}"
            )
        connection.execute(f"SET memory_limit = {quote_literal(memory_limit)}")
        connection.execute(f"SET threads = {int(threads)}")
        connection.execute("SET enable_external_access = false")
        connection.execute("SET lock_configuration = true")
        timer.start()
        try:
            result = connection.execute(sql)
            described = [Column(str(d[0]), str(d[1])) for d in result.description or []]
            rows = result.fetchmany(rows_max + 1)
        except duckdb.InterruptException as error:
            raise QueryTimeout(f"the query ran longer than {timeout:g} s") from error
        except duckdb.Error:
            if interrupted.is_set():
                raise QueryTimeout(f"the query ran longer than {timeout:g} s") from None
            raise
    finally:
        timer.cancel()
        connection.close()
    return SqlResult(columns=described, rows=rows[:rows_max], truncated=len(rows) > rows_max)
