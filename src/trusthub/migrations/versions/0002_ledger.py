"""ledger: entry bundles, hash tiles, signed checkpoints, the private citizen index

Revision ID: 0002_ledger
Revises: 0001
Create Date: 2026-11-24 21:30:09.815303
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_ledger"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = ("ledger",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ledger_bundles",
        sa.Column("tree", sa.BigInteger(), nullable=False),
        sa.Column("idx", sa.BigInteger(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("tree", "idx", name=op.f("pk_ledger_bundles")),
    )
    op.create_table(
        "ledger_checkpoints",
        sa.Column("tree_size", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("root_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tree_size", name=op.f("pk_ledger_checkpoints")),
    )
    op.create_table(
        "ledger_citizen_index",
        sa.Column("epoch", sa.BigInteger(), nullable=False),
        sa.Column("tag", sa.LargeBinary(length=16), nullable=False),
        sa.Column("leaf_index", sa.BigInteger(), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "epoch", "tag", "leaf_index", "position", name=op.f("pk_ledger_citizen_index")
        ),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "ledger_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tree_size", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_head")),
    )
    op.create_table(
        "ledger_tiles",
        sa.Column("tree", sa.BigInteger(), nullable=False),
        sa.Column("level", sa.SmallInteger(), nullable=False),
        sa.Column("idx", sa.BigInteger(), nullable=False),
        sa.Column("width", sa.SmallInteger(), nullable=False),
        sa.Column("hashes", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("tree", "level", "idx", name=op.f("pk_ledger_tiles")),
    )


def downgrade() -> None:
    op.drop_table("ledger_tiles")
    op.drop_table("ledger_head")
    op.drop_table("ledger_citizen_index")
    op.drop_table("ledger_checkpoints")
    op.drop_table("ledger_bundles")
