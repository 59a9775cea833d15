"""Bulk loading into PostgreSQL: ``COPY ... FROM STDIN`` fed with CSV that Arrow writes.

Arrow formats whole columns at once, so no Python code runs per row; the seed is one
transaction, and the id sequences are moved past the explicit ids the seed gave out.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

import pyarrow as pa
import pyarrow.csv as pcsv
from sqlalchemy import Engine

Writer = Callable[[str, pa.Table], None]
_CSV = pcsv.WriteOptions(include_header=False, quoting_style="needed", batch_size=65_536)


def csv_bytes(rows: pa.Table) -> bytes:
    """The rows as CSV in PostgreSQL's reading: empty unquoted is NULL, "" is an empty string."""
    buffer = io.BytesIO()
    pcsv.write_csv(rows, buffer, _CSV)
    return buffer.getvalue()


@contextmanager
def postgres_loader(engine: Engine, tables: Sequence[str]) -> Iterator[Writer]:
    """A writer of Arrow tables into PostgreSQL tables, committed together when the block ends.

    ``tables`` are the tables whose id sequences must follow the loaded ids.
    """
    connection = engine.raw_connection()
    try:
        dbapi = connection.driver_connection
        assert dbapi is not None
        try:
            with dbapi.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")

                def write(table: str, rows: pa.Table) -> None:
                    if rows.num_rows == 0:
                        return
                    sql = f"COPY {table} ({', '.join(rows.column_names)}) FROM STDIN (FORMAT csv)"
                    with cursor.copy(sql) as copy:
                        copy.write(csv_bytes(rows))

                yield write
                for table in tables:
                    cursor.execute(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                        f"COALESCE(MAX(id), 0) + 1, false) FROM {table}"
                    )
            dbapi.commit()
        except BaseException:
            dbapi.rollback()
            raise
        with dbapi.cursor() as cursor:
            for table in tables:
                cursor.execute(f"ANALYZE {table}")
        dbapi.commit()
    finally:
        connection.close()
