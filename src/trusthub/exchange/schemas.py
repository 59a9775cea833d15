"""What a recipient asks the exchange for, and what it gets back."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from trusthub.exchange.policy import Reason
from trusthub.identifiers import normalise_nhs_number, normalise_nino
from trusthub.registry.agreement_rules import PurposeCategory


class Subject(BaseModel):
    """Whose record: exactly one strong identifier."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    nhs_number: str | None = None
    nino: str | None = None

    @field_validator("nhs_number")
    @classmethod
    def _nhs(cls, value: str | None) -> str | None:
        return None if value is None else normalise_nhs_number(value)

    @field_validator("nino")
    @classmethod
    def _nino(cls, value: str | None) -> str | None:
        return None if value is None else normalise_nino(value)

    @model_validator(mode="after")
    def _exactly_one(self) -> Subject:
        if (self.nhs_number is None) == (self.nino is None):
            raise ValueError("give exactly one of nhs_number or nino")
        return self


class RecordRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    agreement: str = Field(min_length=1, max_length=32, examples=["DSA-2026-00001"])
    purpose_category: PurposeCategory
    subject: Subject
    fields: list[str] | None = Field(
        default=None, description="Omit for every field the agreement allows."
    )


MAX_BATCH = 1000
"""The most citizens one batch may ask for; larger sets belong in a bulk extract."""


class BatchRequest(BaseModel):
    """Several citizens' records under one agreement and purpose, decided one by one."""

    model_config = ConfigDict(extra="forbid")

    agreement: str = Field(min_length=1, max_length=32, examples=["DSA-2026-00001"])
    purpose_category: PurposeCategory
    subjects: list[Subject] = Field(min_length=1, max_length=MAX_BATCH)
    fields: list[str] | None = Field(
        default=None, description="Omit for every field the agreement allows."
    )


class LedgerReceipt(BaseModel):
    index: int
    leaf_hash: str = Field(description="Lower-case hex SHA-256 leaf hash (RFC 9162)")


class RecordAnswer(BaseModel):
    agreement: str
    record: dict[str, object]
    exemption: str | None = Field(
        default=None, description="Why a choice of the citizen's did not bind this use."
    )
    ledger: LedgerReceipt


class BatchResult(BaseModel):
    """One citizen's answer in a batch, at the position the subject had in the request."""

    position: int
    permitted: bool
    record: dict[str, object] | None = None
    reasons: list[Reason] = Field(default_factory=list)
    exemption: str | None = None


class BatchAnswer(BaseModel):
    """Every citizen's decision; the whole batch is one ledger entry, recorded before this."""

    agreement: str
    results: list[BatchResult]
    ledger: LedgerReceipt


class Refusal(BaseModel):
    """The body of a refused request (problem+json): machine-readable reasons."""

    reasons: list[Reason]
    ledger: LedgerReceipt
