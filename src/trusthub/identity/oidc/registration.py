"""Registering clients: relying parties citizens sign in to, and organisations' machine clients."""

from __future__ import annotations

import re
import secrets
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from trusthub.identity.oidc.clients import (
    CLIENT_SECRET_BASIC,
    PRIVATE_KEY_JWT,
    ClientRecord,
    check_public_jwks,
    digest,
    load_client,
)
from trusthub.identity.oidc.models import ClientKind, OAuthClient
from trusthub.identity.oidc.schemas import RelyingPartyCreate, RelyingPartyView
from trusthub.problems import InvalidInput, NotFound
from trusthub.registry.models import Organisation

MACHINE_SCOPE = re.compile(r"^[a-z][a-z0-9:._-]{0,63}$")
RESERVED_SCOPES = {"openid", "profile", "email", "offline_access"}
DEFAULT_MACHINE_SCOPES = ("exchange",)


def _organisation(session: Session, slug: str) -> Organisation:
    organisation = session.scalar(select(Organisation).where(Organisation.slug == slug))
    if organisation is None:
        raise NotFound("organisation")
    return organisation


def _public_keys(jwks: Any) -> dict[str, Any]:
    try:
        return check_public_jwks(jwks)
    except ValueError as error:
        raise InvalidInput([{"field": "jwks", "message": str(error)}]) from error


def _check_scopes(scopes: list[str]) -> list[str]:
    bad = [s for s in scopes if not MACHINE_SCOPE.match(s) or s in RESERVED_SCOPES]
    if bad or not scopes:
        raise InvalidInput(
            [{"field": "scopes", "message": "machine scopes are lower-case names, not OIDC ones"}]
        )
    return list(dict.fromkeys(scopes))


def register_machine_client(
    session: Session,
    organisation_slug: str,
    jwks: dict[str, Any],
    *,
    scopes: list[str] | None = None,
    name: str | None = None,
) -> str:
    """Register an organisation's machine client with its public keys; returns its client_id."""
    organisation = _organisation(session, organisation_slug)
    public = _public_keys(jwks)
    granted = _check_scopes(list(scopes or DEFAULT_MACHINE_SCOPES))
    client_id = f"{organisation.slug}-{secrets.token_urlsafe(12)}"
    session.add(
        OAuthClient(
            client_id=client_id,
            name=name or f"{organisation.name} (machine client)",
            kind=ClientKind.MACHINE,
            organisation_id=organisation.id,
            sector_identifier=f"organisation:{organisation.slug}",
            redirect_uris=[],
            post_logout_redirect_uris=[],
            grant_types=["client_credentials"],
            scope=" ".join(granted),
            token_endpoint_auth_method=PRIVATE_KEY_JWT,
            jwks=public,
        )
    )
    session.flush()
    return client_id


def _sector(data: RelyingPartyCreate) -> str:
    """The given sector, or the one host all redirect URIs share (OIDC Core §8.1)."""
    if data.sector_identifier:
        return data.sector_identifier
    hosts = {urlsplit(uri).hostname for uri in data.redirect_uris}
    if len(hosts) != 1:
        raise InvalidInput(
            [{"field": "sector_identifier", "message": "redirect URIs on several hosts need one"}]
        )
    return str(hosts.pop())


def register_relying_party(session: Session, data: RelyingPartyCreate) -> RelyingPartyView:
    """Register a service citizens sign in to; a client secret, if any, is shown only now."""
    organisation_id = _organisation(session, data.organisation).id if data.organisation else None
    secret = None
    if data.token_endpoint_auth_method == CLIENT_SECRET_BASIC:
        secret = secrets.token_urlsafe(32)
    client = OAuthClient(
        client_id=f"rp-{secrets.token_urlsafe(12)}",
        name=data.name,
        kind=ClientKind.RELYING_PARTY,
        organisation_id=organisation_id,
        sector_identifier=_sector(data),
        redirect_uris=list(data.redirect_uris),
        post_logout_redirect_uris=list(data.post_logout_redirect_uris),
        grant_types=["authorization_code"],
        scope=" ".join(dict.fromkeys(data.scopes)),
        token_endpoint_auth_method=data.token_endpoint_auth_method,
        jwks=_public_keys(data.jwks) if data.jwks else None,
        client_secret_hash=digest(secret) if secret else None,
        id_token_signed_response_alg=data.id_token_signed_response_alg,
        rp_kind=data.kind,
        allowed_claims=None if data.allowed_claims is None else list(data.allowed_claims),
        minimum_vector=data.minimum_level,
    )
    session.add(client)
    session.flush()
    return RelyingPartyView(
        client_id=client.client_id,
        client_secret=secret,
        name=client.name,
        sector_identifier=client.sector_identifier,
        redirect_uris=client.redirect_uris,
        token_endpoint_auth_method=client.token_endpoint_auth_method,
        id_token_signed_response_alg=client.id_token_signed_response_alg,
        kind=client.rp_kind,
        allowed_claims=client.allowed_claims,
        minimum_level=client.minimum_vector,
    )


def machine_client(session: Session, client_id: str) -> ClientRecord:
    client = load_client(session, client_id)
    if client is None or client.kind != ClientKind.MACHINE:
        raise NotFound("machine client")
    return client
