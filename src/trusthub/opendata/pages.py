"""Pages for developers and businesses: browse the catalogue, and a page per dataset.

Each handler loads its page through ``opendata.service`` and renders it; each page also answers
as ``.json`` with the same data, as Datasette's pages do.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel

from trusthub.deps import AppSettings, DbSession
from trusthub.opendata import service
from trusthub.opendata.charts import ChartData, render_svg
from trusthub.opendata.ckan_schemas import (
    DatastoreSearchInput,
    Package,
    PackageSearchInput,
    Resource,
)
from trusthub.web.rendering import json_path, render

router = APIRouter(include_in_schema=False)
Handler = TypeVar("Handler", bound=Callable[..., Response])
PREVIEW_ROWS = 10


def page(path: str) -> Callable[[Handler], Handler]:
    """Serve a handler at ``path`` and at its ``.json`` twin, the twin first so that it wins."""

    def register(handler: Handler) -> Handler:
        router.add_api_route(json_path(path), handler, methods=["GET"], response_model=None)
        router.add_api_route(
            path, handler, methods=["GET"], response_model=None, response_class=HTMLResponse
        )
        return handler

    return register


class CataloguePage(BaseModel):
    q: str
    organisation: str
    count: int
    results: list[Package]
    organisations: dict[str, int]


class Example(BaseModel):
    title: str
    language: str
    code: str


class Preview(BaseModel):
    resource: Resource
    columns: list[str]
    rows: list[list[Any]]


class DatasetPage(BaseModel):
    package: Package
    shown_version: int
    latest: bool
    previews: list[Preview]
    chart: ChartData | None
    chart_svg: str
    examples: list[Example]


def _examples(base: str, package: Package) -> list[Example]:
    tables = [r for r in package.resources if r.datastore_active]
    if not tables:
        return []
    table = tables[0]
    field = next((f.id for f in table.fields if f.type == "text"), table.fields[0].id)
    body = {"resource_id": table.id, "limit": 5}
    sql_example = f'SELECT "{field}", count(*) FROM "{table.id}" GROUP BY 1'  # noqa: S608 - shown, not run
    return [
        Example(
            title="Search the table (CKAN's datastore_search)",
            language="shell",
            code=f"curl -s {base}/api/3/action/datastore_search \\\n"
            f"  -H 'Content-Type: application/json' \\\n  -d '{json.dumps(body)}'",
        ),
        Example(
            title="The same from Python, with CKAN's own client (pip install ckanapi)",
            language="python",
            code="import ckanapi\n\n"
            f'ckan = ckanapi.RemoteCKAN("{base}")\n'
            f'result = ckan.action.datastore_search(resource_id="{table.id}", '
            f'fields=["{field}"], limit=5)\n'
            'print(result["total"], result["records"])',
        ),
        Example(
            title="Any read-only SELECT (datastore_search_sql)",
            language="shell",
            code=f"curl -s {base}/api/3/action/datastore_search_sql \\\n"
            "  -H 'Content-Type: application/json' \\\n"
            f"  -d '{json.dumps({'sql': sql_example})}'",
        ),
        Example(
            title="Download every row (CSV, JSON lines or Parquet; no row limit)",
            language="shell",
            code=f"curl -o {package.name}.parquet '{table.downloads['parquet']}'",
        ),
        Example(
            title="Metadata as DCAT-AP (Turtle or JSON-LD)",
            language="shell",
            code=f"curl -s {base}/opendata/datasets/{package.name}.ttl",
        ),
    ]


def _catalogue(session: Any, base: str, q: str, organisation: str) -> CataloguePage:
    fq = f"organization:{organisation}" if organisation else ""
    found = service.package_search(
        session,
        base,
        PackageSearchInput(q=q, fq=fq, rows=1000, sort="title_string asc"),
    )
    every = service.package_search(
        session, base, PackageSearchInput(rows=0, **{"facet.field": ["organization"]})
    )
    return CataloguePage(
        q=q,
        organisation=organisation,
        count=found.count,
        results=found.results,
        organisations=every.facets.get("organization", {}),
    )


@page("/opendata")
def catalogue(
    request: Request, session: DbSession, q: str = "", organisation: str = ""
) -> Response:
    """Search and browse every published dataset."""
    base = str(request.base_url).rstrip("/")
    return render(
        request,
        "opendata/catalogue.html",
        lambda: _catalogue(session, base, q.strip()[:200], organisation.strip()[:64]),
    )


def _dataset(session: Any, settings: Any, base: str, name: str, version: int | None) -> DatasetPage:
    package = service.package_show(session, base, name, version)
    shown = int(package.version)
    previews = []
    for resource in package.resources:
        if not resource.datastore_active:
            continue
        result = service.datastore_search(
            session,
            settings.opendata_data_dir,
            PREVIEW_ROWS,
            DatastoreSearchInput(
                resource_id=resource.id,
                limit=PREVIEW_ROWS,
                include_total=False,
                records_format="lists",
            ),
        )
        previews.append(
            Preview(
                resource=resource,
                columns=[f.id for f in result.fields],
                rows=result.records if isinstance(result.records, list) else [],
            )
        )
    latest = version is None or version == package.versions[0].version
    chart = service.chart(session, settings.opendata_data_dir, name) if latest else None
    return DatasetPage(
        package=package,
        shown_version=shown,
        latest=latest,
        previews=previews,
        chart=chart,
        chart_svg=render_svg(chart) if chart else "",
        examples=_examples(base, package),
    )


@page("/opendata/datasets/{name}")
def dataset(
    request: Request,
    name: str,
    session: DbSession,
    settings: AppSettings,
    version: int | None = None,
) -> Response:
    """One dataset: its metadata, versions, a preview, the data dictionary, a chart, examples."""
    base = str(request.base_url).rstrip("/")
    return render(
        request,
        "opendata/dataset.html",
        lambda: _dataset(session, settings, base, name, version),
    )
