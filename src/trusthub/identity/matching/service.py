"""Matching's action layer: prepare a department (records + trained model), match in bulk or one
identity at a time. The decisions themselves are in decision.py; this file only moves data.

A department's matching store is a directory: ``records.parquet`` (its records in the matching
shape), ``model.json`` (the trained Splink model) and ``department.json`` (counts and the extra
question it can ask). Nothing here logs a name, a birth date or an identifier.
"""

# ruff: noqa: S608 - SQL over fixed table and column names; file paths are quoted literals.

from __future__ import annotations

import json
import threading
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import structlog

from trusthub.identity.matching import frames, model
from trusthub.identity.matching.decision import (
    NO_MATCH,
    OUTCOME_CODES,
    Candidate,
    Decision,
    Facts,
    Outcome,
    Question,
    Thresholds,
    decide,
    decide_many,
    decide_on_identifier,
)
from trusthub.identity.oidc.machine import MachineCaller
from trusthub.problems import Problem

log = structlog.get_logger(__name__)

THRESHOLDS = Thresholds()
CANDIDATE_FLOOR = 0.001
"""Pairs scoring below this are not kept as candidates at all."""
DEPARTMENT_KEY = r"^[a-z0-9-]+\.[a-z0-9-]+$"
_QUESTION_COLUMN = {Question.NINO: "nino", Question.DRIVING_LICENCE: "driving_licence_number"}


@dataclass(frozen=True)
class Store:
    """Where one department's matching files live."""

    directory: Path

    @classmethod
    def of(cls, base: Path, department: str) -> Store:
        if not _valid_key(department):
            raise Problem(422, "Invalid department", "Name a dataset as organisation.dataset.")
        return cls(base / department)

    @property
    def records(self) -> Path:
        return self.directory / "records.parquet"

    @property
    def model(self) -> Path:
        return self.directory / "model.json"

    @property
    def meta(self) -> Path:
        return self.directory / "department.json"

    def question(self) -> Question | None:
        value = self._meta().get("question")
        return Question(value) if value else None

    def _meta(self) -> dict[str, Any]:
        if not self.meta.is_file():
            raise Problem(404, "Department not prepared", "This department has no matching store.")
        data: dict[str, Any] = json.loads(self.meta.read_text())
        return data

    def trained_model(self) -> dict[str, Any]:
        if not self.model.is_file():
            raise Problem(409, "Model not trained", "Train this department's model first.")
        data: dict[str, Any] = json.loads(self.model.read_text())
        return data


def _valid_key(department: str) -> bool:
    import re

    return bool(re.fullmatch(DEPARTMENT_KEY, department))


def _columns(connection: duckdb.DuckDBPyConnection, source: str) -> list[str]:
    return [
        str(row[0]) for row in connection.execute(f"describe select * from {source}").fetchall()
    ]


def _read(path: Path) -> str:
    """A DuckDB table function reading a Parquet or CSV file (the path quoted as a literal)."""
    quoted = str(path).replace("'", "''")
    if path.suffix.lower() == ".csv":
        return f"read_csv('{quoted}', all_varchar = true, header = true)"
    return f"read_parquet('{quoted}')"


def _count(connection: duckdb.DuckDBPyConnection, table: str) -> int:
    return int(connection.execute(f"select count(*) from {table}").fetchall()[0][0])


def _load_identities(connection: duckdb.DuckDBPyConnection, path: Path) -> None:
    source = _read(path)
    present = _columns(connection, source)
    missing = {"reference", "given_name", "family_name"} - set(present)
    if missing:
        raise Problem(
            422, "Invalid identities", "The file lacks columns: " + ", ".join(sorted(missing))
        )
    select = frames.identities_select(source, present)
    connection.execute(f"create or replace table {model.IDENTITIES} as {select}")
    answer = "answer" in present
    connection.execute(
        f"create or replace table answers as select cast(reference as varchar) as unique_id, "
        f"{frames.identifier_sql('answer') if answer else 'cast(null as varchar)'} as answer "
        f"from {source}"
    )


@dataclass(frozen=True)
class Prepared:
    records: int
    question: Question | None
    trained: bool


def prepare_department(
    base: Path, department: str, source: Path, identities: Path | None
) -> Prepared:
    """Keep the department's records in the matching shape; train the model if identities are
    given (a sample of verified identities the department will be asked about)."""
    store = Store.of(base, department)
    store.directory.mkdir(parents=True, exist_ok=True)
    with duckdb.connect() as connection:
        table = _read(source)
        select = frames.records_select(table, _columns(connection, table))
        connection.execute(f"create table {model.RECORDS} as {select}")
        connection.execute(f"copy {model.RECORDS} to '{store.records}' (format parquet)")
        count = _count(connection, model.RECORDS)
        question = _question(connection)
        store.meta.write_text(
            json.dumps({"records": count, "question": question.value if question else None})
        )
        if identities is not None:
            _load_identities(connection, identities)
            trained = model.train(connection, count)
            store.model.write_text(json.dumps(trained, indent=1))
    log.info("matching.prepared", department=department, records=count)
    return Prepared(count, question, identities is not None)


def _question(connection: duckdb.DuckDBPyConnection) -> Question | None:
    """The extra question this department can settle: the strong identifier its records hold."""
    for question, column in _QUESTION_COLUMN.items():
        held = connection.execute(f"select count({column}) from {model.RECORDS}").fetchall()[0][0]
        if held:
            return question
    return None


@dataclass
class Summary:
    """Counts only: what a bulk run decided."""

    identities: int = 0
    outcomes: dict[str, int] = field(default_factory=lambda: dict.fromkeys(Outcome, 0))
    by_identifier: int = 0
    questions: int = 0


def match_file(
    base: Path, department: str, identities: Path, output: Path, thresholds: Thresholds = THRESHOLDS
) -> Summary:
    """Match a file of verified identities; write reference, outcome, local_id and question.

    An identity that brings a NINO or licence number is first matched on it; one with an
    ``answer`` (to a question asked before) is decided on that answer alone.
    """
    store = Store.of(base, department)
    question, trained = store.question(), store.trained_model()
    with duckdb.connect() as connection:
        connection.execute(f"create table {model.RECORDS} as select * from {_read(store.records)}")
        _load_identities(connection, identities)
        decided = dict(_decide_on_identifiers(connection, question))
        scored = _candidates(connection, trained, decided)
    outcomes = decide_many(
        scored.column("best_probability").to_numpy(zero_copy_only=False),
        scored.column("rival_probability").to_numpy(zero_copy_only=False),
        thresholds,
    )
    result = _outcome_table(scored, outcomes, question, decided)
    _write(output, result)
    summary = Summary(identities=result.num_rows, by_identifier=len(decided))
    for pair in pc.value_counts(result.column("outcome")).to_pylist():
        summary.outcomes[Outcome(pair["values"])] = pair["counts"]
    summary.questions = result.num_rows - result.column("question").null_count
    log.info(
        "matching.bulk",
        department=department,
        identities=summary.identities,
        **{str(k): v for k, v in summary.outcomes.items()},
    )
    return summary


def _outcome_table(
    scored: pa.Table, outcomes: np.ndarray, question: Question | None, decided: dict[str, Decision]
) -> pa.Table:
    """reference, outcome, local_id (matches only), question (ambiguous only, if askable)."""
    codes = pa.array([o.value for o in OUTCOME_CODES]).take(pa.array(outcomes))
    matched = pa.array(outcomes == 0)
    local_id = pc.if_else(matched, scored.column("best_local_id"), pa.scalar(None, pa.string()))
    asked = pa.array((outcomes == 2) & (question is not None))
    ask = pa.scalar(question.value if question else None, pa.string())
    table = pa.table(
        {
            "reference": scored.column("reference"),
            "outcome": codes,
            "local_id": local_id,
            "question": pc.if_else(asked, ask, pa.scalar(None, pa.string())),
        }
    )
    if not decided:
        return table
    settled = pc.is_in(table.column("reference"), pa.array(list(decided), pa.string()))
    extra = pa.table(
        {
            "reference": pa.array(list(decided), pa.string()),
            "outcome": pa.array([d.outcome.value for d in decided.values()], pa.string()),
            "local_id": pa.array([d.local_id for d in decided.values()], pa.string()),
            "question": pa.nulls(len(decided), pa.string()),
        }
    )
    return pa.concat_tables([table.filter(pc.invert(settled)), extra]).sort_by("reference")


def _candidates(
    connection: duckdb.DuckDBPyConnection, trained: dict[str, Any], decided: dict[str, Decision]
) -> pa.Table:
    """Each identity's best record and probability, and the runner-up's probability (enough for
    the decision: a best and whether it has a rival); identities already decided are skipped."""
    if decided:
        connection.register("decided", pa.table({"unique_id": list(decided)}))
        connection.execute(
            f"delete from {model.IDENTITIES} where unique_id in (select unique_id from decided)"
        )
    predictions = model.linker(connection, trained).inference.predict(
        threshold_match_probability=CANDIDATE_FLOOR
    )
    table = connection.sql(
        f"""with ranked as (
              select unique_id_l, unique_id_r, match_probability, row_number() over (
                partition by unique_id_l order by match_probability desc, unique_id_r) as rank
              from {predictions.physical_name})
            select i.unique_id as reference, b.unique_id_r as best_local_id,
                   b.match_probability as best_probability,
                   s.match_probability as rival_probability
            from {model.IDENTITIES} i
            left join ranked b on b.unique_id_l = i.unique_id and b.rank = 1
            left join ranked s on s.unique_id_l = i.unique_id and s.rank = 2
            order by i.unique_id"""
    ).to_arrow_table()
    predictions.drop_table_from_database_and_remove_from_cache()
    return table


def _decide_on_identifiers(
    connection: duckdb.DuckDBPyConnection,
    question: Question | None,
    identities: str = model.IDENTITIES,
) -> Iterator[tuple[str, Decision]]:
    """Identities carrying the department's strong identifier (brought, or answered)."""
    if question is None:
        return
    column = _QUESTION_COLUMN[question]
    rows = connection.execute(
        f"""select i.unique_id, a.answer is not null,
                  i.date_of_birth, i.family_name, i.former_family_name,
                  i.postcode, i.previous_postcode,
                  r.unique_id, r.date_of_birth, r.family_name, r.postcode
           from {identities} i join answers a using (unique_id)
           left join {model.RECORDS} r on r.{column} = coalesce(a.answer, i.{column})
           where coalesce(a.answer, i.{column}) is not null
           order by i.unique_id"""
    ).fetchall()
    grouped: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    for row in rows:
        grouped[row[0]].append(row)
    for reference, group in grouped.items():
        first = group[0]
        identity = _facts(first[2], (first[3], first[4]), (first[5], first[6]))
        holders = [(r[7], _facts(r[8], (r[9],), (r[10],))) for r in group if r[7] is not None]
        decision = decide_on_identifier(identity, holders)
        if decision.outcome is Outcome.MATCH or first[1]:
            yield (
                reference,
                decision,
            )  # an answer is decisive; a brought identifier only if it matches


def _facts(
    born: date | None, surnames: Iterable[str | None], postcodes: Iterable[str | None]
) -> Facts:
    return Facts(
        born,
        frozenset(s for s in surnames if s),
        frozenset(p for p in postcodes if p),
    )


def _write(output: Path, table: pa.Table) -> None:
    output.parent.mkdir(parents=True, exist_ok=True)
    if output.suffix.lower() == ".csv":
        pacsv.write_csv(table, output)
    else:
        pq.write_table(table, output)


# --- one identity at a time (the API) ---------------------------------------------------------
ONLINE_BLOCKING = tuple(
    rule.replace("l.", "x.").replace("r.", "l.").replace("x.", "r.")
    for rule in model.PREDICTION_BLOCKING
)
"""The prediction blocking seen from a new record: Splink puts the store's records on the left."""


class Matcher:
    """One department's records and model, loaded once; one identity scored at a time."""

    def __init__(self, store: Store) -> None:
        self.question = store.question()
        self.connection = duckdb.connect()
        self.connection.execute(
            f"create table {model.RECORDS} as select * from {_read(store.records)}"
        )
        self.connection.execute(
            f"create table {model.IDENTITIES} as select * from {model.RECORDS} limit 0"
        )
        self.linker = model.linker(self.connection, store.trained_model())
        self.lock = threading.Lock()
        self.stamp = store.model.stat().st_mtime_ns

    def match(
        self, identity: dict[str, Any], answer: str | None, thresholds: Thresholds
    ) -> Decision:
        """The decision for one identity (as frames.IDENTITY_COLUMNS), or its answer's."""
        with self.lock:
            table = pa.Table.from_pylist(
                [
                    {
                        **{c: None for c in frames.IDENTITY_COLUMNS},
                        **identity,
                        "reference": "q",
                        "answer": answer,
                    }
                ]
            )
            self.connection.register("incoming", table)
            try:
                self.connection.execute(
                    "create or replace temp table one as "
                    + frames.identities_select("incoming", frames.IDENTITY_COLUMNS)
                )
                self.connection.execute(
                    "create or replace temp table answers as select 'q' as unique_id, "
                    + frames.identifier_sql("answer")
                    + " as answer from incoming"
                )
            finally:
                self.connection.unregister("incoming")
            decided = dict(_decide_on_identifiers(self.connection, self.question, "one"))
            if "q" in decided:
                return decided["q"]
            if answer:
                return NO_MATCH
            new = self.connection.sql("select * from one").to_arrow_table()
            scored = self.linker.inference.find_matches_to_new_records(
                new, blocking_rules=list(ONLINE_BLOCKING), match_weight_threshold=-10
            )
            rows = self.connection.execute(
                f"select unique_id_l, match_probability from {scored.physical_name} "
                f"where match_probability >= {CANDIDATE_FLOOR}"
            ).fetchall()
            scored.drop_table_from_database_and_remove_from_cache()
        return decide([Candidate(r, float(p)) for r, p in rows], thresholds, self.question)


_matchers: dict[Path, Matcher] = {}
_matchers_lock = threading.Lock()


def matcher(base: Path, department: str) -> Matcher:
    """The department's loaded matcher (loaded on first use, reloaded when the model changes)."""
    store = Store.of(base, department)
    with _matchers_lock:
        current = _matchers.get(store.directory)
        stamp = store.model.stat().st_mtime_ns if store.model.is_file() else None
        if current is None or current.stamp != stamp:
            current = Matcher(store)
            _matchers[store.directory] = current
        return current


SCOPE = "matching"


def match_for(
    base: Path,
    caller: MachineCaller,
    department: str,
    identity: dict[str, Any],
    answer: str | None,
) -> Decision:
    """One identity for a department's own machine client: no client matches into a dataset
    its organisation does not hold, and none without the ``matching`` scope."""
    if SCOPE not in caller.scopes:
        raise Problem(403, "Forbidden", "This client may not match identities.", kind="scope")
    if department.split(".", 1)[0] != caller.organisation_slug:
        raise Problem(
            403, "Forbidden", "A client matches only into its own organisation's records."
        )
    decision = matcher(base, department).match(identity, answer, THRESHOLDS)
    log.info("matching.one", department=department, outcome=decision.outcome.value)
    return decision
