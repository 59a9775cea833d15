"""What a department sends to match one verified identity, and what it gets back."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from trusthub.identity.matching.decision import Decision, Outcome, Question

_NAME = Field(min_length=1, max_length=100)
_OPTIONAL_NAME = Field(default=None, min_length=1, max_length=100)
_POSTCODE = Field(default=None, min_length=5, max_length=10)
_IDENTIFIER = Field(default=None, min_length=5, max_length=20)


class VerifiedIdentity(BaseModel):
    """The matching dataset an identity provider asserted (GOV.UK Verify's, plus history)."""

    model_config = ConfigDict(extra="forbid")

    given_name: str = _NAME
    middle_name: str | None = _OPTIONAL_NAME
    family_name: str = _NAME
    former_family_name: str | None = _OPTIONAL_NAME
    date_of_birth: date | None = None
    postcode: str | None = _POSTCODE
    previous_postcode: str | None = _POSTCODE
    nino: str | None = _IDENTIFIER
    driving_licence_number: str | None = _IDENTIFIER


class MatchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    department: str = Field(
        pattern=r"^[a-z0-9-]+\.[a-z0-9-]+$", description="The dataset as organisation.dataset."
    )
    identity: VerifiedIdentity
    answer: str | None = Field(
        default=None,
        min_length=5,
        max_length=20,
        description="The citizen's answer to the question asked last time (cycle 3).",
    )

    def identity_row(self) -> dict[str, Any]:
        return self.identity.model_dump()


class MatchAnswer(BaseModel):
    """``match`` names the record; ``ambiguous`` may come with the one question to ask."""

    outcome: Outcome
    local_id: str | None = None
    question: Question | None = None

    @classmethod
    def of(cls, decision: Decision) -> MatchAnswer:
        return cls(outcome=decision.outcome, local_id=decision.local_id, question=decision.question)
