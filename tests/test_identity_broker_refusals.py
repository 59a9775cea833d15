"""The broker refuses what it cannot verify: each bad answer from an identity provider is turned
away, no hub session starts, and nothing reaches the service.

The provider here is deliberately a rogue one, served by httpx's MockTransport: it answers the
hub's real requests (discovery, JWKS, token with private_key_jwt and PKCE, UserInfo) with
whatever each case needs, so the refusals are the broker's own.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, Key, KeySet

from broker_world import M1B, choose_provider
from identity_world import ISSUER, World, auth_request, build_world, query_of
from trusthub.identity.broker.client import verify_id_token
from trusthub.identity.broker.config import broker_setup, key_store

ROGUE = "https://rogue.example/idp"
CLIENT_ID = "hub-at-rogue"


def ec_key() -> Key:
    key = ECKey.generate_key("P-256", {"alg": "ES256"}, private=True)
    key.ensure_kid()
    return key


ROGUE_KEY, OTHER_KEY = ec_key(), ec_key()


def id_token(sent: str, **changes: Any) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": ROGUE,
        "aud": CLIENT_ID,
        "sub": "rogue-subject-1",
        "iat": now,
        "exp": now + 300,
        "nonce": sent,
        "vot": "Cl.Cm.P2",
        "vtm": ROGUE + "/trustmark",
    }
    key = changes.pop("key", ROGUE_KEY)
    claims.update(changes)
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode({"alg": "ES256", "kid": ROGUE_KEY.kid}, claims, key)


class Rogue:
    """A provider whose token endpoint answers with ``self.answer(nonce)``."""

    def __init__(self, hub_keys: KeySet) -> None:
        self.hub_keys = hub_keys
        self.nonce = ""
        self.answer: Callable[[str], str] = lambda nonce: id_token(nonce)
        self.gpg45: Any = M1B
        self.token_forms: list[dict[str, str]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/idp/.well-known/openid-configuration":
            return httpx.Response(
                200,
                json={
                    "issuer": ROGUE,
                    "authorization_endpoint": ROGUE + "/authorize",
                    "token_endpoint": ROGUE + "/token",
                    "userinfo_endpoint": ROGUE + "/userinfo",
                    "jwks_uri": ROGUE + "/jwks",
                },
            )
        if path == "/idp/jwks":
            return httpx.Response(200, json={"keys": [ROGUE_KEY.as_dict(private=False)]})
        if path == "/idp/token":
            form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
            self.token_forms.append(form)
            jwt.decode(form["client_assertion"], self.hub_keys)  # the hub signs its assertion
            return httpx.Response(
                200,
                json={
                    "access_token": "at",
                    "token_type": "Bearer",
                    "expires_in": 300,
                    "id_token": self.answer(self.nonce),
                },
            )
        if path == "/idp/userinfo":
            return httpx.Response(
                200,
                json={
                    "sub": "rogue-subject-1",
                    "given_name": "Ada",
                    "family_name": "Lovelace",
                    "birthdate": "1985-12-10",
                    "gpg45": self.gpg45,
                },
            )
        return httpx.Response(404)


@pytest.fixture
def rogue_hub(
    database_url: str, tmp_path: Path, signing_jwks: dict[str, Any]
) -> Iterator[tuple[World, Rogue]]:
    providers = [
        {
            "slug": "rogue",
            "name": "Rogue ID",
            "discovery_url": ROGUE + "/.well-known/openid-configuration",
            "client_id": CLIENT_ID,
        }
    ]
    world = build_world(
        database_url, tmp_path / "keys", signing_jwks, identity_providers=json.dumps(providers)
    )
    setup = broker_setup(world.settings)
    hub_keys = KeySet.import_key_set(
        key_store(setup.client_keys, "broker client").keyring().public_jwks()  # type: ignore[arg-type]
    )
    rogue = Rogue(hub_keys)
    world.client.app.state.identity_broker_transport = httpx.MockTransport(rogue)  # type: ignore[attr-defined]
    with world.client:
        yield world, rogue
    world.client.app.state.engine.dispose()  # type: ignore[attr-defined]


def to_rogue(world: World, rogue: Rogue) -> str:
    """Start a P2 sign-in and pick the rogue provider; returns the callback's state."""
    answer = world.client.get(
        auth_request(world.rps["gov"], vtr='["Cl.Cm.P2"]').url, follow_redirects=False
    )
    assert answer.status_code == 303
    sent = query_of(choose_provider(world.client, answer.headers["location"], "rogue"))
    rogue.nonce = sent["nonce"]
    return sent["state"]


def callback(world: World, state: str) -> httpx.Response:
    answer: httpx.Response = world.client.get(
        f"/identity/broker/callback?code=c0de&state={state}", follow_redirects=False
    )
    return answer


CASES: dict[str, tuple[Callable[[str], str], Any]] = {
    "signed with a key the provider does not publish": (
        lambda n: id_token(n, key=OTHER_KEY),
        M1B,
    ),
    "a nonce we did not send": (lambda n: id_token("another-nonce"), M1B),
    "another issuer": (lambda n: id_token(n, iss="https://elsewhere.example"), M1B),
    "for another client": (lambda n: id_token(n, aud="someone-else"), M1B),
    "expired": (lambda n: id_token(n, exp=int(time.time()) - 3600), M1B),
    "no nonce at all": (lambda n: id_token(n, nonce=None), M1B),
    "a lower vot than asked": (lambda n: id_token(n, vot="Cl.Cm.P1"), M1B),
    "no vot": (lambda n: id_token(n, vot=None), M1B),
    "scores that do not support P2": (
        lambda n: id_token(n),
        {**M1B, "profile": "L1A", "evidence": [{"strength": 2, "validity": 2}], "fraud": 1},
    ),
    "no scores at all": (lambda n: id_token(n), None),
    "not signed": (
        lambda n: jwt.encode({"alg": "HS256"}, {"iss": ROGUE, "nonce": n}, b"k" * 32),  # type: ignore[arg-type]
        M1B,
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_bad_answer_is_refused(rogue_hub: tuple[World, Rogue], case: str) -> None:
    world, rogue = rogue_hub
    rogue.answer, rogue.gpg45 = CASES[case]
    answer = callback(world, to_rogue(world, rogue))
    assert answer.status_code == 403, case
    assert "trusthub_session" not in answer.headers.get("set-cookie", "")
    assert world.client.get("/account").text.count("You are not signed in") == 1


def test_a_good_answer_is_taken_and_the_hub_authenticated_properly(
    rogue_hub: tuple[World, Rogue],
) -> None:
    world, rogue = rogue_hub
    state = to_rogue(world, rogue)
    answer = callback(world, state)
    assert answer.status_code == 302, answer.text  # the service's request answered at once
    assert "code=" in answer.headers["location"]
    form = rogue.token_forms[-1]
    assert form["client_assertion_type"].endswith("jwt-bearer") and form["code_verifier"]
    assert form["redirect_uri"] == ISSUER + "/identity/broker/callback"
    again = callback(world, state)  # the same state a second time
    assert again.status_code == 400


def test_a_callback_from_another_browser_is_refused(rogue_hub: tuple[World, Rogue]) -> None:
    world, rogue = rogue_hub
    state = to_rogue(world, rogue)
    world.client.cookies.clear()
    assert callback(world, state).status_code == 400


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({}, None),
        ({"key": OTHER_KEY}, "id_token_signature"),
        ({"iss": "https://elsewhere.example"}, "id_token_iss"),
        ({"aud": "x"}, "id_token_aud"),
        ({"nonce": "x"}, "id_token_nonce"),
        ({"exp": 1000}, "id_token_exp"),
        ({"sub": None}, "id_token_claims"),
    ],
)
def test_id_token_verification(changes: dict[str, Any], reason: str | None) -> None:
    keys = KeySet([ROGUE_KEY])
    token = id_token("n-1", **changes)
    if reason is None:
        assert verify_id_token(token, keys, ROGUE, CLIENT_ID, "n-1")["sub"] == "rogue-subject-1"
        return
    with pytest.raises(Exception) as refused:
        verify_id_token(token, keys, ROGUE, CLIENT_ID, "n-1")
    assert getattr(refused.value, "reason", "").startswith(reason.rsplit("_", 1)[0])
