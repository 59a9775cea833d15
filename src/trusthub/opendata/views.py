"""Catalogue rows as CKAN shapes: what package_show, resource_show and friends answer, pure."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

from trusthub.opendata import downloads
from trusthub.opendata.ckan_schemas import (
    DatastoreField,
    Extra,
    FieldInfo,
    Organization,
    Package,
    Tag,
    VersionSummary,
)
from trusthub.opendata.ckan_schemas import Resource as ResourceView
from trusthub.opendata.models import (
    DatasetVersion,
    OpenDataset,
    Resource,
    ResourceField,
    ResourceKind,
)
from trusthub.opendata.vocab import LICENCES
from trusthub.problems import NotFound
from trusthub.registry.models import Organisation

ORGANISATION_NAMESPACE = uuid.UUID("6f1d3c52-6c8e-4e55-9d8e-2b1c0a7f4e11")


def utc(moment: datetime) -> datetime:
    """SQLite hands back naive timestamps; every one stored here is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def organisation_id(slug: str) -> str:
    """A stable UUID per organisation, as CKAN clients expect ids to look."""
    return str(uuid.uuid5(ORGANISATION_NAMESPACE, slug))


def organization_view(org: Organisation, package_count: int = 0) -> Organization:
    return Organization(
        id=organisation_id(org.slug),
        name=org.slug,
        title=org.name,
        description=f"Data protection officer: {org.dpo_name}",
        created=utc(org.created_at),
        package_count=package_count,
    )


def field_view(field: ResourceField) -> DatastoreField:
    return DatastoreField(
        id=field.name,
        type=field.type,
        info=FieldInfo(
            label=field.label, notes=field.notes, classification=field.classification.value
        ),
    )


def resource_url(base_url: str, resource: Resource) -> str:
    if resource.kind is ResourceKind.TABLE:
        return f"{base_url}/datastore/dump/{resource.id}?format=csv"
    return f"{base_url}/opendata/files/{resource.id}/{Path(resource.path).name}"


def resource_view(resource: Resource, dataset: OpenDataset, base_url: str) -> ResourceView:
    table = resource.kind is ResourceKind.TABLE
    return ResourceView(
        id=resource.id,
        package_id=dataset.id,
        name=resource.name,
        description=resource.description,
        format=resource.format,
        url=resource_url(base_url, resource),
        url_type="datastore" if table else "upload",
        mimetype="text/csv" if table else "application/octet-stream",
        size=resource.size_bytes,
        created=utc(resource.created_at),
        last_modified=utc(resource.created_at),
        position=resource.position,
        datastore_active=table,
        version=resource.version.number,
        row_count=resource.row_count,
        downloads=(
            {
                fmt: f"{base_url}/datastore/dump/{resource.id}?format={fmt}"
                for fmt in downloads.FORMATS
            }
            if table
            else {resource.format.lower() or "file": resource_url(base_url, resource)}
        ),
        fields=[field_view(f) for f in resource.fields],
    )


def version_view(version: DatasetVersion, dataset: OpenDataset, base_url: str) -> VersionSummary:
    return VersionSummary(
        version=version.number,
        published_at=utc(version.published_at),
        notes=version.notes,
        source=version.source.value,
        release_ref=version.release_ref,
        resources=[resource_view(r, dataset, base_url) for r in version.resources],
    )


def package_view(dataset: OpenDataset, base_url: str, number: int | None) -> Package:
    if not dataset.versions:
        raise NotFound("dataset")
    version = dataset.versions[-1]
    if number is not None:
        matches = [v for v in dataset.versions if v.number == number]
        if not matches:
            raise NotFound("version of this dataset")
        version = matches[0]
    licence = LICENCES[dataset.licence_id]
    extras = {
        "frequency": dataset.update_frequency,
        "spatial_text": dataset.spatial,
        "temporal_start": dataset.temporal_start.isoformat() if dataset.temporal_start else "",
        "temporal_end": dataset.temporal_end.isoformat() if dataset.temporal_end else "",
        "source": version.source.value,
    }
    return Package(
        id=dataset.id,
        name=dataset.name,
        title=dataset.title,
        notes=dataset.description,
        url=f"{base_url}/opendata/datasets/{dataset.name}",
        version=str(version.number),
        license_id=licence.id,
        license_title=licence.title,
        license_url=licence.url,
        owner_org=organisation_id(dataset.organisation.slug),
        organization=organization_view(dataset.organisation),
        maintainer=dataset.organisation.name,
        metadata_created=utc(dataset.created_at),
        metadata_modified=max(utc(dataset.modified_at), utc(version.published_at)),
        tags=[Tag(name=k, display_name=k) for k in dataset.keywords],
        extras=[Extra(key=k, value=v) for k, v in extras.items() if v],
        resources=[resource_view(r, dataset, base_url) for r in version.resources],
        num_resources=len(version.resources),
        num_tags=len(dataset.keywords),
        temporal_start=dataset.temporal_start,
        temporal_end=dataset.temporal_end,
        spatial=dataset.spatial,
        frequency=dataset.update_frequency,
        versions=[version_view(v, dataset, base_url) for v in reversed(dataset.versions)],
    )
