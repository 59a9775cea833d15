"""Citizens as the hub knows them: identifiers, names, birth date and where they have lived."""

from __future__ import annotations

from datetime import date

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from trusthub.db import Base
from trusthub.models_common import Timestamp


class Citizen(Base):
    __tablename__ = "citizens"

    id: Mapped[int] = mapped_column(primary_key=True)
    nhs_number: Mapped[str] = mapped_column(String(10), unique=True)
    nino: Mapped[str | None] = mapped_column(String(9), unique=True)
    given_name: Mapped[str] = mapped_column(String(100))
    family_name: Mapped[str] = mapped_column(String(100))
    birth_family_name: Mapped[str | None] = mapped_column(
        String(100), doc="Set when the family name has changed since birth."
    )
    date_of_birth: Mapped[date]
    created_at: Mapped[Timestamp]

    addresses: Mapped[list[CitizenAddress]] = relationship(
        back_populates="citizen", order_by="CitizenAddress.moved_in", cascade="all, delete-orphan"
    )

    @property
    def current_address(self) -> CitizenAddress | None:
        current = [a for a in self.addresses if a.moved_out is None]
        return current[-1] if current else None


class CitizenAddress(Base):
    __tablename__ = "citizen_addresses"
    __table_args__ = (Index("ix_citizen_addresses_citizen", "citizen_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    citizen_id: Mapped[int] = mapped_column(ForeignKey("citizens.id", ondelete="CASCADE"))
    line1: Mapped[str] = mapped_column(String(200))
    town: Mapped[str] = mapped_column(String(100))
    postcode: Mapped[str] = mapped_column(String(8))
    moved_in: Mapped[date]
    moved_out: Mapped[date | None]

    citizen: Mapped[Citizen] = relationship(back_populates="addresses")
