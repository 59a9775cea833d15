"""`trusthub identity match` and `match-prepare`: bulk matching for a department, from files."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from trusthub.config import get_settings
from trusthub.identity.matching import service
from trusthub.problems import Problem

console = Console(stderr=True)

DEPARTMENT = typer.Option(..., "--department", "-d", help="The dataset, as organisation.dataset.")
STORE = typer.Option(None, "--store", help="Matching stores' directory (default from settings).")


def _store(store: Path | None) -> Path:
    return store or get_settings().identity_matching_dir


def prepare_command(
    department: str = DEPARTMENT,
    records: Path = typer.Option(
        ..., "--records", exists=True, help="The department's records (Parquet or CSV)."
    ),
    identities: Path | None = typer.Option(
        None, "--identities", exists=True, help="Verified identities to train the model on."
    ),
    store: Path | None = STORE,
) -> None:
    """Keep a department's records for matching and train its model (once per department)."""
    try:
        done = service.prepare_department(_store(store), department, records, identities)
    except Problem as problem:
        console.print(f"[red]{problem.title}[/red]: {problem.detail}")
        raise typer.Exit(1) from problem
    question = done.question.value if done.question else "none"
    console.print(f"{done.records:,} records; trained: {done.trained}; extra question: {question}")


def match_command(
    department: str = DEPARTMENT,
    input_file: Path = typer.Option(
        ...,
        "--input",
        "-i",
        exists=True,
        help="Verified identities (Parquet or CSV): reference, given_name, family_name, ...",
    ),
    output: Path = typer.Option(
        Path("matches.parquet"), "--output", "-o", help="Outcomes (.parquet or .csv)."
    ),
    store: Path | None = STORE,
) -> None:
    """Match a file of verified identities to a department's records (counts only are shown)."""
    try:
        summary = service.match_file(_store(store), department, input_file, output)
    except Problem as problem:
        console.print(f"[red]{problem.title}[/red]: {problem.detail}")
        raise typer.Exit(1) from problem
    counts = ", ".join(f"{k} {v:,}" for k, v in summary.outcomes.items())
    console.print(f"{summary.identities:,} identities: {counts}; questions {summary.questions:,}")
    console.print(f"written to {output}")
