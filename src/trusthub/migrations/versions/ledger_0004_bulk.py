"""ledger: bulk entries stored packed, with a private index by tag prefix

A bulk entry's records are stored as template numbers and raw commitments (``bulk_form``), its
templates once in ``ledger_bulk_entries``, and its citizens' lookup in ``ledger_bulk_index``: one
row per 16-bit tag prefix instead of one index row per citizen. Entries written before keep their
JSON records and per-citizen index rows, and are read as before.

Revision ID: ledger_0004
Revises: ledger_0003
Create Date: 2026-11-25 03:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "ledger_0004"
down_revision: str | None = "ledger_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ledger_bulk_entries",
        sa.Column("leaf_index", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("templates", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("leaf_index", name=op.f("pk_ledger_bulk_entries")),
    )
    op.create_table(
        "ledger_bulk_index",
        sa.Column("bucket", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("leaf_index", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("bucket", "leaf_index", name=op.f("pk_ledger_bulk_index")),
    )
    if op.get_bind().dialect.name == "postgresql":
        # Tags and commitments are random bytes: do not try to compress them.
        op.execute("ALTER TABLE ledger_bulk_index ALTER COLUMN data SET STORAGE EXTERNAL")


def downgrade() -> None:
    op.drop_table("ledger_bulk_index")
    op.drop_table("ledger_bulk_entries")
