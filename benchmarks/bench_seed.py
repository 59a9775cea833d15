"""How fast the demo world is built: into SQLite, into PostgreSQL, and as 25M citizens of Parquet.

Goals (the demo-world brief): 100,000 citizens seeded into a migrated database in under 60 s
(SQLite and PostgreSQL alike), and the 25,000,000-citizen Parquet world written in under 300 s
on a 2-core machine with bounded memory.

Every measurement runs in a fresh child process; its wall time, CPU time (user + system, all
threads) and peak RSS come from ``os.wait4`` on that child alone. CPU seconds are shown beside
wall seconds because the machine may be shared. Rows are all rows written (every table/file).

Baselines, for a side-by-side that says what the floor is:

- SQLite floor: ``executemany`` of the same number of ready-made 5-column rows into one table
  with no index, in one transaction with ``synchronous=OFF`` — storage cost without generating
  anything, without indexes or foreign keys.
- PostgreSQL floor: ``COPY`` of the same number of ready-made CSV rows into an unindexed table.
- DuckDB Parquet floor: DuckDB (all cores) writing the same total number of rows, 10 columns of
  hash-derived values, to one zstd Parquet file — what merely producing that much Parquet costs.
- DuckDB read-back: DuckDB counting every file of the written world and aggregating citizens by
  town and opt-out — proof the files are complete and what reading them costs.

    .venv/bin/python benchmarks/bench_seed.py [--citizens 100000] [--parquet-citizens 25000000]
        [--postgres-url URL] [--skip-parquet] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

SEED = 2017


@dataclass(frozen=True)
class Measurement:
    name: str
    rows: int
    wall: float
    cpu: float
    peak_rss_mb: float
    goal_seconds: float | None
    note: str = ""

    def row(self) -> str:
        rate = self.rows / self.wall if self.wall else 0.0
        goal = f"< {self.goal_seconds:.0f} s" if self.goal_seconds else "—"
        verdict = (
            ("met" if self.wall < self.goal_seconds else "MISSED") if self.goal_seconds else "—"
        )
        return (
            f"| {self.name} | {self.rows:,} | {self.wall:.1f} | {self.cpu:.1f} | {rate:,.0f} | "
            f"{self.peak_rss_mb:,.0f} | {goal} | {verdict} | {self.note} |"
        )


HEADER = (
    "| measurement | rows written | wall s | CPU s | rows/s (wall) | peak RSS MB | goal | "
    "verdict | note |\n|---|---:|---:|---:|---:|---:|---|---|---|"
)


# --- Children: each does one job and prints one JSON line -------------------------------------


def child_seed(url: str, citizens: int) -> dict[str, Any]:
    from trusthub.db import make_engine
    from trusthub.demo.service import seed_database

    engine = make_engine(url)
    report = seed_database(engine, citizens, SEED)
    engine.dispose()
    return {"rows": report.total_rows, "seconds": report.seconds}


def child_parquet(directory: str, citizens: int) -> dict[str, Any]:
    from trusthub.demo.service import write_parquet_world

    report = write_parquet_world(directory, citizens, SEED)
    size = sum(p.stat().st_size for p in Path(directory).glob("*.parquet"))
    return {"rows": report.total_rows, "seconds": report.seconds, "bytes": size}


def child_sqlite_floor(path: str, rows: int) -> dict[str, Any]:
    import sqlite3

    values = [(i, f"name{i % 997}", f"{i:010d}", "2024-01-01", i % 7) for i in range(rows)]
    started = time.perf_counter()
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA synchronous=OFF")
    connection.execute("CREATE TABLE floor (id INTEGER PRIMARY KEY, a TEXT, b TEXT, c TEXT, d INT)")
    connection.execute("BEGIN")
    connection.executemany("INSERT INTO floor VALUES (?, ?, ?, ?, ?)", values)
    connection.execute("COMMIT")
    connection.close()
    return {"rows": rows, "seconds": time.perf_counter() - started}


def child_postgres_floor(url: str, rows: int) -> dict[str, Any]:
    import psycopg

    data = "".join(f"{i},name{i % 997},{i:010d},2024-01-01,{i % 7}\n" for i in range(rows))
    started = time.perf_counter()
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as connection:
        connection.execute("DROP TABLE IF EXISTS bench_floor")
        connection.execute("CREATE TABLE bench_floor (id bigint, a text, b text, c date, d int)")
        with connection.cursor().copy("COPY bench_floor FROM STDIN (FORMAT csv)") as copy:
            copy.write(data)
        connection.execute("DROP TABLE bench_floor")
    return {"rows": rows, "seconds": time.perf_counter() - started}


def child_duckdb_floor(path: str, rows: int) -> dict[str, Any]:
    import duckdb

    started = time.perf_counter()
    duckdb.sql(
        f"""
        COPY (
            SELECT i AS id,
                   lpad((hash(i) % 10000000000)::VARCHAR, 10, '0') AS a,
                   'N' || (hash(i + 1) % 1000000)::VARCHAR AS b,
                   'name' || (hash(i + 2) % 300)::VARCHAR AS c,
                   'surname' || (hash(i + 3) % 330)::VARCHAR AS d,
                   (hash(i + 4) % 300)::VARCHAR || ' High Street' AS e,
                   'LS' || (hash(i + 5) % 30)::VARCHAR || ' 1AB' AS f,
                   DATE '1930-01-01' + (hash(i + 6) % 34000)::INTEGER AS g,
                   DATE '2000-01-01' + (hash(i + 7) % 9000)::INTEGER AS h,
                   hash(i + 8) % 20 = 0 AS j
            FROM range({rows}) t(i)
        ) TO '{path}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 1000000)
        """  # noqa: S608 - numbers and a path of our own
    )
    return {"rows": rows, "seconds": time.perf_counter() - started}


def child_duckdb_read(directory: str) -> dict[str, Any]:
    import duckdb

    started = time.perf_counter()
    connection = duckdb.connect()
    rows = 0
    for path in sorted(Path(directory).glob("*.parquet")):
        counted = connection.execute("SELECT count(*) FROM read_parquet(?)", [str(path)])
        rows += int(counted.fetchall()[0][0])
    connection.execute(
        "SELECT town, avg(opted_out::INT) AS opted_out, count(*) FROM read_parquet(?) "
        "GROUP BY town ORDER BY 3 DESC",
        [str(Path(directory) / "citizens.parquet")],
    ).fetchall()
    return {"rows": rows, "seconds": time.perf_counter() - started}


CHILDREN = {
    "seed": child_seed,
    "parquet": child_parquet,
    "sqlite-floor": child_sqlite_floor,
    "postgres-floor": child_postgres_floor,
    "duckdb-floor": child_duckdb_floor,
    "duckdb-read": child_duckdb_read,
}


# --- Parent: runs each child and measures it --------------------------------------------------


def run_child(kind: str, *args: str) -> tuple[dict[str, Any], float, float, float]:
    """Run one child; return its JSON result, wall seconds, CPU seconds and peak RSS in MB."""
    command = [sys.executable, __file__, "--child", kind, *args]
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE)
    assert process.stdout is not None
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{kind} failed with exit code {process.returncode}")
    result = json.loads(output.decode().strip().splitlines()[-1])
    return result, wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def machine() -> str:
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    model = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    import duckdb
    import numpy
    import pyarrow

    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"{os.cpu_count()} CPUs ({model or platform.machine()}), {memory:.1f} GiB RAM, "
        f"load average at start {load}; Python {platform.python_version()}, numpy "
        f"{numpy.__version__}, pyarrow {pyarrow.__version__}, duckdb {duckdb.__version__}"
    )


def fresh_postgres(url: str) -> str:
    """A new, migrated database on the server at ``url``, for the seed to fill."""
    from sqlalchemy.engine import make_url

    from trusthub.db import make_engine
    from trusthub.migrations import upgrade

    name = "trusthub_bench_seed"
    admin = make_engine(str(make_url(url).set(database="postgres")))
    admin = admin.execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    target = make_url(url).set(database=name).render_as_string(hide_password=False)
    upgrade(target)
    return target


def drop_postgres(url: str) -> None:
    from sqlalchemy.engine import make_url

    from trusthub.db import make_engine

    admin = make_engine(str(make_url(url).set(database="postgres")))
    admin = admin.execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql('DROP DATABASE IF EXISTS "trusthub_bench_seed" WITH (FORCE)')
    admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--citizens", type=int, default=100_000)
    parser.add_argument("--parquet-citizens", type=int, default=25_000_000)
    parser.add_argument("--postgres-url", help="a PostgreSQL server to seed a fresh database on")
    parser.add_argument("--skip-parquet", action="store_true")
    parser.add_argument("--workdir", type=Path, help="where files go (default: a temp dir)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("args", nargs="*", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        function = CHILDREN[options.child]
        arguments = [int(a) if a.isdigit() else a for a in options.args]
        print(json.dumps(function(*arguments)))  # type: ignore[operator]
        return

    from trusthub.migrations import upgrade

    work = options.workdir or Path(tempfile.mkdtemp(prefix="bench-seed-"))
    work.mkdir(parents=True, exist_ok=True)
    results: list[Measurement] = []
    print(f"Machine: {machine()}", flush=True)
    print(f"Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; seed {SEED}\n", flush=True)
    try:
        db = work / "seed.db"
        db.unlink(missing_ok=True)
        upgrade(f"sqlite:///{db}")
        result, wall, cpu, rss = run_child("seed", f"sqlite:///{db}", str(options.citizens))
        rows = result["rows"]
        results.append(
            Measurement(
                f"seed {options.citizens:,} citizens → SQLite",
                rows,
                wall,
                cpu,
                rss,
                60,
                f"seed itself {result['seconds']:.1f} s",
            )
        )
        result, wall, cpu, rss = run_child("sqlite-floor", str(work / "floor.db"), str(rows))
        results.append(
            Measurement(
                "baseline: SQLite floor (same rows, no index)",
                rows,
                wall,
                cpu,
                rss,
                None,
                f"insert itself {result['seconds']:.1f} s",
            )
        )
        if options.postgres_url:
            target = fresh_postgres(options.postgres_url)
            try:
                result, wall, cpu, rss = run_child("seed", target, str(options.citizens))
                results.append(
                    Measurement(
                        f"seed {options.citizens:,} citizens → PostgreSQL",
                        rows,
                        wall,
                        cpu,
                        rss,
                        60,
                        f"seed itself {result['seconds']:.1f} s",
                    )
                )
                result, wall, cpu, rss = run_child("postgres-floor", target, str(rows))
                results.append(
                    Measurement(
                        "baseline: PostgreSQL COPY floor (same rows, no index)",
                        rows,
                        wall,
                        cpu,
                        rss,
                        None,
                        f"COPY itself {result['seconds']:.1f} s",
                    )
                )
            finally:
                drop_postgres(options.postgres_url)
        if not options.skip_parquet:
            directory = work / "world"
            shutil.rmtree(directory, ignore_errors=True)
            count = options.parquet_citizens
            result, wall, cpu, rss = run_child("parquet", str(directory), str(count))
            world_rows = result["rows"]
            results.append(
                Measurement(
                    f"Parquet world, {count:,} citizens",
                    world_rows,
                    wall,
                    cpu,
                    rss,
                    300,
                    f"{result['bytes'] / 1e9:.2f} GB on disk",
                )
            )
            result, wall, cpu, rss = run_child(
                "duckdb-floor", str(work / "floor.parquet"), str(world_rows)
            )
            results.append(
                Measurement(
                    "baseline: DuckDB writes as many rows (10 cols)",
                    world_rows,
                    wall,
                    cpu,
                    rss,
                    None,
                    "all cores",
                )
            )
            result, wall, cpu, rss = run_child("duckdb-read", str(directory))
            results.append(
                Measurement(
                    "baseline: DuckDB reads the world back",
                    result["rows"],
                    wall,
                    cpu,
                    rss,
                    None,
                    "counts every file + one GROUP BY",
                )
            )
    finally:
        if options.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    print(HEADER)
    for measurement in results:
        print(measurement.row())


if __name__ == "__main__":
    main()
