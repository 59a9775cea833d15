"""FastAPI dependencies other parts use to know who is calling."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from trusthub.deps import AppSettings, DbSession
from trusthub.identity import hub_signin
from trusthub.identity.oidc.machine import MachineCaller, verify_machine_token
from trusthub.identity.oidc.provider import get_provider
from trusthub.problems import Problem


def require_machine_client(
    settings: AppSettings, authorization: Annotated[str | None, Header()] = None
) -> MachineCaller:
    """The machine client behind ``Authorization: Bearer <access token>``, or 401."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Problem(
            401, "Unauthorized", "A bearer access token is required.", kind="invalid-token"
        )
    return verify_machine_token(get_provider(settings), token.strip())


MachineClient = Annotated[MachineCaller, Depends(require_machine_client)]
"""Use as a route parameter type: ``caller: MachineClient``."""


def signed_in_citizen(request: Request, session: DbSession, settings: AppSettings) -> int | None:
    """The citizen signed in at the hub in this browser, or None: never an id from the request."""
    provider = get_provider(settings)
    token = request.cookies.get(hub_signin.session_cookie(provider))
    return hub_signin.signed_in_citizen(session, provider, token)


SignedInCitizen = Annotated[int | None, Depends(signed_in_citizen)]
"""Use as a page parameter type; the page decides what to do for nobody (redirect or 401)."""
