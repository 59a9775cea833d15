"""FastAPI dependencies shared by every part's routes."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Header, Request
from sqlalchemy.orm import Session, sessionmaker

from trusthub.config import Settings
from trusthub.problems import Problem


def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_session(request: Request) -> Iterator[Session]:
    """One session per request, committed if the handler returns and rolled back if it raises.

    Used with ``scope="function"`` (below), so the commit happens before the response is sent:
    a browser that follows a redirect at once must find what the handler wrote.
    """
    factory: sessionmaker[Session] = request.app.state.sessions
    with factory() as session, session.begin():
        yield session


def require_admin(
    settings: Annotated[Settings, Depends(get_settings_dep)],
    authorization: Annotated[str | None, Header()] = None,
) -> None:
    """Guard operator endpoints with the bearer token from ``TRUSTHUB_ADMIN_TOKEN``."""
    expected = settings.admin_token.get_secret_value() if settings.admin_token else ""
    if not expected:
        raise Problem(403, "Forbidden", "Operator endpoints are off: set TRUSTHUB_ADMIN_TOKEN.")
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not secrets.compare_digest(token.encode(), expected.encode()):
        raise Problem(401, "Unauthorized", "A valid operator bearer token is required.")


DbSession = Annotated[Session, Depends(get_session, scope="function")]
AppSettings = Annotated[Settings, Depends(get_settings_dep)]
Admin = Depends(require_admin)
