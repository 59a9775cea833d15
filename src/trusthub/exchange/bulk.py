"""Bulk extracts and the national data opt-out check: the action layer the CLI and the API call.

An extract runs the SQL steps of ``bulk_sql`` on DuckDB, writes the permitted rows to a
temporary file beside the output and fsyncs it (its pseudonyms and its ledger entry's records
hashed meanwhile on one pool of worker processes, one per core), records every matched
citizen's outcome on the ledger as one bulk entry, and only then renames the file into place.
If the input is refused, nothing is written and nothing recorded; if the ledger cannot record,
the temporary file is removed and there is no output. (A crash after the ledger entry and
before the rename leaves an entry without an output: the ledger may overstate what left, never
understate it.)
"""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from functools import partial
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from sqlalchemy.orm import Session

from trusthub.consent.rules import Use
from trusthub.consent.state import ChoiceState
from trusthub.exchange import bulk_sql as sql
from trusthub.exchange.bulk_input import InputRefused, row_errors, stage, stage_csv
from trusthub.exchange.bulk_pseudonyms import pseudonym_block
from trusthub.exchange.bulk_rules import choice_table
from trusthub.exchange.policy import AgreementFacts, Ask, Reason, decide
from trusthub.exchange.pseudonyms import pseudonym_column, pseudonymise_column, value_blocks
from trusthub.exchange.sources import CitizenSource
from trusthub.exchange.terms import Terms, load_terms
from trusthub.ledger import bulk_records, bulk_workers
from trusthub.ledger import service as ledger_service
from trusthub.ledger.bulk_workers import WorkerError, Workers
from trusthub.ledger.entry import Outcome
from trusthub.ledger.prepare import BulkDecision, CitizenColumns
from trusthub.ledger.runtime import Ledger
from trusthub.ledger.writer import LedgerUnavailable
from trusthub.problems import Problem
from trusthub.registry.agreement_rules import DataForm, LawfulBasis, PurposeCategory

Progress = Callable[[str, int, int], None]
"""``progress(step, done, total)``: called as long work goes on."""

SUBJECT_COLUMN = "nhs_number"
BATCH_ROWS = 262_144
NEUTRAL = ChoiceState(False, frozenset(), frozenset())
OPT_OUT_CHECK = "national-data-opt-out-check"


class ExtractRefused(Problem):
    """The agreement does not allow this extract at all; nothing was written or recorded."""

    def __init__(self, reasons: tuple[Reason, ...]) -> None:
        super().__init__(
            403,
            "Refused",
            "The agreement does not allow this extract: " + ", ".join(reasons) + ".",
            kind="refused",
            errors=[{"reason": r.value} for r in reasons],
        )
        self.reasons = reasons


@dataclass(frozen=True, slots=True)
class ExtractReceipt:
    """What an extract did: counts only, never an identifier."""

    agreement: str
    rows_in: int
    rows_out: int
    removed: dict[str, int]
    invalid_rows: list[int]
    invalid_count: int
    citizens: int
    fields: list[str]
    pseudonymised: list[str]
    ledger_index: int
    output: str


@dataclass(frozen=True, slots=True)
class OptOutReceipt:
    purpose: str
    numbers_in: int
    usable: int
    opted_out: int
    unknown: int
    invalid_lines: list[int]
    invalid_count: int
    output: str


@dataclass
class _Run:
    """One DuckDB connection and scratch directory for one bulk job."""

    con: duckdb.DuckDBPyConnection
    scratch: Path
    progress: Progress
    counts: dict[str, int] = field(default_factory=dict)


def _quiet(step: str, done: int, total: int) -> None:
    return None


@contextlib.contextmanager
def _run(near: Path, progress: Progress | None) -> Iterator[_Run]:
    with tempfile.TemporaryDirectory(prefix=".trusthub-bulk-", dir=near) as scratch:
        con = duckdb.connect()
        con.execute(f"SET temp_directory = {sql.literal(scratch)}")
        try:
            yield _Run(con, Path(scratch), progress or _quiet)
        finally:
            con.close()


def _load_rows(run: _Run, relation: str, columns: tuple[str, ...], use: Use) -> tuple[int, int]:
    """Stage rows (with only the input ``columns`` the output keeps), check identifiers, and
    decide each subject once: returns (rows, invalid)."""
    con = run.con
    con.execute(f"CREATE VIEW staged AS {relation}")
    con.execute(
        f"CREATE TEMP TABLE input_rows AS WITH cleaned AS ({sql.stage_rows(columns)}) "
        + sql.mark_valid()
    )
    total, invalid = con.execute(sql.count_rows()).fetchall()[0]
    run.progress("deciding", 0, 1)
    con.execute(f"CREATE TEMP TABLE subjects AS {sql.subjects()}")
    con.execute(f"CREATE TEMP TABLE facts AS {sql.choice_facts(use.agreement)}")
    con.execute(f"CREATE VIEW choice_table AS {sql.choice_values(choice_table(use))}")
    con.execute(f"CREATE TEMP TABLE outcomes AS {sql.outcomes()}")
    run.progress("deciding", 1, 1)
    return int(total), int(invalid)


def _table(con: duckdb.DuckDBPyConnection, query: str) -> pa.Table:
    table = con.sql(query).to_arrow_table()
    assert table is not None
    return table


def _invalid_rows(run: _Run) -> list[int]:
    return [int(r[0]) for r in run.con.execute(sql.invalid_rows(1000)).fetchall()]


def _allowed_terms(
    session: Session, reference: str, recipient: str, today: date, master_key: bytes
) -> Terms:
    """The agreement's terms, loaded as the online path loads them; refused outright unless
    the policy allows this recipient anything under them now."""
    terms = load_terms(session, reference, today, master_key)
    if terms is None:
        raise ExtractRefused((Reason.NO_SUCH_AGREEMENT,))
    ask = Ask(recipient, reference, terms.facts.purpose_category)
    decision = decide(ask, terms.facts, NEUTRAL)
    if not decision.permit:
        raise ExtractRefused(decision.reasons)
    return terms


def _check_columns(columns: tuple[str, ...], known: frozenset[str]) -> None:
    unknown = [c for c in columns if c not in known]
    if unknown:
        raise InputRefused(
            f"{len(unknown)} column(s) are not fields of the agreement's dataset: "
            + ", ".join(unknown[:20]),
            [{"column": c, "message": "not a field of the dataset"} for c in unknown],
        )
    if SUBJECT_COLUMN not in columns:
        raise InputRefused(f"the input needs an {SUBJECT_COLUMN} column")


Pseudonyms = Callable[[bytes, str, bytes, bytes], "Future[bytes]"]


def _pseudonyms(workers: Workers | None) -> Pseudonyms:
    """``(key, field, offsets, data) -> future block``: on the workers, else here and now."""
    if workers is not None:
        return partial(workers.submit, "pseudonymise")

    def here(key: bytes, name: str, offsets: bytes, data: bytes) -> Future[bytes]:
        done: Future[bytes] = Future()
        done.set_result(pseudonym_block(key, name, offsets, data))
        return done

    return here


def _pseudonymised(
    job: Future[bytes], key: bytes, name: str, column: pa.Array | pa.ChunkedArray
) -> pa.Array:
    """A batch's column of pseudonyms once its job is done (made here if a worker failed)."""
    try:
        block = job.result()
    except WorkerError:
        return pseudonymise_column(key, name, column)
    return pseudonym_column(block, column)


def _write_output(
    run: _Run,
    target: Path,
    columns: list[str],
    pseudonymise: dict[str, bytes],
    rows_out: int,
    workers: Workers | None = None,
) -> None:
    """Write the permitted rows to ``target`` (a temporary path), pseudonymising as agreed: a
    few batches ahead are handed to the workers while earlier ones are written."""
    reader = run.con.sql(sql.output_rows(columns)).to_arrow_reader(BATCH_ROWS)
    assert reader is not None
    submit = _pseudonyms(workers)
    ahead = 2 * (len(workers) if workers is not None else 0)
    pending: deque[tuple[pa.RecordBatch, dict[str, Future[bytes]]]] = deque()
    writer: pq.ParquetWriter | None = None
    done = 0

    def write(batch: pa.RecordBatch, jobs: dict[str, Future[bytes]]) -> None:
        nonlocal writer, done
        arrays = [
            _pseudonymised(jobs[name], pseudonymise[name], name, batch.column(i))
            if name in jobs
            else batch.column(i)
            for i, name in enumerate(columns)
        ]
        table = pa.Table.from_arrays(arrays, names=columns)
        if writer is None:
            writer = _parquet_writer(target, table.schema, pseudonymise)
        writer.write_table(table)
        done += batch.num_rows
        run.progress("writing", done, rows_out)

    try:
        for batch in reader:
            jobs = {
                name: submit(pseudonymise[name], name, *value_blocks(batch.column(i)))
                for i, name in enumerate(columns)
                if name in pseudonymise
            }
            pending.append((batch, jobs))
            while len(pending) > ahead:
                write(*pending.popleft())
        while pending:
            write(*pending.popleft())
        if writer is None:
            empty = _table(run.con, sql.output_rows(columns) + " LIMIT 0")
            writer = _parquet_writer(target, empty.schema, pseudonymise)
    finally:
        if writer is not None:
            writer.close()
    with target.open("rb") as handle:
        os.fsync(handle.fileno())


def _parquet_writer(
    target: Path, schema: pa.Schema, pseudonymise: dict[str, bytes]
) -> pq.ParquetWriter:
    """Dictionaries only for columns that repeat: a column of pseudonyms never does, and
    trying costs time for nothing."""
    repeating = [name for name in schema.names if name not in pseudonymise]
    return pq.ParquetWriter(target, schema, compression="zstd", use_dictionary=repeating)


def _publish(temporary: Path, target: Path) -> None:
    """Rename into place and make the rename durable."""
    os.replace(temporary, target)
    directory = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


WORKER_TASKS = (bulk_workers.RECORDS, "trusthub.exchange.bulk_pseudonyms")


@contextlib.contextmanager
def _workers(rows: int) -> Iterator[Workers | None]:
    """One worker process per core for a large extract's hashing (its ledger entry's and its
    pseudonyms'), shared so the cores are not asked for more; none for a small one (fewer
    input rows than a ledger entry needs workers for), or when no process can be started (the
    work is then done here)."""
    if rows < bulk_records.PARALLEL_FROM:
        yield None
        return
    try:
        workers = Workers(os.cpu_count() or 1, WORKER_TASKS)
    except OSError:
        yield None
        return
    with workers:
        yield workers


def _id_block(ids: pa.ChunkedArray) -> bytes:
    """Citizen ids one per line, as the ledger takes many at once: joined in Arrow, not per id."""
    if ids.null_count or not len(ids):
        raise ValueError("every matched citizen has an id, and there is one at least")
    text = ids.cast(pa.large_string())
    empty, newline = pa.scalar("", pa.large_string()), pa.scalar("\n", pa.large_string())
    lines = pc.binary_join_element_wise(text, empty, newline).combine_chunks()
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int64)
    first, last = offsets[lines.offset], offsets[lines.offset + len(lines)]
    block: bytes = lines.buffers()[2].slice(int(first), int(last - first)).to_pybytes()
    return block


def _ledger_decision(
    run: _Run, agreement: AgreementFacts, recipient: str, client: str, fields: list[str]
) -> BulkDecision:
    run.con.execute(f"CREATE TEMP TABLE ledger_shapes AS {sql.ledger_shapes()}")
    shapes = run.con.execute("SELECT refusal, ledger_reason FROM ledger_shapes ORDER BY shape")
    outcomes = [
        (Outcome.PERMIT if refusal is None else Outcome.REFUSE, (reason,) if reason else ())
        for refusal, reason in shapes.fetchall()
    ]
    table = _table(run.con, sql.ledger_citizen_shapes())
    citizens = CitizenColumns(
        _id_block(table.column("citizen_id")), table.column("shape").to_numpy(), outcomes
    )
    permitted = any(outcome is Outcome.PERMIT for outcome, _ in outcomes)
    summary = [f"removed:{k}:{v}" for k, v in sorted(run.counts.items())]
    return BulkDecision(
        citizens=citizens,
        organisation=recipient,
        client=client,
        purpose=agreement.purpose_category.value,
        outcome=Outcome.PERMIT if permitted else Outcome.REFUSE,
        agreement=agreement.reference,
        lawful_basis=agreement.lawful_basis,
        fields=tuple(fields) if permitted else (),
        reasons=summary[:16],
        source="exchange-bulk",
    )


def run_extract(
    session: Session,
    ledger: Ledger,
    master_key: bytes,
    source: CitizenSource,
    *,
    agreement: str,
    recipient: str,
    client: str,
    input_path: Path,
    output_path: Path,
    skip_invalid: bool = False,
    progress: Progress | None = None,
    today: date | None = None,
) -> ExtractReceipt:
    """Extract the rows the agreement and the citizens' choices allow; record, then publish."""
    terms = _allowed_terms(session, agreement, recipient, today or date.today(), master_key)
    facts = terms.facts
    output_path = output_path.resolve()
    output_path.parent.mkdir(parents=True, exist_ok=True)
    use = Use(facts.reference, facts.purpose_category, facts.data_form, facts.lawful_basis)
    with _run(output_path.parent, progress) as run, contextlib.ExitStack() as later:
        run.progress("reading", 0, 1)
        staged = stage(input_path, run.scratch)
        _check_columns(staged.columns, terms.dataset_fields)
        # Started now, the workers load their modules while DuckDB reads and decides.
        workers = later.enter_context(_workers(staged.rows()))
        source.register(run.con)
        columns = [f for f in facts.fields if f in staged.columns]
        # The output takes NHS numbers as cleaned (``_nhs``), and no column it does not name.
        kept = tuple(c for c in columns if c != SUBJECT_COLUMN)
        rows_in, invalid = _load_rows(run, staged.relation(), kept, use)
        invalid_rows = _invalid_rows(run) if invalid else []
        if invalid and not skip_invalid:
            raise row_errors(invalid_rows, "have an invalid NHS number (modulus 11)", invalid)
        removed = {str(k): int(v) for k, v in run.con.execute(sql.removals()).fetchall()}
        run.counts = dict(removed)
        if invalid:
            run.counts["invalid_nhs_number"] = invalid
        rows_out = rows_in - invalid - sum(removed.values())
        matched = run.con.execute("SELECT count(*) FROM outcomes WHERE citizen_id IS NOT NULL")
        citizens = int(matched.fetchall()[0][0])
        if citizens == 0:
            raise InputRefused("no row names a citizen known to the hub; nothing to extract")
        key = terms.pseudonym_key
        keys = {} if key is None else {c: key for c in columns if c in terms.identifiers}
        temporary = output_path.parent / f".{output_path.name}.{secrets.token_hex(6)}.tmp"
        try:
            run.progress("writing", 0, rows_out)
            decision = _ledger_decision(run, facts, recipient, client, columns)
            # The ledger entry's records are hashed while the file is written, on the same
            # worker processes (one per core) as the pseudonyms; the entry is committed only
            # once the file is whole, and published only after.
            with ThreadPoolExecutor(1, thread_name_prefix="ledger-prepare") as ahead:
                preparing = ahead.submit(ledger_service.prepare_entry, ledger, decision, workers)
                _write_output(run, temporary, columns, keys, rows_out, workers)
                run.progress("recording", 0, citizens)
                prepared = preparing.result()
            try:
                receipt = ledger_service.record_prepared(ledger, prepared)
            except LedgerUnavailable as error:
                raise Problem(
                    503,
                    "Service Unavailable",
                    "The extract could not be recorded on the ledger, so nothing was released.",
                    kind="ledger-unavailable",
                ) from error
            run.progress("recording", citizens, citizens)
            _publish(temporary, output_path)
        finally:
            temporary.unlink(missing_ok=True)
    return ExtractReceipt(
        agreement=facts.reference,
        rows_in=rows_in,
        rows_out=rows_out,
        removed=removed,
        invalid_rows=invalid_rows,
        invalid_count=invalid,
        citizens=citizens,
        fields=columns,
        pseudonymised=sorted(keys),
        ledger_index=receipt.index,
        output=str(output_path),
    )


def check_opt_outs(
    source: CitizenSource,
    *,
    purpose: PurposeCategory,
    input_path: Path,
    output_path: Path,
    progress: Progress | None = None,
) -> OptOutReceipt:
    """Keep the NHS numbers whose holders' choices allow ``purpose``; report invalid lines.

    The input is one NHS number per line (a header line ``nhs_number`` is allowed). The output
    has the usable numbers, one per line, in input order: numbers the hub does not know carry
    no recorded opt-out and are kept.
    """
    output_path = output_path.resolve()
    output_path.parent.mkdir(parents=True, exist_ok=True)
    use = Use(OPT_OUT_CHECK, purpose, DataForm.IDENTIFIABLE, LawfulBasis.PUBLIC_TASK)
    with _run(output_path.parent, progress) as run:
        run.progress("reading", 0, 1)
        staged = stage_csv(input_path, run.scratch, single_column=SUBJECT_COLUMN)
        relation = (
            f"SELECT * FROM ({staged.relation()}) "  # noqa: S608
            f"WHERE NOT (_row = 1 AND lower(trim({SUBJECT_COLUMN})) = '{SUBJECT_COLUMN}')"
        )
        source.register(run.con)
        numbers_in, invalid = _load_rows(run, relation, (), use)
        invalid_lines = _invalid_rows(run) if invalid else []
        counts = dict(run.con.execute(sql.removals()).fetchall())
        temporary = output_path.parent / f".{output_path.name}.{secrets.token_hex(6)}.tmp"
        try:
            run.progress("writing", 0, 1)
            run.con.execute(
                f"COPY ({sql.usable_numbers()}) TO {sql.literal(str(temporary))} "
                "(FORMAT csv, HEADER false)"
            )
            with temporary.open("rb") as handle:
                os.fsync(handle.fileno())
            _publish(temporary, output_path)
            run.progress("writing", 1, 1)
        finally:
            temporary.unlink(missing_ok=True)
    unknown = int(counts.get("no_such_record", 0))
    refused = sum(int(v) for k, v in counts.items() if k != "no_such_record")
    return OptOutReceipt(
        purpose=purpose.value,
        numbers_in=numbers_in,
        usable=numbers_in - invalid - refused,
        opted_out=refused,
        unknown=unknown,
        invalid_lines=invalid_lines,
        invalid_count=invalid,
        output=str(output_path),
    )
