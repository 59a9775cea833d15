"""The broker over real HTTP: relying parties nobody here wrote sign a citizen in at the hub,
through a demo identity provider (password and TOTP), and get a P2 identity.

openid-client (npm) and Authlib's client each run the flow against the app under uvicorn; the
ID token is checked by the client library itself and by PyJWT against the published JWKS.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt as pyjwt
import pyotp
import pytest
from authlib.integrations.httpx_client import OAuth2Client
from authlib.oauth2.rfc7523 import PrivateKeyJWT

from broker_world import IDP, PASSWORD, TOTP_SECRET, make_brokered, prove, through_broker
from identity_world import World
from live_server import NODE_DIR, live_hub, node_with_openid_client
from trusthub.identity.oidc.claims import CORE_IDENTITY_CLAIM

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, signing_jwks: dict[str, Any]) -> Iterator[World]:
    def build(database_url: str, keys: Path, issuer: str) -> World:
        hub = make_brokered(database_url, keys, signing_jwks, issuer=issuer)
        prove(hub)
        prove(hub, idp="bank")
        return hub

    with live_hub(tmp_path_factory.mktemp("broker-live"), build, providers=True) as hub:
        yield hub


def test_openid_client_from_npm_gets_p2_through_the_broker(live: World) -> None:
    node = node_with_openid_client()
    issuer = live.provider.issuer
    rp, machine_key = live.rps["gov"], live.machine_key
    assert rp.key is not None and machine_key is not None
    given = {
        "issuer": issuer,
        "vtr": '["Cl.Cm.P2"]',
        "scope": "openid profile",
        "broker": {
            "provider": IDP,
            "username": "ada",
            "password": PASSWORD,
            "totp": pyotp.TOTP(TOTP_SECRET).now(),
        },
        "rp": {
            "client_id": rp.client_id,
            "redirect_uri": rp.redirect_uri,
            "jwk": rp.key.as_dict(private=True),
        },
        "machine": {"client_id": live.machine_id, "jwk": machine_key.as_dict(private=True)},
    }
    run = subprocess.run(  # noqa: S603 - our script, our input
        [node, "rp.mjs", json.dumps(given)],
        cwd=NODE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert result["iss"] == issuer and result["vot"] == "Cl.Cm.P2"
    assert result["userinfo"]["given_name"] == "Ada"
    assert CORE_IDENTITY_CLAIM in result["userinfo"]
    assert "/idp/" not in json.dumps(result["userinfo"]) + json.dumps(result["id_token_claims"])
    assert result["stateRefused"] is True and result["reuseRefused"] is True


def test_authlib_client_gets_p2_through_the_broker(live: World) -> None:
    issuer = live.provider.issuer
    metadata = httpx.get(f"{issuer}/.well-known/openid-configuration").json()
    rp = live.rps["gov"]
    assert rp.key is not None
    client = OAuth2Client(
        rp.client_id,
        client_secret=rp.key,
        token_endpoint_auth_method="private_key_jwt",
        redirect_uri=rp.redirect_uri,
        scope="openid profile",
        code_challenge_method="S256",
    )
    client.register_client_auth_method(
        PrivateKeyJWT(metadata["token_endpoint"], alg="ES256", headers={"kid": rp.key.kid})
    )
    verifier, nonce = "v" * 64, "nonce-" + os.urandom(8).hex()
    url, state = client.create_authorization_url(
        metadata["authorization_endpoint"], code_verifier=verifier, nonce=nonce, vtr='["Cl.Cm.P2"]'
    )
    with httpx.Client(base_url=issuer, follow_redirects=False) as browser:
        _, callback = through_broker(live, url, client=browser, idp="bank")
    token = client.fetch_token(
        metadata["token_endpoint"], authorization_response=callback, code_verifier=verifier
    )
    signing_key = pyjwt.PyJWKClient(metadata["jwks_uri"]).get_signing_key_from_jwt(
        token["id_token"]
    )
    claims = pyjwt.decode(
        token["id_token"], signing_key.key, algorithms=["ES256"], audience=rp.client_id,
        issuer=issuer,
    )  # fmt: skip
    assert claims["nonce"] == nonce and claims["vot"] == "Cl.Cm.P2" and state
    info = client.get(metadata["userinfo_endpoint"]).json()
    assert info["family_name"] == "Lovelace" and info["sub"] == claims["sub"]
