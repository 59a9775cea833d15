"""The demo world as Parquet files: one file per table, written in row groups of ~batch rows.

Blocks are generated on a worker thread (a couple ahead) while earlier ones are encoded and
compressed on the calling thread (numpy and Arrow release the GIL), and written strictly in
order, so the files are byte-identical from run to run. Memory stays bounded by about one batch
of each file plus the blocks in flight.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from trusthub.demo.organisations import all_datasets
from trusthub.demo.randomness import blocks
from trusthub.demo.tables import choice_events_table, citizens_table, registry_tables
from trusthub.demo.world import WorldBlock, generate_block

Progress = Callable[[str, int, int], None]
COMPRESSION = "zstd"
AHEAD = 2
"""Blocks generated ahead of the writer: enough to keep both cores busy while a row group of
every file is encoded at once, few enough to bound memory."""
HIGH_CARDINALITY = frozenset(
    {"local_id", "nhs_number", "nino", "address_line1", "previous_address_line1", "postcode",
     "previous_postcode"}
    | {dataset.local_id for _, dataset in all_datasets()}
)  # fmt: skip
"""Columns of (nearly) unique strings: a dictionary costs time and saves nothing on these, so
they are written plain (zstd still compresses them)."""


def _writer(path: Path, schema: pa.Schema) -> pq.ParquetWriter:
    """A zstd writer; min/max statistics only where readers prune on them (ids, dates,
    numbers): on strings they cost a fifth of the write and help no query of this world."""
    low_cardinality = [name for name in schema.names if name not in HIGH_CARDINALITY]
    not_text = [field.name for field in schema if not pa.types.is_string(field.type)]
    return pq.ParquetWriter(
        path,
        schema,
        compression=COMPRESSION,
        use_dictionary=low_cardinality,
        write_statistics=not_text,
    )


class _File:
    """One Parquet file: tables buffered until a row group's worth, then written."""

    def __init__(self, path: Path, row_group: int) -> None:
        self.path = path
        self.row_group = row_group
        self.pending: list[pa.Table] = []
        self.pending_rows = 0
        self.rows = 0
        self.writer: pq.ParquetWriter | None = None
        self.schema: pa.Schema | None = None

    def add(self, table: pa.Table) -> None:
        self.schema = self.schema or table.schema
        self.pending.append(table)
        self.pending_rows += table.num_rows
        if self.pending_rows >= self.row_group:
            self.flush(whole_groups_only=True)

    def flush(self, whole_groups_only: bool = False) -> None:
        """Write the pending rows as row groups of exactly ``row_group`` rows (the last smaller)."""
        if not self.pending:
            return
        table = pa.concat_tables(self.pending)
        keep = table.num_rows % self.row_group if whole_groups_only else 0
        ready = table.slice(0, table.num_rows - keep)
        if ready.num_rows:
            if self.writer is None:
                self.writer = _writer(self.path, self.schema)
            self.writer.write_table(ready, row_group_size=self.row_group)
            self.rows += ready.num_rows
        rest = table.slice(table.num_rows - keep)
        self.pending = [rest] if keep else []
        self.pending_rows = keep

    def discard(self) -> None:
        """Give up: close and delete the file, so no half-written world is left behind."""
        self.pending = []
        if self.writer is not None:
            self.writer.close()
        self.path.unlink(missing_ok=True)

    def close(self) -> None:
        self.flush()
        if self.writer is None and self.schema is not None:
            self.writer = _writer(self.path, self.schema)
        if self.writer is not None:
            self.writer.close()


def world_files(directory: Path) -> list[Path]:
    """The Parquet files a world writes that already exist in ``directory``."""
    return sorted(directory.glob("*.parquet")) if directory.is_dir() else []


def write_world(
    directory: Path, citizens: int, seed: int, batch_size: int, progress: Progress | None
) -> dict[str, int]:
    """Write every table of the world to ``directory``; return rows per file name."""
    directory.mkdir(parents=True, exist_ok=True)
    files: dict[str, _File] = {}

    def add(name: str, table: pa.Table) -> None:
        if name not in files:
            files[name] = _File(directory / f"{name}.parquet", batch_size)
        files[name].add(table)

    try:
        for name, table in registry_tables().items():
            add(name, table)
        _write_blocks(citizens, seed, add, progress)
        for file in files.values():
            file.close()
    except BaseException:
        for file in files.values():
            file.discard()
        raise
    return {name: file.rows for name, file in files.items()}


def _write_blocks(
    citizens: int, seed: int, add: Callable[[str, pa.Table], None], progress: Progress | None
) -> None:
    """Generate blocks on a worker thread, up to AHEAD blocks ahead, while writing in order."""
    done = 0
    if progress:
        progress("citizens", 0, citizens)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="demo-world") as pool:
        pending: deque[Future[WorldBlock]] = deque()
        for block in blocks(citizens):
            pending.append(pool.submit(generate_block, seed, block))
            if len(pending) > AHEAD:
                done = _write_block(pending.popleft().result(), add, done, citizens, progress)
        while pending:
            done = _write_block(pending.popleft().result(), add, done, citizens, progress)


def _write_block(
    world: WorldBlock,
    add: Callable[[str, pa.Table], None],
    done: int,
    citizens: int,
    progress: Progress | None,
) -> int:
    add("citizens", citizens_table(world.people))
    add("choice_events", choice_events_table(world.people))
    for key, copy in world.copies.items():
        add(key, copy)
    done += world.block.size
    if progress:
        progress("citizens", done, citizens)
    return done
