"""Citizen data as accepted at the edge: every identifier is checked before anything is stored."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field, field_validator

from trusthub.identifiers import (
    check_birth_date,
    normalise_nhs_number,
    normalise_nino,
    normalise_postcode,
)


class AddressIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    line1: str = Field(min_length=1, max_length=200)
    town: str = Field(min_length=1, max_length=100)
    postcode: str
    moved_in: date

    @field_validator("postcode")
    @classmethod
    def _postcode(cls, value: str) -> str:
        return normalise_postcode(value)


class CitizenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    nhs_number: str = Field(description="10 digits; spaces allowed; modulus 11 check digit")
    nino: str | None = Field(default=None, description="National Insurance number")
    given_name: str = Field(min_length=1, max_length=100)
    family_name: str = Field(min_length=1, max_length=100)
    birth_family_name: str | None = Field(default=None, max_length=100)
    date_of_birth: date
    address: AddressIn

    @field_validator("nhs_number")
    @classmethod
    def _nhs_number(cls, value: str) -> str:
        return normalise_nhs_number(value)

    @field_validator("nino")
    @classmethod
    def _nino(cls, value: str | None) -> str | None:
        return normalise_nino(value) if value else None

    @field_validator("date_of_birth")
    @classmethod
    def _birth_date(cls, value: date) -> date:
        return check_birth_date(value, today=date.today())


class AddressView(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    line1: str
    town: str
    postcode: str
    moved_in: date
    moved_out: date | None


class CitizenView(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    nhs_number: str
    nino: str | None
    given_name: str
    family_name: str
    birth_family_name: str | None
    date_of_birth: date
    addresses: list[AddressView]
