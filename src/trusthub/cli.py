"""The ``trusthub`` command: thin over each part's service layer, with a manual on every --help."""

from __future__ import annotations

import typer
from rich.console import Console

from trusthub import __version__
from trusthub.cli_options import DATABASE_URL_OPTION, resolve_database_url
from trusthub.config import get_settings
from trusthub.demo.cli import demo_app
from trusthub.exchange.cli import extract_app, optout_app
from trusthub.identity.cli import identity_app
from trusthub.idp.cli import idp_app
from trusthub.ledger.cli import ledger_app
from trusthub.opendata.cli import opendata_app
from trusthub.release.cli import release_app

console = Console(stderr=True)

app = typer.Typer(
    name="trusthub",
    help="TrustHub — the trust layer for data-driven government.\n\n"
    "Every use of a person's data passes one hub that answers who is asking, whether they may, "
    "and what exactly they get, and writes the answer to a ledger anyone can verify.\n\n"
    "Settings come from TRUSTHUB_* environment variables (see `trusthub serve --help`).",
    no_args_is_help=True,
    rich_markup_mode="markdown",
)
db_app = typer.Typer(help="Create, migrate and inspect the database.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(demo_app, name="demo")
app.add_typer(ledger_app, name="ledger")
app.add_typer(identity_app, name="identity")
app.add_typer(idp_app, name="idp")
app.add_typer(opendata_app, name="opendata")
app.add_typer(release_app, name="release")
app.add_typer(extract_app, name="extract")
app.add_typer(optout_app, name="optout")


@app.callback(invoke_without_command=True)
def _root(
    version: bool = typer.Option(False, "--version", help="Print the version and exit."),
) -> None:
    if version:
        typer.echo(__version__)
        raise typer.Exit()


@db_app.command("upgrade")
def db_upgrade(
    database_url: str | None = DATABASE_URL_OPTION,
    revision: str = typer.Option("heads", help="Target revision (default: every branch head)."),
) -> None:
    """Create the database if needed and apply every migration up to REVISION.

    Safe to run again: a database already at the target is left as it is.
    """
    from trusthub.migrations import current_revision, upgrade

    url = resolve_database_url(database_url)
    upgrade(url, revision)
    console.print(f"database at revision [bold]{current_revision(url)}[/bold]")


@db_app.command("current")
def db_current(database_url: str | None = DATABASE_URL_OPTION) -> None:
    """Print the database's migration revision (empty if never migrated)."""
    from trusthub.migrations import current_revision

    typer.echo(current_revision(resolve_database_url(database_url)) or "")


@app.command()
def serve(
    host: str | None = typer.Option(None, help="Address to bind. Env: TRUSTHUB_HOST."),
    port: int | None = typer.Option(None, help="Port. Env: TRUSTHUB_PORT."),
    workers: int = typer.Option(1, min=1, help="Worker processes."),
    reload: bool = typer.Option(False, help="Restart on code changes (development)."),
) -> None:
    """Serve the API and the web pages.

    The database must already be migrated (`trusthub db upgrade`). Prints the address of each
    audience's pages and of the API documentation. With more than one worker, the workers share
    one ledger writer (TRUSTHUB_LEDGER_WRITER=shared) unless the settings choose another.
    """
    import os

    import uvicorn

    settings = get_settings()
    if workers > 1 and settings.ledger_writer is None and not settings.ledger_writer_process:
        os.environ["TRUSTHUB_LEDGER_WRITER"] = "shared"  # each worker's settings read it
    host = host or settings.host
    port = port or settings.port
    base = settings.public_url.rstrip("/") or f"http://{host}:{port}"
    console.print("[bold]TrustHub[/bold] is starting:")
    for label, path in (
        ("Start page", "/"),
        ("Citizens", "/citizen"),
        ("Citizen's account", "/account"),
        ("Ledger for auditors", "/ledger"),
        ("Departments and DPOs", "/organisations"),
        ("Agreements register", "/register"),
        ("Open data", "/opendata"),
        ("API docs", "/docs"),
        ("Health", "/healthz"),
        ("Metrics", "/metrics"),
    ):
        console.print(f"  {label:<24} {base}{path}")
    uvicorn.run(
        "trusthub.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        reload=reload,
        log_config=None,
        access_log=False,
    )


def main() -> None:
    app()
