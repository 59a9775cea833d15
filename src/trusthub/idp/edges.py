"""What every edge of a provider needs: which provider a request is for, and a transaction."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import anyio.to_thread
from fastapi import Request

from trusthub.db import transaction
from trusthub.identity.oidc.routes import _limiter
from trusthub.idp.flows import Flow
from trusthub.idp.providers import brand, enabled, provider_for
from trusthub.problems import NotFound

T = TypeVar("T")


def flow_for(request: Request, slug: str) -> Flow:
    settings = request.app.state.settings
    if not enabled(settings):
        raise NotFound("identity provider")
    brand(slug)
    return Flow(slug, provider_for(settings, slug))


async def in_transaction(request: Request, action: Callable[..., T], *args: Any) -> T:
    factory = request.app.state.sessions

    def run() -> T:
        with transaction(factory) as db:
            return action(db, *args)

    return await anyio.to_thread.run_sync(run, limiter=_limiter())
