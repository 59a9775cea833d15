"""HTTP API of the registry: thin calls into ``registry.service``."""

from __future__ import annotations

from fastapi import APIRouter, status

from trusthub.deps import Admin, DbSession
from trusthub.registry import service
from trusthub.registry.schemas import (
    DatasetCreate,
    DatasetView,
    OrganisationCreate,
    OrganisationView,
)

router = APIRouter(prefix="/api/v1", tags=["registry"])


@router.get("/organisations")
def list_organisations(session: DbSession) -> list[OrganisationView]:
    """Every registered organisation with its datasets and how each field is classified."""
    return service.list_organisations(session)


@router.get("/organisations/{slug}")
def get_organisation(slug: str, session: DbSession) -> OrganisationView:
    return service.get_organisation(session, slug)


@router.post(
    "/organisations",
    status_code=status.HTTP_201_CREATED,
    dependencies=[Admin],
)
def create_organisation(data: OrganisationCreate, session: DbSession) -> OrganisationView:
    """Register an organisation (operators only)."""
    return service.create_organisation(session, data)


@router.post(
    "/organisations/{slug}/datasets",
    status_code=status.HTTP_201_CREATED,
    dependencies=[Admin],
)
def create_dataset(slug: str, data: DatasetCreate, session: DbSession) -> DatasetView:
    """Register a dataset an organisation holds, with every field classified (operators only)."""
    return service.create_dataset(session, slug, data)
