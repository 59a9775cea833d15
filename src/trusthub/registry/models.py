"""Organisations, the datasets they hold and how each field of a dataset is classified."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from trusthub.db import Base
from trusthub.models_common import BigId, Timestamp, str_enum


class OrganisationKind(enum.StrEnum):
    GOVERNMENT_DEPARTMENT = "government_department"
    NHS_BODY = "nhs_body"
    LOCAL_AUTHORITY = "local_authority"
    RESEARCH_PARTNER = "research_partner"
    PRIVATE_RELYING_PARTY = "private_relying_party"


class FieldClassification(enum.StrEnum):
    DIRECT_IDENTIFIER = "direct_identifier"
    QUASI_IDENTIFIER = "quasi_identifier"
    SENSITIVE = "sensitive"
    NON_PERSONAL = "non_personal"


class Organisation(Base):
    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[OrganisationKind] = mapped_column(str_enum(OrganisationKind, "organisation_kind"))
    dpo_name: Mapped[str] = mapped_column(String(200))
    dpo_email: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[Timestamp]

    datasets: Mapped[list[Dataset]] = relationship(
        back_populates="organisation", order_by="Dataset.slug"
    )


class Dataset(Base):
    __tablename__ = "datasets"
    __table_args__ = (UniqueConstraint("organisation_id", "slug"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    slug: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    record_key: Mapped[str] = mapped_column(
        String(64), doc="The field this holder uses to find a person's record, e.g. nhs_number."
    )
    created_at: Mapped[Timestamp]

    organisation: Mapped[Organisation] = relationship(back_populates="datasets")
    fields: Mapped[list[DatasetField]] = relationship(
        back_populates="dataset", order_by="DatasetField.position", cascade="all, delete-orphan"
    )


class DatasetField(Base):
    __tablename__ = "dataset_fields"
    __table_args__ = (UniqueConstraint("dataset_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    position: Mapped[int]
    name: Mapped[str] = mapped_column(String(64))
    classification: Mapped[FieldClassification] = mapped_column(
        str_enum(FieldClassification, "field_classification")
    )
    description: Mapped[str] = mapped_column(Text, default="")

    dataset: Mapped[Dataset] = relationship(back_populates="fields")


class DatasetRecord(Base):
    """One holder's copy of one person's data, with the errors real copies carry."""

    __tablename__ = "dataset_records"
    __table_args__ = (
        Index("ix_dataset_records_dataset_citizen", "dataset_id", "citizen_id"),
        Index("ix_dataset_records_dataset_local", "dataset_id", "local_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    citizen_id: Mapped[int | None] = mapped_column(
        ForeignKey("citizens.id"), doc="The hub's link from this record to a citizen, if made."
    )
    local_id: Mapped[str] = mapped_column(String(64), doc="The holder's own reference.")
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Agreement(Base):
    """A data-sharing agreement: its identity; its terms are versions, its history events."""

    __tablename__ = "agreements"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    recipient_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id"))
    created_at: Mapped[Timestamp]

    provider: Mapped[Organisation] = relationship(foreign_keys=[provider_id])
    recipient: Mapped[Organisation] = relationship(foreign_keys=[recipient_id])
    dataset: Mapped[Dataset] = relationship()
    versions: Mapped[list[AgreementVersion]] = relationship(
        order_by="AgreementVersion.version", back_populates="agreement"
    )
    events: Mapped[list[AgreementEvent]] = relationship(
        order_by="AgreementEvent.id", back_populates="agreement"
    )


class AgreementVersion(Base):
    """One version of the terms, never changed once written; an amendment adds the next."""

    __tablename__ = "agreement_versions"
    __table_args__ = (UniqueConstraint("agreement_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreements.id"))
    version: Mapped[int]
    terms: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[Timestamp]

    agreement: Mapped[Agreement] = relationship(back_populates="versions")


class AgreementEvent(Base):
    __tablename__ = "agreement_events"
    __table_args__ = (Index("ix_agreement_events_agreement", "agreement_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreements.id"))
    kind: Mapped[str] = mapped_column(String(16))
    version: Mapped[int]
    party: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(200), doc="Who acted, e.g. the DPO's name.")
    note: Mapped[str] = mapped_column(Text, default="")
    occurred_at: Mapped[Timestamp]

    agreement: Mapped[Agreement] = relationship(back_populates="events")
