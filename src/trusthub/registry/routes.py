"""HTTP API of the registry: thin calls into ``registry.service``."""

from __future__ import annotations

import enum

from fastapi import APIRouter, status

from trusthub.deps import Admin, DbSession
from trusthub.registry import service
from trusthub.registry.agreement_rules import EventKind
from trusthub.registry.agreement_schemas import (
    AgreementAction,
    AgreementTerms,
    AgreementView,
    RegisterEntry,
)
from trusthub.registry.schemas import (
    DatasetCreate,
    DatasetView,
    OrganisationCreate,
    OrganisationView,
)

router = APIRouter(prefix="/api/v1", tags=["registry"])


class AgreementActionKind(enum.StrEnum):
    """The path word for each life-cycle action."""

    APPROVE = "approve"
    SUSPEND = "suspend"
    REINSTATE = "reinstate"
    REVOKE = "revoke"


ACTION_EVENTS = {
    AgreementActionKind.APPROVE: EventKind.APPROVED,
    AgreementActionKind.SUSPEND: EventKind.SUSPENDED,
    AgreementActionKind.REINSTATE: EventKind.REINSTATED,
    AgreementActionKind.REVOKE: EventKind.REVOKED,
}


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


@router.get("/register", tags=["registry"])
def public_register(session: DbSession) -> list[RegisterEntry]:
    """The public register of data-sharing agreements (everything past draft), as the DEA asks."""
    return service.public_register(session)


@router.post("/agreements", status_code=status.HTTP_201_CREATED, dependencies=[Admin])
def draft_agreement(terms: AgreementTerms, session: DbSession, actor: str) -> AgreementView:
    """Register draft terms; both parties' data protection officers must approve them."""
    return service.draft_agreement(session, terms, actor)


@router.get("/agreements/{reference}", dependencies=[Admin])
def get_agreement(reference: str, session: DbSession) -> AgreementView:
    """An agreement's current terms, derived status and whole history."""
    return service.get_agreement(session, reference)


@router.put("/agreements/{reference}/terms", dependencies=[Admin])
def amend_agreement(
    reference: str, terms: AgreementTerms, session: DbSession, actor: str
) -> AgreementView:
    """Add a new version of a draft's terms; earlier approvals no longer count."""
    return service.amend_agreement(session, reference, terms, actor)


@router.post("/agreements/{reference}/{kind}", dependencies=[Admin])
def act_on_agreement(
    reference: str, kind: AgreementActionKind, action: AgreementAction, session: DbSession
) -> AgreementView:
    """Approve, suspend, reinstate or revoke; refused with the reason if the life cycle forbids."""
    return service.act_on_agreement(session, reference, ACTION_EVENTS[kind], action)
