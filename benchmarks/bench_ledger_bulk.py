"""Recording one bulk entry on the ledger, alone: the step a 10M-row extract spends on the ledger.

Goal (the bulk-ledger brief): a bulk entry of 10,000,000 citizens recorded — commitments (HMAC
under the commitment key), the records' sub-tree, the private index, one durable commit — in
under 30 s on the 2-core benchmark machine, every record still provable and the log verifying.

The citizens are given as the exchange gives them (a block of ids, one a line, and a column of
outcome numbers, 5% refused). Reported: preparing the entry (wall time, and CPU time here and in
the worker processes), appending it (rows written and the commit), the stored bytes, then a
citizen's lookup and a record proof (mean of a sample) and ``verify`` of the whole log. The peak
memory is this process's (a worker holds one part of 65,536 citizens at a time).

    .venv/bin/python benchmarks/bench_ledger_bulk.py [--citizens 10000000] [--workers N]
        [--database-url URL] [--workdir var/bench-ledger-bulk]

Without ``--database-url`` the ledger is a SQLite file made afresh in the work directory; a
PostgreSQL database is migrated and its ledger tables emptied first.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import resource
import shutil
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import text
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from trusthub.db import make_engine  # noqa: E402
from trusthub.ledger import service  # noqa: E402
from trusthub.ledger.commitments import CommitmentKey  # noqa: E402
from trusthub.ledger.entry import LawfulBasis, Outcome  # noqa: E402
from trusthub.ledger.note import Signer  # noqa: E402
from trusthub.ledger.prepare import BulkDecision, CitizenColumns, prepare  # noqa: E402
from trusthub.ledger.verify import verify  # noqa: E402
from trusthub.ledger.writer import GroupCommitWriter  # noqa: E402
from trusthub.migrations import upgrade  # noqa: E402

ORIGIN = "bench.trusthub.example/ledger"
GOAL_SECONDS_AT_10M = 30.0
SEED = 2017
REFUSED = 0.05
SAMPLE = 200
LEDGER_TABLES = (
    "ledger_bundles",
    "ledger_tiles",
    "ledger_checkpoints",
    "ledger_head",
    "ledger_citizen_index",
    "ledger_bulk_entries",
    "ledger_bulk_index",
)


def log(message: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def cpu() -> tuple[float, float]:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


def citizens(count: int) -> tuple[list[int], bytes, np.ndarray]:
    """Distinct ids as the exchange hands them over: one block of lines, one outcome column."""
    rng = np.random.default_rng(SEED)
    ids = rng.choice(np.arange(10**9, 10**9 + 3 * count, dtype=np.int64), count, replace=False)
    block = ("\n".join(map(str, ids.tolist())) + "\n").encode("ascii")
    shapes = (rng.random(count) < REFUSED).astype(np.int64)
    return ids.tolist(), block, shapes


def decision(block: bytes, shapes: np.ndarray) -> BulkDecision:
    outcomes = [(Outcome.PERMIT, ()), (Outcome.REFUSE, ("citizen_opted_out",))]
    return BulkDecision(
        citizens=CitizenColumns(block, shapes, outcomes),
        organisation="bench-university",
        client="bench",
        purpose="research",
        outcome=Outcome.PERMIT,
        agreement="bench-agreement",
        lawful_basis=LawfulBasis.PUBLIC_TASK,
        fields=("nhs_number", "sex", "date_of_birth"),
        reasons=("removed:citizen_opted_out:0",),
        source="exchange-bulk",
    )


def stored_bytes(url: str) -> dict[str, int]:
    engine = make_engine(url)
    sizes: dict[str, int] = {}
    queries = {
        "records": "SELECT sum(length(data)) FROM ledger_bundles WHERE tree > 0",
        "tiles": "SELECT sum(length(hashes)) FROM ledger_tiles WHERE tree > 0",
        "index": "SELECT sum(length(data)) FROM ledger_bulk_index",
    }
    with engine.connect() as connection:
        for name, sql in queries.items():
            sizes[name] = int(connection.execute(text(sql)).scalar_one() or 0)
    engine.dispose()
    return sizes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--citizens", type=int, default=10_000_000)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--workdir", type=Path, default=ROOT / "var" / "bench-ledger-bulk")
    args = parser.parse_args()
    work: Path = args.workdir.resolve()
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    url = args.database_url or f"sqlite:///{work / 'ledger.db'}"
    upgrade(url)
    engine = make_engine(url)
    if engine.dialect.name == "postgresql":  # a shared database: start from an empty ledger
        with engine.begin() as connection:
            connection.exec_driver_sql(f"TRUNCATE {', '.join(LEDGER_TABLES)}")
    signer = Signer(ORIGIN, Ed25519PrivateKey.generate())
    key = CommitmentKey(os.urandom(32))
    log(f"making {args.citizens:,} citizens")
    ids, block, shapes = citizens(args.citizens)
    log("preparing the bulk entry")
    own0, children0 = cpu()
    started = time.perf_counter()
    prepared = prepare(decision(block, shapes), key, args.workers)
    preparing = time.perf_counter() - started
    own1, children1 = cpu()
    del block
    log("appending it")
    writer = GroupCommitWriter(engine, signer, ORIGIN)
    writer.start()
    try:
        started = time.perf_counter()
        receipt = writer.append(prepared, timeout=3600)
        appending = time.perf_counter() - started
    finally:
        writer.stop()
    own2, _ = cpu()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    del prepared
    log("looking citizens up and proving their records")
    sample = random.Random(SEED).sample(ids, min(SAMPLE, len(ids)))
    lookups: list[float] = []
    proofs: list[float] = []
    with Session(engine) as session:
        for citizen in sample:
            started = time.perf_counter()
            found = service.entries_for_citizen(session, citizen, key)
            lookups.append(time.perf_counter() - started)
            assert [f.index for f in found] == [receipt.index], citizen
            position = found[0].position
            assert position is not None
            started = time.perf_counter()
            service.record_proof(session, receipt.index, position)
            proofs.append(time.perf_counter() - started)
    log("verifying the log")
    started = time.perf_counter()
    report = verify(url, ORIGIN, [signer.verifier], workers=1)
    verifying = time.perf_counter() - started
    assert report.ok, report.findings
    sizes = stored_bytes(url)
    engine.dispose()

    total = preparing + appending
    backend = url.split(":", 1)[0]
    print(f"# Ledger: one bulk entry of {args.citizens:,} citizens ({backend})\n")
    print(
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC · {platform.machine()} · {os.cpu_count()} cores · "
        f"load {os.getloadavg()[0]:.2f}\n"
    )
    print("| step | wall s | CPU s here | CPU s in workers |")
    print("|---|---:|---:|---:|")
    print(f"| prepare | {preparing:.2f} | {own1 - own0:.2f} | {children1 - children0:.2f} |")
    print(f"| append (rows, checkpoint, commit) | {appending:.2f} | {own2 - own1:.2f} | — |")
    print(f"| **recorded** | **{total:.2f}** | | |\n")
    if args.citizens >= 10_000_000:
        verdict = "met" if total <= GOAL_SECONDS_AT_10M else "MISSED"
        print(f"goal ≤ {GOAL_SECONDS_AT_10M:.0f} s at 10M citizens: {verdict}\n")
    else:
        print(f"(the goal, ≤ {GOAL_SECONDS_AT_10M:.0f} s, is set for 10M citizens)\n")
    print("| measure | figure |")
    print("|---|---:|")
    for name, size in sizes.items():
        print(f"| stored {name} | {size / 1e6:,.1f} MB ({size / args.citizens:.1f} B a citizen) |")
    print(f"| peak RSS of this process | {peak:,.0f} MB |")
    lookup, proof = statistics.mean(lookups) * 1e3, statistics.mean(proofs) * 1e3
    print(f"| a citizen's lookup, mean of {len(lookups)} | {lookup:.2f} ms |")
    print(f"| a record proof, mean of {len(proofs)} | {proof:.2f} ms |")
    print(f"| verify (whole log, one process) | {verifying:.2f} s |")


if __name__ == "__main__":
    main()
