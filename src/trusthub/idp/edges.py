"""What every edge of a provider needs: which provider a request is for, and a transaction."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import Request

from trusthub.identity.oidc import workers
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
    """``action(db, *args)`` in one of the protocol's worker threads, committed whole or not at
    all (a plain executor hop: anyio's costs about three times the CPU)."""
    return await workers.in_transaction(request.app.state, action, *args)
