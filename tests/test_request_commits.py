"""A handler's writes are committed before its response leaves, so a followed redirect sees them.

The citizen's "Sign in" registers the pages' own client and redirects to /oauth2/authorize at
once; had the commit waited until after the response, the browser could reach the authorization
endpoint first and be refused an unknown client.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import select

from identity_world import World
from trusthub.db import make_session_factory
from trusthub.identity.hub_signin import HUB_CLIENT_ID
from trusthub.identity.oidc.models import OAuthClient


def _scope(path: str) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "https",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"testserver")],
        "server": ("testserver", 443),
        "client": ("127.0.0.1", 50000),
    }


def test_the_sign_in_client_is_committed_before_the_redirect_leaves(hub: World) -> None:
    app = hub.client.app
    factory = make_session_factory(app.state.engine)  # type: ignore[attr-defined]
    wanted = select(OAuthClient.client_id).where(OAuthClient.client_id == HUB_CLIENT_ID)
    with factory() as db:
        assert db.scalar(wanted) is None  # the first sign-in is the one that registers it
    seen: list[tuple[int, str | None]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            with factory() as db:  # another connection, as the redirected request would use
                seen.append((message["status"], db.scalar(wanted)))

    asyncio.run(app(_scope("/citizen/sign-in/start"), receive, send))  # type: ignore[arg-type]
    assert seen == [(303, HUB_CLIENT_ID)]
