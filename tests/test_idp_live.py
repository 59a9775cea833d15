"""``trusthub idp serve`` on its own port, driven over real HTTP by Authlib's client."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from urllib.parse import urljoin

import httpx
import pyotp
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import OAuth2Client
from sqlalchemy import Engine

from idp_world import CSRF
from live_server import free_port, serving
from trusthub.db import make_session_factory, transaction
from trusthub.idp import service

REDIRECT = "http://127.0.0.1:9/callback"
PASSWORD = "a long demo password"


@contextmanager
def idp_server(database_url: str, slug: str, keys: Path) -> Iterator[str]:
    port = free_port()
    settings = {"TRUSTHUB_DATABASE_URL": database_url, "TRUSTHUB_IDP_KEYS_DIR": str(keys)}
    command = [sys.executable, "-c", "from trusthub.cli import main; main()",
               "idp", "serve", slug, "--port", str(port)]  # fmt: skip
    with serving(command, port, keys.parent, settings, "the provider") as url:
        yield url


def test_a_provider_on_its_own_port_signs_a_person_in(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    secret = pyotp.random_base32()
    with transaction(make_session_factory(engine)) as db:
        registered = service.register_client(db, "bank", [REDIRECT], secret=True)
        account = service.create_account(
            db, "bank", "grace", PASSWORD, given_name="Grace", family_name="Hopper",
            birthdate=date(1986, 12, 9), totp_secret=secret,
        )  # fmt: skip
        account.confidence = 2
    with idp_server(database_url, "bank", tmp_path / "keys") as origin:
        issuer = f"{origin}/idp/bank"
        metadata = httpx.get(f"{issuer}/.well-known/openid-configuration").json()
        assert metadata["issuer"] == issuer
        assert metadata["token_endpoint"] == f"{issuer}/oauth2/token"
        client = OAuth2Client(
            registered.client_id, registered.client_secret, scope="openid profile",
            redirect_uri=REDIRECT, code_challenge_method="S256",
            token_endpoint_auth_method="client_secret_basic",
        )  # fmt: skip
        verifier = generate_token(48)
        url, _ = client.create_authorization_url(
            metadata["authorization_endpoint"], code_verifier=verifier, nonce=generate_token(20),
            vtr='["Cl.Cm.P2"]',
        )  # fmt: skip
        with httpx.Client(follow_redirects=False) as browser:
            sign_in = urljoin(origin, browser.get(url).headers["location"])
            page = browser.get(sign_in)
            csrf = CSRF.search(page.text)
            assert csrf
            form = {"username": "grace", "password": PASSWORD,
                    "totp": pyotp.TOTP(secret).now(), "csrf_token": csrf[1]}  # fmt: skip
            callback = browser.post(sign_in, data=form)  # answers the service at once
            assert callback.status_code == 302, callback.text
        token = client.fetch_token(
            metadata["token_endpoint"],
            authorization_response=callback.headers["location"],
            code_verifier=verifier,
        )
        assert token["id_token"]
        info = client.get(metadata["userinfo_endpoint"]).json()
        assert (info["given_name"], info["family_name"]) == ("Grace", "Hopper")
