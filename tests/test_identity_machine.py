"""Organisations' machine clients: registration, client credentials, and the exchange's check."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import KeySet
from typer.testing import CliRunner

from identity_world import (
    ADMIN_TOKEN,
    ISSUER,
    World,
    assertion_form,
    machine_token,
    new_ec_key,
    new_rsa_key,
    public,
)
from trusthub.cli import app as cli
from trusthub.identity.deps import MachineClient
from trusthub.identity.service import MachineCaller, authenticate_machine_client
from trusthub.problems import Problem, install_problem_handlers

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def test_a_machine_client_gets_a_token_the_exchange_accepts(hub: World) -> None:
    answer = machine_token(hub)
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    body = answer.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 300
    assert "refresh_token" not in body and "id_token" not in body
    caller = authenticate_machine_client(body["access_token"], hub.settings)
    assert caller == MachineCaller(hub.machine_id, "dwp", frozenset({"exchange"}))


def test_the_access_token_is_an_rfc9068_jwt(hub: World) -> None:
    token = machine_token(hub).json()["access_token"]
    keys = KeySet.import_key_set(hub.client.get("/oauth2/jwks").json())
    decoded = jwt.decode(token, keys, algorithms=["ES256"])
    assert decoded.header["typ"] == "at+jwt"
    claims = decoded.claims
    assert claims["iss"] == ISSUER and claims["aud"] == ISSUER + "/exchange"
    assert claims["sub"] == claims["client_id"] == hub.machine_id
    assert claims["organisation"] == "dwp"
    assert {"exp", "iat", "jti"} <= set(claims)


def test_scopes_beyond_the_registered_ones_are_not_granted(hub: World) -> None:
    assert hub.machine_key is not None
    form = {
        "grant_type": "client_credentials",
        "scope": "admin",
        **assertion_form(hub.machine_key, hub.machine_id),
    }
    answer = hub.client.post("/oauth2/token", data=form)
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_scope"


@pytest.mark.parametrize(
    "case", ["replayed", "expired", "wrong key", "wrong audience", "too old", "other client"]
)
def test_a_bad_machine_assertion_gets_no_token(hub: World, case: str) -> None:
    now = int(time.time())
    if case == "replayed":
        assert machine_token(hub, jti="same").status_code == 200
        answer = machine_token(hub, jti="same")
    elif case == "expired":
        answer = machine_token(hub, iat=now - 200, exp=now - 100)
    elif case == "too old":
        answer = machine_token(hub, iat=now - 1000, exp=now + 60)
    elif case == "wrong audience":
        answer = machine_token(hub, audience=ISSUER + "/exchange")
    elif case == "other client":
        answer = machine_token(hub, iss=hub.rps["gov"].client_id, sub=hub.rps["gov"].client_id)
    else:
        form = {
            "grant_type": "client_credentials",
            **assertion_form(new_ec_key(), hub.machine_id),
        }
        answer = hub.client.post("/oauth2/token", data=form)
    assert answer.status_code in (400, 401), answer.text
    assert answer.json()["error"] == "invalid_client"


def test_the_issuer_is_an_accepted_assertion_audience(hub: World) -> None:
    assert machine_token(hub, audience=ISSUER).status_code == 200


def _refused(token: str, hub: World) -> None:
    with pytest.raises(Problem) as refused:
        authenticate_machine_client(token, hub.settings)
    assert refused.value.status == 401


def test_the_exchange_refuses_what_is_not_a_live_machine_token(hub: World) -> None:
    token = machine_token(hub).json()["access_token"]
    head, body, signature = token.split(".")
    _refused(f"{head}.{body}.{signature[:-4]}AAAA", hub)
    _refused("not.a.token", hub)
    _refused("", hub)

    key = hub.provider.keyring().signing_set("ES256")
    claims = jwt.decode(token, hub.provider.keyring().verification_set()).claims
    now = int(time.time())
    _refused(jwt.encode({"alg": "ES256", "typ": "at+jwt"}, {**claims, "exp": now - 1}, key), hub)
    _refused(jwt.encode({"alg": "ES256", "typ": "at+jwt"}, {**claims, "aud": "x"}, key), hub)
    _refused(jwt.encode({"alg": "ES256", "typ": "at+jwt"}, {**claims, "iss": "x"}, key), hub)
    _refused(jwt.encode({"alg": "ES256", "typ": "JWT"}, claims, key), hub)
    no_org = {k: v for k, v in claims.items() if k != "organisation"}
    _refused(jwt.encode({"alg": "ES256", "typ": "at+jwt"}, no_org, key), hub)
    _refused(jwt.encode({"alg": "ES256", "typ": "at+jwt"}, {**claims, "sub": "x"}, key), hub)
    # Signed with a key that is not ours, though it claims our kid.
    stranger = new_ec_key()
    kid = key.keys[0].kid
    _refused(jwt.encode({"alg": "ES256", "typ": "at+jwt", "kid": kid}, claims, stranger), hub)


def test_a_citizens_access_token_is_not_a_machine_token(hub: World) -> None:
    from identity_world import auth_request, authorize_in_browser, query_of, redeem

    req = auth_request(hub.rps["gov"])
    code = query_of(authorize_in_browser(hub.client, req.url))["code"]
    tokens = redeem(hub, "gov", code, req.verifier).json()
    _refused(tokens["access_token"], hub)
    _refused(tokens["id_token"], hub)


def test_the_exchange_dependency_reads_the_bearer_header(hub: World) -> None:
    exchange = FastAPI()
    exchange.state.settings = hub.settings
    install_problem_handlers(exchange)

    @exchange.get("/who")
    def who(caller: MachineClient) -> dict[str, str]:
        return {"organisation": caller.organisation_slug}

    token = machine_token(hub).json()["access_token"]
    with TestClient(exchange) as client:
        assert client.get("/who", headers={"Authorization": f"Bearer {token}"}).json() == {
            "organisation": "dwp"
        }
        assert client.get("/who").status_code == 401
        assert client.get("/who", headers={"Authorization": f"Basic {token}"}).status_code == 401


# --- registration ---------------------------------------------------------------------------


def test_operators_register_machine_clients_by_api(hub: World) -> None:
    key = new_rsa_key()
    body = {"jwks": public(key), "scopes": ["exchange", "exchange:bulk"]}
    assert hub.client.post("/api/v1/organisations/dwp/clients", json=body).status_code == 401
    answer = hub.client.post("/api/v1/organisations/dwp/clients", json=body, headers=ADMIN)
    assert answer.status_code == 201, answer.text
    view = answer.json()
    assert view["token_endpoint"] == ISSUER + "/oauth2/token"
    assert view["audience"] == ISSUER + "/exchange"
    form = {
        "grant_type": "client_credentials",
        **assertion_form(key, view["client_id"], alg="RS256"),
    }
    token = hub.client.post("/oauth2/token", data=form)
    assert token.status_code == 200, token.text
    caller = authenticate_machine_client(token.json()["access_token"], hub.settings)
    assert caller.scopes == {"exchange", "exchange:bulk"}


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"jwks": {"keys": []}}, 422),
        ({"jwks": "nonsense"}, 422),
        ({"jwks": {"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}}, 422),
        ({"scopes": ["openid"]}, 422),
        ({"scopes": ["Bad Scope"]}, 422),
    ],
)
def test_bad_registrations_are_refused_whole(hub: World, body: dict[str, Any], status: int) -> None:
    payload = {"jwks": public(new_ec_key()), **body}
    answer = hub.client.post("/api/v1/organisations/dwp/clients", json=payload, headers=ADMIN)
    assert answer.status_code == status
    assert answer.headers["content-type"] == "application/problem+json"


def test_private_keys_are_refused_at_registration(hub: World) -> None:
    private = {"keys": [new_ec_key().as_dict(private=True)]}
    answer = hub.client.post(
        "/api/v1/organisations/dwp/clients", json={"jwks": private}, headers=ADMIN
    )
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == "jwks"


def test_an_unknown_organisation_gets_no_client(hub: World) -> None:
    answer = hub.client.post(
        "/api/v1/organisations/nobody/clients",
        json={"jwks": public(new_ec_key())},
        headers=ADMIN,
    )
    assert answer.status_code == 404


def test_relying_parties_register_by_api_and_a_secret_is_shown_once(hub: World) -> None:
    body = {
        "name": "Council tax",
        "organisation": "dwp",
        "redirect_uris": ["https://council.example/cb"],
        "token_endpoint_auth_method": "client_secret_basic",
    }
    answer = hub.client.post("/api/v1/identity/relying-parties", json=body, headers=ADMIN)
    assert answer.status_code == 201, answer.text
    assert (
        answer.json()["client_secret"] and answer.json()["sector_identifier"] == "council.example"
    )
    bad = {**body, "redirect_uris": ["http://council.example/cb"]}
    assert (
        hub.client.post("/api/v1/identity/relying-parties", json=bad, headers=ADMIN).status_code
        == 422
    )
    keyless = {**body, "token_endpoint_auth_method": "private_key_jwt"}
    assert (
        hub.client.post("/api/v1/identity/relying-parties", json=keyless, headers=ADMIN).status_code
        == 422
    )


def test_the_cli_registers_a_machine_client(hub: World, tmp_path: Path) -> None:
    jwks_file = tmp_path / "client.jwks.json"
    jwks_file.write_text(json.dumps(public(new_ec_key())))
    result = CliRunner().invoke(
        cli,
        [
            "identity",
            "client",
            "add",
            "--organisation",
            "dwp",
            "--jwks",
            str(jwks_file),
            "--database-url",
            hub.settings.database_url,
        ],
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().startswith("dwp-")
    refused = CliRunner().invoke(
        cli,
        [
            "identity",
            "client",
            "add",
            "--organisation",
            "nobody",
            "--jwks",
            str(jwks_file),
            "--database-url",
            hub.settings.database_url,
        ],
    )
    assert refused.exit_code == 1


def test_dev_keys_are_generated_private(tmp_path: Path) -> None:
    from trusthub.config import Settings
    from trusthub.identity.oidc.provider import get_provider

    keys_dir = tmp_path / "dev-keys"
    settings = Settings(database_url="sqlite://", identity_keys_dir=keys_dir, public_url=ISSUER)
    provider = get_provider(settings)
    assert provider.keyring().algorithms() == ["ES256", "RS256"]
    for path in keys_dir.iterdir():
        assert path.stat().st_mode & 0o077 == 0, path


def test_production_refuses_to_start_without_keys(tmp_path: Path) -> None:
    from trusthub.config import Settings
    from trusthub.identity.oidc.provider import ProviderConfigError, get_provider

    settings = Settings(
        database_url="sqlite://",
        environment="production",
        identity_keys_dir=tmp_path / "none",
        public_url=ISSUER,
    )
    with pytest.raises(ProviderConfigError):
        get_provider(settings)
    assert not (tmp_path / "none").exists()


def test_the_cli_rotates_lists_and_purges(hub: World) -> None:
    env = {
        "TRUSTHUB_DATABASE_URL": hub.settings.database_url,
        "TRUSTHUB_PUBLIC_URL": ISSUER,
        "TRUSTHUB_IDENTITY_SIGNING_KEYS": str(hub.settings.identity_signing_keys),
        "TRUSTHUB_IDENTITY_KEYS_DIR": str(hub.settings.identity_keys_dir),
    }
    from trusthub.config import get_settings

    get_settings.cache_clear()
    try:
        before = CliRunner().invoke(cli, ["identity", "keys", "list"], env=env)
        assert before.exit_code == 0, before.output
        rotated = CliRunner().invoke(cli, ["identity", "keys", "rotate", "--alg", "ES256"], env=env)
        assert rotated.exit_code == 0, rotated.output
        new_kid = rotated.stdout.strip()
        after = CliRunner().invoke(cli, ["identity", "keys", "list"], env=env)
        assert f"{new_kid}\tES256\tactive" in after.stdout
        assert after.stdout.count("retired") == before.stdout.count("retired") + 1
        purged = CliRunner().invoke(cli, ["identity", "purge"], env=env)
        assert purged.exit_code == 0 and "assertions" in json.loads(purged.stdout)
        bad_rp = CliRunner().invoke(
            cli,
            [
                "identity",
                "client",
                "add-relying-party",
                "--name",
                "X",
                "--redirect-uri",
                "http://rp.example/cb",
            ],
            env=env,
        )
        assert bad_rp.exit_code == 1
    finally:
        get_settings.cache_clear()
