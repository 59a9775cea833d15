"""Options every part's CLI shares, declared once so they read and resolve the same everywhere."""

from __future__ import annotations

import typer

from trusthub.config import get_settings

DATABASE_URL_OPTION = typer.Option(
    None,
    "--database-url",
    envvar="TRUSTHUB_DATABASE_URL",
    help="SQLAlchemy URL of the (migrated) database. Default: the embedded SQLite file "
    "var/trusthub.db.",
    show_default=False,
)


def resolve_database_url(given: str | None) -> str:
    """The URL given on the command line, else the one from settings."""
    return given or get_settings().database_url
