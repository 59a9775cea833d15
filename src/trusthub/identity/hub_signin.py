"""The hub's own pages sign citizens in through the hub's authorization endpoint, like any service.

The citizen's page is a relying party of the hub itself: "Sign in" starts an ordinary
authorization request, so whatever sign-in the hub offers (the DEMO sign-in in development, the
identity broker otherwise) ends in the one hub session the page then reads. The code that comes
back is never redeemed: the page needs the session, not tokens, and its client has no
credentials at all, so nobody can redeem it.
"""

from __future__ import annotations

import base64
import hashlib
import json
from urllib.parse import urlencode

from sqlalchemy import select
from sqlalchemy.orm import Session

from trusthub.identity.oidc.clients import CLIENT_SECRET_BASIC
from trusthub.identity.oidc.models import ClientKind, OAuthClient
from trusthub.identity.oidc.provider import Provider
from trusthub.identity.oidc.sessions import SESSION_COOKIE, cookie_name, current_session, new_secret
from trusthub.identity.oidc.vtr import Vector, parse_vector

HUB_CLIENT_ID = "trusthub-citizen-pages"
HUB_CLIENT_NAME = "TrustHub: your data"
CALLBACK_PATH = "/citizen/signed-in"
PAGE_VECTOR = "Cl.Cm.P2"
"""Seeing who used your data needs a proven identity (GPG 45 medium) and two-factor sign-in."""
DEMO_PAGE_VECTOR = "Cl"
"""Where the DEMO sign-in is on, it is all there is: it proves no identity (see signin.py)."""


def page_vector(provider: Provider) -> Vector:
    """What a hub session must hold before the citizen's own pages show anything."""
    return parse_vector(DEMO_PAGE_VECTOR if provider.demo_sign_in else PAGE_VECTOR)


def _ensure_client(db: Session, provider: Provider) -> None:
    """The pages' client exists and points back to this issuer (which tests and deploys vary)."""
    redirect = [provider.url(CALLBACK_PATH)]
    client = db.scalar(select(OAuthClient).where(OAuthClient.client_id == HUB_CLIENT_ID))
    if client is None:
        db.add(
            OAuthClient(
                client_id=HUB_CLIENT_ID,
                name=HUB_CLIENT_NAME,
                kind=ClientKind.RELYING_PARTY,
                organisation_id=None,
                sector_identifier="trusthub",
                redirect_uris=redirect,
                post_logout_redirect_uris=[],
                grant_types=["authorization_code"],
                scope="openid",
                token_endpoint_auth_method=CLIENT_SECRET_BASIC,
                jwks=None,
                client_secret_hash=None,
            )
        )
    elif client.redirect_uris != redirect:
        client.redirect_uris = redirect
    db.flush()


def sign_in_location(db: Session, provider: Provider, state: str) -> str:
    """Where "Sign in" sends the browser: the hub's authorization endpoint, for the pages' client.

    PKCE is required of every client, so a challenge is sent; its verifier is thrown away since
    the code is never redeemed.
    """
    _ensure_client(db, provider)
    verifier = new_secret()
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    query = {
        "response_type": "code",
        "client_id": HUB_CLIENT_ID,
        "redirect_uri": provider.url(CALLBACK_PATH),
        "scope": "openid",
        "state": state,
        "nonce": new_secret(),
        "code_challenge": challenge.rstrip(b"=").decode(),
        "code_challenge_method": "S256",
        "vtr": json.dumps([page_vector(provider).text]),
    }
    return "/oauth2/authorize?" + urlencode(query)


def session_cookie(provider: Provider) -> str:
    return cookie_name(SESSION_COOKIE, provider.secure_cookies)


def signed_in_citizen(db: Session, provider: Provider, token: str | None) -> int | None:
    """The citizen whose live hub session this cookie is, if it is strong enough for the pages."""
    signed_in = current_session(db, token)
    if signed_in is None or not signed_in.held.satisfies(page_vector(provider)):
        return None
    return signed_in.citizen_id
