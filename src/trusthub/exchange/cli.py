"""`trusthub extract …` and `trusthub optout …`: bulk work through the exchange's action layer."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from sqlalchemy.orm import Session

from trusthub.cli_options import DATABASE_URL_OPTION, resolve_database_url
from trusthub.config import Settings, get_settings
from trusthub.db import make_engine, make_session_factory, transaction
from trusthub.exchange import bulk
from trusthub.exchange.keys import pseudonym_master_key
from trusthub.exchange.sources import CitizenSource, DatabaseSource, ParquetSource
from trusthub.ledger.runtime import open_ledger
from trusthub.problems import Problem
from trusthub.registry.agreement_rules import PurposeCategory

console = Console(stderr=True)

extract_app = typer.Typer(
    help="Bulk extracts under a data-sharing agreement, recorded on the ledger.",
    no_args_is_help=True,
)
optout_app = typer.Typer(
    help="Check a file of NHS numbers against the national data opt-out.", no_args_is_help=True
)

SNAPSHOT_OPTION = typer.Option(
    None,
    "--snapshot",
    help="A directory with citizens.parquet and choice_events.parquet to read citizens and "
    "their choices from, instead of the database (for tens of millions of citizens).",
    show_default=False,
)


@contextmanager
def _progress(enabled: bool) -> Iterator[bulk.Progress | None]:
    if not enabled:
        yield None
        return
    with Progress(
        TextColumn("{task.description:<10}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        tasks: dict[str, TaskID] = {}

        def report(step: str, done: int, total: int) -> None:
            if step not in tasks:
                tasks[step] = bar.add_task(step, total=total)
            bar.update(tasks[step], completed=done, total=total)

        yield report


@contextmanager
def _session(settings: Settings) -> Iterator[Session]:
    engine = make_engine(settings.database_url)
    try:
        with transaction(make_session_factory(engine)) as session:
            yield session
    finally:
        engine.dispose()


def _source(session: Session, snapshot: Path | None) -> CitizenSource:
    return ParquetSource(snapshot) if snapshot else DatabaseSource(session)


def _fail(problem: Problem, as_json: bool) -> typer.Exit:
    if as_json:
        typer.echo(json.dumps(problem.to_json(), indent=2))
    else:
        console.print(f"[red]{problem.title}[/red]: {problem.detail}")
    return typer.Exit(1 if problem.status < 500 else 2)


@extract_app.command("run")
def extract_run(
    agreement: str = typer.Option(..., "--agreement", help="The agreement's reference."),
    recipient: str = typer.Option(
        ..., "--recipient", help="The organisation (slug) the extract is for: the recipient."
    ),
    input_path: Path = typer.Option(..., "--input", help="CSV (with a header) or Parquet."),
    output_path: Path = typer.Option(..., "--output", help="The Parquet file to write."),
    skip_invalid: bool = typer.Option(
        False,
        "--skip-invalid",
        help="Leave out rows whose NHS number is invalid (and list them) instead of refusing.",
    ),
    snapshot: Path | None = SNAPSHOT_OPTION,
    as_json: bool = typer.Option(False, "--json", help="Print the receipt as JSON."),
    database_url: str | None = DATABASE_URL_OPTION,
) -> None:
    """Extract the rows an agreement allows, as Parquet, recorded on the ledger first.

    The input holds the agreement's dataset: its columns must be fields of the dataset and one
    must be `nhs_number`. The extract refuses outright (nothing written, nothing recorded) if
    the agreement is not active or not for RECIPIENT, a column is unknown, a CSV row is
    malformed, or an NHS number fails its check (unless --skip-invalid). Otherwise rows of
    citizens whose choices refuse the use (national data opt-out, objection, missing consent)
    and of numbers the hub does not know are removed; only the agreed fields are kept, and
    direct identifiers become per-agreement pseudonyms where the agreement says pseudonymised.
    Every matched citizen's outcome goes on the ledger as one bulk entry before the output file
    appears (written to a temporary file, fsynced, renamed). Exit 1: refused; 2: ledger down.
    """
    base = get_settings()
    settings = base.model_copy(update={"database_url": resolve_database_url(database_url)})
    ledger = open_ledger(settings)
    ledger.start()
    try:
        with _session(settings) as session, _progress(not as_json) as progress:
            receipt = bulk.run_extract(
                session,
                ledger,
                pseudonym_master_key(settings),
                _source(session, snapshot),
                agreement=agreement,
                recipient=recipient,
                client="trusthub-cli",
                input_path=input_path,
                output_path=output_path,
                skip_invalid=skip_invalid,
                progress=progress,
            )
    except Problem as problem:
        raise _fail(problem, as_json) from None
    finally:
        ledger.close()
    if as_json:
        typer.echo(json.dumps(asdict(receipt), indent=2))
        return
    console.print(
        f"[green]extract written[/green] to {receipt.output}: {receipt.rows_in:,} rows in, "
        f"{receipt.rows_out:,} rows out, {receipt.citizens:,} citizens on ledger entry "
        f"{receipt.ledger_index}"
    )
    for reason, count in sorted(receipt.removed.items()):
        console.print(f"  removed {count:,} row(s): {reason}")
    if receipt.invalid_count:
        rows = ", ".join(map(str, receipt.invalid_rows[:50]))
        console.print(f"  left out {receipt.invalid_count:,} invalid NHS number(s), rows {rows}")
    if receipt.pseudonymised:
        console.print(f"  pseudonymised: {', '.join(receipt.pseudonymised)}")


@optout_app.command("check")
def optout_check(
    purpose: PurposeCategory = typer.Option(
        PurposeCategory.RESEARCH, "--purpose", help="The use the numbers are wanted for."
    ),
    input_path: Path = typer.Option(
        ..., "--input", help="NHS numbers, one per line (a header line nhs_number is allowed)."
    ),
    output_path: Path = typer.Option(..., "--output", help="Where the usable numbers go."),
    snapshot: Path | None = SNAPSHOT_OPTION,
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    database_url: str | None = DATABASE_URL_OPTION,
) -> None:
    """Keep the NHS numbers that may be used for PURPOSE under the national data opt-out.

    Writes the usable numbers, one per line, in input order: those of citizens without an
    opt-out that binds PURPOSE (research and planning are covered), and numbers the hub does
    not know. Invalid numbers are left out and reported by line number; a line with more than
    one field refuses the whole file.
    """
    settings = get_settings().model_copy(
        update={"database_url": resolve_database_url(database_url)}
    )
    try:
        with _session(settings) as session, _progress(not as_json) as progress:
            report = bulk.check_opt_outs(
                _source(session, snapshot),
                purpose=purpose,
                input_path=input_path,
                output_path=output_path,
                progress=progress,
            )
    except Problem as problem:
        raise _fail(problem, as_json) from None
    if as_json:
        typer.echo(json.dumps(asdict(report), indent=2))
        return
    console.print(
        f"[green]{report.usable:,} usable[/green] of {report.numbers_in:,} numbers written to "
        f"{report.output}; {report.opted_out:,} opted out, {report.unknown:,} not known to the hub"
    )
    if report.invalid_count:
        lines = ", ".join(map(str, report.invalid_lines[:50]))
        console.print(f"  {report.invalid_count:,} invalid number(s), lines {lines}")
