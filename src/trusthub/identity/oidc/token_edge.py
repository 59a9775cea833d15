"""The token endpoint answered ahead of FastAPI's router: the hub's hottest path, kept lean.

Machine clients call ``POST /oauth2/token`` far more often than anything else. Routing it through
FastAPI (route matching over every part's routes, dependency solving, a second exception layer)
cost about as much CPU as the grant itself, so this ASGI middleware, placed inside the request
id and metrics middleware, reads the form and hands it to the same action as the documented
route in ``routes.py``. Everything else passes straight through.
"""

from __future__ import annotations

from typing import Any

from authlib.oauth2.rfc6749.errors import InsecureTransportError
from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from trusthub.identity.oidc.provider import Provider, get_provider
from trusthub.identity.oidc.routes import token_answer
from trusthub.identity.oidc.server import (
    FORM,
    MAX_BODY,
    BadRequest,
    HubRequest,
    form_pairs,
    oauth_error,
)

TOKEN_PATH = "/oauth2/token"  # noqa: S105 - a path


class _Route:
    """What the metrics middleware reads from ``scope["route"]``: the route's template."""

    path = TOKEN_PATH


_ROUTE = _Route()


async def _form(receive: Receive) -> bytes | None:
    """The request body, at most MAX_BODY bytes; None if the client went away."""
    body = bytearray()
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        body += message.get("body", b"")
        if len(body) > MAX_BODY:
            raise BadRequest("the request body is too large")
        if not message.get("more_body", False):
            return bytes(body)


def _content_type(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == b"content-type":
            return str(value.decode("latin-1").split(";")[0].strip().lower())
    return ""


class TokenEndpoint:
    """Answer ``POST /oauth2/token`` directly; pass every other request to the app."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._provider: tuple[Any, Provider] | None = None

    def provider(self, settings: Any) -> Provider:
        """The app's provider, looked up once per settings object rather than per request."""
        if self._provider is None or self._provider[0] is not settings:
            self._provider = (settings, get_provider(settings))
        return self._provider[1]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["path"] != TOKEN_PATH
            or scope["method"] != "POST"
            or scope.get("root_path")
        ):
            await self.app(scope, receive, send)
            return
        scope["route"] = _ROUTE
        response = await self.answer(scope, receive)
        if response is not None:
            await response(scope, receive, send)

    async def answer(self, scope: Scope, receive: Receive) -> Response | None:
        state = scope["app"].state
        provider = self.provider(state.settings)
        try:
            if _content_type(scope) != FORM:
                raise BadRequest(f"send parameters as {FORM}")
            body = await _form(receive)
            if body is None:
                return None
            try:
                form = form_pairs(body.decode("utf-8"))
            except UnicodeDecodeError as error:
                raise BadRequest("the request body is not UTF-8") from error
            query = scope.get("query_string", b"").decode("latin-1")
            uri = provider.url(TOKEN_PATH) + (f"?{query}" if query else "")
            request = HubRequest("POST", uri, Headers(scope=scope), form_pairs(query), form)
        except BadRequest as error:
            return oauth_error("invalid_request", str(error))
        except InsecureTransportError:
            return oauth_error("invalid_request", "the issuer must be https (or loopback http)")
        return await token_answer(state, provider, request)
