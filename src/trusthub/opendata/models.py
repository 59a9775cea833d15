"""The open-data catalogue: datasets, their immutable versions, resources and data dictionaries."""

from __future__ import annotations

import enum
from datetime import date
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from trusthub.db import Base
from trusthub.models_common import Timestamp, str_enum
from trusthub.registry.models import FieldClassification, Organisation


class Source(enum.StrEnum):
    """Where a version's data came from, which decides how the publication gate judges it."""

    CATALOGUE = "catalogue"
    RELEASE = "release"


class ResourceKind(enum.StrEnum):
    TABLE = "table"
    FILE = "file"


class OpenDataset(Base):
    """A CKAN "package": metadata that stays, with one new version per publication."""

    __tablename__ = "opendata_datasets"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    licence_id: Mapped[str] = mapped_column(String(64))
    keywords: Mapped[list[str]] = mapped_column(JSON, default=list)
    temporal_start: Mapped[date | None] = mapped_column(Date)
    temporal_end: Mapped[date | None] = mapped_column(Date)
    spatial: Mapped[str] = mapped_column(String(200), default="")
    update_frequency: Mapped[str] = mapped_column(String(32))
    chart: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[Timestamp]
    modified_at: Mapped[Timestamp]

    organisation: Mapped[Organisation] = relationship()
    versions: Mapped[list[DatasetVersion]] = relationship(
        back_populates="dataset", order_by="DatasetVersion.number", cascade="all, delete-orphan"
    )


class DatasetVersion(Base):
    """One publication; never changed afterwards, so old versions stay downloadable as they were."""

    __tablename__ = "opendata_versions"
    __table_args__ = (UniqueConstraint("dataset_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[str] = mapped_column(ForeignKey("opendata_datasets.id", ondelete="CASCADE"))
    number: Mapped[int]
    notes: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[Source] = mapped_column(str_enum(Source, "opendata_source"))
    release_ref: Mapped[str | None] = mapped_column(String(200))
    risk_passed: Mapped[bool | None] = mapped_column(
        Boolean, doc="Set only by the release part's hand-over, from its risk report."
    )
    published_at: Mapped[Timestamp]

    dataset: Mapped[OpenDataset] = relationship(back_populates="versions")
    resources: Mapped[list[Resource]] = relationship(
        back_populates="version", order_by="Resource.position", cascade="all, delete-orphan"
    )


class Resource(Base):
    """A file or a queryable table in one version; its id is what CKAN clients pass around."""

    __tablename__ = "opendata_resources"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("opendata_versions.id", ondelete="CASCADE"))
    position: Mapped[int]
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[ResourceKind] = mapped_column(str_enum(ResourceKind, "opendata_resource_kind"))
    format: Mapped[str] = mapped_column(String(32))
    path: Mapped[str] = mapped_column(String(500), doc="Relative to the open-data directory.")
    row_count: Mapped[int | None] = mapped_column(BigInteger)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[Timestamp]

    version: Mapped[DatasetVersion] = relationship(back_populates="resources")
    fields: Mapped[list[ResourceField]] = relationship(
        back_populates="resource", order_by="ResourceField.position", cascade="all, delete-orphan"
    )


class ResourceField(Base):
    """One column of a resource's data dictionary, with the classification the gate reads."""

    __tablename__ = "opendata_fields"
    __table_args__ = (UniqueConstraint("resource_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[str] = mapped_column(
        ForeignKey("opendata_resources.id", ondelete="CASCADE")
    )
    position: Mapped[int]
    name: Mapped[str] = mapped_column(String(100))
    type: Mapped[str] = mapped_column(String(32))
    label: Mapped[str] = mapped_column(String(200), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    classification: Mapped[FieldClassification] = mapped_column(
        str_enum(FieldClassification, "field_classification")
    )

    resource: Mapped[Resource] = relationship(back_populates="fields")
