"""What the registry accepts and returns: pydantic models checked at every edge."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

from trusthub.registry.models import FieldClassification, OrganisationKind

SLUG = r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$"

KIND_LABELS = {
    OrganisationKind.GOVERNMENT_DEPARTMENT: "Government department",
    OrganisationKind.NHS_BODY: "NHS body",
    OrganisationKind.LOCAL_AUTHORITY: "Local authority",
    OrganisationKind.RESEARCH_PARTNER: "Research partner",
    OrganisationKind.PRIVATE_RELYING_PARTY: "Private relying party",
}

CLASSIFICATION_LABELS = {
    FieldClassification.DIRECT_IDENTIFIER: "Direct identifier",
    FieldClassification.QUASI_IDENTIFIER: "Quasi-identifier",
    FieldClassification.SENSITIVE: "Sensitive",
    FieldClassification.NON_PERSONAL: "Non-personal",
}


class FieldCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,63}$", description="snake_case field name")
    classification: FieldClassification
    description: str = Field(default="", max_length=2000)


class DatasetCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    slug: str = Field(pattern=SLUG)
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=5000)
    record_key: str = Field(description="The field used to find a person's record.")
    fields: list[FieldCreate] = Field(min_length=1)

    @field_validator("fields")
    @classmethod
    def _unique_names(cls, fields: list[FieldCreate]) -> list[FieldCreate]:
        names = [f.name for f in fields]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"field names must be unique; repeated: {', '.join(repeated)}")
        return fields


class OrganisationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    slug: str = Field(pattern=SLUG)
    name: str = Field(min_length=1, max_length=200)
    kind: OrganisationKind
    dpo_name: str = Field(min_length=1, max_length=200, description="Data protection officer")
    dpo_email: EmailStr


class FieldView(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    name: str
    classification: FieldClassification
    classification_label: str
    description: str


class DatasetView(BaseModel):
    slug: str
    organisation: str
    title: str
    description: str
    record_key: str
    fields: list[FieldView]


class OrganisationView(BaseModel):
    slug: str
    name: str
    kind: OrganisationKind
    kind_label: str
    dpo_name: str
    dpo_email: str
    datasets: list[DatasetView]
