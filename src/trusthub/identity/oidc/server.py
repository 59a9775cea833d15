"""Authlib's framework-agnostic AuthorizationServer wired to Starlette requests and responses.

Authlib is synchronous, so a route reads the request body on the event loop, builds a
``HubRequest`` from plain values, and runs the server in a worker thread with one database
transaction. A server is built per request: it carries that request's session, so no state is
shared between threads.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl

from authlib.oauth2.rfc6749 import AuthorizationServer, JsonRequest, OAuth2Payload, OAuth2Request
from authlib.oauth2.rfc6749.requests import JsonPayload
from prometheus_client import Counter
from sqlalchemy import insert
from sqlalchemy.orm import Session
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response

from trusthub.identity.oidc import store
from trusthub.identity.oidc.clients import ClientRecord, digest, load_client
from trusthub.identity.oidc.endpoints import EndSession, UserInfo
from trusthub.identity.oidc.grants import (
    AccessTokens,
    AuthorizationCodeGrant,
    ClientCredentialsGrant,
    HubOpenIDCode,
    PrivateKeyJWT,
    S256Challenge,
)
from trusthub.identity.oidc.models import AccessToken
from trusthub.identity.oidc.provider import Provider
from trusthub.identity.oidc.release import Release, release_for
from trusthub.identity.oidc.sessions import SignedIn
from trusthub.models_common import utcnow

# Authlib logs issued tokens at DEBUG ("Issue token %r to %r"); tokens must never reach a log.
logging.getLogger("authlib").setLevel(logging.INFO)

MAX_BODY = 64 * 1024
MAX_FIELDS = 64
FORM = "application/x-www-form-urlencoded"

CLIENT_AUTHENTICATIONS = Counter(
    "trusthub_oauth_client_authentications_total",
    "Clients authenticated at the token endpoint, by method.",
    ["method"],
)


class BadRequest(ValueError):
    """The HTTP request cannot even be read as an OAuth request."""


class _Payload(OAuth2Payload):  # type: ignore[misc]
    def __init__(self, items: list[tuple[str, str]]) -> None:
        datalist: defaultdict[str, list[str]] = defaultdict(list)
        for name, value in items:
            datalist[name].append(value)
        self._datalist = datalist
        self._data = {name: values[0] for name, values in datalist.items()}

    @property
    def data(self) -> dict[str, str]:
        return self._data

    @property
    def datalist(self) -> defaultdict[str, list[str]]:
        return self._datalist


class HubRequest(OAuth2Request):  # type: ignore[misc]
    """An OAuth request from plain values, so Authlib can run away from the event loop."""

    def __init__(
        self,
        method: str,
        uri: str,
        headers: Headers,
        query: list[tuple[str, str]],
        form: list[tuple[str, str]],
    ) -> None:
        super().__init__(method, uri, headers=headers)
        self._args = _Payload(query)
        self._form = _Payload(form)
        self.payload = self._form if method == "POST" else self._args

    @property
    def args(self) -> dict[str, str]:
        return self._args.data

    @property
    def form(self) -> dict[str, str]:
        return self._form.data

    def replayable_query(self) -> list[tuple[str, str]]:
        """The request's parameters, to replay it after the citizen has signed in."""
        return [(k, v) for k, values in self.payload.datalist.items() for v in values]


class _JsonPayload(JsonPayload):  # type: ignore[misc]
    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data

    @property
    def data(self) -> dict[str, Any]:
        return self._data


async def _body(request: Request) -> bytes:
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise BadRequest("the request body is too large")
    return bytes(body)


def form_pairs(text: str) -> list[tuple[str, str]]:
    try:
        return parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FIELDS)
    except ValueError as error:
        raise BadRequest("too many parameters") from error


async def read_request(request: Request, provider: Provider) -> HubRequest:
    """Read a Starlette request into a ``HubRequest``, addressed by the issuer, not by Host."""
    form: list[tuple[str, str]] = []
    if request.method == "POST":
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != FORM:
            raise BadRequest(f"send parameters as {FORM}")
        try:
            form = form_pairs((await _body(request)).decode("utf-8"))
        except UnicodeDecodeError as error:
            raise BadRequest("the request body is not UTF-8") from error
    query = request.url.query
    uri = provider.url(request.url.path) + (f"?{query}" if query else "")
    return HubRequest(request.method, uri, request.headers, form_pairs(query), form)


def replayed_request(provider: Provider, path: str, query: str, headers: Headers) -> HubRequest:
    """A stored authorization request, rebuilt as the GET it started as."""
    return HubRequest("GET", provider.url(path) + f"?{query}", headers, form_pairs(query), [])


def oauth_error(error: str, description: str, status: int = 400) -> Response:
    body = json.dumps({"error": error, "error_description": description})
    return Response(body, status, {"Cache-Control": "no-store"}, media_type="application/json")


_SAVE_TOKEN = insert(AccessToken)
"""Built once, run on the session's connection (an ORM object per token cost more CPU)."""


class HubServer(AuthorizationServer):  # type: ignore[misc]
    """The hub's authorization server for one request, bound to its database session."""

    def __init__(self, provider: Provider, db: Session, signed_in: SignedIn | None = None) -> None:
        super().__init__(scopes_supported=None)
        self.provider = provider
        self.db = db
        self.signed_in = signed_in
        self.releases: list[Release] = []
        self._clients: dict[str, ClientRecord | None] = {}
        self.register_token_generator("default", AccessTokens(provider))
        self.register_client_auth_method(PrivateKeyJWT.CLIENT_AUTH_METHOD, PrivateKeyJWT(self))
        self.register_grant(AuthorizationCodeGrant, [S256Challenge(), HubOpenIDCode(self)])
        self.register_grant(ClientCredentialsGrant)
        self.register_endpoint(UserInfo(self))
        self.register_endpoint(EndSession(self))

    def relax_durability(self) -> None:
        """This request's one write may skip the wait for the disk (client credentials)."""
        store.relax_commit_durability(self.db)

    def query_client(self, client_id: str) -> ClientRecord | None:
        if client_id not in self._clients:
            self._clients[client_id] = load_client(self.db, client_id)
        return self._clients[client_id]

    def save_token(self, token: dict[str, Any], request: Any) -> None:
        """Keep citizens' access tokens (hashed) so they can be revoked; machine ones are not."""
        user = request.user
        if user is None:
            return
        scope = token.get("scope", "")
        self.releases.append(
            release_for(request.client, user.citizen_id, scope, user.vot, token["access_token"])
        )
        self.db.connection().execute(
            _SAVE_TOKEN,
            {
                "token_hash": digest(token["access_token"]),
                "client_id": request.client.client_id,
                "citizen_id": user.citizen_id,
                "code_id": request.authorization_code.id,
                "scope": token.get("scope", ""),
                "vot": user.vot,
                "expires_at": utcnow() + timedelta(seconds=int(token["expires_in"])),
            },
        )

    def create_oauth2_request(self, request: Any) -> OAuth2Request:
        if isinstance(request, OAuth2Request):
            return request
        raise TypeError("build a HubRequest with read_request() first")

    def create_json_request(self, request: Any) -> JsonRequest:
        """For JSON endpoints (e.g. RFC 7591 registration): a HubRequest whose body is JSON."""
        if isinstance(request, JsonRequest):
            return request
        if isinstance(request, HubRequest):
            json_request = JsonRequest(request.method, request.uri, request.headers)
            json_request.payload = _JsonPayload(dict(request.form))
            return json_request
        raise TypeError("build a HubRequest with read_request() first")

    def handle_response(self, status: int, body: Any, headers: list[tuple[str, str]]) -> Response:
        content = json.dumps(body) if isinstance(body, dict) else (body or "")
        return Response(content, status, dict(headers))

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        """Authlib's hook after client authentication: counted by method, never by client."""
        if name == "after_authenticate_client":
            grant = kwargs.get("grant")
            method = getattr(getattr(grant, "request", None), "auth_method", None)
            CLIENT_AUTHENTICATIONS.labels(method or "unknown").inc()
