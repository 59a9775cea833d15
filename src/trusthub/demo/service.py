"""Seed a database or write Parquet files with the demo world: the one action layer the CLI uses.

The same citizens count and seed always give the same world, row for row. Reports carry counts
and timings only, never a name or an identifier.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, func, inspect, literal, select, table

from trusthub.demo import parquet
from trusthub.demo.load_postgres import postgres_loader
from trusthub.demo.load_sqlite import sqlite_loader
from trusthub.demo.randomness import BLOCK_SIZE
from trusthub.demo.tables import DATABASE_TABLES, IdCounters, database_rows, registry_tables
from trusthub.demo.world import generate_world

Progress = Callable[[str, int, int], None]
"""Called as ``progress(task, completed, total)`` while long work goes on."""

DEFAULT_DATABASE_BATCH = 50_000
DEFAULT_PARQUET_BATCH = 1_000_000


class NotMigrated(RuntimeError):
    """The database lacks the tables the demo world goes into."""


class AlreadySeeded(RuntimeError):
    """The database already holds data, which the demo world must not mix with."""

    def __init__(self, citizens: int) -> None:
        super().__init__(f"already seeded: {citizens} citizens")
        self.citizens = citizens


class AlreadyWritten(RuntimeError):
    """The directory already holds Parquet files."""


@dataclass(frozen=True, slots=True)
class SeedReport:
    """What a seed wrote: rows per table (or file) and how long it took."""

    target: str
    citizens: int
    seed: int
    rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    @property
    def rows_per_second(self) -> float:
        return self.total_rows / self.seconds if self.seconds > 0 else 0.0


def seeded_citizens(engine: Engine) -> int | None:
    """How many citizens the database holds if any seeded table has rows, else None."""
    names = set(inspect(engine).get_table_names())
    missing = [t for t in DATABASE_TABLES if t not in names]
    if missing:
        raise NotMigrated(
            f"the database has no {', '.join(missing)} table: run `trusthub db upgrade` first"
        )
    with engine.connect() as connection:
        for name in DATABASE_TABLES:
            if connection.execute(select(literal(1)).select_from(table(name)).limit(1)).first():
                count = connection.execute(select(func.count()).select_from(table("citizens")))
                return int(count.scalar_one())
    return None


def seed_database(
    engine: Engine,
    citizens: int,
    seed: int,
    *,
    batch_size: int = DEFAULT_DATABASE_BATCH,
    progress: Progress | None = None,
) -> SeedReport:
    """Fill an empty, migrated database with the demo world, in one transaction.

    Raises AlreadySeeded if any of the world's tables already has rows.
    """
    existing = seeded_citizens(engine)
    if existing is not None:
        raise AlreadySeeded(existing)
    started = time.perf_counter()
    rows = dict.fromkeys(DATABASE_TABLES, 0)
    backend = engine.dialect.name
    if backend not in ("postgresql", "sqlite"):
        raise NotImplementedError(f"the demo world loads into SQLite or PostgreSQL, not {backend}")
    loader = (
        postgres_loader(engine, DATABASE_TABLES)
        if backend == "postgresql"
        else sqlite_loader(engine)
    )
    ids = IdCounters()
    if progress:
        progress("citizens", 0, citizens)
    with loader as write:
        for name, data in registry_tables().items():
            write(name, data)
            rows[name] += data.num_rows
        done = 0
        for world in generate_world(citizens, seed):
            for name, data in database_rows(world, ids):
                for start in range(0, data.num_rows, batch_size):
                    write(name, data.slice(start, batch_size))
                rows[name] += data.num_rows
            done += world.block.size
            if progress:
                progress("citizens", done, citizens)
    return SeedReport(backend, citizens, seed, rows, time.perf_counter() - started)


def write_parquet_world(
    directory: Path | str,
    citizens: int,
    seed: int,
    batch_size: int = DEFAULT_PARQUET_BATCH,
    progress: Progress | None = None,
) -> SeedReport:
    """Write the demo world as Parquet files (one per table) into a directory without any.

    Department copies are flat: the dataset's fields, ``local_id``, ``updated_at`` and the
    ground-truth ``citizen_id``. Raises AlreadyWritten if the directory holds Parquet files.
    """
    path = Path(directory)
    if parquet.world_files(path):
        raise AlreadyWritten(f"{path} already holds Parquet files")
    started = time.perf_counter()
    rows = parquet.write_world(path, citizens, seed, max(batch_size, 1), progress)
    return SeedReport(f"parquet:{path}", citizens, seed, rows, time.perf_counter() - started)


__all__ = [
    "BLOCK_SIZE",
    "AlreadySeeded",
    "AlreadyWritten",
    "NotMigrated",
    "Progress",
    "SeedReport",
    "seed_database",
    "seeded_citizens",
    "write_parquet_world",
]
