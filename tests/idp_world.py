"""A small world for the identity providers' tests: an app on https://testserver, a client, people.

The relying party is Authlib's own OAuth 2.0 client, as the hub's broker uses it.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pyotp
import pytest
from authlib.integrations.httpx_client import OAuth2Client
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from fastapi.testclient import TestClient
from joserfc.jwk import ECKey, Key

from trusthub.app import create_app
from trusthub.config import Settings
from trusthub.db import make_session_factory, transaction
from trusthub.idp import service
from trusthub.idp.claims import Address

ORIGIN = "https://testserver"
IDP = "post-office"
ISSUER = f"{ORIGIN}/idp/{IDP}"
REDIRECT = "https://hub.example/identity/broker/post-office/callback"
PASSWORD = "correct horse battery"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class IdpWorld:
    client: TestClient
    settings: Settings
    key: Key
    client_id: str = ""
    secret_client_id: str = ""
    secret: str = ""
    totp: dict[str, str] = field(default_factory=dict)

    def db(self) -> Any:
        return transaction(make_session_factory(self.client.app.state.engine))  # type: ignore[attr-defined]


def new_ec_key() -> Key:
    key = ECKey.generate_key("P-256", {"alg": "ES256"}, private=True)
    key.ensure_kid()
    return key


def make_person(world: IdpWorld, username: str, confidence: int, totp: bool = True) -> None:
    with world.db() as db:
        secret = pyotp.random_base32() if totp else None
        account = service.create_account(
            db,
            IDP,
            username,
            PASSWORD,
            given_name="Ada",
            family_name="Lovelace",
            birthdate=date(1985, 12, 10),
            addresses=[
                Address("2 Old Road", "Leeds", "LS1 4AP", date(2010, 1, 1), date(2015, 4, 1)),
                Address("1 Ockham Road", "London", "SW1A 2AA", date(2015, 4, 1)),
            ],
            totp_secret=secret,
        )
        account.confidence = confidence
        if confidence:
            account.gpg45 = {"profile": "M1B", "confidence": "medium"}
        if secret:
            world.totp[username] = secret


def build(database_url: str, keys_dir: Path) -> IdpWorld:
    settings = Settings(
        database_url=database_url,
        public_url=ORIGIN,
        log_json=True,
        idp_keys_dir=keys_dir,
        identity_keys_dir=keys_dir,
    )
    app = create_app(settings)
    world = IdpWorld(TestClient(app, base_url=ORIGIN), settings, new_ec_key())
    with world.db() as db:
        world.client_id = service.register_client(
            db, IDP, [REDIRECT], client_id="hub", jwks={"keys": [world.key.as_dict(private=False)]}
        ).client_id
        secret_client = service.register_client(db, IDP, [REDIRECT], secret=True)
        world.secret_client_id = secret_client.client_id
        world.secret = secret_client.client_secret or ""
    make_person(world, "ada", 2)
    make_person(world, "bob", 0)
    make_person(world, "cyd", 2, totp=False)
    return world


@pytest.fixture
def idp(database_url: str, tmp_path: Path) -> Iterator[IdpWorld]:
    world = build(database_url, tmp_path / "keys")
    with world.client:
        yield world
    world.client.app.state.engine.dispose()  # type: ignore[attr-defined]


def discover(world: IdpWorld, slug: str = IDP) -> dict[str, Any]:
    answer = world.client.get(f"/idp/{slug}/.well-known/openid-configuration")
    assert answer.status_code == 200, answer.text
    metadata: dict[str, Any] = answer.json()
    return metadata


def relying_party(world: IdpWorld, metadata: dict[str, Any], secret: bool = False) -> OAuth2Client:
    """Authlib's client as the hub's broker configures it, over the test transport."""
    common: dict[str, Any] = {
        "scope": "openid profile",
        "redirect_uri": REDIRECT,
        "code_challenge_method": "S256",
        "transport": world.client._transport,
    }
    if secret:
        return OAuth2Client(
            world.secret_client_id,
            world.secret,
            token_endpoint_auth_method="client_secret_basic",
            **common,
        )
    client = OAuth2Client(
        world.client_id, world.key, token_endpoint_auth_method="private_key_jwt", **common
    )
    client.register_client_auth_method(
        PrivateKeyJWT(metadata["token_endpoint"], headers={"kid": world.key.kid}, alg="ES256")
    )
    return client


def sign_in_form(world: IdpWorld, location: str) -> tuple[str, str]:
    page = world.client.get(location)
    assert page.status_code == 200, page.text
    match = CSRF.search(page.text)
    assert match, "the sign-in form carries a CSRF token"
    return page.text, match.group(1)


def sign_in(
    world: IdpWorld, location: str, username: str, password: str = PASSWORD, totp: str | None = None
) -> Any:
    _, csrf = sign_in_form(world, location)
    code = totp if totp is not None else pyotp.TOTP(world.totp.get(username, "A" * 32)).now()
    return world.client.post(
        location,
        data={"username": username, "password": password, "totp": code, "csrf_token": csrf},
        follow_redirects=False,
    )


def new_nonce() -> str:
    return secrets.token_urlsafe(16)
