"""The identity part's action layer: registering citizens and keeping their address history."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from trusthub.identity.models import Citizen, CitizenAddress
from trusthub.identity.schemas import AddressIn, CitizenCreate, CitizenView
from trusthub.problems import Conflict, InvalidInput, NotFound


def _load(session: Session, citizen_id: int) -> Citizen:
    citizen = session.scalar(
        select(Citizen).where(Citizen.id == citizen_id).options(selectinload(Citizen.addresses))
    )
    if citizen is None:
        raise NotFound("citizen")
    return citizen


def register_citizen(session: Session, data: CitizenCreate) -> CitizenView:
    """Add a citizen; an NHS number or NINO already held by someone else is refused."""
    clash = [Citizen.nhs_number == data.nhs_number]
    if data.nino:
        clash.append(Citizen.nino == data.nino)
    if session.scalar(select(Citizen.id).where(or_(*clash))) is not None:
        raise Conflict("A citizen with that NHS number or National Insurance number exists.")
    citizen = Citizen(
        nhs_number=data.nhs_number,
        nino=data.nino,
        given_name=data.given_name,
        family_name=data.family_name,
        birth_family_name=data.birth_family_name,
        date_of_birth=data.date_of_birth,
        addresses=[CitizenAddress(**data.address.model_dump())],
    )
    session.add(citizen)
    session.flush()
    return CitizenView.model_validate(citizen)


def get_citizen(session: Session, citizen_id: int) -> CitizenView:
    return CitizenView.model_validate(_load(session, citizen_id))


def find_citizen_id_by_nhs_number(session: Session, nhs_number: str) -> int | None:
    return session.scalar(select(Citizen.id).where(Citizen.nhs_number == nhs_number))


def move_citizen(session: Session, citizen_id: int, address: AddressIn) -> CitizenView:
    """Record a move: the current address is closed on the day the new one starts."""
    citizen = _load(session, citizen_id)
    current = citizen.current_address
    if current is not None:
        if address.moved_in <= current.moved_in:
            raise InvalidInput(
                [{"field": "moved_in", "message": "a move must be after the current move-in date"}]
            )
        current.moved_out = address.moved_in
    citizen.addresses.append(CitizenAddress(**address.model_dump()))
    session.flush()
    return CitizenView.model_validate(citizen)
