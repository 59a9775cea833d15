"""HTTP edges of open data besides the CKAN actions: downloads, DCAT and the publisher's upload."""

from __future__ import annotations

import json
import re
import shutil
import uuid
from pathlib import Path
from typing import Literal

from fastapi import APIRouter, Request, status
from fastapi.responses import Response, StreamingResponse
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from trusthub.deps import Admin, AppSettings, DbSession
from trusthub.opendata import service
from trusthub.opendata.ckan_schemas import Package
from trusthub.opendata.models import ResourceKind
from trusthub.opendata.schemas import VersionCreate
from trusthub.problems import InvalidInput

router = APIRouter(tags=["open data"])
SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")

UPLOAD_DOC = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["manifest"],
                    "properties": {
                        "manifest": {
                            "type": "string",
                            "description": "A VersionCreate as JSON: the dataset's metadata, "
                            "notes, and each resource with its classified data dictionary.",
                        }
                    },
                    "additionalProperties": {
                        "type": "string",
                        "format": "binary",
                        "description": "One file per resource, named by the resource: CSV with "
                        "a header row, or Parquet (.parquet); any file for file resources.",
                    },
                }
            }
        },
    }
}


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


@router.get(
    "/datastore/dump/{resource_id}",
    summary="Download a whole table",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {
                "text/csv": {},
                "application/x-ndjson": {},
                "application/vnd.apache.parquet": {},
            }
        }
    },
)
def dump(
    resource_id: str,
    session: DbSession,
    settings: AppSettings,
    format: Literal["csv", "jsonl", "parquet"] = "csv",
) -> StreamingResponse:
    """Every row of a published table as CSV, JSON lines or Parquet: no row cap, flat memory."""
    download = service.download(session, settings.opendata_data_dir, resource_id, format)
    return StreamingResponse(
        download.chunks,
        media_type=download.media_type,
        headers={"Content-Disposition": f'attachment; filename="{download.filename}"'},
    )


@router.get("/opendata/files/{resource_id}/{filename}", summary="Download a published file")
def file(
    resource_id: str, filename: str, session: DbSession, settings: AppSettings
) -> StreamingResponse:
    download = service.download(session, settings.opendata_data_dir, resource_id, "file")
    if download.filename != filename:
        raise InvalidInput([{"field": "filename", "message": "not this resource's file"}])
    return StreamingResponse(
        download.chunks,
        media_type=download.media_type,
        headers={"Content-Disposition": f'attachment; filename="{download.filename}"'},
    )


def _catalogue(fmt: str, request: Request, session: DbSession) -> Response:
    text, media_type = service.dcat_catalogue(session, _base(request), fmt)
    return Response(text, media_type=media_type)


def _dataset(name: str, fmt: str, request: Request, session: DbSession) -> Response:
    text, media_type = service.dcat_dataset(session, _base(request), name, fmt)
    return Response(text, media_type=media_type)


@router.get("/opendata/catalog.ttl", summary="The catalogue as DCAT-AP (Turtle)")
def catalogue_turtle(request: Request, session: DbSession) -> Response:
    """Every published dataset as one dcat:Catalog."""
    return _catalogue("ttl", request, session)


@router.get("/opendata/catalog.jsonld", summary="The catalogue as DCAT-AP (JSON-LD)")
def catalogue_jsonld(request: Request, session: DbSession) -> Response:
    return _catalogue("jsonld", request, session)


@router.get("/opendata/datasets/{name}.ttl", summary="One dataset as DCAT-AP (Turtle)")
def dataset_turtle(name: str, request: Request, session: DbSession) -> Response:
    return _dataset(name, "ttl", request, session)


@router.get("/opendata/datasets/{name}.jsonld", summary="One dataset as DCAT-AP (JSON-LD)")
def dataset_jsonld(name: str, request: Request, session: DbSession) -> Response:
    return _dataset(name, "jsonld", request, session)


@router.post(
    "/api/v1/opendata/versions",
    status_code=status.HTTP_201_CREATED,
    dependencies=[Admin],
    summary="Publish a new version of a dataset",
    openapi_extra=UPLOAD_DOC,
)
async def publish(request: Request, session: DbSession, settings: AppSettings) -> Package:
    """Upload a version (operators only). It passes the publication gate or nothing is stored."""
    form = await request.form()
    raw = form.get("manifest")
    if not isinstance(raw, str):
        raise InvalidInput([{"field": "manifest", "message": "a JSON manifest is required"}])
    try:
        manifest = VersionCreate.model_validate(json.loads(raw))
    except (ValueError, ValidationError) as error:
        errors = (
            [{"field": ".".join(map(str, e["loc"])), "message": e["msg"]} for e in error.errors()]
            if isinstance(error, ValidationError)
            else [{"field": "manifest", "message": "not JSON"}]
        )
        raise InvalidInput(errors) from error
    staging = settings.opendata_data_dir / "staging" / uuid.uuid4().hex
    staging.mkdir(parents=True, exist_ok=True)
    try:
        sources: dict[str, service.ResourceSource] = {}
        for spec in manifest.resources:
            upload = form.get(spec.name)
            if not isinstance(upload, UploadFile):
                continue
            given = Path(upload.filename or spec.name).name
            parquet = given.lower().endswith(".parquet")
            # Tables are read by DuckDB under a name of ours (no glob or quote in it); files keep
            # a tidied version of the publisher's name, as they are downloaded under it.
            name = SAFE_NAME.sub("-", given).strip(".-") or spec.name
            if spec.kind is not ResourceKind.FILE:
                name = f"{spec.name}.{'parquet' if parquet else 'csv'}"
            target = staging / name
            with target.open("wb") as out:
                shutil.copyfileobj(upload.file, out)
            if spec.kind is ResourceKind.FILE:
                sources[spec.name] = service.FileSource(target, name)
            elif parquet:
                sources[spec.name] = service.table_from_parquet(target)
            else:
                sources[spec.name] = service.table_from_csv(target)
        return await run_in_threadpool(
            service.publish_version,
            session,
            settings.opendata_data_dir,
            manifest,
            sources,
            base_url=_base(request),
        )
    finally:
        shutil.rmtree(staging, ignore_errors=True)
