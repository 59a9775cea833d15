"""identity: the broker — sign-ins at identity providers, linked accounts, consents, RP kinds

Revision ID: identity_0003
Revises: identity_0002
Create Date: 2026-11-24 23:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "identity_0003"
down_revision: str | None = "identity_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "identity_broker_sign_ins",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("state_hash", sa.String(length=64), nullable=False),
        sa.Column("binding_hash", sa.String(length=64), nullable=False),
        sa.Column("provider", sa.String(length=64), nullable=False),
        sa.Column("nonce", sa.String(length=128), nullable=False),
        sa.Column("code_verifier", sa.String(length=128), nullable=False),
        sa.Column("asked", sa.String(length=32), nullable=False),
        sa.Column("target", sa.String(length=32), nullable=False),
        sa.Column("next_path", sa.String(length=300), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_broker_sign_ins")),
        sa.UniqueConstraint("state_hash", name=op.f("uq_identity_broker_sign_ins_state_hash")),
    )
    op.create_index(
        op.f("ix_identity_broker_sign_ins_expires_at"), "identity_broker_sign_ins", ["expires_at"]
    )
    op.create_table(
        "identity_provider_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("citizen_id", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=64), nullable=False),
        sa.Column("subject_hash", sa.String(length=64), nullable=False),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["citizen_id"],
            ["citizens.id"],
            name=op.f("fk_identity_provider_links_citizen_id_citizens"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_provider_links")),
        sa.UniqueConstraint(
            "provider", "subject_hash", name=op.f("uq_identity_provider_links_provider")
        ),
    )
    op.create_index(
        op.f("ix_identity_provider_links_citizen_id"), "identity_provider_links", ["citizen_id"]
    )
    op.create_table(
        "identity_consents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("citizen_id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("claims", sa.String(length=1000), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["citizen_id"],
            ["citizens.id"],
            name=op.f("fk_identity_consents_citizen_id_citizens"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_consents")),
    )
    op.create_index(
        "ix_identity_consents_citizen_client", "identity_consents", ["citizen_id", "client_id"]
    )
    with op.batch_alter_table("oauth_clients") as batch_op:
        batch_op.add_column(
            sa.Column("rp_kind", sa.String(length=16), nullable=False, server_default="government")
        )
        batch_op.add_column(sa.Column("allowed_claims", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("minimum_vector", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("oauth_clients") as batch_op:
        batch_op.drop_column("minimum_vector")
        batch_op.drop_column("allowed_claims")
        batch_op.drop_column("rp_kind")
    op.drop_index("ix_identity_consents_citizen_client", table_name="identity_consents")
    op.drop_table("identity_consents")
    op.drop_index(op.f("ix_identity_provider_links_citizen_id"), "identity_provider_links")
    op.drop_table("identity_provider_links")
    op.drop_index(op.f("ix_identity_broker_sign_ins_expires_at"), "identity_broker_sign_ins")
    op.drop_table("identity_broker_sign_ins")
