"""A hub that brokers the demo identity providers, and a citizen's browser going through them.

The providers are the real ones under /idp/{slug} in the same app; the broker reaches them
through the test client's own transport. The hub is registered at each provider with its public
client keys, and Ada has a proven (GPG 45 M1B, P2) account with a password and TOTP.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pyotp
import pytest
from sqlalchemy import update

from identity_world import ADA, ISSUER, World, auth_request, build_world, query_of
from trusthub.db import make_session_factory, transaction
from trusthub.identity.broker.config import CALLBACK_PATH, broker_setup, demo_client_id, key_store
from trusthub.idp import service as idp_service
from trusthub.idp.models import IdpAccount

PASSWORD = "correct horse battery staple"
TOTP_SECRET = pyotp.random_base32()
IDP = "post-office"
M1B = {
    "profile": "M1B",
    "evidence": [{"strength": 3, "validity": 2}],
    "activity": 1,
    "fraud": 2,
    "verification": 2,
}
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def make_brokered(
    database_url: str, keys_dir: Path, jwks: dict[str, Any], issuer: str = ISSUER
) -> World:
    world = build_world(
        database_url, keys_dir, jwks, issuer=issuer, idp_enabled=True, idp_keys_dir=keys_dir / "idp"
    )
    app = world.client.app
    app.state.identity_broker_transport = world.client._transport  # type: ignore[attr-defined]
    setup = broker_setup(world.settings)
    public = key_store(setup.client_keys, "broker client").keyring().public_jwks()
    with transaction(make_session_factory(app.state.engine)) as db:  # type: ignore[attr-defined]
        for provider in setup.providers:
            idp_service.register_client(
                db,
                provider.slug,
                [issuer + CALLBACK_PATH],
                client_id=demo_client_id(provider.slug),
                jwks=public,
            )
            idp_service.create_account(
                db,
                provider.slug,
                "ada",
                PASSWORD,
                given_name="Ada",
                family_name="Lovelace",
                birthdate=date(1985, 12, 10),
                totp_secret=TOTP_SECRET,
            )
    return world


def prove(
    world: World, username: str = "ada", gpg45: Any = M1B, confidence: int = 2, idp: str = IDP
) -> None:
    """Put a proven identity on the provider's account (as its proving pages would)."""
    app = world.client.app
    with transaction(make_session_factory(app.state.engine)) as db:  # type: ignore[attr-defined]
        db.execute(
            update(IdpAccount)
            .where(IdpAccount.idp == idp, IdpAccount.username == username)
            .values(confidence=confidence, gpg45=gpg45)
        )


@pytest.fixture
def brokered(database_url: str, tmp_path: Path, signing_jwks: dict[str, Any]) -> Iterator[World]:
    world = make_brokered(database_url, tmp_path / "keys", signing_jwks)
    with world.client:
        yield world
    world.client.app.state.engine.dispose()  # type: ignore[attr-defined]


def csrf_of(text: str) -> str:
    match = CSRF.search(text)
    assert match, "the form carries a CSRF token"
    return match.group(1)


def choose_provider(client: httpx.Client, chooser: str, slug: str = IDP) -> str:
    """On the hub's choose page, pick a provider; returns the provider's authorization URL."""
    page = client.get(chooser)
    assert page.status_code == 200, page.text
    answer = client.post(
        chooser + "/provider",
        data={"provider": slug, "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    return str(answer.headers["location"])


def at_provider(client: httpx.Client, authorize_url: str, totp: bool = True) -> str:
    # one TOTP code is accepted once: tests that sign in twice use two providers
    """Sign in at the provider with password (and TOTP); returns its redirect to the hub, which
    answers the sign-in itself (no stop at its authorize/continue)."""
    answer = client.get(authorize_url, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    sign_in = answer.headers["location"]
    page = client.get(sign_in)
    assert page.status_code == 200, page.text
    form = {"username": "ada", "password": PASSWORD, "csrf_token": csrf_of(page.text)}
    if totp:
        form["totp"] = pyotp.TOTP(TOTP_SECRET).now()
    answer = client.post(sign_in, data=form, follow_redirects=False)
    assert answer.status_code == 302, answer.text
    return str(answer.headers["location"])


def through_broker(
    world: World, url: str, client: httpx.Client | None = None, idp: str = IDP
) -> tuple[str, str]:
    """From a service's authorization request to the hub's answer back to the service.

    Returns (the provider's authorization URL, the final redirect to the service).
    """
    client = client or world.client
    issuer = world.provider.issuer
    answer = client.get(url, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    outbound = choose_provider(client, answer.headers["location"], idp)
    back = at_provider(client, outbound)
    assert back.startswith(issuer + CALLBACK_PATH)
    answer = client.get(back, follow_redirects=False)  # the callback answers the service
    assert answer.status_code == 302, answer.text
    return outbound, str(answer.headers["location"])


__all__ = [
    "ADA",
    "IDP",
    "M1B",
    "auth_request",
    "parse_qs",
    "query_of",
    "urlsplit",
]
