"""Bulk loading into SQLite: one transaction of raw ``executemany``, durability relaxed meanwhile.

SQLite writes fastest in a single transaction with ``synchronous=OFF``; that is safe here because
the whole seed commits or nothing does, and the previous setting is restored afterwards.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Engine

Writer = Callable[[str, pa.Table], None]


def _python_values(column: pa.ChunkedArray | pa.Array) -> list[Any]:
    """A column as the Python values SQLAlchemy itself would have stored in SQLite."""
    kind = column.type
    if pa.types.is_timestamp(kind):
        return pc.strftime(column, format="%Y-%m-%d %H:%M:%S.000000").to_pylist()  # type: ignore[no-any-return]
    if pa.types.is_date(kind):
        return pc.cast(column, pa.string()).to_pylist()  # type: ignore[no-any-return]
    return column.to_pylist()  # type: ignore[no-any-return]


@contextmanager
def sqlite_loader(engine: Engine) -> Iterator[Writer]:
    """A writer of Arrow tables into SQLite tables, committed together when the block ends."""
    connection = engine.raw_connection()
    try:
        dbapi = connection.driver_connection
        assert dbapi is not None
        cursor = dbapi.cursor()
        synchronous = cursor.execute("PRAGMA synchronous").fetchone()[0]
        cache_size = cursor.execute("PRAGMA cache_size").fetchone()[0]
        cursor.execute("PRAGMA synchronous=OFF")
        cursor.execute("PRAGMA cache_size=-262144")
        try:
            cursor.execute("BEGIN")

            def write(table: str, rows: pa.Table) -> None:
                if rows.num_rows == 0:
                    return
                names = rows.column_names
                sql = (
                    f"INSERT INTO {table} ({', '.join(names)}) "  # noqa: S608 - names are ours
                    f"VALUES ({', '.join('?' * len(names))})"
                )
                cursor.executemany(
                    sql, zip(*(_python_values(c) for c in rows.columns), strict=True)
                )

            yield write
            dbapi.commit()
        except BaseException:
            dbapi.rollback()
            raise
        finally:
            cursor.execute(f"PRAGMA synchronous={int(synchronous)}")
            cursor.execute(f"PRAGMA cache_size={int(cache_size)}")
            cursor.execute("PRAGMA optimize")
            cursor.close()
    finally:
        connection.close()
