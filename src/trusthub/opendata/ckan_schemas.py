"""CKAN Action API shapes: what each action accepts (by GET or POST) and what it answers.

Inputs tolerate what CKAN clients send: JSON bodies, or query strings whose dicts and lists are
JSON text or comma-separated; unknown parameters are ignored, as CKAN ignores them.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator

T = TypeVar("T")


def _json_text(value: Any) -> Any:
    """Query strings carry dicts and lists as JSON text, as CKAN's own clients send them."""
    if isinstance(value, str) and value.strip()[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


class ActionInput(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class IdInput(ActionInput):
    id: str = Field(min_length=1, max_length=200)


class PackageShowInput(IdInput):
    version: int | None = Field(
        default=None, ge=1, description="TrustHub: show an older version (default: the latest)."
    )


class ListInput(ActionInput):
    limit: int | None = Field(default=None, ge=0, le=1000)
    offset: int = Field(default=0, ge=0)


class OrganizationListInput(ListInput):
    all_fields: bool = False
    sort: str = "name asc"


class OrganizationShowInput(IdInput):
    include_datasets: bool = False


class PackageSearchInput(ActionInput):
    q: str = Field(default="", max_length=1000)
    fq: str = Field(default="", max_length=1000)
    rows: int = Field(default=10, ge=0, le=1000)
    start: int = Field(default=0, ge=0)
    sort: str = Field(default="score desc, metadata_modified desc", max_length=200)
    facet_field: list[str] = Field(default_factory=list, alias="facet.field")

    @field_validator("facet_field", mode="before")
    @classmethod
    def _facets(cls, value: Any) -> Any:
        value = _json_text(value)
        return value.split(",") if isinstance(value, str) else value


class DatastoreSearchInput(ActionInput):
    resource_id: str = Field(min_length=1, max_length=200)
    filters: dict[str, Any] = Field(default_factory=dict)
    q: str | dict[str, str] = ""
    full_text: str = ""
    distinct: bool = False
    plain: bool = True
    language: str = "english"
    limit: int = Field(default=100, ge=0)
    offset: int = Field(default=0, ge=0)
    fields: list[str] = Field(default_factory=list)
    sort: str = ""
    include_total: bool = True
    records_format: Literal["objects", "lists", "csv", "tsv"] = "objects"

    @field_validator("filters", "q", mode="before")
    @classmethod
    def _json(cls, value: Any) -> Any:
        return _json_text(value)

    @field_validator("fields", mode="before")
    @classmethod
    def _fields(cls, value: Any) -> Any:
        value = _json_text(value)
        if isinstance(value, str):
            return [f.strip() for f in value.split(",") if f.strip()]
        return value


class DatastoreSqlInput(ActionInput):
    sql: str = Field(min_length=1, max_length=20_000)


class DatastoreInfoInput(ActionInput):
    """CKAN took ``id`` before 2.10 and ``resource_id`` since; both are accepted."""

    id: str = Field(
        min_length=1, max_length=200, validation_alias=AliasChoices("resource_id", "id")
    )


class Tag(BaseModel):
    name: str
    display_name: str
    state: str = "active"
    vocabulary_id: str | None = None


class Extra(BaseModel):
    key: str
    value: str


class FieldInfo(BaseModel):
    label: str = ""
    notes: str = ""
    type_override: str = ""
    classification: str = Field(description="TrustHub: how the field is classified.")


class DatastoreField(BaseModel):
    id: str
    type: str
    info: FieldInfo | None = None


class Resource(BaseModel):
    id: str
    package_id: str
    name: str
    description: str
    format: str
    url: str
    url_type: str | None
    mimetype: str
    size: int
    created: datetime
    last_modified: datetime
    position: int
    state: str = "active"
    resource_type: str | None = None
    datastore_active: bool
    version: int = Field(description="TrustHub: the dataset version this resource belongs to.")
    row_count: int | None = None
    downloads: dict[str, str] = Field(
        default_factory=dict, description="TrustHub: full downloads by format, no row cap."
    )
    fields: list[DatastoreField] = Field(description="TrustHub: the data dictionary.")


class VersionSummary(BaseModel):
    version: int
    published_at: datetime
    notes: str
    source: str
    release_ref: str | None = None
    resources: list[Resource]


class Organization(BaseModel):
    id: str
    name: str
    title: str
    description: str = ""
    type: str = "organization"
    is_organization: bool = True
    state: str = "active"
    image_url: str = ""
    created: datetime
    approval_status: str = "approved"
    package_count: int = 0
    packages: list[Package] | None = None


class Package(BaseModel):
    id: str
    name: str
    title: str
    notes: str
    url: str
    version: str
    state: str = "active"
    type: str = "dataset"
    private: bool = False
    license_id: str
    license_title: str
    license_url: str
    isopen: bool = True
    owner_org: str
    organization: Organization
    author: str | None = None
    author_email: str | None = None
    maintainer: str | None = None
    maintainer_email: str | None = None
    metadata_created: datetime
    metadata_modified: datetime
    tags: list[Tag]
    groups: list[Any] = Field(default_factory=list)
    extras: list[Extra]
    resources: list[Resource]
    num_resources: int
    num_tags: int
    temporal_start: date | None = None
    temporal_end: date | None = None
    spatial: str = ""
    frequency: str = ""
    versions: list[VersionSummary] = Field(
        default_factory=list, description="TrustHub: every version, newest first."
    )


class PackageSearchResult(BaseModel):
    count: int
    results: list[Package]
    sort: str
    facets: dict[str, dict[str, int]]
    search_facets: dict[str, Any]


class DatastoreSearchResult(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    resource_id: str
    fields: list[DatastoreField]
    records: list[Any] | str
    records_format: str
    limit: int
    offset: int
    filters: dict[str, Any]
    q: str | dict[str, str] | None = None
    sort: str | None = None
    distinct: bool = False
    include_total: bool
    total: int | None = None
    total_was_estimated: bool = False
    links: dict[str, str] = Field(serialization_alias="_links", alias="_links")


class DatastoreSqlResult(BaseModel):
    sql: str
    fields: list[DatastoreField]
    records: list[dict[str, Any]]
    records_truncated: bool = False


class DatastoreInfoMeta(BaseModel):
    id: str
    count: int
    size: int
    aliases: list[str] = Field(default_factory=list)
    table_type: str = "BASE TABLE"
    version: int
    package_id: str


class DatastoreInfoResult(BaseModel):
    meta: DatastoreInfoMeta
    fields: list[DatastoreField]


class Envelope(BaseModel, Generic[T]):
    """CKAN's answer around every result: a help link, success, and the result itself."""

    help: str
    success: bool = True
    result: T


class CkanError(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: str = Field(alias="__type", serialization_alias="__type")
    message: str | None = None


class ErrorEnvelope(BaseModel):
    help: str
    success: bool = False
    error: CkanError


Organization.model_rebuild()
