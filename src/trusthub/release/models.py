"""Releases made, and the differential-privacy budget each recipient has on each dataset."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from trusthub.db import Base
from trusthub.models_common import BigId, Timestamp


class ReleaseRecord(Base):
    """One release that left (or was refused at the risk gate): who, what, to whom, under what."""

    __tablename__ = "release_records"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(32), doc="k_anonymity, differential_privacy, dicom")
    source: Mapped[str] = mapped_column(String(200))
    recipient: Mapped[str] = mapped_column(String(64))
    agreement: Mapped[str] = mapped_column(String(64))
    released_by: Mapped[str] = mapped_column(String(200))
    released_at: Mapped[Timestamp]
    passed: Mapped[bool]
    output: Mapped[str] = mapped_column(Text, doc="Where the release was written.")
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, doc="Model, generalisation, risks.")


class PrivacyBudget(Base):
    """The ε (and δ) a recipient may spend on one dataset, over all their requests."""

    __tablename__ = "dp_budgets"
    __table_args__ = (UniqueConstraint("dataset", "recipient"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset: Mapped[str] = mapped_column(String(200))
    recipient: Mapped[str] = mapped_column(String(64))
    epsilon: Mapped[float] = mapped_column(Float)
    delta: Mapped[float] = mapped_column(Float, default=0.0)
    created_at: Mapped[Timestamp]

    spends: Mapped[list[BudgetSpend]] = relationship(
        back_populates="budget", order_by="BudgetSpend.id", cascade="all, delete-orphan"
    )


class BudgetSpend(Base):
    """One request's privacy loss, charged to a budget."""

    __tablename__ = "dp_spends"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    budget_id: Mapped[int] = mapped_column(ForeignKey("dp_budgets.id", ondelete="CASCADE"))
    release: Mapped[str] = mapped_column(String(64))
    epsilon: Mapped[float] = mapped_column(Float)
    delta: Mapped[float] = mapped_column(Float, default=0.0)
    statistics: Mapped[list[str]] = mapped_column(JSON)
    spent_by: Mapped[str] = mapped_column(String(200))
    spent_at: Mapped[Timestamp]

    budget: Mapped[PrivacyBudget] = relationship(back_populates="spends")
