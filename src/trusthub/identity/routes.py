"""HTTP API of the identity part (operator endpoints until citizen sign-in exists)."""

from __future__ import annotations

from fastapi import APIRouter, status

from trusthub.deps import Admin, DbSession
from trusthub.identity import service
from trusthub.identity.schemas import AddressIn, CitizenCreate, CitizenView

router = APIRouter(prefix="/api/v1/citizens", tags=["identity"], dependencies=[Admin])


@router.post("", status_code=status.HTTP_201_CREATED)
def register_citizen(data: CitizenCreate, session: DbSession) -> CitizenView:
    """Register a citizen; invalid NHS numbers, NINOs, postcodes or dates are refused whole."""
    return service.register_citizen(session, data)


@router.get("/{citizen_id}")
def get_citizen(citizen_id: int, session: DbSession) -> CitizenView:
    return service.get_citizen(session, citizen_id)


@router.post("/{citizen_id}/addresses")
def move_citizen(citizen_id: int, address: AddressIn, session: DbSession) -> CitizenView:
    """Record that the citizen moved; the previous address stays in the history."""
    return service.move_citizen(session, citizen_id, address)
