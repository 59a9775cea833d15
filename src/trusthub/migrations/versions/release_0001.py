"""release: DP budgets and spends, release records

Revision ID: release_0001
Revises: 0001
Create Date: 2026-11-24 21:24:05.768171
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "release_0001"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = ("release",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "dp_budgets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dataset", sa.String(length=200), nullable=False),
        sa.Column("recipient", sa.String(length=64), nullable=False),
        sa.Column("epsilon", sa.Float(), nullable=False),
        sa.Column("delta", sa.Float(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dp_budgets")),
        sa.UniqueConstraint("dataset", "recipient", name=op.f("uq_dp_budgets_dataset")),
    )
    op.create_table(
        "release_records",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("recipient", sa.String(length=64), nullable=False),
        sa.Column("agreement", sa.String(length=64), nullable=False),
        sa.Column("released_by", sa.String(length=200), nullable=False),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("output", sa.Text(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_release_records")),
    )
    op.create_index(op.f("ix_release_records_name"), "release_records", ["name"], unique=False)
    op.create_table(
        "dp_spends",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("budget_id", sa.Integer(), nullable=False),
        sa.Column("release", sa.String(length=64), nullable=False),
        sa.Column("epsilon", sa.Float(), nullable=False),
        sa.Column("delta", sa.Float(), nullable=False),
        sa.Column("statistics", sa.JSON(), nullable=False),
        sa.Column("spent_by", sa.String(length=200), nullable=False),
        sa.Column("spent_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["budget_id"],
            ["dp_budgets.id"],
            name=op.f("fk_dp_spends_budget_id_dp_budgets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dp_spends")),
    )


def downgrade() -> None:
    op.drop_table("dp_spends")
    op.drop_index(op.f("ix_release_records_name"), table_name="release_records")
    op.drop_table("release_records")
    op.drop_table("dp_budgets")
