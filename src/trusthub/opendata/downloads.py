"""Whole tables as CSV, JSON lines or Parquet, streamed batch by batch: flat memory, no row cap.

CKAN's dump stopped at 100,000 rows for years; here a 30-million-row table streams out as fast as
DuckDB reads it, holding only one Arrow record batch in memory at a time.
"""

from __future__ import annotations

import io
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from trusthub.opendata.storage import ROW_ID, TABLE, databases

FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "jsonl": "application/x-ndjson",
    "parquet": "application/vnd.apache.parquet",
}
SELECT_ALL = f"SELECT rowid + 1 AS {ROW_ID}, * FROM {TABLE}"


@dataclass(frozen=True)
class Download:
    filename: str
    media_type: str
    chunks: Iterator[bytes]


class _Drain:
    """A write-only file that hands its bytes back after each batch instead of keeping them."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []
        self.closed = False

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        self._chunks.append(chunk)
        return len(chunk)

    def flush(self) -> None:
        return None

    def close(self) -> None:
        self.closed = True

    def take(self) -> bytes:
        out = b"".join(self._chunks)
        self._chunks.clear()
        return out


def _batches(path: Path, sql: str, batch_rows: int) -> Iterator[pa.RecordBatch]:
    with databases.cursor(path) as cursor:
        yield from cursor.sql(sql).to_arrow_reader(batch_rows)


def _csv(batch: pa.RecordBatch, header: bool) -> bytes:
    sink = io.BytesIO()
    pa_csv.write_csv(batch, sink, write_options=pa_csv.WriteOptions(include_header=header))
    return sink.getvalue()


def csv_chunks(path: Path, batch_rows: int = 65_536, workers: int = 2) -> Iterator[bytes]:
    """CSV with one header line, batches encoded by Arrow's C++ writer on ``workers`` threads.

    At most ``workers + 1`` batches are in flight, so memory stays flat however long the table.
    """
    with ThreadPoolExecutor(workers, thread_name_prefix="csv") as pool:
        pending: deque[Future[bytes]] = deque()
        for n, batch in enumerate(_batches(path, SELECT_ALL, batch_rows)):
            pending.append(pool.submit(_csv, batch, n == 0))
            if len(pending) > workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def jsonl_chunks(path: Path, batch_rows: int = 65_536) -> Iterator[bytes]:
    """One JSON object per line, made by DuckDB; each batch's string buffer is sent as it is."""
    sql = f"SELECT to_json(t)::VARCHAR || chr(10) AS line FROM ({SELECT_ALL}) AS t"
    for batch in _batches(path, sql, batch_rows):
        column = batch.column(0)
        if column.null_count or column.type != pa.string():
            yield "".join(v for v in column.to_pylist() if v).encode()
            continue
        offsets, data = column.buffers()[1], column.buffers()[2]
        if offsets is None or data is None or len(column) == 0:
            continue
        bounds = np.frombuffer(
            offsets, dtype=np.int32, count=len(column) + 1, offset=column.offset * 4
        )
        yield memoryview(data)[int(bounds[0]) : int(bounds[-1])].tobytes()


def parquet_chunks(path: Path, batch_rows: int = 262_144) -> Iterator[bytes]:
    """A Parquet file written row group by row group into the response, footer last."""
    drain = _Drain()
    sink = pa.PythonFile(drain, mode="w")
    writer: pq.ParquetWriter | None = None
    for batch in _batches(path, SELECT_ALL, batch_rows):
        if writer is None:
            writer = pq.ParquetWriter(sink, batch.schema, compression="zstd")
        writer.write_batch(batch)
        yield drain.take()
    if writer is not None:
        writer.close()
        yield drain.take()


ENCODERS = {"csv": csv_chunks, "jsonl": jsonl_chunks, "parquet": parquet_chunks}


def stream(path: Path, fmt: str, basename: str) -> Download:
    """A download of a whole table; the caller checked that the table is published."""
    return Download(
        filename=f"{basename}.{fmt}",
        media_type=FORMATS[fmt],
        chunks=(chunk for chunk in ENCODERS[fmt](path) if chunk),
    )
