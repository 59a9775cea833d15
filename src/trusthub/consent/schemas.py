"""Choices as accepted at the edge and as reported back."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from trusthub.consent.models import Channel, ChoiceAction, ChoiceKind


class ChoiceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: ChoiceKind
    action: ChoiceAction
    scope: str | None = Field(default=None, max_length=64)
    channel: Channel
    occurred_at: datetime | None = Field(default=None, description="Defaults to now.")

    @field_validator("occurred_at")
    @classmethod
    def _not_future(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        if aware > datetime.now(UTC):
            raise ValueError("a choice cannot be made in the future")
        return aware

    @model_validator(mode="after")
    def _scope_matches_kind(self) -> ChoiceIn:
        national = self.kind is ChoiceKind.NATIONAL_DATA_OPT_OUT
        if national and self.scope is not None:
            raise ValueError("the national data opt-out has no scope")
        if not national and not self.scope:
            raise ValueError("an objection or consent names what it is about (scope)")
        return self


class ChoiceStateView(BaseModel):
    national_opt_out: bool
    objections: list[str]
    consents: list[str]
