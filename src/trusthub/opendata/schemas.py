"""What the open-data part accepts from publishers: datasets, versions and data dictionaries."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from trusthub.opendata.models import ResourceKind
from trusthub.opendata.vocab import DEFAULT_LICENCE, FREQUENCIES, LICENCES
from trusthub.registry.models import FieldClassification
from trusthub.registry.schemas import SLUG

COLUMN = r"^[A-Za-z_][A-Za-z0-9_]{0,62}$"


class FieldSpec(BaseModel):
    """One column in a data dictionary; the classification is what the publication gate reads."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=COLUMN)
    classification: FieldClassification
    label: str = Field(default="", max_length=200)
    notes: str = Field(default="", max_length=5000)


class ChartSpec(BaseModel):
    """A chart on the dataset page: one aggregate of one table, optionally one line per series."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=200)
    resource: str = Field(pattern=SLUG)
    kind: Literal["line", "bar"] = "line"
    x: str = Field(pattern=COLUMN)
    bucket: Literal["month", "year"] | None = None
    y: str | None = Field(default=None, pattern=COLUMN)
    agg: Literal["count", "median", "mean", "sum"] = "count"
    series: str | None = Field(default=None, pattern=COLUMN)
    y_label: str = Field(default="", max_length=100)

    @model_validator(mode="after")
    def _needs_y(self) -> ChartSpec:
        if self.agg != "count" and self.y is None:
            raise ValueError(f"a {self.agg} chart needs a y column")
        return self


class ResourceSpec(BaseModel):
    """A resource in a new version: a table (queryable, downloadable in any format) or a file."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=SLUG)
    description: str = Field(default="", max_length=5000)
    kind: ResourceKind = ResourceKind.TABLE
    format: str = Field(default="", max_length=32, description="For files, e.g. CSV or PDF.")
    fields: list[FieldSpec] = Field(
        default_factory=list, description="The data dictionary: every column, classified."
    )
    sort_by: list[str] = Field(
        default_factory=list,
        description="Columns the table is stored sorted by: the ones people filter on.",
    )

    @field_validator("fields")
    @classmethod
    def _unique(cls, fields: list[FieldSpec]) -> list[FieldSpec]:
        names = [f.name.lower() for f in fields]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"field names must be unique; repeated: {', '.join(repeated)}")
        return fields


class DatasetCreate(BaseModel):
    """A dataset's lasting metadata; each publication adds a version under it."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=SLUG, description="URL name, as CKAN's package name.")
    organisation: str = Field(pattern=SLUG, description="The publisher's registry slug.")
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=20_000)
    licence_id: str = Field(default=DEFAULT_LICENCE)
    keywords: list[str] = Field(default_factory=list, max_length=50)
    temporal_start: date | None = None
    temporal_end: date | None = None
    spatial: str = Field(default="", max_length=200, description="e.g. England and Wales")
    update_frequency: str = Field(default="irregular")
    chart: ChartSpec | None = None

    @field_validator("licence_id")
    @classmethod
    def _open_licence(cls, value: str) -> str:
        if value not in LICENCES:
            raise ValueError(f"use one of the open licences: {', '.join(LICENCES)}")
        return value

    @field_validator("update_frequency")
    @classmethod
    def _frequency(cls, value: str) -> str:
        if value not in FREQUENCIES:
            raise ValueError(f"use one of: {', '.join(FREQUENCIES)}")
        return value

    @field_validator("keywords")
    @classmethod
    def _keywords(cls, keywords: list[str]) -> list[str]:
        cleaned = [k.strip() for k in keywords if k.strip()]
        if any(len(k) > 100 for k in cleaned):
            raise ValueError("keywords are at most 100 characters")
        return list(dict.fromkeys(cleaned))

    @model_validator(mode="after")
    def _period(self) -> DatasetCreate:
        if self.temporal_start and self.temporal_end and self.temporal_end < self.temporal_start:
            raise ValueError("temporal_end is before temporal_start")
        return self


class VersionCreate(BaseModel):
    """A publication: the dataset (created or its metadata updated) and its resources.

    There is no field for a risk verdict: only the release part's hand-over can set one.
    """

    model_config = ConfigDict(extra="forbid")

    dataset: DatasetCreate
    notes: str = Field(default="", max_length=5000, description="What changed in this version.")
    resources: list[ResourceSpec] = Field(min_length=1)

    @field_validator("resources")
    @classmethod
    def _unique(cls, resources: list[ResourceSpec]) -> list[ResourceSpec]:
        names = [r.name for r in resources]
        if len(set(names)) != len(names):
            raise ValueError("resource names must be unique within a version")
        return resources
