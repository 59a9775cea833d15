"""idp: a proof under way, and the last TOTP step used (against replayed codes)

Revision ID: idp_0002
Revises: idp_0001
Create Date: 2026-11-24 23:40:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "idp_0002"
down_revision: str | None = "idp_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("idp_accounts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("proof", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("totp_step", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("idp_accounts", schema=None) as batch_op:
        batch_op.drop_column("totp_step")
        batch_op.drop_column("proof")
