"""Alembic migrations, run from code so that `make run`, the CLI and tests share one path."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

HERE = Path(__file__).resolve().parent


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(HERE))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "heads") -> None:
    """Create or migrate the database; each part keeps its own branch of revisions."""
    command.upgrade(alembic_config(database_url), revision)


def current_revision(database_url: str) -> str | None:
    """The applied revisions, comma-separated (one per part's branch), or None if never migrated."""
    from alembic.runtime.migration import MigrationContext

    from trusthub.db import make_engine

    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            heads = MigrationContext.configure(connection).get_current_heads()
            return ",".join(sorted(heads)) or None
    finally:
        engine.dispose()
