"""A demo identity provider driven end to end by Authlib's OAuth 2.0 client, as the broker does.

Discovery → authorization with PKCE S256 and ``vtr`` → password and TOTP sign-in → token
(private_key_jwt or client_secret_basic) → ID token checked against the JWKS → UserInfo.
"""

from __future__ import annotations

import time
from typing import Any

import jwt as pyjwt
import pyotp
from authlib.common.security import generate_token
from authlib.oidc.core import CodeIDToken
from authlib.oidc.discovery import OpenIDProviderMetadata

from idp_world import ISSUER, REDIRECT, IdpWorld, discover, relying_party, sign_in

pytest_plugins = ["idp_world"]


def verify_id_token(
    world: IdpWorld, metadata: dict[str, Any], id_token: str, client_id: str, **params: str
) -> dict[str, Any]:
    jwks = pyjwt.PyJWKSet.from_dict(world.client.get(metadata["jwks_uri"]).json())
    header = pyjwt.get_unverified_header(id_token)
    claims: dict[str, Any] = pyjwt.decode(
        id_token,
        jwks[header["kid"]].key,
        algorithms=["ES256"],
        audience=client_id,
        issuer=metadata["issuer"],
        options={"require": ["iss", "sub", "aud", "exp", "iat", "nonce", "auth_time"]},
    )
    CodeIDToken(
        claims,
        header,
        {"iss": {"value": metadata["issuer"]}, "aud": {"values": [client_id]}},
        {"client_id": client_id, **params},
    ).validate()
    return claims


def run_flow(
    world: IdpWorld, username: str, vtr: str, secret: bool = False, totp_step: int = 0
) -> tuple[dict[str, Any], dict[str, Any]]:
    metadata = discover(world)
    client = relying_party(world, metadata, secret=secret)
    verifier, nonce = generate_token(48), generate_token(20)
    url, _ = client.create_authorization_url(
        metadata["authorization_endpoint"], code_verifier=verifier, nonce=nonce, vtr=vtr
    )
    answer = world.client.get(url, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    code = None
    if username in world.totp:
        code = pyotp.TOTP(world.totp[username]).at(time.time() + 30 * totp_step)
    back = sign_in(world, answer.headers["location"], username, totp=code)
    assert back.status_code == 302, back.text  # the sign-in answers the service at once
    callback = back.headers["location"]
    assert callback.startswith(REDIRECT + "?")
    token = client.fetch_token(
        metadata["token_endpoint"], authorization_response=callback, code_verifier=verifier
    )
    client_id = world.secret_client_id if secret else world.client_id
    claims = verify_id_token(
        world,
        metadata,
        token["id_token"],
        client_id,
        nonce=nonce,
        access_token=token["access_token"],
    )
    info = client.get(metadata["userinfo_endpoint"])
    assert info.status_code == 200, info.text
    return claims, info.json()


def test_discovery_is_valid_and_names_the_provider(idp: IdpWorld) -> None:
    metadata = discover(idp)
    OpenIDProviderMetadata(metadata).validate()
    assert metadata["issuer"] == ISSUER
    assert metadata["jwks_uri"] == ISSUER + "/oauth2/jwks"
    assert metadata["authorization_endpoint"] == ISSUER + "/oauth2/authorize"
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert metadata["id_token_signing_alg_values_supported"] == ["ES256", "RS256"]
    assert "private_key_jwt" in metadata["token_endpoint_auth_methods_supported"]
    keys = idp.client.get(metadata["jwks_uri"]).json()["keys"]
    assert [k["alg"] for k in keys] == ["ES256", "RS256"] and all("d" not in k for k in keys)


def test_each_provider_has_its_own_issuer_and_keys(idp: IdpWorld) -> None:
    documents = [discover(idp, slug) for slug in ("post-office", "credit-bureau", "bank")]
    assert len({d["issuer"] for d in documents}) == 3
    kids = [idp.client.get(d["jwks_uri"]).json()["keys"][0]["kid"] for d in documents]
    assert len(set(kids)) == 3
    assert idp.client.get("/idp/nowhere/.well-known/openid-configuration").status_code == 404


def test_two_factor_sign_in_of_a_proven_identity_gives_p2_and_the_claims(idp: IdpWorld) -> None:
    claims, info = run_flow(idp, "ada", '["Cl.Cm.P2"]')
    assert claims["vot"] == "Cl.Cm.P2"
    assert claims["vtm"] == ISSUER + "/trustmark"
    assert info["sub"] == claims["sub"]
    assert info["given_name"] == "Ada" and info["family_name"] == "Lovelace"
    assert info["birthdate"] == "1985-12-10"
    assert info["address"]["postal_code"] == "SW1A 2AA"
    assert [a["postal_code"] for a in info["address_history"]] == ["LS1 4AP", "SW1A 2AA"]
    assert info["gpg45"]["profile"] == "M1B"


def test_vot_is_what_was_achieved_not_what_was_asked(idp: IdpWorld) -> None:
    claims, _ = run_flow(idp, "ada", '["Cl.Cm.P1"]')
    assert claims["vot"] == "Cl.Cm.P2"


def test_password_alone_gives_cl_and_no_personal_claims(idp: IdpWorld) -> None:
    claims, info = run_flow(idp, "bob", '["Cl"]', secret=True)
    assert claims["vot"] == "Cl.P0"
    assert set(info) == {"sub"}


def test_the_subject_is_stable_across_sign_ins(idp: IdpWorld) -> None:
    first, _ = run_flow(idp, "ada", '["Cl.Cm.P2"]')
    idp.client.cookies.clear()
    second, _ = run_flow(idp, "ada", '["Cl.Cm.P2"]', totp_step=1)  # a code works once
    assert first["sub"] == second["sub"]
