"""`trusthub demo`: build the synthetic UK demo world into a database or Parquet files."""

from __future__ import annotations

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
    TimeRemainingColumn,
)
from rich.table import Table
from sqlalchemy import Engine

from trusthub.cli_options import DATABASE_URL_OPTION
from trusthub.config import get_settings
from trusthub.demo.service import (
    DEFAULT_DATABASE_BATCH,
    DEFAULT_PARQUET_BATCH,
    AlreadySeeded,
    AlreadyWritten,
    NotMigrated,
    SeedReport,
    seed_database,
    write_parquet_world,
)

demo_app = typer.Typer(
    help="The synthetic UK demo world: citizens, departments' copies of them, opt-outs.\n\n"
    "Deterministic: the same --citizens and --seed always build the same world, row for row.",
    no_args_is_help=True,
    rich_markup_mode="markdown",
)
_err = Console(stderr=True)


class _Bars:
    """Rich progress bars on stderr, one per task name, fed by the service's progress calls."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.tasks: dict[str, TaskID] = {}

    def __call__(self, task: str, completed: int, total: int) -> None:
        if task not in self.tasks:
            self.tasks[task] = self.progress.add_task(task, total=total)
        self.progress.update(self.tasks[task], completed=completed, total=total)


def _progress_bars(quiet: bool) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=_err,
        disable=quiet,
        transient=False,
    )


def _summary(report: SeedReport) -> Table:
    table = Table(title=f"Demo world → {report.target}", title_justify="left")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, count in report.rows.items():
        table.add_row(name, f"{count:,}")
    table.add_row("[bold]total", f"[bold]{report.total_rows:,}")
    table.caption = (
        f"{report.citizens:,} citizens, seed {report.seed}, {report.seconds:.1f} s, "
        f"{report.rows_per_second:,.0f} rows/s"
    )
    return table


@demo_app.command("seed")
def seed(
    citizens: int | None = typer.Option(
        None,
        "--citizens",
        min=0,
        help="How many citizens. Default: TRUSTHUB_DEMO_CITIZENS (2,000).",
        show_default=False,
    ),
    seed: int | None = typer.Option(
        None,
        "--seed",
        min=0,
        help="Random seed; the same seed builds the same world. Default: TRUSTHUB_DEMO_SEED.",
        show_default=False,
    ),
    database_url: str | None = DATABASE_URL_OPTION,
    parquet: Path | None = typer.Option(
        None,
        "--parquet",
        metavar="DIR",
        help="Write Parquet files (one per table) into DIR instead of seeding a database.",
        file_okay=False,
    ),
    batch_size: int | None = typer.Option(
        None,
        "--batch-size",
        min=1,
        help=f"Rows per write: database inserts (default {DEFAULT_DATABASE_BATCH:,}) or Parquet "
        f"row groups (default {DEFAULT_PARQUET_BATCH:,}). Never changes the world itself.",
        show_default=False,
    ),
    if_empty: bool = typer.Option(
        False,
        "--if-empty",
        help="Succeed without doing anything if the database (or DIR) already holds a world.",
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
) -> None:
    """Build the demo world: citizens with NHS numbers, NINOs and addresses; eight organisations
    (DWP, HMRC, DVLA, an eye hospital, a council, a university, a bank, an airline) holding
    copies of them with the errors real copies carry; and national data opt-outs (~5%).

    Seeds only an **empty**, migrated database (run `trusthub db upgrade` first): a database
    that already has data is refused (exit 1), or left alone with `--if-empty` (exit 0).

    Each copy's `citizen_id` is the world's ground truth, kept for measuring record matching.
    """
    settings = get_settings()
    count = settings.demo_citizens if citizens is None else citizens
    world_seed = settings.demo_seed if seed is None else seed
    with _progress_bars(quiet) as bars:
        try:
            if parquet is not None:
                report = write_parquet_world(
                    parquet, count, world_seed, batch_size or DEFAULT_PARQUET_BATCH, _Bars(bars)
                )
            else:
                report = _seed_database(
                    database_url or settings.database_url,
                    count,
                    world_seed,
                    batch_size or DEFAULT_DATABASE_BATCH,
                    _Bars(bars),
                )
        except (AlreadySeeded, AlreadyWritten) as exc:
            if if_empty:
                typer.echo(str(exc))
                raise typer.Exit(0) from None
            _err.print(f"[red]{exc}[/red]; seed an empty database (or directory) instead")
            raise typer.Exit(1) from None
        except NotMigrated as exc:
            _err.print(f"[red]{exc}[/red]")
            raise typer.Exit(1) from None
    if quiet:
        typer.echo(
            f"seeded {report.citizens} citizens ({report.total_rows} rows) into {report.target} "
            f"in {report.seconds:.1f} s"
        )
    else:
        Console().print(_summary(report))


def _seed_database(
    url: str, citizens: int, seed: int, batch_size: int, progress: _Bars
) -> SeedReport:
    from trusthub.db import make_engine

    engine = make_engine(url)
    try:
        report = seed_database(engine, citizens, seed, batch_size=batch_size, progress=progress)
        _seed_identity_providers(engine)
        return report
    finally:
        engine.dispose()


def _seed_identity_providers(engine: Engine) -> None:
    """Ready accounts at the demo identity providers, and the hub registered as their client."""
    from trusthub.db import make_session_factory, transaction
    from trusthub.idp import demo

    with transaction(make_session_factory(engine)) as db:
        demo.seed(db, get_settings())
