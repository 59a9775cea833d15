"""Publishing: a new version of a dataset, written only after the publication gate says yes.

Reached through ``opendata.service`` (the API's upload, the CLI) and, for anonymised tables, the
release part's hand-over; both paths pass ``gate.publishable`` before a byte is written.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from trusthub.models_common import utcnow
from trusthub.opendata import storage
from trusthub.opendata.ckan_schemas import Package
from trusthub.opendata.gate import publishable
from trusthub.opendata.models import (
    DatasetVersion,
    OpenDataset,
    Resource,
    ResourceField,
    ResourceKind,
    Source,
)
from trusthub.opendata.schemas import DatasetCreate, FieldSpec, ResourceSpec, VersionCreate
from trusthub.opendata.views import package_view
from trusthub.problems import InvalidInput, NotFound, Problem
from trusthub.registry.models import FieldClassification, Organisation

DATASET_NAMESPACE = uuid.UUID("0b8f2a64-1f7e-4a4e-8c9a-5d3e2f1a6b70")


class NotPublishable(Problem):
    """The publication gate said no; the reasons name fields and rules, never values."""

    def __init__(self, reasons: Sequence[str]) -> None:
        super().__init__(
            422,
            "Not publishable",
            "This version cannot be published: " + "; ".join(reasons) + ".",
            kind="not-publishable",
            errors=[{"field": "resources", "message": r} for r in reasons],
        )
        self.reasons = list(reasons)


@dataclass(frozen=True)
class TableSource:
    """Rows for a table resource, as a SELECT that trusted code (a loader, an upload) built."""

    select_sql: str


@dataclass(frozen=True)
class FileSource:
    """A file resource, published byte for byte."""

    path: Path
    filename: str


ResourceSource = TableSource | FileSource


def table_from_csv(path: Path) -> TableSource:
    """An uploaded CSV with a header row, types sniffed by DuckDB."""
    return TableSource(f"SELECT * FROM read_csv({storage.quote_literal(str(path))}, header = true)")


def table_from_parquet(path: Path) -> TableSource:
    return TableSource(f"SELECT * FROM read_parquet({storage.quote_literal(str(path))})")


def _organisation(session: Session, slug: str) -> Organisation:
    org = session.scalar(select(Organisation).where(Organisation.slug == slug))
    if org is None:
        raise NotFound("organisation")
    return org


@dataclass
class _Planned:
    spec: ResourceSpec
    source: ResourceSource
    columns: list[storage.Column]


def _plan_resources(
    specs: Sequence[ResourceSpec], sources: Mapping[str, ResourceSource]
) -> list[_Planned]:
    planned = []
    errors: list[dict[str, Any]] = []
    for n, spec in enumerate(specs):
        source = sources.get(spec.name)
        where = f"resources.{n}"
        if source is None:
            errors.append({"field": where, "message": f"no data given for '{spec.name}'"})
            continue
        if spec.kind is ResourceKind.TABLE:
            if not isinstance(source, TableSource):
                errors.append({"field": where, "message": "a table resource needs tabular data"})
                continue
            try:
                columns = storage.describe(source.select_sql)
            except Exception as error:  # DuckDB names what it could not read
                message = str(error).splitlines()[0][:300]
                errors.append({"field": where, "message": f"cannot read the data: {message}"})
                continue
            names = {c.name for c in columns}
            if storage.ROW_ID in names:
                errors.append({"field": where, "message": "'_id' is reserved for the row number"})
            extra = [f.name for f in spec.fields if f.name not in names]
            if extra:
                errors.append(
                    {"field": where, "message": f"dictionary names missing columns: {extra}"}
                )
            unsorted = [c for c in spec.sort_by if c not in names]
            if unsorted:
                errors.append({"field": where, "message": f"cannot sort by {unsorted}"})
        else:
            if not isinstance(source, FileSource):
                errors.append({"field": where, "message": "a file resource needs a file"})
                continue
            columns = [storage.Column(f.name, "VARCHAR") for f in spec.fields]
        planned.append(_Planned(spec, source, columns))
    if errors:
        raise InvalidInput(errors)
    return planned


def _classifications(
    planned: Sequence[_Planned],
) -> dict[str, dict[str, FieldClassification | None]]:
    result: dict[str, dict[str, FieldClassification | None]] = {}
    for item in planned:
        declared = {f.name: f.classification for f in item.spec.fields}
        result[item.spec.name] = {c.name: declared.get(c.name) for c in item.columns}
    return result


def _apply_metadata(dataset: OpenDataset, data: DatasetCreate, org: Organisation) -> None:
    dataset.organisation = org
    dataset.title = data.title
    dataset.description = data.description
    dataset.licence_id = data.licence_id
    dataset.keywords = list(data.keywords)
    dataset.temporal_start = data.temporal_start
    dataset.temporal_end = data.temporal_end
    dataset.spatial = data.spatial
    dataset.update_frequency = data.update_frequency
    dataset.chart = data.chart.model_dump() if data.chart else None
    dataset.modified_at = utcnow()


def _publish(
    session: Session,
    data_dir: Path,
    manifest: VersionCreate,
    sources: Mapping[str, ResourceSource],
    *,
    source: Source,
    release_ref: str | None = None,
    risk_passed: bool | None = None,
    base_url: str = "",
    progress: Callable[[float], None] | None = None,
) -> Package:
    org = _organisation(session, manifest.dataset.organisation)
    planned = _plan_resources(manifest.resources, sources)
    decision = publishable(_classifications(planned), source, risk_passed)
    if not decision.allowed:
        raise NotPublishable(decision.reasons)

    dataset = session.scalar(
        select(OpenDataset).where(OpenDataset.name == manifest.dataset.name).with_for_update()
    )
    if dataset is None:
        dataset = OpenDataset(
            id=str(uuid.uuid5(DATASET_NAMESPACE, manifest.dataset.name)),
            name=manifest.dataset.name,
            created_at=utcnow(),
        )
        session.add(dataset)
    elif dataset.organisation_id != org.id:
        raise Problem(
            409, "Conflict", "That dataset is published by another organisation.", kind="conflict"
        )
    _apply_metadata(dataset, manifest.dataset, org)
    number = (
        session.scalar(
            select(func.max(DatasetVersion.number)).where(DatasetVersion.dataset_id == dataset.id)
        )
        or 0
    ) + 1
    version = DatasetVersion(
        dataset=dataset,
        number=number,
        notes=manifest.notes,
        source=source,
        release_ref=release_ref,
        risk_passed=risk_passed,
        published_at=utcnow(),
    )
    written: list[Path] = []
    try:
        for position, item in enumerate(planned):
            version.resources.append(_store_resource(data_dir, position, item, written, progress))
        session.add(version)
        session.flush()
    except BaseException:
        for path in written:
            storage.databases.forget(path)
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
        raise
    session.refresh(dataset)
    return package_view(dataset, base_url, None)


def _store_resource(
    data_dir: Path,
    position: int,
    item: _Planned,
    written: list[Path],
    progress: Callable[[float], None] | None = None,
) -> Resource:
    resource_id = str(uuid.uuid4())
    spec = item.spec
    declared = {f.name: f for f in spec.fields}
    if isinstance(item.source, TableSource):
        target = storage.table_path(data_dir, resource_id)
        written.append(target)
        rows = storage.materialise(
            item.source.select_sql, target, sort_by=spec.sort_by, progress=progress
        )
        relative = target.relative_to(data_dir)
        fmt, size = "CSV", target.stat().st_size
    else:
        folder = storage.file_dir(data_dir, resource_id)
        written.append(folder)
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / Path(item.source.filename).name
        shutil.copyfile(item.source.path, target)
        relative = target.relative_to(data_dir)
        rows, fmt, size = (
            None,
            spec.format or target.suffix.lstrip(".").upper(),
            target.stat().st_size,
        )
    return Resource(
        id=resource_id,
        position=position,
        name=spec.name,
        description=spec.description,
        kind=spec.kind,
        format=fmt,
        path=str(relative),
        row_count=rows,
        size_bytes=size,
        created_at=utcnow(),
        fields=[
            ResourceField(
                position=n,
                name=column.name,
                type=storage.ckan_type(column.type),
                label=declared[column.name].label,
                notes=declared[column.name].notes,
                classification=declared[column.name].classification,
            )
            for n, column in enumerate(item.columns)
        ],
    )


def publish_version(
    session: Session,
    data_dir: Path,
    manifest: VersionCreate,
    sources: Mapping[str, ResourceSource],
    *,
    base_url: str = "",
    progress: Callable[[float], None] | None = None,
) -> Package:
    """Publish a new version of a dataset from a publisher; only non-personal fields pass."""
    return _publish(
        session,
        data_dir,
        manifest,
        sources,
        source=Source.CATALOGUE,
        base_url=base_url,
        progress=progress,
    )


def publish_release_output(
    session: Session,
    data_dir: Path,
    *,
    dataset: DatasetCreate,
    release_ref: str,
    table: pa.Table,
    data_dictionary: Sequence[FieldSpec],
    risk_report_passed: bool | None,
    resource_name: str = "release-output",
    notes: str = "",
) -> Package:
    """The release part's hand-over: publish an anonymised table whose risk report passed.

    Only ``trusthub.release.service`` calls this, with the verdict of its own risk report; no
    API, page or CLI input reaches ``risk_report_passed``. A failed or absent report is refused.
    """
    manifest = VersionCreate(
        dataset=dataset,
        notes=notes or f"Output of release {release_ref}.",
        resources=[ResourceSpec(name=resource_name, fields=list(data_dictionary))],
    )
    staging = data_dir / "staging"
    staging.mkdir(parents=True, exist_ok=True)
    parquet = staging / f"{uuid.uuid4().hex}.parquet"
    try:
        pq.write_table(table, parquet)
        return _publish(
            session,
            data_dir,
            manifest,
            {resource_name: table_from_parquet(parquet)},
            source=Source.RELEASE,
            release_ref=release_ref,
            risk_passed=risk_report_passed,
        )
    finally:
        parquet.unlink(missing_ok=True)
