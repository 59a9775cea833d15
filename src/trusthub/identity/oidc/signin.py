"""The DEMO sign-in: pick a citizen of the synthetic world by NHS number — no identity checked.

It stands where the identity broker will stand. It asserts only what it can honestly assert: a
one-factor credential and no identity confidence (``Cl.P0``), so a service that asks for more is
told its requirements are unmet rather than given a pretend identity.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from trusthub.identifiers import InvalidIdentifier, normalise_nhs_number
from trusthub.identity.oidc import sessions
from trusthub.identity.oidc.clients import load_client
from trusthub.identity.oidc.provider import DEMO_SIGN_IN_VECTOR, Provider
from trusthub.identity.oidc.sessions import Waiting
from trusthub.identity.oidc.vtr import parse_vector
from trusthub.identity.service import find_citizen_id_by_nhs_number
from trusthub.problems import InvalidInput, NotFound, Problem

DEMO_METHOD = "demo"


@dataclass(frozen=True)
class SignInView:
    """What the sign-in page shows: who asks, and the level they need."""

    client_name: str
    asked: str
    asserted: str


def _waiting(db: Session, provider: Provider, handle: str, binding: str | None) -> Waiting:
    if not provider.demo_sign_in:
        raise NotFound("sign-in page")
    waiting = sessions.waiting_request(db, handle, binding)
    if waiting is None:
        raise Problem(
            400,
            "Your sign-in has expired",
            "Go back to the service and start again. A sign-in lasts 15 minutes and works "
            "only in the browser it was started in.",
            kind="sign-in-expired",
        )
    return waiting


def sign_in_view(db: Session, provider: Provider, handle: str, binding: str | None) -> SignInView:
    waiting = _waiting(db, provider, handle, binding)
    client = load_client(db, waiting.client_id)
    name = client.name if client else "A service"
    return SignInView(name, waiting.target.text, DEMO_SIGN_IN_VECTOR)


def demo_sign_in(
    db: Session,
    provider: Provider,
    handle: str,
    binding: str | None,
    csrf_token: str | None,
    nhs_number: str,
    previous_session: str | None = None,
) -> str:
    """Sign in as the demo citizen with this NHS number; returns the new session's cookie value.

    Any session the browser had is ended: a sign-in always starts a new one.
    """
    if not sessions.same_secret(csrf_token, binding):
        raise Problem(
            403,
            "This form has expired",
            "Go back to the service and start again.",
            kind="csrf",
        )
    waiting = _waiting(db, provider, handle, binding)
    reach = parse_vector(DEMO_SIGN_IN_VECTOR)
    if not reach.satisfies(waiting.target):
        raise Problem(400, "This service needs a stronger sign-in", kind="unmet-requirements")
    try:
        normalised = normalise_nhs_number(nhs_number)
    except InvalidIdentifier as error:
        raise InvalidInput(
            [
                {
                    "field": "nhs_number",
                    "message": "Enter a 10-digit NHS number with a valid check digit",
                }
            ]
        ) from error
    citizen_id = find_citizen_id_by_nhs_number(db, normalised)
    if citizen_id is None:
        raise InvalidInput(
            [{"field": "nhs_number", "message": "No citizen of the demo world has this NHS number"}]
        )
    sessions.end_session(db, previous_session)
    return sessions.start_session(db, citizen_id, reach, DEMO_METHOD)
