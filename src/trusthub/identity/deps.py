"""FastAPI dependencies other parts use to know who is calling."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header

from trusthub.deps import AppSettings
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
