"""ledger: cheaper TOAST on PostgreSQL (lz4 for entry bundles, no compression for hash tiles)

Every group commit rewrites the partial bundle (up to ~100 kB of JSON) and the partial tiles
(random hashes). pglz compression of the bundles took half the time of a batch's inserts; lz4
compresses them about as well for a fraction of the CPU. Tiles do not compress, so trying is
skipped. A server without lz4 keeps its default: this is tuning, never a requirement.

Revision ID: ledger_0003
Revises: 0002_ledger
Create Date: 2026-11-24 23:55:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "ledger_0003"
down_revision: str | None = "0002_ledger"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TUNE = [
    "DO $$ BEGIN ALTER TABLE ledger_bundles ALTER COLUMN data SET COMPRESSION lz4; "
    "EXCEPTION WHEN OTHERS THEN NULL; END $$",
    "ALTER TABLE ledger_tiles ALTER COLUMN hashes SET STORAGE EXTERNAL",
]
UNTUNE = [
    "ALTER TABLE ledger_bundles ALTER COLUMN data SET COMPRESSION DEFAULT",
    "ALTER TABLE ledger_tiles ALTER COLUMN hashes SET STORAGE EXTENDED",
]


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in TUNE:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in UNTUNE:
            op.execute(statement)
