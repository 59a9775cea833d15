"""The providers' clients as Authlib sees them, in the hub's own ``ClientRecord`` shape."""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from trusthub.identity.oidc.clients import ClientRecord, check_public_jwks
from trusthub.identity.oidc.models import ClientKind
from trusthub.idp.models import IdpClient

SCOPES = ("openid", "profile", "address")
JWKS_CACHE_SECONDS = 300
_jwks_cache: dict[str, tuple[float, dict[str, Any]]] = {}
_lock = threading.Lock()


def fetch_jwks(uri: str) -> dict[str, Any] | None:
    """A client's public keys from its jwks_uri, kept for five minutes; None if unreachable."""
    now = time.monotonic()
    with _lock:
        cached = _jwks_cache.get(uri)
    if cached and now - cached[0] < JWKS_CACHE_SECONDS:
        return cached[1]
    try:
        answer = httpx.get(uri, timeout=5.0, follow_redirects=False)
        answer.raise_for_status()
        keys = check_public_jwks(answer.json())
    except (httpx.HTTPError, ValueError):
        return None
    with _lock:
        _jwks_cache[uri] = (now, keys)
    return keys


_CLIENT = select(
    IdpClient.client_id,
    IdpClient.name,
    IdpClient.redirect_uris,
    IdpClient.token_endpoint_auth_method,
    IdpClient.jwks,
    IdpClient.jwks_uri,
    IdpClient.client_secret_hash,
).where(IdpClient.idp == bindparam("b_idp"), IdpClient.client_id == bindparam("b_client_id"))
"""Built once, run on the session's connection: read afresh at every grant, so a changed
client (keys, redirect URIs) counts from the next request."""


def load_client(db: Session, idp: str, client_id: str) -> ClientRecord | None:
    if not isinstance(client_id, str) or len(client_id) > 64:
        return None
    params = {"b_idp": idp, "b_client_id": client_id}
    row = db.connection().execute(_CLIENT, params).first()
    if row is None:
        return None
    jwks = row.jwks
    if jwks is None and row.jwks_uri:
        jwks = fetch_jwks(row.jwks_uri)
    return ClientRecord(
        client_id=row.client_id,
        name=row.name,
        kind=ClientKind.RELYING_PARTY,
        organisation_slug=None,
        sector_identifier=row.client_id,
        redirect_uris=tuple(row.redirect_uris or ()),
        post_logout_redirect_uris=(),
        grant_types=("authorization_code",),
        scopes=SCOPES,
        token_endpoint_auth_method=row.token_endpoint_auth_method,
        jwks=jwks,
        client_secret_hash=row.client_secret_hash,
        id_token_signed_response_alg="ES256",  # noqa: S106 - an algorithm name
    )
