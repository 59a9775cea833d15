"""The identity part's action layer: citizens and their addresses; clients of the OIDC provider.

The OpenID Connect protocol itself is Authlib's, driven from ``identity.oidc``; what routes, pages
and the CLI do besides the protocol goes through these functions.
"""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from trusthub.config import Settings, get_settings
from trusthub.identity.models import Citizen, CitizenAddress
from trusthub.identity.oidc.keys import DEFAULT_ALG, KeyRing, rotate_key_file
from trusthub.identity.oidc.machine import MachineCaller, verify_machine_token
from trusthub.identity.oidc.provider import get_provider, signing_key_file
from trusthub.identity.oidc.registration import register_machine_client, register_relying_party
from trusthub.identity.oidc.store import purge_expired
from trusthub.identity.schemas import AddressIn, CitizenCreate, CitizenView
from trusthub.problems import Conflict, InvalidInput, NotFound

__all__ = [
    "MachineCaller",
    "authenticate_machine_client",
    "find_citizen_id_by_nhs_number",
    "get_citizen",
    "move_citizen",
    "purge_expired",
    "register_citizen",
    "register_machine_client",
    "register_relying_party",
    "rotate_signing_keys",
    "signing_keys",
]


def authenticate_machine_client(token: str, settings: Settings | None = None) -> MachineCaller:
    """Who a machine access token stands for — for the exchange; Problem 401 if it is not valid.

    Checks signature (published keys), ``typ: at+jwt``, issuer, audience (the exchange), expiry
    and the organisation claim, without touching the database.
    """
    return verify_machine_token(get_provider(settings or get_settings()), token)


def signing_keys(settings: Settings) -> KeyRing:
    """The provider's current signing keys (the first of each algorithm is active)."""
    return get_provider(settings).keyring()


def rotate_signing_keys(settings: Settings, alg: str = DEFAULT_ALG, keep: int = 1) -> str:
    """Make a new active key for ``alg``; ``keep`` retired ones stay published. Returns the kid.

    Running servers pick the change up on their next request. Wait at least the longest token
    lifetime before rotating again, so every token in circulation stays verifiable.
    """
    return rotate_key_file(signing_key_file(settings), alg, keep)


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
