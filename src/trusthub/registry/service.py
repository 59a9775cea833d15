"""The registry's one action layer: API routes, pages and the CLI all call these functions."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from trusthub.problems import Conflict, InvalidInput, NotFound
from trusthub.registry.agreements import (
    act_on_agreement,
    amend_agreement,
    draft_agreement,
    get_agreement,
    public_register,
)
from trusthub.registry.models import Dataset, DatasetField, Organisation
from trusthub.registry.schemas import (
    CLASSIFICATION_LABELS,
    KIND_LABELS,
    DatasetCreate,
    DatasetView,
    FieldView,
    OrganisationCreate,
    OrganisationView,
)

__all__ = [
    "act_on_agreement",
    "amend_agreement",
    "create_dataset",
    "create_organisation",
    "draft_agreement",
    "get_agreement",
    "get_organisation",
    "list_organisations",
    "public_register",
]


def _dataset_view(dataset: Dataset, organisation_slug: str) -> DatasetView:
    return DatasetView(
        slug=dataset.slug,
        organisation=organisation_slug,
        title=dataset.title,
        description=dataset.description,
        record_key=dataset.record_key,
        fields=[
            FieldView(
                name=f.name,
                classification=f.classification,
                classification_label=CLASSIFICATION_LABELS[f.classification],
                description=f.description,
            )
            for f in dataset.fields
        ],
    )


def _organisation_view(org: Organisation) -> OrganisationView:
    return OrganisationView(
        slug=org.slug,
        name=org.name,
        kind=org.kind,
        kind_label=KIND_LABELS[org.kind],
        dpo_name=org.dpo_name,
        dpo_email=org.dpo_email,
        datasets=[_dataset_view(d, org.slug) for d in org.datasets],
    )


def _load_organisation(session: Session, slug: str) -> Organisation:
    org = session.scalar(
        select(Organisation)
        .where(Organisation.slug == slug)
        .options(selectinload(Organisation.datasets).selectinload(Dataset.fields))
    )
    if org is None:
        raise NotFound("organisation")
    return org


def list_organisations(session: Session) -> list[OrganisationView]:
    orgs = session.scalars(
        select(Organisation)
        .order_by(Organisation.name)
        .options(selectinload(Organisation.datasets).selectinload(Dataset.fields))
    )
    return [_organisation_view(o) for o in orgs]


def get_organisation(session: Session, slug: str) -> OrganisationView:
    return _organisation_view(_load_organisation(session, slug))


def create_organisation(session: Session, data: OrganisationCreate) -> OrganisationView:
    if session.scalar(select(Organisation.id).where(Organisation.slug == data.slug)) is not None:
        raise Conflict(f"An organisation with the slug '{data.slug}' already exists.")
    org = Organisation(**data.model_dump())
    org.datasets = []
    session.add(org)
    try:
        session.flush()
    except IntegrityError as error:
        raise Conflict(f"An organisation with the slug '{data.slug}' already exists.") from error
    return _organisation_view(org)


def create_dataset(session: Session, organisation_slug: str, data: DatasetCreate) -> DatasetView:
    """Register a dataset and classify every one of its fields; its record key must be a field."""
    org = _load_organisation(session, organisation_slug)
    if data.record_key not in {f.name for f in data.fields}:
        raise InvalidInput(
            [{"field": "record_key", "message": "the record key must be one of the fields"}]
        )
    if any(d.slug == data.slug for d in org.datasets):
        raise Conflict(f"'{organisation_slug}' already holds a dataset called '{data.slug}'.")
    dataset = Dataset(
        slug=data.slug,
        title=data.title,
        description=data.description,
        record_key=data.record_key,
        fields=[DatasetField(position=i, **f.model_dump()) for i, f in enumerate(data.fields)],
    )
    org.datasets.append(dataset)
    session.flush()
    return _dataset_view(dataset, org.slug)
