"""How much a bulk extract costs over DuckDB's bare anti-join of the same files.

Goal (the bulk-extract brief): a 10,000,000-row extract against a 25,000,000-citizen world with
5% opted out, through the whole pipeline — identifiers checked, the consent rules applied as a
set, fields minimised, identifiers pseudonymised, every matched citizen recorded on the ledger
as one bulk entry, the output written atomically — in at most three times the time DuckDB takes
for the bare anti-join (input ANTI JOIN opted-out NHS numbers → Parquet) of the same files.

The world (the demo world's Parquet files) and the input (rows drawn from its citizens) are
cached under the work directory and reused. The registry and the ledger live in a SQLite file
there, made afresh each run. Both timings come from the same run, one after the other.

    .venv/bin/python benchmarks/bench_exchange_bulk.py [--citizens 25000000] [--rows 10000000]
        [--workdir var/bench-exchange-bulk]
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from trusthub.config import Settings  # noqa: E402
from trusthub.db import make_engine, make_session_factory, transaction  # noqa: E402
from trusthub.demo.service import write_parquet_world  # noqa: E402
from trusthub.exchange import bulk  # noqa: E402
from trusthub.exchange.keys import pseudonym_master_key  # noqa: E402
from trusthub.exchange.sources import ParquetSource  # noqa: E402
from trusthub.ledger.runtime import open_ledger  # noqa: E402
from trusthub.migrations import upgrade  # noqa: E402
from trusthub.registry.agreement_rules import EventKind, Party  # noqa: E402
from trusthub.registry.agreement_schemas import AgreementAction, AgreementTerms  # noqa: E402
from trusthub.registry.schemas import DatasetCreate, FieldCreate, OrganisationCreate  # noqa: E402
from trusthub.registry.service import (  # noqa: E402
    act_on_agreement,
    create_dataset,
    create_organisation,
    draft_agreement,
)

SEED = 2017
GOAL_RATIO = 3.0
COLUMNS = ("nhs_number", "sex", "date_of_birth", "postcode")
AGREED = ["nhs_number", "sex", "date_of_birth"]


def log(message: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def quoted(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def world(work: Path, citizens: int) -> Path:
    directory = work / f"world-{citizens}"
    if (directory / "citizens.parquet").is_file() and (directory / "done").is_file():
        log(f"reusing the {citizens:,}-citizen world")
        return directory
    shutil.rmtree(directory, ignore_errors=True)
    log(f"writing a {citizens:,}-citizen world")
    write_parquet_world(directory, citizens, SEED)
    (directory / "done").write_text("ok\n")
    return directory


def input_file(work: Path, world_dir: Path, citizens: int, rows: int) -> Path:
    """``rows`` citizens drawn at random (a fixed hash order) from the world, as Parquet."""
    path = work / f"input-{citizens}-{rows}.parquet"
    if path.is_file():
        log(f"reusing the {rows:,}-row input")
        return path
    log(f"drawing a {rows:,}-row input")
    partial = path.with_suffix(".partial")
    duckdb.sql(
        f"COPY (SELECT {', '.join(COLUMNS)} "  # noqa: S608
        f"FROM read_parquet({quoted(world_dir / 'citizens.parquet')}) "
        f"ORDER BY hash(citizen_id + {SEED}) LIMIT {rows}) TO {quoted(partial)} "
        "(FORMAT parquet, COMPRESSION zstd)"
    )
    partial.rename(path)
    return path


def registry(settings: Settings) -> str:
    """A fresh database with the provider, the recipient, the dataset and an active agreement."""
    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    with transaction(make_session_factory(engine)) as session:
        for slug, kind in (("bench-trust", "nhs_body"), ("bench-university", "research_partner")):
            create_organisation(
                session,
                OrganisationCreate(
                    slug=slug, name=slug, kind=kind, dpo_name="D P O",
                    dpo_email=f"dpo@{slug}.example",
                ),
            )  # fmt: skip
        create_dataset(
            session,
            "bench-trust",
            DatasetCreate(
                slug="patients",
                title="Patients",
                record_key="nhs_number",
                fields=[
                    FieldCreate(name="nhs_number", classification="direct_identifier"),
                    FieldCreate(name="sex", classification="quasi_identifier"),
                    FieldCreate(name="date_of_birth", classification="quasi_identifier"),
                    FieldCreate(name="postcode", classification="quasi_identifier"),
                ],
            ),
        )
        terms = AgreementTerms.model_validate(
            {
                "provider": "bench-trust",
                "recipient": "bench-university",
                "dataset": "patients",
                "fields": AGREED,
                "purpose": "Benchmark a research extract.",
                "purpose_category": "research",
                "lawful_basis": "public_task",
                "legal_gateway": "Health and Social Care Act 2012 s.261",
                "data_form": "pseudonymised",
                "retention_days": 365,
                "starts_on": "2026-01-01",
                "ends_on": "2099-12-31",
                "contacts": [{"role": "DPO", "name": "D P O", "email": "dpo@bench.example"}],
            }
        )
        reference = draft_agreement(session, terms, "D P O").reference
        for party in (Party.PROVIDER, Party.RECIPIENT):
            act_on_agreement(
                session, reference, EventKind.APPROVED, AgreementAction(party=party, actor="D P O")
            )
    engine.dispose()
    return reference


def bare_anti_join(world_dir: Path, source: Path, output: Path) -> tuple[float, float, int]:
    """DuckDB alone: the input minus the opted-out citizens' NHS numbers, to Parquet."""
    con = duckdb.connect()
    cpu = cpu_seconds()
    started = time.perf_counter()
    con.execute(
        f"COPY (SELECT i.* FROM read_parquet({quoted(source)}) i ANTI JOIN ("  # noqa: S608
        f"SELECT c.nhs_number FROM read_parquet({quoted(world_dir / 'citizens.parquet')}) c "
        f"JOIN read_parquet({quoted(world_dir / 'choice_events.parquet')}) e "
        "USING (citizen_id)) o ON i.nhs_number = o.nhs_number) "
        f"TO {quoted(output)} (FORMAT parquet, COMPRESSION zstd)"
    )
    seconds = time.perf_counter() - started
    cpu = cpu_seconds() - cpu
    count = f"SELECT count(*) FROM read_parquet({quoted(output)})"  # noqa: S608
    rows = con.execute(count).fetchall()[0][0]
    con.close()
    return seconds, cpu, int(rows)


def cpu_seconds() -> float:
    """User and system CPU of this process and of its children that have ended (the bulk
    workers are waited for, so theirs count once they close)."""
    own, children = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def own_cpu_seconds() -> float:
    """User and system CPU of this process alone (all its threads, DuckDB's included)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    return own.ru_utime + own.ru_stime


class Steps:
    """Wall seconds and this process's CPU seconds in each step, from the progress calls."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.cpu: dict[str, float] = {}
        self.step = "preparing"
        self.since = time.perf_counter()
        self.cpu_since = own_cpu_seconds()

    def __call__(self, step: str, done: int, total: int) -> None:
        if step != self.step:
            self.close()
            self.step = step

    def close(self) -> None:
        now, cpu = time.perf_counter(), own_cpu_seconds()
        self.seconds[self.step] = self.seconds.get(self.step, 0.0) + now - self.since
        self.cpu[self.step] = self.cpu.get(self.step, 0.0) + cpu - self.cpu_since
        self.since, self.cpu_since = now, cpu


def full_extract(
    settings: Settings, reference: str, world_dir: Path, source: Path, output: Path
) -> tuple[float, float, bulk.ExtractReceipt, Steps]:
    ledger = open_ledger(settings)
    ledger.start()
    engine = make_engine(settings.database_url)
    try:
        with transaction(make_session_factory(engine)) as session:
            steps = Steps()
            cpu = cpu_seconds()
            started = time.perf_counter()
            receipt = bulk.run_extract(
                session,
                ledger,
                pseudonym_master_key(settings),
                ParquetSource(world_dir),
                agreement=reference,
                recipient="bench-university",
                client="bench",
                input_path=source,
                output_path=output,
                progress=steps,
                today=date.today(),
            )
            seconds = time.perf_counter() - started
            cpu = cpu_seconds() - cpu
            steps.close()
    finally:
        ledger.close()
        engine.dispose()
    return seconds, cpu, receipt, steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--citizens", type=int, default=25_000_000)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--workdir", type=Path, default=ROOT / "var" / "bench-exchange-bulk")
    args = parser.parse_args()
    work: Path = args.workdir.resolve()
    work.mkdir(parents=True, exist_ok=True)
    world_dir = world(work, args.citizens)
    source = input_file(work, world_dir, args.citizens, args.rows)
    run = work / "run"
    shutil.rmtree(run, ignore_errors=True)
    run.mkdir()
    settings = Settings(
        database_url=f"sqlite:///{run / 'hub.db'}",
        ledger_key_dir=run / "keys",
        exchange_keys_dir=run / "keys",
    )
    reference = registry(settings)
    log("bare DuckDB anti-join")
    bare, bare_cpu, bare_rows = bare_anti_join(world_dir, source, run / "bare.parquet")
    log("full extract")
    full, full_cpu, receipt, steps = full_extract(
        settings, reference, world_dir, source, run / "extract.parquet"
    )
    ratio = full / bare if bare else float("inf")
    verdict = "met" if ratio <= GOAL_RATIO else "MISSED"
    print(f"# Bulk extract: {args.rows:,} rows against {args.citizens:,} citizens\n")
    print(
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC · {platform.machine()} · {os.cpu_count()} cores · "
        f"load {os.getloadavg()[0]:.2f} · DuckDB {duckdb.__version__}\n"
    )
    print("| run | rows out | seconds | CPU seconds | rows/s |")
    print("|---|---:|---:|---:|---:|")
    print(
        f"| DuckDB bare anti-join | {bare_rows:,} | {bare:.2f} | {bare_cpu:.2f} "
        f"| {args.rows / bare:,.0f} |"
    )
    print(
        f"| full extract | {receipt.rows_out:,} | {full:.2f} | {full_cpu:.2f} "
        f"| {args.rows / full:,.0f} |"
    )
    print(f"\nratio full / bare: **{ratio:.2f}×** (goal ≤ {GOAL_RATIO:.0f}×: {verdict})\n")
    print("| step of the full extract | seconds | CPU seconds of this process |")
    print("|---|---:|---:|")
    for step, seconds in steps.seconds.items():
        print(f"| {step} | {seconds:.2f} | {steps.cpu[step]:.2f} |")
    print(
        "\n(CPU seconds count every core; the extract's total includes its worker processes, "
        "the steps' only this process.)"
    )
    removed: dict[str, Any] = receipt.removed
    print(
        f"\nrows in {receipt.rows_in:,}; removed {removed}; citizens on the ledger entry "
        f"{receipt.citizens:,}; pseudonymised {receipt.pseudonymised}"
    )
    if bare_rows != receipt.rows_out:
        print(
            f"\nnote: the bare anti-join kept {bare_rows:,} rows, the extract {receipt.rows_out:,}"
        )


if __name__ == "__main__":
    main()
