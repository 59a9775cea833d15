"""The open-data part's one action layer: the CKAN API, DCAT, downloads, pages and CLI call these.

Publishing goes through ``publish_version`` (publishers: API, CLI) or ``publish_release_output``
(the release part only); both pass the one gate in ``gate.publishable`` before anything is
written. Everything else reads, and reads only what has been published.
"""

from __future__ import annotations

import csv
import hashlib
import io
import shlex
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, selectinload

from trusthub.opendata import downloads, sql_guard, storage
from trusthub.opendata.charts import ChartData, Series
from trusthub.opendata.ckan_schemas import (
    DatastoreField,
    DatastoreInfoMeta,
    DatastoreInfoResult,
    DatastoreSearchInput,
    DatastoreSearchResult,
    DatastoreSqlResult,
    Organization,
    Package,
    PackageSearchInput,
    PackageSearchResult,
)
from trusthub.opendata.ckan_schemas import (
    Resource as ResourceView,
)
from trusthub.opendata.datastore import SearchError, SearchRequest, plan_search
from trusthub.opendata.models import (
    DatasetVersion,
    OpenDataset,
    Resource,
    ResourceKind,
)
from trusthub.opendata.publishing import (
    FileSource,
    NotPublishable,
    ResourceSource,
    TableSource,
    publish_release_output,
    publish_version,
    table_from_csv,
    table_from_parquet,
)
from trusthub.opendata.schemas import (
    ChartSpec,
)
from trusthub.opendata.views import (
    field_view,
    organisation_id,
    organization_view,
    package_view,
    resource_view,
)
from trusthub.problems import InvalidInput, NotFound, Problem
from trusthub.registry.models import Organisation


class QueryRefused(Problem):
    """datastore_search_sql refused a query, or cut it off."""

    def __init__(self, reasons: Sequence[str]) -> None:
        super().__init__(
            409,
            "Query refused",
            "; ".join(reasons),
            kind="query-refused",
            errors=[{"field": "query", "message": r} for r in reasons],
        )


def _dataset_query() -> Select[OpenDataset]:
    return select(OpenDataset).options(
        selectinload(OpenDataset.organisation),
        selectinload(OpenDataset.versions)
        .selectinload(DatasetVersion.resources)
        .selectinload(Resource.fields),
    )


def _datasets(session: Session) -> list[OpenDataset]:
    return [d for d in session.scalars(_dataset_query().order_by(OpenDataset.name)) if d.versions]


def _dataset(session: Session, name_or_id: str) -> OpenDataset:
    dataset = session.scalar(
        _dataset_query().where((OpenDataset.name == name_or_id) | (OpenDataset.id == name_or_id))
    )
    if dataset is None or not dataset.versions:
        raise NotFound("dataset")
    return dataset


# --- CKAN actions: catalogue ---------------------------------------------------------------------


def package_list(session: Session, limit: int | None = None, offset: int = 0) -> list[str]:
    names = [d.name for d in _datasets(session)]
    return names[offset : offset + limit if limit is not None else None]


def package_show(
    session: Session, base_url: str, name_or_id: str, version: int | None = None
) -> Package:
    return package_view(_dataset(session, name_or_id), base_url, version)


FQ_FIELDS = {"organization", "tags", "res_format", "license_id", "name", "frequency"}


def _fq_terms(fq: str) -> list[tuple[str, str]]:
    """Solr filter queries as CKAN clients send them: ``organization:x tags:"flood risk"``."""
    terms = []
    for token in shlex.split(fq.replace(" AND ", " "), posix=True):
        key, sep, value = token.partition(":")
        key = key.lstrip("+")
        if not sep or key not in FQ_FIELDS:
            raise SearchError("fq", f"cannot filter on '{token}'; use {sorted(FQ_FIELDS)}")
        terms.append((key, value.strip('"')))
    return terms


def _facet_values(package: Package, key: str) -> list[str]:
    if key == "organization":
        return [package.organization.name]
    if key == "tags":
        return [t.name for t in package.tags]
    if key == "res_format":
        return sorted({r.format for r in package.resources})
    if key == "license_id":
        return [package.license_id]
    if key == "frequency":
        return [package.frequency]
    return [package.name]


def _score(package: Package, words: Sequence[str]) -> int:
    haystack = " ".join(
        [package.name, package.title, package.notes, package.organization.title]
        + [t.name for t in package.tags]
        + [r.name for r in package.resources]
    ).lower()
    return sum(haystack.count(w) for w in words) if all(w in haystack for w in words) else -1


SORT_KEYS = {
    "name": lambda p: p.name,
    "title_string": lambda p: p.title.lower(),
    "metadata_modified": lambda p: p.metadata_modified,
    "metadata_created": lambda p: p.metadata_created,
}


def package_search(
    session: Session, base_url: str, query: PackageSearchInput
) -> PackageSearchResult:
    """CKAN's dataset search: words in q must all appear; fq narrows by facet values."""
    packages = [package_view(d, base_url, None) for d in _datasets(session)]
    words = [w.lower() for w in query.q.replace("*:*", "").split() if w.strip()]
    try:
        return _search(packages, words, query)
    except SearchError as error:
        raise _search_error(error) from error


def _search(
    packages: list[Package], words: list[str], query: PackageSearchInput
) -> PackageSearchResult:
    terms = _fq_terms(query.fq) if query.fq.strip() else []
    scored = []
    for package in packages:
        score = _score(package, words) if words else 0
        if score < 0:
            continue
        if all(value in _facet_values(package, key) for key, value in terms):
            scored.append((score, package))
    for item in reversed([s.strip() for s in query.sort.split(",") if s.strip()]):
        key, _, direction = item.partition(" ")
        reverse = direction.strip().lower() == "desc"
        if key == "score":
            scored.sort(key=lambda sp: sp[0], reverse=reverse)
        elif key in SORT_KEYS:
            scored.sort(key=lambda sp, k=key: SORT_KEYS[k](sp[1]), reverse=reverse)  # type: ignore[misc]
        else:
            raise SearchError("sort", f"cannot sort by '{key}'")
    found = [p for _, p in scored]
    facets: dict[str, dict[str, int]] = {}
    for key in query.facet_field:
        if key not in FQ_FIELDS:
            raise SearchError("facet.field", f"no facet '{key}'")
        facets[key] = dict(Counter(v for p in found for v in _facet_values(p, key)))
    return PackageSearchResult(
        count=len(found),
        results=found[query.start : query.start + query.rows],
        sort=query.sort,
        facets=facets,
        search_facets={
            k: {
                "title": k,
                "items": [{"name": n, "display_name": n, "count": c} for n, c in v.items()],
            }
            for k, v in facets.items()
        },
    )


def _organisations(session: Session) -> list[tuple[Organisation, int]]:
    counts = Counter(d.organisation_id for d in _datasets(session))
    orgs = session.scalars(select(Organisation).order_by(Organisation.slug))
    return [(o, counts.get(o.id, 0)) for o in orgs]


def organization_list(
    session: Session, *, all_fields: bool = False, limit: int | None = None, offset: int = 0
) -> list[str] | list[Organization]:
    """Every registered organisation, as CKAN lists them: names, or whole records."""
    orgs = _organisations(session)[offset : offset + limit if limit is not None else None]
    if all_fields:
        return [organization_view(o, n) for o, n in orgs]
    return [o.slug for o, _ in orgs]


def organization_show(
    session: Session, base_url: str, name_or_id: str, *, include_datasets: bool = False
) -> Organization:
    for org, count in _organisations(session):
        if name_or_id in (org.slug, organisation_id(org.slug)):
            view = organization_view(org, count)
            if include_datasets:
                view.packages = [
                    package_view(d, base_url, None)
                    for d in _datasets(session)
                    if d.organisation_id == org.id
                ]
            return view
    raise NotFound("organization")


def _load_resource(session: Session, resource_id: str) -> Resource:
    resource = session.scalar(
        select(Resource)
        .where(Resource.id == resource_id)
        .options(
            selectinload(Resource.fields),
            selectinload(Resource.version)
            .selectinload(DatasetVersion.dataset)
            .selectinload(OpenDataset.organisation),
        )
    )
    if resource is None:
        raise NotFound("resource")
    return resource


def resource_show(session: Session, base_url: str, resource_id: str) -> ResourceView:
    resource = _load_resource(session, resource_id)
    return resource_view(resource, resource.version.dataset, base_url)


# --- CKAN actions: DataStore ---------------------------------------------------------------------


@dataclass(frozen=True)
class _TableInfo:
    """What the DataStore actions need of a table; safe to keep: published tables never change."""

    id: str
    path: Path
    fields: tuple[DatastoreField, ...]
    columns: tuple[storage.Column, ...]
    version: int
    dataset_id: str
    row_count: int
    size: int


_tables: dict[tuple[str, str, str], _TableInfo] = {}
_TABLES_KEPT = 1024


def _table(session: Session, data_dir: Path, resource_id: str) -> _TableInfo:
    key = (str(session.get_bind().engine.url), str(data_dir), resource_id)
    info = _tables.get(key)
    if info is not None:
        return info
    resource = _load_resource(session, resource_id)
    if resource.kind is not ResourceKind.TABLE:
        raise NotFound("DataStore table: this resource is a file")
    path = data_dir / resource.path
    info = _TableInfo(
        id=resource.id,
        path=path,
        fields=(
            DatastoreField(id=storage.ROW_ID, type="int"),
            *(field_view(f) for f in resource.fields),
        ),
        columns=(storage.Column(storage.ROW_ID, "BIGINT"), *storage.columns(path)),
        version=resource.version.number,
        dataset_id=resource.version.dataset_id,
        row_count=resource.row_count or 0,
        size=resource.size_bytes,
    )
    if len(_tables) >= _TABLES_KEPT:
        _tables.clear()
    _tables[key] = info
    return info


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value) if value % 1 else int(value)
    return value


def _search_error(error: SearchError) -> InvalidInput:
    return InvalidInput([{"field": error.parameter, "message": error.message}])


def _delimited(rows: Sequence[Sequence[Any]], delimiter: str) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
    writer.writerows([["" if v is None else _json_value(v) for v in row] for row in rows])
    return buffer.getvalue()


def datastore_search(
    session: Session, data_dir: Path, rows_max: int, query: DatastoreSearchInput
) -> DatastoreSearchResult:
    """Filter, search, sort and page one table as CKAN's DataStore does, on DuckDB."""
    table = _table(session, data_dir, query.resource_id)
    request = SearchRequest(
        filters=query.filters,
        q=query.q or query.full_text,
        distinct=query.distinct,
        fields=query.fields,
        sort=query.sort,
        limit=query.limit,
        offset=query.offset,
        include_total=query.include_total,
    )
    try:
        plan = plan_search(table.columns, request, rows_max)
        names, rows = storage.query(table.path, plan.sql, plan.params)
        total = None
        if plan.count_sql is not None:
            total = int(storage.query(table.path, plan.count_sql, plan.count_params)[1][0][0])
    except SearchError as error:
        raise _search_error(error) from error
    except Exception as error:  # a value that does not fit its column's type
        if type(error).__module__.startswith("duckdb") or "duckdb" in type(error).__module__:
            raise InvalidInput(
                [{"field": "filters", "message": str(error).splitlines()[0][:300]}]
            ) from error
        raise
    by_name = {f.id: f for f in table.fields}
    records: list[Any] | str
    if query.records_format == "objects":
        records = [{n: _json_value(v) for n, v in zip(names, row, strict=True)} for row in rows]
    elif query.records_format == "lists":
        records = [[_json_value(v) for v in row] for row in rows]
    else:
        records = _delimited(rows, "," if query.records_format == "csv" else "\t")
    start = f"/api/3/action/datastore_search?resource_id={table.id}"
    return DatastoreSearchResult(
        resource_id=table.id,
        fields=[by_name[n] for n in names],
        records=records,
        records_format=query.records_format,
        limit=plan.limit,
        offset=query.offset,
        filters=query.filters,
        q=query.q or None,
        sort=query.sort or None,
        distinct=query.distinct,
        include_total=query.include_total,
        total=total,
        links={"start": start, "next": f"{start}&offset={query.offset + plan.limit}"},
    )


def _published_tables(session: Session, data_dir: Path) -> dict[str, Path]:
    rows = session.execute(
        select(Resource.id, Resource.path).where(Resource.kind == ResourceKind.TABLE)
    )
    return {str(rid): data_dir / str(path) for rid, path in rows}


def datastore_search_sql(
    session: Session, data_dir: Path, sql: str, *, timeout: float, rows_max: int
) -> DatastoreSqlResult:
    """One read-only SELECT over published tables, with a time limit and a row limit."""
    tables = _published_tables(session, data_dir)
    decision, facts = sql_guard.check(sql, set(tables))
    if not decision.allowed:
        raise QueryRefused(decision.reasons)
    used = {t.name.lower() for t in facts.tables}
    chosen = {rid: path for rid, path in tables.items() if rid.lower() in used}
    try:
        result = storage.run_sql(sql, chosen, timeout=timeout, rows_max=rows_max)
    except storage.QueryTimeout as error:
        raise QueryRefused(["Query took too long", str(error)]) from error
    except Exception as error:
        if "duckdb" in type(error).__module__:
            raise QueryRefused([str(error).splitlines()[0][:300]]) from error
        raise
    names = [c.name for c in result.columns]
    return DatastoreSqlResult(
        sql=sql,
        fields=[DatastoreField(id=c.name, type=storage.ckan_type(c.type)) for c in result.columns],
        records=[
            {n: _json_value(v) for n, v in zip(names, row, strict=True)} for row in result.rows
        ],
        records_truncated=result.truncated,
    )


def datastore_info(session: Session, data_dir: Path, resource_id: str) -> DatastoreInfoResult:
    """The data dictionary and the table's size, as CKAN's datastore_info answers."""
    table = _table(session, data_dir, resource_id)
    return DatastoreInfoResult(
        meta=DatastoreInfoMeta(
            id=table.id,
            count=table.row_count,
            size=table.size,
            version=table.version,
            package_id=table.dataset_id,
        ),
        fields=list(table.fields),
    )


# --- downloads -----------------------------------------------------------------------------------


def download(session: Session, data_dir: Path, resource_id: str, fmt: str) -> downloads.Download:
    """A whole published table in any format, or a published file as it was given."""
    resource = _load_resource(session, resource_id)
    dataset = resource.version.dataset
    basename = f"{dataset.name}-v{resource.version.number}-{resource.name}"
    if resource.kind is ResourceKind.FILE:
        path = data_dir / resource.path
        return downloads.Download(
            filename=path.name,
            media_type="application/octet-stream",
            chunks=_file_chunks(path),
        )
    if fmt not in downloads.FORMATS:
        raise InvalidInput(
            [{"field": "format", "message": f"use one of {', '.join(downloads.FORMATS)}"}]
        )
    return downloads.stream(data_dir / resource.path, fmt, basename)


def _file_chunks(path: Path, size: int = 1 << 20) -> Any:
    with path.open("rb") as handle:
        while chunk := handle.read(size):
            yield chunk


# --- DCAT ----------------------------------------------------------------------------------------


def dcat_catalogue(session: Session, base_url: str, fmt: str) -> tuple[str, str]:
    """The catalogue as DCAT-AP, in Turtle or JSON-LD."""
    from trusthub.opendata import dcat

    packages = [package_view(d, base_url, None) for d in _datasets(session)]
    return dcat.serialise(dcat.catalogue_graph(base_url, packages), fmt)


def dcat_dataset(session: Session, base_url: str, name: str, fmt: str) -> tuple[str, str]:
    from trusthub.opendata import dcat

    return dcat.serialise(dcat.dataset_graph(package_show(session, base_url, name)), fmt)


# --- charts --------------------------------------------------------------------------------------


def _chart_sql(spec: ChartSpec) -> str:
    x = storage.quote_identifier(spec.x)
    if spec.bucket == "month":
        x_expr = f"strftime(date_trunc('month', {x}), '%Y-%m')"
    elif spec.bucket == "year":
        x_expr = f"strftime(date_trunc('year', {x}), '%Y')"
    else:
        x_expr = f"CAST({x} AS VARCHAR)"
    y = storage.quote_identifier(spec.y) if spec.y else "*"
    value = {"count": "count(*)", "median": f"median({y})", "mean": f"avg({y})", "sum": f"sum({y})"}
    series = f"CAST({storage.quote_identifier(spec.series)} AS VARCHAR)" if spec.series else "''"
    return (
        f"SELECT {x_expr} AS x, {series} AS s, CAST({value[spec.agg]} AS DOUBLE) AS v "
        f"FROM {storage.TABLE} WHERE {x} IS NOT NULL GROUP BY 1, 2 ORDER BY 2, 1"
    )


def chart(session: Session, data_dir: Path, name: str) -> ChartData | None:
    """The dataset's chart data for its latest version, computed once: versions never change."""
    dataset = _dataset(session, name)
    if not dataset.chart:
        return None
    spec = ChartSpec.model_validate(dataset.chart)
    resources = [r for r in dataset.versions[-1].resources if r.name == spec.resource]
    if not resources or resources[0].kind is not ResourceKind.TABLE:
        return None
    resource = resources[0]
    digest = hashlib.sha256(spec.model_dump_json().encode()).hexdigest()[:16]
    cache = data_dir / "charts" / f"{resource.id}-{digest}.json"
    if cache.is_file():
        return ChartData.model_validate_json(cache.read_text())
    fields = {f.name for f in resource.fields}
    if any(c and c not in fields for c in (spec.x, spec.y, spec.series)):
        return None
    _, rows = storage.query(data_dir / resource.path, _chart_sql(spec))
    grouped: dict[str, list[tuple[str, float]]] = {}
    for x, s, v in rows:
        if v is not None:
            grouped.setdefault(str(s), []).append((str(x), float(v)))
    biggest = sorted(grouped, key=lambda k: -len(grouped[k]))[:10]
    labels = {f.name: f.label or f.name for f in resource.fields}
    data = ChartData(
        title=spec.title,
        kind=spec.kind,
        x_label=labels.get(spec.x, spec.x),
        y_label=spec.y_label
        or (f"{spec.agg} of {labels.get(spec.y, spec.y)}" if spec.y else "Rows"),
        series=[Series(name=k or spec.title, points=grouped[k]) for k in sorted(biggest)],
    )
    cache.parent.mkdir(parents=True, exist_ok=True)
    partial = cache.with_suffix(f".{uuid.uuid4().hex}.partial")
    partial.write_text(data.model_dump_json())
    partial.replace(cache)
    return data


def warm_chart(session: Session, data_dir: Path, name: str) -> None:
    """Compute a new version's chart now, so that the first visitor does not wait for it."""
    chart(session, data_dir, name)


__all__ = [
    "FileSource",
    "NotPublishable",
    "QueryRefused",
    "ResourceSource",
    "TableSource",
    "chart",
    "datastore_info",
    "datastore_search",
    "datastore_search_sql",
    "dcat_catalogue",
    "dcat_dataset",
    "download",
    "organization_list",
    "organization_show",
    "package_list",
    "package_search",
    "package_show",
    "publish_release_output",
    "publish_version",
    "resource_show",
    "table_from_csv",
    "table_from_parquet",
    "warm_chart",
]
