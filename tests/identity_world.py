"""A small world for the identity hub's tests: an app on https://testserver, clients and citizens.

Registered as a pytest plugin by conftest.py: the fixtures are `hub` and `signing_jwks`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import ECKey, Key, RSAKey

from trusthub.app import create_app
from trusthub.config import Settings
from trusthub.db import make_session_factory, transaction
from trusthub.identity.oidc.keys import new_jwks
from trusthub.identity.oidc.provider import Provider, get_provider
from trusthub.identity.oidc.schemas import RelyingPartyCreate
from trusthub.identity.schemas import AddressIn, CitizenCreate
from trusthub.identity.service import (
    register_citizen,
    register_machine_client,
    register_relying_party,
)
from trusthub.registry.models import OrganisationKind
from trusthub.registry.schemas import OrganisationCreate
from trusthub.registry.service import create_organisation

ISSUER = "https://testserver"
ADMIN_TOKEN = "test-operator-token"
ADA = "9434765919"
BOB = "9434765870"


@dataclass
class RelyingParty:
    client_id: str
    redirect_uri: str
    key: Key | None = None
    secret: str | None = None
    sector: str = ""


@dataclass
class World:
    client: TestClient
    settings: Settings
    provider: Provider
    rps: dict[str, RelyingParty] = field(default_factory=dict)
    machine_id: str = ""
    machine_key: Key | None = None
    citizen_ids: dict[str, int] = field(default_factory=dict)


@pytest.fixture(scope="session")
def signing_jwks() -> dict[str, Any]:
    """One provider key set for the whole run: RSA key generation is slow."""
    return new_jwks()


def _citizen(nhs: str, given: str, family: str) -> CitizenCreate:
    return CitizenCreate(
        nhs_number=nhs,
        given_name=given,
        family_name=family,
        date_of_birth=date(1985, 12, 10),
        address=AddressIn(
            line1="1 Ockham Road", town="London", postcode="SW1A 2AA", moved_in=date(2015, 4, 1)
        ),
    )


def public(key: Key) -> dict[str, Any]:
    return {"keys": [key.as_dict(private=False)]}


def new_ec_key() -> Key:
    key = ECKey.generate_key("P-256", {"alg": "ES256"}, private=True)
    key.ensure_kid()
    return key


def build_world(
    database_url: str, keys_dir: Path, jwks: dict[str, Any], issuer: str = ISSUER, **extra: Any
) -> World:
    extra.setdefault("idp_enabled", False)  # the DEMO sign-in alone, unless a test brokers
    keys_dir.mkdir(parents=True, exist_ok=True)
    key_file = keys_dir / "signing.jwks.json"
    key_file.write_text(json.dumps(jwks))
    settings = Settings(
        database_url=database_url,
        admin_token=ADMIN_TOKEN,
        public_url=issuer,
        log_json=True,
        identity_signing_keys=str(key_file),
        identity_pairwise_key=secrets.token_urlsafe(32),
        identity_keys_dir=keys_dir,
        **extra,
    )
    app = create_app(settings)
    world = World(
        client=TestClient(app, base_url=ISSUER), settings=settings, provider=get_provider(settings)
    )
    gov_key, bank_key, machine_key = new_ec_key(), None, new_ec_key()
    with transaction(make_session_factory(app.state.engine)) as session:
        for slug, kind in (
            ("dwp", OrganisationKind.GOVERNMENT_DEPARTMENT),
            ("bank", OrganisationKind.PRIVATE_RELYING_PARTY),
        ):
            create_organisation(
                session,
                OrganisationCreate(
                    slug=slug,
                    name=slug.upper(),
                    kind=kind,
                    dpo_name="D P O",
                    dpo_email=f"dpo@{slug}.example",
                ),
            )
        for nhs, given, family in ((ADA, "Ada", "Lovelace"), (BOB, "Bob", "Babbage")):
            world.citizen_ids[nhs] = register_citizen(session, _citizen(nhs, given, family)).id
        gov = register_relying_party(
            session,
            RelyingPartyCreate(
                name="Universal Credit",
                organisation="dwp",
                redirect_uris=["https://rp.gov.example/callback"],
                post_logout_redirect_uris=["https://rp.gov.example/signed-out"],
                sector_identifier="gov.example",
                jwks=public(gov_key),
                scopes=["openid", "profile"],
            ),
        )
        gov2 = register_relying_party(
            session,
            RelyingPartyCreate(
                name="Pension credit",
                organisation="dwp",
                redirect_uris=["https://pensions.gov.example/callback"],
                sector_identifier="gov.example",
                token_endpoint_auth_method="client_secret_basic",
            ),
        )
        bank = register_relying_party(
            session,
            RelyingPartyCreate(
                name="A bank",
                organisation="bank",
                redirect_uris=["https://bank.example/oidc/callback"],
                token_endpoint_auth_method="client_secret_basic",
                id_token_signed_response_alg="RS256",
            ),
        )
        world.rps["gov"] = RelyingParty(
            gov.client_id, "https://rp.gov.example/callback", key=gov_key, sector="gov.example"
        )
        world.rps["gov2"] = RelyingParty(
            gov2.client_id,
            "https://pensions.gov.example/callback",
            secret=gov2.client_secret,
            sector="gov.example",
        )
        world.rps["bank"] = RelyingParty(
            bank.client_id,
            "https://bank.example/oidc/callback",
            secret=bank.client_secret,
            sector="bank.example",
            key=bank_key,
        )
        world.machine_id = register_machine_client(session, "dwp", public(machine_key))
        world.machine_key = machine_key
    return world


@pytest.fixture
def hub(database_url: str, tmp_path: Path, signing_jwks: dict[str, Any]) -> Iterator[World]:
    built = build_world(database_url, tmp_path / "keys", signing_jwks)
    with built.client:
        yield built
    built.client.app.state.engine.dispose()  # type: ignore[attr-defined]


# --- protocol helpers, as a relying party and a browser would do it --------------------------


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.rstrip(b"=").decode()


@dataclass
class AuthRequest:
    params: dict[str, str]
    verifier: str

    @property
    def url(self) -> str:
        return "/oauth2/authorize?" + urlencode(self.params)


def auth_request(rp: RelyingParty, **overrides: str | None) -> AuthRequest:
    verifier, challenge = pkce_pair()
    params: dict[str, str | None] = {
        "response_type": "code",
        "client_id": rp.client_id,
        "redirect_uri": rp.redirect_uri,
        "scope": "openid",
        "state": secrets.token_urlsafe(12),
        "nonce": secrets.token_urlsafe(12),
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "vtr": '["Cl"]',
    }
    params.update(overrides)
    return AuthRequest({k: v for k, v in params.items() if v is not None}, verifier)


def query_of(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def sign_in_at(client: TestClient, sign_in_path: str, nhs: str) -> str:
    """Fill in the DEMO sign-in form; returns where the hub sends the browser next."""
    page = client.get(sign_in_path)
    assert page.status_code == 200, page.text
    match = CSRF.search(page.text)
    assert match, "the sign-in form carries a CSRF token"
    posted = client.post(
        sign_in_path,
        data={"nhs_number": nhs, "csrf_token": match.group(1)},
        follow_redirects=False,
    )
    assert posted.status_code == 303, posted.text
    return str(posted.headers["location"])


def authorize_in_browser(client: TestClient, url: str, nhs: str = ADA) -> str:
    """Authorize as a citizen would: sign in if asked; returns the redirect back to the service."""
    answer = client.get(url, follow_redirects=False)
    if answer.status_code == 303 and answer.headers["location"].startswith("/identity/sign-in/"):
        carry_on = sign_in_at(client, answer.headers["location"], nhs)
        answer = client.get(carry_on, follow_redirects=False)
    assert answer.status_code == 302, answer.text
    return str(answer.headers["location"])


def assertion(
    key: Key,
    client_id: str,
    audience: str = ISSUER + "/oauth2/token",
    *,
    alg: str = "ES256",
    lifetime: int = 60,
    jti: str | None = None,
    **claims: Any,
) -> str:
    now = int(time.time())
    body: dict[str, Any] = {
        "iss": client_id,
        "sub": client_id,
        "aud": audience,
        "iat": now,
        "exp": now + lifetime,
        "jti": jti or uuid.uuid4().hex,
    }
    body.update(claims)
    header = {"alg": alg}
    if key.kid:
        header["kid"] = key.kid
    return jwt.encode(header, body, key, algorithms=[alg])


def assertion_form(key: Key, client_id: str, **kwargs: Any) -> dict[str, str]:
    return {
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": assertion(key, client_id, **kwargs),
    }


def redeem(world: World, rp_name: str, code: str, verifier: str | None, **extra: str) -> Any:
    """Exchange a code at the token endpoint, authenticating as the relying party does."""
    rp = world.rps[rp_name]
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": rp.redirect_uri}
    if verifier is not None:
        form["code_verifier"] = verifier
    form.update(extra)
    if rp.key is not None:
        form.update(assertion_form(rp.key, rp.client_id))
        return world.client.post("/oauth2/token", data=form)
    assert rp.secret is not None
    return world.client.post("/oauth2/token", data=form, auth=(rp.client_id, rp.secret))


def machine_token(world: World, **kwargs: Any) -> Any:
    assert world.machine_key is not None
    form = {"grant_type": "client_credentials", "scope": "exchange"}
    form.update(assertion_form(world.machine_key, world.machine_id, **kwargs))
    return world.client.post("/oauth2/token", data=form)


def new_rsa_key() -> Key:
    key = RSAKey.generate_key(2048, {"alg": "RS256"}, private=True)
    key.ensure_kid()
    return key


def set_cookie(client: TestClient, name: str, value: str) -> None:
    """Put a cookie in the test browser as the server's own are kept (host testserver.local)."""
    client.cookies.set(name, value, domain="testserver.local", path="/")
