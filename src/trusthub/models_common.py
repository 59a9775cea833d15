"""Column helpers shared by every part's models."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Annotated

from sqlalchemy import BigInteger, DateTime, Enum, Integer
from sqlalchemy.orm import mapped_column

BigId = BigInteger().with_variant(Integer(), "sqlite")
"""SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL wants BIGINT for big tables."""


def utcnow() -> datetime:
    return datetime.now(UTC)


Timestamp = Annotated[datetime, mapped_column(DateTime(timezone=True), default=utcnow)]


def str_enum(kind: type[enum.StrEnum], name: str) -> Enum:
    """Store an enum as its value in a short string column: portable and readable in SQL."""
    return Enum(
        kind,
        name=name,
        native_enum=False,
        length=32,
        values_callable=lambda members: [m.value for m in members],
    )
