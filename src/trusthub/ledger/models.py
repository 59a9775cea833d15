"""Ledger storage: entry bundles, hash tiles, checkpoints and the private citizen index.

The main log is tree 0; the per-citizen records of a bulk entry at index ``i`` form tree
``i + 1``, stored the same way so that one tile and proof code serves both.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer, LargeBinary, SmallInteger, Text
from sqlalchemy.orm import Mapped, mapped_column

from trusthub.db import Base
from trusthub.models_common import Timestamp

MAIN_TREE = 0


class LedgerHead(Base):
    """One row: the committed tree size; writers lock it so that appends never interleave."""

    __tablename__ = "ledger_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    tree_size: Mapped[int] = mapped_column(BigInteger)


class LedgerBundle(Base):
    """Up to 256 consecutive leaf inputs of a tree, one per line."""

    __tablename__ = "ledger_bundles"

    tree: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class LedgerTile(Base):
    """Eight levels of interior hashes over up to 256 nodes (see ``ledger/tiles.py``)."""

    __tablename__ = "ledger_tiles"

    tree: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    width: Mapped[int] = mapped_column(SmallInteger)
    hashes: Mapped[bytes] = mapped_column(LargeBinary)


class LedgerCheckpoint(Base):
    """Every signed tree head the hub has published, one per committed batch."""

    __tablename__ = "ledger_checkpoints"

    tree_size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    note: Mapped[str] = mapped_column(Text)
    created_at: Mapped[Timestamp]


EPOCH_BITS = 12
"""Citizen index rows are grouped by epochs of 4,096 entries, so a batch's inserts stay on a few
hot pages instead of dirtying one random page each; a lookup seeks once per epoch."""


class LedgerCitizenIndex(Base):
    """Private: which entries concern a citizen, keyed by an HMAC tag; never published."""

    __tablename__ = "ledger_citizen_index"
    __table_args__ = ({"sqlite_with_rowid": False},)

    epoch: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    tag: Mapped[bytes] = mapped_column(LargeBinary(16), primary_key=True)
    leaf_index: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    position: Mapped[int] = mapped_column(BigInteger, primary_key=True)


class LedgerBulkEntry(Base):
    """A bulk entry stored packed (``bulk_form``): its record count and record templates."""

    __tablename__ = "ledger_bulk_entries"

    leaf_index: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    count: Mapped[int] = mapped_column(BigInteger)
    templates: Mapped[bytes] = mapped_column(LargeBinary)


class LedgerBulkIndex(Base):
    """Private: a bulk entry's citizens by 16-bit tag prefix, one sorted row each; never
    published. Keyed by prefix first, so a lookup reads one range of the table."""

    __tablename__ = "ledger_bulk_index"

    bucket: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    leaf_index: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    data: Mapped[bytes] = mapped_column(LargeBinary)


__all__ = [
    "EPOCH_BITS",
    "MAIN_TREE",
    "LedgerBulkEntry",
    "LedgerBulkIndex",
    "LedgerBundle",
    "LedgerCheckpoint",
    "LedgerCitizenIndex",
    "LedgerHead",
    "LedgerTile",
]
