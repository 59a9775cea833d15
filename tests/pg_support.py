"""What PostgreSQL-only tests share: ending the server's side of pooled connections."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from trusthub.db import make_engine

on_postgresql_only = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
"""A test mark: the usual database fixture, on PostgreSQL alone."""


def end_every_other_backend(url: str) -> None:
    """Terminate every other session on the database, as a server restart would."""
    admin = make_engine(url)
    try:
        with admin.connect() as connection:
            connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
            connection.commit()
    finally:
        admin.dispose()
