"""HTTP API of the consent part (operator endpoints until citizen sign-in exists)."""

from __future__ import annotations

from fastapi import APIRouter, status

from trusthub.consent import service
from trusthub.consent.schemas import ChoiceIn, ChoiceStateView
from trusthub.deps import Admin, DbSession

router = APIRouter(prefix="/api/v1/citizens", tags=["consent"], dependencies=[Admin])


@router.get("/{citizen_id}/choices")
def choice_state(citizen_id: int, session: DbSession) -> ChoiceStateView:
    """The citizen's current opt-out, objections and consents, derived from their events."""
    return service.choice_state(session, citizen_id)


@router.post("/{citizen_id}/choices", status_code=status.HTTP_201_CREATED)
def record_choice(citizen_id: int, choice: ChoiceIn, session: DbSession) -> ChoiceStateView:
    """Record a choice as a new event; earlier events are never changed."""
    return service.record_choice(session, citizen_id, choice)
