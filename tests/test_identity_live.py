"""The provider over real HTTP, used by relying parties nobody here wrote.

openid-client (JavaScript, npm) and requests-oauthlib (Python) each run the code flow against the
app under uvicorn; the ID token is checked by openid-client itself, and by PyJWT fetching the
JWKS over HTTP. openid-client also gets a machine token by client credentials.
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
import pytest
from requests_oauthlib import OAuth2Session

from identity_world import ADA, World, build_world
from live_server import NODE_DIR, live_hub, node_with_openid_client
from trusthub.identity.service import authenticate_machine_client

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, signing_jwks: dict[str, Any]) -> Iterator[World]:
    """The app under uvicorn in a child process, on a migrated and seeded SQLite file."""

    def build(database_url: str, keys: Path, issuer: str) -> World:
        return build_world(database_url, keys, signing_jwks, issuer=issuer)

    with live_hub(tmp_path_factory.mktemp("identity-live"), build) as hub:
        yield hub


def _issuer(hub: World) -> str:
    return hub.provider.issuer


def _browser_sign_in(issuer: str, authorization_url: str) -> str:
    """Play the citizen's browser through the DEMO sign-in; returns the callback URL."""
    with httpx.Client(base_url=issuer, follow_redirects=False) as browser:
        answer = browser.get(authorization_url)
        assert answer.status_code == 303, answer.text
        sign_in = answer.headers["location"]
        page = browser.get(sign_in).text
        csrf = page.split('name="csrf_token" value="')[1].split('"')[0]
        answer = browser.post(sign_in, data={"nhs_number": ADA, "csrf_token": csrf})
        assert answer.status_code == 303, answer.text
        answer = browser.get(answer.headers["location"])
        assert answer.status_code == 302, answer.text
        return str(answer.headers["location"])


def test_openid_client_from_npm_runs_the_flow(live: World) -> None:
    node = node_with_openid_client()
    rp, machine_key = live.rps["gov"], live.machine_key
    assert rp.key is not None and machine_key is not None
    given = {
        "issuer": _issuer(live),
        "nhs": ADA,
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
    assert result["iss"] == _issuer(live)
    assert result["vot"] == "Cl" and result["vtm"] == _issuer(live) + "/trustmark"
    assert result["userinfo_sub"] == result["sub"]
    assert result["stateRefused"] is True
    assert result["reuseRefused"] is True
    assert result["end_session"].startswith(_issuer(live) + "/oauth2/logout?")
    caller = authenticate_machine_client(result["machine_token"], live.settings)
    assert caller.organisation_slug == "dwp" and caller.client_id == live.machine_id


def test_requests_oauthlib_with_basic_auth_and_pyjwt(
    live: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # loopback http in the test only
    issuer = _issuer(live)
    metadata = httpx.get(f"{issuer}/.well-known/openid-configuration").json()
    rp = live.rps["gov2"]
    session = OAuth2Session(
        rp.client_id, redirect_uri=rp.redirect_uri, scope=["openid"], pkce="S256"
    )
    nonce = "n-" + os.urandom(8).hex()
    url, state = session.authorization_url(
        metadata["authorization_endpoint"], nonce=nonce, vtr='["Cl"]'
    )
    callback = _browser_sign_in(issuer, url)
    token = session.fetch_token(
        metadata["token_endpoint"], authorization_response=callback, client_secret=rp.secret
    )
    jwks = pyjwt.PyJWKClient(metadata["jwks_uri"])
    signing_key = jwks.get_signing_key_from_jwt(token["id_token"])
    claims = pyjwt.decode(
        token["id_token"],
        signing_key.key,
        algorithms=["ES256"],
        audience=rp.client_id,
        issuer=issuer,
    )
    assert claims["nonce"] == nonce and state
    info = session.get(metadata["userinfo_endpoint"]).json()
    assert info == {"sub": claims["sub"]}
