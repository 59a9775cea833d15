"""`trusthub opendata`: generate the article's datasets, load the real files, publish, list."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from sqlalchemy.orm import Session

from trusthub.cli_options import DATABASE_URL_OPTION, resolve_database_url
from trusthub.config import get_settings
from trusthub.db import make_engine, make_session_factory, transaction
from trusthub.opendata.sources import Kind, registry
from trusthub.problems import Problem

console = Console(stderr=True)
opendata_app = typer.Typer(
    help="Open data: the catalogue, its CKAN-compatible API and the article's three datasets.\n\n"
    "Every publication passes the publication gate: only fields classified non-personal are "
    "published, unless a release with a passing risk report produced them.",
    no_args_is_help=True,
    rich_markup_mode="markdown",
)

DATA_DIR = typer.Option(
    None,
    "--data-dir",
    envvar="TRUSTHUB_OPENDATA_DATA_DIR",
    help="Where tables are kept. Default: var/opendata.",
    show_default=False,
)


def _kind(name: str) -> Kind:

    kinds = registry()
    if name not in kinds:
        raise typer.BadParameter(f"choose one of: {', '.join(kinds)}", param_hint="KIND")
    return kinds[name]


@contextmanager
def _session(database_url: str | None) -> Iterator[Session]:
    engine = make_engine(resolve_database_url(database_url))
    try:
        with transaction(make_session_factory(engine)) as session:
            yield session
    finally:
        engine.dispose()


def _data_dir(given: Path | None) -> Path:
    return given or get_settings().opendata_data_dir


def _bar() -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )


def _fail(problem: Problem) -> typer.Exit:
    console.print(f"[bold red]{problem.title}[/bold red]: {problem.detail}")
    for error in problem.errors:
        console.print(f"  - {error['field']}: {error['message']}")
    return typer.Exit(code=1)


@opendata_app.command("generate")
def generate(
    kind: str = typer.Argument(
        ...,
        help="price-paid, flood-warnings, flood-stations, flood-readings, flood-risk or companies.",
    ),
    out: Path = typer.Option(Path("var/opendata-sources"), "--out", help="Folder to write to."),
    rows: int | None = typer.Option(None, "--rows", min=1, help="Rows (default: the real scale)."),
    seed: int = typer.Option(2017, help="Same seed, same files."),
) -> None:
    """Write files shaped like the real published ones, at their real scale by default.

    Price paid: ~30M rows, unheaded quoted CSV. Companies: ~5M rows in parts of 850,000.
    Generation runs in DuckDB, in parallel and deterministic for a seed.
    """
    chosen = _kind(kind)
    total = rows or chosen.default_rows
    with _bar() as bar:
        task = bar.add_task(f"generating {kind}", total=total)
        paths = chosen.generate(out, total, seed, progress=lambda n: bar.advance(task, n))
    for path in paths:
        typer.echo(str(path))


@opendata_app.command("load")
def load(
    kind: str = typer.Argument(..., help="Which publisher's files these are."),
    files: list[Path] = typer.Argument(..., exists=True, dir_okay=False, help="The files."),
    organisation: str | None = typer.Option(
        None, help="Publisher's registry slug (default: the real publisher's usual slug)."
    ),
    notes: str = typer.Option("", help="What changed in this version."),
    database_url: str | None = DATABASE_URL_OPTION,
    data_dir: Path | None = DATA_DIR,
) -> None:
    """Publish the real files (or generated ones) as a new version of their dataset.

    The loader reads the files as published, quirks and all; the version passes the publication
    gate before anything is written, and old versions stay downloadable.
    """
    from trusthub.opendata import service

    chosen = _kind(kind)
    manifest = chosen.manifest(organisation) if organisation else chosen.manifest()
    if notes:
        manifest = manifest.model_copy(update={"notes": notes})
    sources = {name: service.TableSource(sql) for name, sql in chosen.select(files).items()}
    folder = _data_dir(data_dir)
    with _bar() as bar:
        task = bar.add_task(f"loading {kind}", total=100)
        try:
            with _session(database_url) as session:
                package = service.publish_version(
                    session,
                    folder,
                    manifest,
                    sources,
                    progress=lambda pct: bar.update(task, completed=pct),
                )
        except Problem as problem:
            raise _fail(problem) from problem
    _report(package.name, package.version, [(r.name, r.row_count) for r in package.resources])
    with _session(database_url) as session:
        service.warm_chart(session, folder, package.name)


@opendata_app.command("publish")
def publish(
    manifest_file: Path = typer.Argument(..., exists=True, dir_okay=False, help="Manifest JSON."),
    file: list[str] = typer.Option(
        [], "--file", help="RESOURCE=PATH, once per resource: CSV (headed), Parquet, or any file."
    ),
    database_url: str | None = DATABASE_URL_OPTION,
    data_dir: Path | None = DATA_DIR,
) -> None:
    """Publish a version described by a manifest (the same JSON the upload API takes).

    The manifest holds the dataset's metadata, notes and each resource's data dictionary with
    every field classified. A field that is not non-personal stops the whole version.
    """
    from pydantic import ValidationError

    from trusthub.opendata import service
    from trusthub.opendata.models import ResourceKind
    from trusthub.opendata.schemas import VersionCreate

    try:
        manifest = VersionCreate.model_validate(json.loads(manifest_file.read_text()))
    except (ValueError, ValidationError) as error:
        console.print(f"[bold red]Invalid manifest[/bold red]: {error}")
        raise typer.Exit(code=2) from error
    given = dict(item.split("=", 1) for item in file if "=" in item)
    sources: dict[str, service.ResourceSource] = {}
    for spec in manifest.resources:
        if spec.name not in given:
            continue
        path = Path(given[spec.name])
        if spec.kind is ResourceKind.FILE:
            sources[spec.name] = service.FileSource(path, path.name)
        elif path.suffix == ".parquet":
            sources[spec.name] = service.table_from_parquet(path)
        else:
            sources[spec.name] = service.table_from_csv(path)
    try:
        with _session(database_url) as session:
            package = service.publish_version(session, _data_dir(data_dir), manifest, sources)
    except Problem as problem:
        raise _fail(problem) from problem
    _report(package.name, package.version, [(r.name, r.row_count) for r in package.resources])


@opendata_app.command("list")
def list_datasets(database_url: str | None = DATABASE_URL_OPTION) -> None:
    """List the published datasets with their latest version."""
    from trusthub.opendata import service

    with _session(database_url) as session:
        packages = [service.package_show(session, "", n) for n in service.package_list(session)]
    table = Table("dataset", "publisher", "version", "resources")
    for package in packages:
        table.add_row(
            package.name, package.organization.name, package.version, str(package.num_resources)
        )
    Console().print(table)


def _report(name: str, version: str, resources: list[tuple[str, int | None]]) -> None:
    console.print(f"published [bold]{name}[/bold] version {version}")
    for resource, rows in resources:
        console.print(f"  {resource}: {rows if rows is not None else 'file'} rows")
