"""Open data at the article's scale: 30M price-paid rows, through the API, beside plain PostgreSQL.

Goals (issue "Open the non-personal data"): datastore_search by postcode district and date range
at p95 <= 50 ms; median price by region and year via datastore_search_sql in <= 2 s; a full CSV
download at >= 50 MB/s with flat memory. The same queries run on a plain PostgreSQL table built
as CKAN's DataStore builds one (a table per resource, ``_id`` primary key, the publisher's index)
so the figures stand side by side.

    .venv/bin/python benchmarks/bench_opendata.py --postgres-url postgresql://postgres@127.0.0.1:55432/trusthub_test
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import httpx
import psycopg
from sqlalchemy.engine import make_url

from trusthub.db import make_engine, make_session_factory, transaction
from trusthub.migrations import upgrade
from trusthub.opendata import service
from trusthub.opendata.sources import price_paid
from trusthub.registry.models import OrganisationKind
from trusthub.registry.schemas import OrganisationCreate
from trusthub.registry.service import create_organisation

GOAL_SEARCH_P95_MS = 50.0
GOAL_SQL_S = 2.0
GOAL_CSV_MBS = 50.0
MEDIAN_SQL = (
    'SELECT region, year(date_of_transfer) AS year, median(price) AS median_price FROM "{rid}" '
    "GROUP BY region, year ORDER BY region, year"
)
PG_MEDIAN_SQL = (
    "SELECT region, extract(year FROM date_of_transfer) AS year, "
    "percentile_cont(0.5) WITHIN GROUP (ORDER BY price) AS median_price FROM price_paid "
    "GROUP BY 1, 2 ORDER BY 1, 2"
)
PG_COLUMNS = [
    ("transaction_id", "text"), ("price", "bigint"), ("date_of_transfer", "date"),
    ("postcode", "text"), ("property_type", "text"), ("old_new", "text"), ("duration", "text"),
    ("paon", "text"), ("saon", "text"), ("street", "text"), ("locality", "text"),
    ("town_city", "text"), ("district", "text"), ("county", "text"),
    ("ppd_category_type", "text"), ("record_status", "text"), ("postcode_district", "text"),
    ("region", "text"),
]  # fmt: skip


def log(message: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


@contextmanager
def peak_rss(pid: int) -> Iterator[dict[str, float]]:
    """Sample a process's resident memory every 50 ms while the block runs."""
    found = {"start": rss_mb(pid), "peak": 0.0}
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            found["peak"] = max(found["peak"], rss_mb(pid))
            stop.wait(0.05)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield found
    finally:
        stop.set()
        thread.join()
        found["end"] = rss_mb(pid)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def prepare(work: Path, rows: int, seed: int) -> tuple[str, Path, str, Path]:
    """Generate pp-complete.csv and publish it, reusing both when a run already made them."""
    source = work / "source"
    csv_file = source / "pp-complete.csv"
    marker = work / f"prepared-{rows}-{seed}.json"
    database_url = f"sqlite:///{work / 'catalogue.db'}"
    data_dir = work / "data"
    if marker.is_file():
        info = json.loads(marker.read_text())
        upgrade(database_url)  # parts added since the last run bring their own tables
        log(f"reusing {info['resource_id']} ({rows:,} rows)")
        return database_url, data_dir, str(info["resource_id"]), csv_file
    work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    log(f"generating {rows:,} rows")
    price_paid.generate(source, rows, seed)
    generated = time.perf_counter() - started
    log(f"generated {csv_file.stat().st_size / 1e9:.2f} GB in {generated:.0f} s")
    (work / "catalogue.db").unlink(missing_ok=True)
    upgrade(database_url)
    engine = make_engine(database_url)
    factory = make_session_factory(engine)
    with transaction(factory) as session:
        create_organisation(
            session,
            OrganisationCreate(
                slug="hm-land-registry",
                name="HM Land Registry",
                kind=OrganisationKind.GOVERNMENT_DEPARTMENT,
                dpo_name="Data Protection Officer",
                dpo_email="dpo@landregistry.example",
            ),
        )
    started = time.perf_counter()
    sources = {n: service.TableSource(q) for n, q in price_paid.select([csv_file]).items()}
    with transaction(factory) as session:
        package = service.publish_version(session, data_dir, price_paid.manifest(), sources)
    loaded = time.perf_counter() - started
    engine.dispose()
    resource_id = package.resources[0].id
    log(f"published in {loaded:.0f} s: resource {resource_id}")
    marker.write_text(
        json.dumps({"resource_id": resource_id, "generate_s": generated, "load_s": loaded})
    )
    return database_url, data_dir, resource_id, csv_file


@contextmanager
def server(database_url: str, data_dir: Path) -> Iterator[tuple[str, int]]:
    port = free_port()
    env = {
        **os.environ,
        "TRUSTHUB_DATABASE_URL": database_url,
        "TRUSTHUB_OPENDATA_DATA_DIR": str(data_dir),
        "TRUSTHUB_OPENDATA_SQL_TIMEOUT": "60",
        "TRUSTHUB_LOG_LEVEL": "WARNING",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "trusthub.app:create_app", "--factory",
         "--host", "127.0.0.1", "--port", str(port), "--no-access-log"],
        env=env, cwd=data_dir.parent, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise SystemExit("the app did not start")
            time.sleep(0.2)
        yield url, process.pid
    finally:
        process.terminate()
        process.wait(timeout=30)


def search_cases(
    data_dir: Path, resource_id: str, count: int, seed: int
) -> list[tuple[str, int, int]]:
    """Districts weighted as the data is, and date ranges of one to five years."""
    path = data_dir / "tables" / f"{resource_id}.duckdb"
    with duckdb.connect(str(path), read_only=True) as connection:
        rows = connection.execute(
            "SELECT postcode_district FROM data WHERE postcode_district IS NOT NULL "
            "USING SAMPLE 20000 ROWS"
        ).fetchall()
    rng = random.Random(seed)
    cases = []
    for _ in range(count):
        start = rng.randint(1995, 2021)
        cases.append((str(rng.choice(rows)[0]), start, start + rng.randint(1, 5)))
    return cases


def timed(fn: Callable[[], Any], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        out.append(time.perf_counter() - started)
    return out


def bench_trusthub(
    url: str, pid: int, resource_id: str, cases: list[tuple[str, int, int]], sql_repeat: int
) -> dict[str, float]:
    results: dict[str, float] = {}
    with httpx.Client(base_url=url, timeout=120) as client:

        def search(case: tuple[str, int, int]) -> None:
            district, start, end = case
            response = client.post(
                "/api/3/action/datastore_search",
                json={
                    "resource_id": resource_id,
                    "filters": {
                        "postcode_district": district,
                        "date_of_transfer": {"gte": f"{start}-01-01", "lt": f"{end}-01-01"},
                    },
                    "limit": 100,
                },
            )
            body = response.json()
            assert body["success"], body

        for case in cases[:20]:
            search(case)  # warm caches as a running service would have them
        times = []
        for case in cases:
            started = time.perf_counter()
            search(case)
            times.append(time.perf_counter() - started)
        results["search_p50_ms"] = percentile(times, 0.5) * 1000
        results["search_p95_ms"] = percentile(times, 0.95) * 1000
        results["search_p99_ms"] = percentile(times, 0.99) * 1000

        def median_sql() -> None:
            response = client.post(
                "/api/3/action/datastore_search_sql",
                json={"sql": MEDIAN_SQL.format(rid=resource_id)},
            )
            body = response.json()
            assert body["success"], body
            results["sql_rows"] = len(body["result"]["records"])

        sql_times = timed(median_sql, sql_repeat)
        results["sql_median_s"] = statistics.median(sql_times)
        results["sql_max_s"] = max(sql_times)

        size = 0
        trail: list[tuple[int, float]] = []
        with peak_rss(pid) as memory:
            started = time.perf_counter()
            with client.stream("GET", f"/datastore/dump/{resource_id}?format=csv") as response:
                for chunk in response.iter_raw(1 << 20):
                    size += len(chunk)
                    if not trail or size - trail[-1][0] >= 100_000_000:
                        trail.append((size, rss_mb(pid)))
            elapsed = time.perf_counter() - started
        # Memory once the stream is under way (past the first quarter) against the end: flat
        # means no growth with the rows sent, whatever the buffers cost at the start.
        settled = [rss for sent, rss in trail if sent >= size / 4]
        results["csv_rss_quarter_mb"] = settled[0] if settled else memory["start"]
        results["csv_rss_end_mb"] = trail[-1][1] if trail else memory["end"]
        results["csv_rss_growth_after_quarter_mb"] = max(settled) - settled[0] if settled else 0.0
        results["csv_bytes"] = size
        results["csv_s"] = elapsed
        results["csv_mbs"] = size / 1e6 / elapsed
        results["csv_rss_start_mb"] = memory["start"]
        results["csv_rss_peak_mb"] = memory["peak"]
    return results


def pg_prepare(pg_url: str, data_dir: Path, resource_id: str, work: Path) -> str:
    """A plain table as CKAN's DataStore makes one, loaded with COPY, with the publisher's index."""
    base = make_url(pg_url)
    bench_db = "trusthub_bench_opendata"
    admin = base.set(drivername="postgresql", database="postgres").render_as_string(
        hide_password=False
    )
    target = base.set(drivername="postgresql", database=bench_db).render_as_string(
        hide_password=False
    )
    marker = work / f"pg-{resource_id}.done"
    if marker.is_file():
        try:
            with psycopg.connect(target) as check:
                check.execute("SELECT 1 FROM price_paid LIMIT 1")
            log("reusing the PostgreSQL table")
            return target
        except psycopg.Error:
            pass
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{bench_db}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{bench_db}"')
    export = work / "pg-export.csv"
    columns = ", ".join(c for c, _ in PG_COLUMNS)
    with duckdb.connect(str(data_dir / "tables" / f"{resource_id}.duckdb"), read_only=True) as dk:
        dk.execute(f"COPY (SELECT {columns} FROM data) TO '{export}' (HEADER false)")  # noqa: S608
    log(f"loading PostgreSQL with COPY ({export.stat().st_size / 1e9:.2f} GB)")
    started = time.perf_counter()
    with psycopg.connect(target, autocommit=True) as connection:
        definition = ", ".join(f'"{c}" {t}' for c, t in PG_COLUMNS)
        connection.execute(f"CREATE TABLE price_paid (_id bigserial PRIMARY KEY, {definition})")
        with (
            connection.cursor().copy(
                f"COPY price_paid ({columns}) FROM STDIN (FORMAT csv)"
            ) as copy,
            export.open("rb") as source,
        ):
            while block := source.read(1 << 22):
                copy.write(block)
        log(f"copied in {time.perf_counter() - started:.0f} s; indexing")
        connection.execute(
            "CREATE INDEX price_paid_district_date "
            "ON price_paid (postcode_district, date_of_transfer)"
        )
        connection.execute("VACUUM ANALYZE price_paid")
    export.unlink()
    log(f"PostgreSQL ready in {time.perf_counter() - started:.0f} s")
    marker.write_text(target)
    return target


def bench_postgres(
    pg_url: str, cases: list[tuple[str, int, int]], sql_repeat: int
) -> dict[str, float]:
    results: dict[str, float] = {}
    with psycopg.connect(pg_url, autocommit=True) as connection:

        def search(case: tuple[str, int, int]) -> None:
            district, start, end = case
            where = "postcode_district = %s AND date_of_transfer >= %s AND date_of_transfer < %s"
            args = (district, f"{start}-01-01", f"{end}-01-01")
            rows = f"SELECT * FROM price_paid WHERE {where} LIMIT 100"  # noqa: S608 - fixed text
            count = f"SELECT count(*) FROM price_paid WHERE {where}"  # noqa: S608 - fixed text
            connection.execute(rows, args).fetchall()
            connection.execute(count, args).fetchone()

        for case in cases[:20]:
            search(case)
        times = []
        for case in cases:
            started = time.perf_counter()
            search(case)
            times.append(time.perf_counter() - started)
        results["search_p50_ms"] = percentile(times, 0.5) * 1000
        results["search_p95_ms"] = percentile(times, 0.95) * 1000
        results["search_p99_ms"] = percentile(times, 0.99) * 1000
        sql_times = timed(lambda: connection.execute(PG_MEDIAN_SQL).fetchall(), sql_repeat)
        results["sql_median_s"] = statistics.median(sql_times)
        results["sql_max_s"] = max(sql_times)
        size = 0
        started = time.perf_counter()
        with connection.cursor().copy(
            "COPY (SELECT * FROM price_paid) TO STDOUT WITH CSV HEADER"
        ) as copy:
            for block in copy:
                size += len(block)
        elapsed = time.perf_counter() - started
        results["csv_bytes"] = size
        results["csv_s"] = elapsed
        results["csv_mbs"] = size / 1e6 / elapsed
    return results


def report(
    rows: int, ours: dict[str, float], pg: dict[str, float] | None, args: argparse.Namespace
) -> str:
    """A Markdown table: each figure beside its goal, and PostgreSQL's beside ours."""
    pg = pg or {}
    nan = float("nan")

    def met(ok: bool) -> str:
        return "met" if ok else "MISSED"

    def times(slow: float | None, fast: float | None) -> str:
        return f"{slow / fast:.1f}×" if slow and fast else "–"

    search = (
        f"{ours['search_p95_ms']:.1f} ms",
        f"{pg.get('search_p95_ms', nan):.1f} ms",
        f"≤ {GOAL_SEARCH_P95_MS:.0f} ms",
        met(ours["search_p95_ms"] <= GOAL_SEARCH_P95_MS),
        f"PostgreSQL {times(ours['search_p95_ms'], pg.get('search_p95_ms'))} faster",
    )
    spread = (
        f"{ours['search_p50_ms']:.1f} / {ours['search_p99_ms']:.1f} ms",
        f"{pg.get('search_p50_ms', nan):.1f} / {pg.get('search_p99_ms', nan):.1f} ms",
        "",
        "",
        "",
    )
    sql = (
        f"{ours['sql_median_s']:.2f} s (max {ours['sql_max_s']:.2f})",
        f"{pg.get('sql_median_s', nan):.2f} s",
        f"≤ {GOAL_SQL_S:.0f} s",
        met(ours["sql_median_s"] <= GOAL_SQL_S),
        f"TrustHub {times(pg.get('sql_median_s'), ours['sql_median_s'])} faster",
    )
    csv = (
        f"{ours['csv_mbs']:.0f} MB/s ({ours['csv_bytes'] / 1e9:.2f} GB in {ours['csv_s']:.0f} s)",
        f"{pg.get('csv_mbs', nan):.0f} MB/s (COPY TO STDOUT)",
        f"≥ {GOAL_CSV_MBS:.0f} MB/s",
        met(ours["csv_mbs"] >= GOAL_CSV_MBS),
        f"TrustHub {times(ours['csv_mbs'], pg.get('csv_mbs'))} as fast",
    )
    grown = ours["csv_rss_growth_after_quarter_mb"]
    memory = (
        f"{ours['csv_rss_start_mb']:.0f} MB before, {ours['csv_rss_quarter_mb']:.0f} MB at a "
        f"quarter, peak {ours['csv_rss_peak_mb']:.0f} MB; +{grown:.0f} MB over the last three "
        "quarters",
        "",
        "flat",
        met(grown < 64),
        "",
    )
    head = (
        f"Open data benchmark — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {rows:,} price-paid rows,"
        f" {os.cpu_count()} cores, {args.queries} searches, {args.sql_repeat} SQL runs"
    )
    table = [
        ("measure", "TrustHub (DuckDB, via the API)", "plain PostgreSQL (CKAN DataStore "
         "design, queried directly)", "goal", "result", "side by side"),
        ("datastore_search, district + date range, p95", *search),
        ("… p50 / p99", *spread),
        ("median price by region and year, datastore_search_sql", *sql),
        ("full CSV download", *csv),
        ("server memory during the download", *memory),
    ]  # fmt: skip
    lines = [head, ""]
    for n, row in enumerate(table):
        lines.append("| " + " | ".join(row) + " |")
        if n == 0:
            lines.append("|" + "---|" * len(row))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=30_000_000)
    parser.add_argument("--seed", type=int, default=2017)
    parser.add_argument("--work", type=Path, default=Path("var/bench-opendata"))
    parser.add_argument("--postgres-url", help="A PostgreSQL server for the side-by-side table.")
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--sql-repeat", type=int, default=5)
    args = parser.parse_args()
    work = args.work.resolve() / str(args.rows)
    database_url, data_dir, resource_id, _ = prepare(work, args.rows, args.seed)
    cases = search_cases(data_dir, resource_id, args.queries, args.seed)
    with server(database_url, data_dir) as (url, pid):
        log("measuring TrustHub")
        ours = bench_trusthub(url, pid, resource_id, cases, args.sql_repeat)
    pg = None
    if args.postgres_url:
        pg_url = pg_prepare(args.postgres_url, data_dir, resource_id, work)
        log("measuring PostgreSQL")
        pg = bench_postgres(pg_url, cases, args.sql_repeat)
    print(report(args.rows, ours, pg, args))
    print("\n```json\n" + json.dumps({"trusthub": ours, "postgresql": pg}, indent=1) + "\n```")


if __name__ == "__main__":
    main()
