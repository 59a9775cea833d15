"""Agreement terms as the ICO data sharing code and the DEA 2017 Part 5 codes ask them recorded."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from trusthub.registry.agreement_rules import (
    AgreementStatus,
    Article9Condition,
    DataForm,
    EventKind,
    LawfulBasis,
    Party,
    PurposeCategory,
)
from trusthub.registry.schemas import SLUG


class Contact(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: str = Field(min_length=1, max_length=100, examples=["Information asset owner"])
    name: str = Field(min_length=1, max_length=200)
    email: EmailStr


class AgreementTerms(BaseModel):
    """Everything an agreement commits both parties to; a new version for every change."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    provider: str = Field(pattern=SLUG, description="The organisation that holds the data")
    recipient: str = Field(pattern=SLUG)
    dataset: str = Field(pattern=SLUG, description="One of the provider's datasets")
    fields: list[str] = Field(min_length=1, description="The only fields that may be shared")
    purpose: str = Field(min_length=10, max_length=2000, description="In plain English")
    purpose_category: PurposeCategory
    lawful_basis: LawfulBasis
    article9_condition: Article9Condition | None = None
    legal_gateway: str | None = Field(
        default=None, max_length=200, examples=["Digital Economy Act 2017 s.35"]
    )
    data_form: DataForm
    retention_days: int = Field(gt=0, le=36_500)
    starts_on: date
    ends_on: date
    dpia_reference: str | None = Field(default=None, max_length=100)
    contacts: list[Contact] = Field(min_length=1)


class AgreementAction(BaseModel):
    """An approval, suspension, reinstatement or revocation, by one party."""

    model_config = ConfigDict(extra="forbid")

    party: Party
    actor: str = Field(min_length=1, max_length=200, description="Who acts, e.g. the DPO")
    note: str = Field(default="", max_length=2000)


class AgreementEventView(BaseModel):
    kind: EventKind
    version: int
    party: Party
    actor: str
    note: str
    occurred_at: datetime


class AgreementView(BaseModel):
    reference: str
    status: AgreementStatus
    version: int
    approved_by: list[Party]
    terms: AgreementTerms
    history: list[AgreementEventView]


class RegisterEntry(BaseModel):
    """What the public register shows: the terms and status, not the contacts' addresses."""

    reference: str
    status: AgreementStatus
    provider: str
    recipient: str
    dataset: str
    fields: list[str]
    purpose: str
    purpose_category: PurposeCategory
    lawful_basis: LawfulBasis
    article9_condition: Article9Condition | None
    legal_gateway: str | None
    data_form: DataForm
    retention_days: int
    starts_on: date
    ends_on: date
    dpia_reference: str | None
