"""CKAN's Action API at ``/api/3/action/`` (and ``/api/action/``, where ckanapi calls it).

Every action answers GET with query parameters and POST with a JSON body, inside CKAN's envelope
``{"help", "success", "result"}``; errors come back as CKAN reports them (``Not Found Error``
with 404, ``Validation Error`` with 409) so that existing CKAN clients and tools work unchanged.
Each action is a thin call into ``opendata.service``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session

from trusthub.config import Settings
from trusthub.deps import AppSettings, DbSession
from trusthub.opendata import service
from trusthub.opendata.ckan_schemas import (
    ActionInput,
    DatastoreInfoInput,
    DatastoreInfoResult,
    DatastoreSearchInput,
    DatastoreSearchResult,
    DatastoreSqlInput,
    DatastoreSqlResult,
    Envelope,
    ErrorEnvelope,
    IdInput,
    ListInput,
    Organization,
    OrganizationListInput,
    OrganizationShowInput,
    Package,
    PackageSearchInput,
    PackageSearchResult,
    PackageShowInput,
)
from trusthub.opendata.ckan_schemas import Resource as ResourceView
from trusthub.opendata.vocab import LICENCES
from trusthub.problems import Problem

router = APIRouter(tags=["CKAN Action API"])
PREFIXES = ("/api/3/action", "/api/action")
ACTIONS: dict[str, str] = {}
"""Action name → its documentation, for help_show."""


async def _params(request: Request) -> dict[str, Any]:
    """CKAN reads parameters from the query string, a JSON body or a form, whichever came."""
    params: dict[str, Any] = dict(request.query_params)
    if request.method == "POST":
        body = await request.body()
        content_type = request.headers.get("content-type", "")
        if body and "form" in content_type:
            form = await request.form()
            params.update({k: v for k, v in form.items() if isinstance(v, str)})
        elif body:
            try:
                parsed = json.loads(body)
            except ValueError:
                parsed = None
            if not isinstance(parsed, dict):
                raise Problem(400, "Bad request", "The body must be a JSON object.")
            params.update(parsed)
    return params


Params = Annotated[dict[str, Any], Depends(_params)]


def _help(request: Request, name: str) -> str:
    return f"{str(request.base_url).rstrip('/')}/api/3/action/help_show?name={name}"


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _error(request: Request, name: str, status: int, error: dict[str, Any]) -> JSONResponse:
    return JSONResponse(
        {"help": _help(request, name), "success": False, "error": error}, status_code=status
    )


def _problem(request: Request, name: str, problem: Problem) -> JSONResponse:
    if problem.status == 404:
        message = f"Not found: {problem.detail or problem.title}"
        return _error(request, name, 404, {"__type": "Not Found Error", "message": message})
    if problem.status in (409, 422) or problem.errors:
        fields: dict[str, Any] = {"__type": "Validation Error"}
        for item in problem.errors or [{"field": "message", "message": problem.detail}]:
            fields.setdefault(str(item["field"]), []).append(str(item["message"]))
        return _error(request, name, 409, fields)
    if problem.status in (401, 403):
        return _error(
            request, name, 403, {"__type": "Authorization Error", "message": problem.detail}
        )
    return _error(
        request, name, problem.status, {"__type": problem.title, "message": problem.detail}
    )


def _openapi(model: type[BaseModel]) -> tuple[dict[str, Any], dict[str, Any]]:
    """OpenAPI for one action: its inputs as query parameters (GET) and as a JSON body (POST)."""
    schema = model.model_json_schema(by_alias=True)
    required = set(schema.get("required", []))
    parameters = [
        {"name": name, "in": "query", "required": name in required, "schema": prop}
        for name, prop in schema.get("properties", {}).items()
    ]
    body = {"requestBody": {"content": {"application/json": {"schema": schema}}}}
    return {"parameters": parameters}, body


def action(
    name: str, model: type[ActionInput], result: Any
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Serve ``handler(data, session, settings, base_url)`` as a CKAN action by GET and POST."""

    def register(handler: Callable[..., Any]) -> Callable[..., Any]:
        doc = (handler.__doc__ or name).strip()
        ACTIONS[name] = doc

        def endpoint(
            request: Request, params: Params, session: DbSession, settings: AppSettings
        ) -> JSONResponse:
            try:
                data = model.model_validate(params)
            except ValidationError as invalid:
                fields: dict[str, Any] = {"__type": "Validation Error"}
                for e in invalid.errors():
                    key = ".".join(str(p) for p in e["loc"]) or "body"
                    fields.setdefault(key, []).append(str(e["msg"]).removeprefix("Value error, "))
                return _error(request, name, 409, fields)
            try:
                value = handler(data, session, settings, _base(request))
            except Problem as problem:
                return _problem(request, name, problem)
            if isinstance(value, BaseModel):
                value = value.model_dump(mode="json", by_alias=True)
            elif isinstance(value, list):
                value = [
                    v.model_dump(mode="json", by_alias=True) if isinstance(v, BaseModel) else v
                    for v in value
                ]
            return JSONResponse({"help": _help(request, name), "success": True, "result": value})

        get_extra, post_extra = _openapi(model)
        responses: dict[int | str, dict[str, Any]] = {
            200: {"model": Envelope[result]},
            404: {"model": ErrorEnvelope, "description": "Not Found Error"},
            409: {"model": ErrorEnvelope, "description": "Validation Error"},
        }
        for prefix in PREFIXES:
            documented = prefix == PREFIXES[0]
            for method, extra in (("GET", get_extra), ("POST", post_extra)):
                router.add_api_route(
                    f"{prefix}/{name}",
                    endpoint,
                    methods=[method],
                    name=f"{name} ({method}{'' if documented else ', legacy path'})",
                    summary=name,
                    description=doc,
                    include_in_schema=documented,
                    openapi_extra=extra,
                    responses=responses,
                    response_class=JSONResponse,
                    operation_id=f"ckan_{name}_{method.lower()}" if documented else None,
                )
        return handler

    return register


@action("package_list", ListInput, list[str])
def package_list(data: ListInput, session: Session, _s: Settings, _b: str) -> list[str]:
    """The names of every published dataset."""
    return service.package_list(session, data.limit, data.offset)


@action("package_show", PackageShowInput, Package)
def package_show(data: PackageShowInput, session: Session, _s: Settings, base: str) -> Package:
    """One dataset: its latest version's resources and every version; ``version`` picks one."""
    return service.package_show(session, base, data.id, data.version)


@action("package_search", PackageSearchInput, PackageSearchResult)
def package_search(
    data: PackageSearchInput, session: Session, _s: Settings, base: str
) -> PackageSearchResult:
    """Search datasets: q (all words), fq (organization:, tags:, res_format:, license_id:),
    rows, start, sort, facet.field."""
    return service.package_search(session, base, data)


@action("organization_list", OrganizationListInput, list[str] | list[Organization])
def organization_list(
    data: OrganizationListInput, session: Session, _s: Settings, _b: str
) -> list[str] | list[Organization]:
    """Every organisation: names, or whole records with all_fields=true."""
    return service.organization_list(
        session, all_fields=data.all_fields, limit=data.limit, offset=data.offset
    )


@action("organization_show", OrganizationShowInput, Organization)
def organization_show(
    data: OrganizationShowInput, session: Session, _s: Settings, base: str
) -> Organization:
    """One organisation, with its datasets if include_datasets=true."""
    return service.organization_show(session, base, data.id, include_datasets=data.include_datasets)


@action("resource_show", IdInput, ResourceView)
def resource_show(data: IdInput, session: Session, _s: Settings, base: str) -> ResourceView:
    """One resource of any version, with its data dictionary and download links."""
    return service.resource_show(session, base, data.id)


@action("datastore_search", DatastoreSearchInput, DatastoreSearchResult)
def datastore_search(
    data: DatastoreSearchInput, session: Session, settings: Settings, _b: str
) -> DatastoreSearchResult:
    """Search a table: filters (values, lists, or TrustHub ranges {"gte", "lt"…}), q, fields,
    sort, limit, offset, distinct, include_total, records_format."""
    return service.datastore_search(
        session, settings.opendata_data_dir, settings.opendata_rows_max, data
    )


@action("datastore_search_sql", DatastoreSqlInput, DatastoreSqlResult)
def datastore_search_sql(
    data: DatastoreSqlInput, session: Session, settings: Settings, _b: str
) -> DatastoreSqlResult:
    """One read-only SELECT over published tables (named by resource id), time- and row-limited."""
    return service.datastore_search_sql(
        session,
        settings.opendata_data_dir,
        data.sql,
        timeout=settings.opendata_sql_timeout,
        rows_max=settings.opendata_rows_max,
    )


@action("datastore_info", DatastoreInfoInput, DatastoreInfoResult)
def datastore_info(
    data: DatastoreInfoInput, session: Session, settings: Settings, _b: str
) -> DatastoreInfoResult:
    """A table's size and its data dictionary, each field with its classification."""
    return service.datastore_info(session, settings.opendata_data_dir, data.id)


class HelpInput(ActionInput):
    name: str


@action("help_show", HelpInput, str)
def help_show(data: HelpInput, _session: Session, _s: Settings, _b: str) -> str:
    """The documentation of one action."""
    if data.name not in ACTIONS:
        raise Problem(404, "Not found", f"Action '{data.name}'")
    return ACTIONS[data.name]


@action("license_list", ActionInput, list[dict[str, str]])
def license_list(
    _data: ActionInput, _session: Session, _s: Settings, _b: str
) -> list[dict[str, str]]:
    """The open licences a dataset may carry."""
    return [
        {"id": lic.id, "title": lic.title, "url": lic.url, "status": "active"}
        for lic in LICENCES.values()
    ]
