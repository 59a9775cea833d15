"""The ledger against its goals: durable appends through group commit, proofs, verify.

Goals (issue "A ledger anyone can verify"):

- sustained appends, each committed (SQLite synchronous=FULL) before it is acknowledged, from
  many concurrent recorders through group commit: >= 100,000 entries/s on SQLite and >= 50,000/s
  on PostgreSQL; acknowledgement latency p50/p99 reported;
- inclusion and consistency proofs on a 10M-leaf log under 1 ms at p99; storage per leaf;
- ``trusthub ledger verify`` at >= 1M leaves/s.

Recorders are asyncio tasks awaiting ``append_async`` (how an async FastAPI handler records) and,
separately, OS threads blocking on ``append``; each is measured with the batches committed by the
writer thread itself and by a writer process (``TRUSTHUB_LEDGER_WRITER_PROCESS``). Async recorders
are also spread over several processes (``--recorder-processes``), each with its own writer, as
the workers of one server share one ledger database. Entries are prepared (committed to, encoded,
hashed) before the clock starts, and the prepared entries are then frozen out of the garbage
collector's way, as a server freezes what it builds at start; the cost of ``prepare`` per entry
is printed on its own line. The baseline in the same run commits every entry in its own
transaction. Proofs also report their CPU time, which a loaded machine's preemption leaves out.

    .venv/bin/python benchmarks/bench_ledger.py [--entries 300000] [--leaves 10000000]
        [--tasks 2000,6000] [--recorder-processes 1,2] [--writer thread|process|both]
        [--postgres-url URL] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import platform
import random
import statistics
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from trusthub.db import make_engine, make_session_factory
from trusthub.ledger import service
from trusthub.ledger.commitments import CommitmentKey
from trusthub.ledger.entry import LawfulBasis, Outcome
from trusthub.ledger.note import Signer
from trusthub.ledger.prepare import Decision, PreparedEntry, prepare
from trusthub.ledger.verify import verify
from trusthub.ledger.writer import GroupCommitWriter, append_batch
from trusthub.migrations import upgrade
from trusthub.schema import metadata

ORIGIN = "bench.trusthub.example/ledger"


@dataclass
class Row:
    measure: str
    figure: str
    goal: str = "—"
    verdict: str = "—"


def verdict(value: float, goal: float, *, below: bool = False) -> str:
    return "met" if (value < goal if below else value >= goal) else "MISSED"


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def figure(rate: float, latencies: Sequence[float], per_commit: float) -> str:
    p50, p99 = percentile(latencies, 0.5) * 1e3, percentile(latencies, 0.99) * 1e3
    return (
        f"{rate:,.0f} entries/s; ack p50 {p50:.1f} ms, p99 {p99:.1f} ms; {per_commit:,.0f}/commit"
    )


def sample_entries(key: CommitmentKey, count: int) -> list[PreparedEntry]:
    """Realistic single-citizen entries, prepared as the exchange will prepare them."""
    purposes = ["benefits_administration", "direct_care", "tax_assessment", "research"]
    organisations = ["dwp", "hmrc", "moorfields", "camden-council", "dvla"]
    out = []
    for i in range(count):
        out.append(
            prepare(
                Decision(
                    citizen_id=random.randrange(70_000_000),
                    organisation=organisations[i % 5],
                    client=f"{organisations[i % 5]}-portal",
                    purpose=purposes[i % 4],
                    agreement=f"{organisations[i % 5]}-agreement-2026",
                    lawful_basis=LawfulBasis.PUBLIC_TASK,
                    outcome=Outcome.PERMIT if i % 17 else Outcome.REFUSE,
                    fields=["nino", "income", "employer"],
                    reasons=["agreement covers purpose and fields"],
                ),
                key,
            )
        )
    return out


def fresh(url: str) -> Engine:
    engine = make_engine(url)
    if engine.dialect.name == "sqlite":
        engine.dispose()
        path = Path(str(make_url(url).database))
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        upgrade(url)
        return make_engine(url)
    metadata.drop_all(
        engine, tables=[t for t in metadata.sorted_tables if t.name.startswith("ledger_")]
    )
    metadata.create_all(
        engine, tables=[t for t in metadata.sorted_tables if t.name.startswith("ledger_")]
    )
    with engine.begin() as connection:  # as migration ledger_0003 tunes TOAST
        connection.exec_driver_sql(
            "ALTER TABLE ledger_bundles ALTER COLUMN data SET COMPRESSION lz4"
        )
        connection.exec_driver_sql(
            "ALTER TABLE ledger_tiles ALTER COLUMN hashes SET STORAGE EXTERNAL"
        )
    return engine


def bench_tasks(
    engine: Engine, signer: Signer, items: list[PreparedEntry], tasks: int, process: bool
) -> tuple[float, list[float], int]:
    writer = GroupCommitWriter(engine, signer, ORIGIN, process=process)
    writer.start()
    latencies: list[float] = []

    async def main() -> float:
        source = iter(items)

        async def recorder() -> None:
            for item in source:
                started = time.perf_counter()
                await writer.append_async(item)
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(recorder() for _ in range(tasks)))
        return time.perf_counter() - started

    try:
        elapsed = asyncio.run(main())
    finally:
        writer.stop()
    return len(items) / elapsed, latencies, writer.batches


def _recorder_process(
    url: str, seed: bytes, count: int, tasks: int, barrier: Any, results: Any
) -> None:
    """One of several server-like processes: its own writer, its own async recorders."""
    signer = Signer(ORIGIN, Ed25519PrivateKey.from_private_bytes(seed))
    items = repeated_entries(CommitmentKey(seed), count)
    engine = make_engine(url)
    gc.collect()
    gc.freeze()
    barrier.wait()
    started = time.perf_counter()
    _, latencies, batches = bench_tasks(engine, signer, items, tasks, False)
    results.put((started, time.perf_counter(), count, batches, latencies))
    engine.dispose()


def bench_processes(
    url: str, seed: bytes, entries: int, tasks: int, processes: int
) -> tuple[float, list[float], int]:
    """Async recorders spread over processes; the rate is all entries over the wall time."""
    context = get_context("spawn")
    barrier, results = context.Barrier(processes), context.Queue()
    share = entries // processes
    pool = [
        context.Process(target=_recorder_process, args=(url, seed, share, tasks, barrier, results))
        for _ in range(processes)
    ]
    for process in pool:
        process.start()
    outcomes = [results.get(timeout=3600) for _ in pool]
    for process in pool:
        process.join()
    elapsed = max(o[1] for o in outcomes) - min(o[0] for o in outcomes)
    latencies = [latency for o in outcomes for latency in o[4]]
    return share * processes / elapsed, latencies, sum(o[3] for o in outcomes)


def bench_threads(
    engine: Engine, signer: Signer, items: list[PreparedEntry], threads: int, process: bool
) -> tuple[float, list[float], int]:
    writer = GroupCommitWriter(engine, signer, ORIGIN, process=process)
    writer.start()
    latencies: list[float] = []
    lock = threading.Lock()
    source = iter(items)

    def recorder() -> None:
        mine = []
        while True:
            with lock:
                item = next(source, None)
            if item is None:
                break
            started = time.perf_counter()
            writer.append(item)
            mine.append(time.perf_counter() - started)
        with lock:
            latencies.extend(mine)

    pool = [threading.Thread(target=recorder) for _ in range(threads)]
    started = time.perf_counter()
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    elapsed = time.perf_counter() - started
    writer.stop()
    return len(items) / elapsed, latencies, writer.batches


def bench_one_per_transaction(engine: Engine, signer: Signer, items: list[PreparedEntry]) -> float:
    edge = None
    started = time.perf_counter()
    with engine.connect() as connection:
        for item in items:
            with connection.begin():
                _, edge = append_batch(connection, [item], signer, ORIGIN, edge)
    return len(items) / (time.perf_counter() - started)


def repeated_entries(key: CommitmentKey, count: int) -> list[PreparedEntry]:
    distinct = sample_entries(key, min(count, 20_000))
    return [distinct[i % len(distinct)] for i in range(count)]


def appends(url: str, label: str, goal: float, args: argparse.Namespace, rows: list[Row]) -> None:
    seed = os.urandom(32)
    signer = Signer(ORIGIN, Ed25519PrivateKey.from_private_bytes(seed))
    items = repeated_entries(CommitmentKey(seed), args.entries)
    gc.collect()
    gc.freeze()

    for tasks in args.tasks:
        for processes in args.recorder_processes:
            if processes == 1:
                continue
            fresh(url).dispose()
            rate, latencies, batches = bench_processes(url, seed, args.entries, tasks, processes)
            rows.append(
                Row(
                    f"{label}: appends, {processes} processes x {tasks:,} asyncio recorders, "
                    "a writer thread in each",
                    figure(rate, latencies, len(latencies) / batches),
                    f">= {goal:,.0f}/s",
                    verdict(rate, goal),
                )
            )
    for process in (False, True) if args.writer == "both" else (args.writer == "process",):
        how = "writer process" if process else "writer thread"
        for tasks in args.tasks if 1 in args.recorder_processes else []:
            engine = fresh(url)
            rate, latencies, batches = bench_tasks(engine, signer, items, tasks, process)
            rows.append(
                Row(
                    f"{label}: appends, {tasks:,} asyncio recorders, group commit, {how}",
                    figure(rate, latencies, len(items) / batches),
                    f">= {goal:,.0f}/s",
                    verdict(rate, goal),
                )
            )
            engine.dispose()
        engine = fresh(url)
        thread_items = items[: min(args.entries // 3, 30_000)]
        rate, latencies, batches = bench_threads(
            engine, signer, thread_items, args.threads, process
        )
        rows.append(
            Row(
                f"{label}: appends, {args.threads} OS-thread recorders, group commit, {how}",
                figure(rate, latencies, len(thread_items) / batches),
                f">= {goal:,.0f}/s",
                verdict(rate, goal),
            )
        )
        engine.dispose()
    engine = fresh(url)
    baseline = bench_one_per_transaction(engine, signer, items[: args.baseline])
    rows.append(Row(f"{label}: baseline, one transaction per append", f"{baseline:,.0f} entries/s"))
    engine.dispose()


def build_log(url: str, leaves: int, signer: Signer) -> tuple[Engine, float]:
    """A big log through the bulk path: real entries with distinct ids, 65,536 per transaction."""
    key = CommitmentKey(os.urandom(32))
    template = sample_entries(key, 1)[0]
    head, _, tail = template.leaf_input.partition(template.entry.id.encode())
    engine = fresh(url)
    started = time.perf_counter()
    edge = None
    batch = 1 << 16
    with engine.connect() as connection:
        for start in range(0, leaves, batch):
            count = min(batch, leaves - start)
            tags = os.urandom(16 * count)
            items = []
            for i in range(start, start + count):
                leaf = head + b"%032x" % i + tail
                items.append(
                    replace(
                        template,
                        leaf_input=leaf,
                        leaf_hash=_leaf_hash(leaf),
                        citizen_tags=((tags[(i - start) * 16 : (i - start + 1) * 16], -1),),
                    )
                )
            with connection.begin():
                _, edge = append_batch(connection, items, signer, ORIGIN, edge)
            if start // batch % 16 == 0:
                print(f"  built {start + count:,} leaves", flush=True)
    return engine, time.perf_counter() - started


def _leaf_hash(leaf: bytes) -> bytes:
    from trusthub.ledger.merkle import leaf_hash

    return leaf_hash(leaf)


def storage_bytes(engine: Engine, url: str) -> int:
    if engine.dialect.name == "sqlite":
        with engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        return Path(str(make_url(url).database)).stat().st_size
    with engine.connect() as connection:
        return int(
            connection.execute(
                text(
                    "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c "
                    "WHERE c.relname LIKE 'ledger_%' AND c.relkind = 'r'"
                )
            ).scalar_one()
        )


def proofs_and_verify(url: str, label: str, args: argparse.Namespace, rows: list[Row]) -> None:
    signer = Signer(ORIGIN, Ed25519PrivateKey.generate())
    engine, built = build_log(url, args.leaves, signer)
    rows.append(
        Row(
            f"{label}: build a {args.leaves:,}-leaf log (bulk path)",
            f"{args.leaves / built:,.0f} leaves/s",
        )
    )
    size = args.leaves
    per_leaf = storage_bytes(engine, url) / size
    rows.append(
        Row(
            f"{label}: storage per leaf (entries, tiles, index, checkpoints)",
            f"{per_leaf:,.0f} bytes",
        )
    )
    sessions = make_session_factory(engine)
    gc.collect()
    gc.freeze()  # long-lived setup objects out of the collector's way, as a server would run
    inclusion: list[float] = []
    consistency: list[float] = []
    cpu: dict[str, list[float]] = {"inclusion": [], "consistency": []}
    clock, thread_clock = time.perf_counter, time.thread_time
    with sessions() as session:
        for _ in range(args.proofs):
            index = random.randrange(size)
            started, used = clock(), thread_clock()
            service.inclusion_proof(session, index, size)
            inclusion.append(clock() - started)
            cpu["inclusion"].append(thread_clock() - used)
            first = random.randrange(1, size)
            started, used = clock(), thread_clock()
            service.consistency_proof(session, first, size)
            consistency.append(clock() - started)
            cpu["consistency"].append(thread_clock() - used)
    for name, values in (("inclusion", inclusion), ("consistency", consistency)):
        p99 = percentile(values, 0.99)
        cpu_p99 = percentile(cpu[name], 0.99)
        rows.append(
            Row(
                f"{label}: {name} proof, {args.proofs:,} random indices, {size:,} leaves "
                "(service call, DB included)",
                f"p50 {statistics.median(values) * 1e3:.3f} ms, p99 {p99 * 1e3:.3f} ms "
                f"(CPU p99 {cpu_p99 * 1e3:.3f} ms)",
                "p99 < 1 ms",
                verdict(p99, 0.001, below=True),
            )
        )
    engine.dispose()
    started = time.perf_counter()
    report = verify(url, ORIGIN, [signer.verifier], workers=args.verify_workers)
    elapsed = time.perf_counter() - started
    assert report.ok, report.findings[:5]
    rate = report.leaves / elapsed
    rows.append(
        Row(
            f"{label}: verify {report.leaves:,} leaves, {report.checkpoints} checkpoints "
            f"({args.verify_workers} processes)",
            f"{rate:,.0f} leaves/s",
            ">= 1,000,000/s",
            verdict(rate, 1_000_000),
        )
    )


def _counts(text: str) -> list[int]:
    return [int(part) for part in text.split(",")]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--entries", type=int, default=300_000, help="appends per recorder style")
    parser.add_argument(
        "--tasks", type=_counts, default=[2_000, 6_000], help="concurrent asyncio recorders, a list"
    )
    parser.add_argument(
        "--recorder-processes",
        type=_counts,
        default=[1, 2],
        help="processes the asyncio recorders are spread over (as a server's workers), a list",
    )
    parser.add_argument("--threads", type=int, default=64, help="concurrent thread recorders")
    parser.add_argument("--baseline", type=int, default=2_000, help="appends, one per transaction")
    parser.add_argument("--leaves", type=int, default=10_000_000, help="size of the proof log")
    parser.add_argument("--proofs", type=int, default=20_000, help="proofs of each kind")
    parser.add_argument("--verify-workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument(
        "--writer", choices=["thread", "process", "both"], default="both", help="who commits"
    )
    parser.add_argument("--postgres-url", help="also measure appends on this PostgreSQL")
    parser.add_argument(
        "--postgres-proofs", action="store_true", help="build the proof log there too"
    )
    parser.add_argument("--skip-appends", action="store_true")
    parser.add_argument("--skip-proofs", action="store_true")
    parser.add_argument("--workdir", type=Path, default=Path("var/bench-ledger"))
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    rows: list[Row] = []
    sqlite_url = f"sqlite:///{args.workdir.resolve() / 'ledger.db'}"
    if not args.skip_appends:
        appends(sqlite_url, "SQLite (WAL, synchronous=FULL)", 100_000, args, rows)
        if args.postgres_url:
            appends(args.postgres_url, "PostgreSQL", 50_000, args, rows)
    if not args.skip_proofs:
        proofs_and_verify(sqlite_url, "SQLite", args, rows)
        if args.postgres_url and args.postgres_proofs:
            proofs_and_verify(args.postgres_url, "PostgreSQL", args, rows)
    key = CommitmentKey(os.urandom(32))
    started = time.perf_counter()
    sample_entries(key, 5_000)
    prepare_us = (time.perf_counter() - started) / 5_000 * 1e6
    rows.append(
        Row(
            "prepare one entry (commitment, canonical JSON, leaf hash), one core",
            f"{prepare_us:.1f} µs",
        )
    )

    when = f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    print(f"\n{when}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print("\n| measure | figure | goal | verdict |\n|---|---|---|---|")
    for row in rows:
        print(f"| {row.measure} | {row.figure} | {row.goal} | {row.verdict} |")


if __name__ == "__main__":
    main()
