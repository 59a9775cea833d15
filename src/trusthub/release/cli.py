"""`trusthub release`: run release specifications, manage privacy budgets, de-identify scans."""

from __future__ import annotations

import getpass
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy.orm import Session

from trusthub.cli_options import DATABASE_URL_OPTION, resolve_database_url
from trusthub.config import get_settings
from trusthub.db import make_engine, make_session_factory, transaction
from trusthub.ledger.runtime import Ledger, open_ledger
from trusthub.problems import Problem

console = Console(stderr=True)
release_app = typer.Typer(
    help="Let data leave only after measured anonymisation.\n\n"
    "A release specification (YAML, see docs/release.md) names the source, the recipient and "
    "agreement, each field's role and the privacy model: k-anonymity (with ℓ-diversity and "
    "t-closeness) or differential privacy. Every release is recorded.",
    no_args_is_help=True,
    rich_markup_mode="markdown",
)
budget_app = typer.Typer(help="Differential-privacy budgets per dataset and recipient.")
release_app.add_typer(budget_app, name="budget")

BY = typer.Option(None, "--by", help="Who is releasing (default: your login name).")


@contextmanager
def _session(database_url: str | None) -> Iterator[Session]:
    engine = make_engine(resolve_database_url(database_url))
    try:
        with transaction(make_session_factory(engine)) as session:
            yield session
    finally:
        engine.dispose()


@contextmanager
def _ledger(database_url: str | None) -> Iterator[Ledger]:
    """The ledger, opened as the app opens it: its own database if configured, else this one."""
    settings = get_settings().model_copy(
        update={"database_url": resolve_database_url(database_url)}
    )
    ledger = open_ledger(settings)
    ledger.start()
    try:
        yield ledger
    finally:
        ledger.close()


def _fail(problem: Problem) -> typer.Exit:
    console.print(f"[bold red]{problem.title}[/bold red]: {problem.detail}")
    for error in problem.errors:
        console.print(f"  • {error['field']}: {error['message']}")
    return typer.Exit(code=1)


def _key() -> bytes:
    from trusthub.release.service import release_key

    configured = get_settings().release_key
    return release_key(configured.get_secret_value() if configured else None)


@release_app.command("run")
def run(
    spec_path: Path = typer.Argument(..., metavar="SPEC.yaml", help="The release specification."),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder; must not exist yet."),
    by: str | None = BY,
    database_url: str | None = DATABASE_URL_OPTION,
) -> None:
    """Check SPEC.yaml, run the release and write it to --out in one step.

    Everything is checked before anything is written: unknown fields, hierarchies that do not
    cover a value, k larger than the table, an exhausted budget. The release is recorded on the
    ledger before the output folder appears: data (only if the risk report passes),
    report.json, report.html, manifest.json, and internal/ (suppressed rows: never hand it
    over). With agreement `open`, a release whose risk report passes is also published to the
    open-data catalogue (its publication section says where); one that fails is refused and
    writes nothing.
    """
    from trusthub.release import service

    settings = get_settings()

    with _bar() as bar:
        task = bar.add_task("checking", total=100)

        def progress(stage: str, done: float) -> None:
            bar.update(task, description=stage, completed=round(done * 100))

        try:
            spec = service.load_spec(spec_path)
            with _ledger(database_url) as ledger, _session(database_url) as session:
                outcome = service.run_release(
                    session,
                    spec,
                    base=spec_path.resolve().parent,
                    out=out.resolve(),
                    released_by=by or getpass.getuser(),
                    key=_key(),
                    ledger=ledger,
                    opendata_dir=settings.opendata_data_dir,
                    progress=progress,
                )
        except Problem as problem:
            raise _fail(problem) from problem
    verdict = "[green]passed[/green]" if outcome.record.passed else "[red]did not pass[/red]"
    console.print(f"release [bold]{spec.name}[/bold] #{outcome.record.id} {verdict}: {out}")
    if outcome.ledger is not None:
        console.print(f"on the ledger at index {outcome.ledger['index']}")
    if outcome.published is not None:
        published = outcome.published
        console.print(
            f"published to the catalogue: {published['dataset']} version {published['version']}"
        )
    if not outcome.record.passed:
        console.print("the risk report did not pass, so no data was written; see report.html")
        raise typer.Exit(code=2)


@release_app.command("list")
def list_releases(database_url: str | None = DATABASE_URL_OPTION) -> None:
    """Every release made, newest first, as JSON lines."""
    from trusthub.release import service

    with _session(database_url) as session:
        for release in service.list_releases(session):
            typer.echo(release.model_dump_json())


@budget_app.command("set")
def budget_set(
    dataset: str = typer.Argument(..., help="The source's name (its `name`, or org/dataset)."),
    recipient: str = typer.Argument(...),
    epsilon: float = typer.Option(..., "--epsilon", help="Total ε the recipient may spend."),
    delta: float = typer.Option(0.0, "--delta", help="Total δ (for the Gaussian mechanism)."),
    database_url: str | None = DATABASE_URL_OPTION,
) -> None:
    """Create or change a recipient's privacy budget on a dataset."""
    from pydantic import ValidationError

    from trusthub.release import service
    from trusthub.release.schemas import BudgetSet

    try:
        data = BudgetSet(dataset=dataset, recipient=recipient, epsilon=epsilon, delta=delta)
        with _session(database_url) as session:
            view = service.set_budget(session, data)
    except ValidationError as error:
        console.print(f"[red]invalid budget[/red]: {error.errors()[0]['msg']}")
        raise typer.Exit(code=1) from error
    except Problem as problem:
        raise _fail(problem) from problem
    typer.echo(view.model_dump_json(indent=2))


@budget_app.command("show")
def budget_show(
    dataset: str | None = typer.Argument(None),
    recipient: str | None = typer.Argument(None),
    database_url: str | None = DATABASE_URL_OPTION,
) -> None:
    """Show one budget with its spends, or every budget."""
    from trusthub.release import service

    try:
        with _session(database_url) as session:
            if dataset and recipient:
                views = [service.get_budget(session, dataset, recipient)]
            else:
                views = service.list_budgets(session)
    except Problem as problem:
        raise _fail(problem) from problem
    typer.echo(json.dumps([v.model_dump(mode="json") for v in views], indent=2))


@release_app.command("dicom")
def dicom(
    source: Path = typer.Argument(..., help="Folder of DICOM files (searched recursively)."),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder; must not exist yet."),
    recipient: str = typer.Option(..., help="Who receives the images."),
    agreement: str = typer.Option(..., help="The data-sharing agreement's reference."),
    name: str = typer.Option("dicom", help="The release's name."),
    workers: int = typer.Option(2, min=1, help="Processes to use."),
    by: str | None = BY,
    database_url: str | None = DATABASE_URL_OPTION,
) -> None:
    """De-identify DICOM files (PS3.15 Basic profile, modified dates) into --out.

    Files whose pixels may carry burned-in text are held back for review and listed in the
    manifest; nothing identifying is written there.
    """
    from trusthub.release.service import deidentify_folder

    with _bar() as bar:
        task = bar.add_task("de-identifying", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        try:
            with _ledger(database_url) as ledger, _session(database_url) as session:
                manifest = deidentify_folder(
                    session,
                    source,
                    out.resolve(),
                    name=name,
                    recipient=recipient,
                    agreement=agreement,
                    released_by=by or getpass.getuser(),
                    key=_key(),
                    ledger=ledger,
                    workers=workers,
                    progress=progress,
                )
        except Problem as problem:
            raise _fail(problem) from problem
    counts = manifest["counts"]
    console.print(
        f"{counts['released']} released, {counts['review']} held for review, "
        f"{counts['skipped']} skipped: {out}"
    )


def _bar() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        console=console,
    )
