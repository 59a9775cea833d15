"""The whole code flow driven by an OIDC client library nobody here wrote (Authlib's own client).

Discovery → authorization with PKCE (S256) → DEMO sign-in → token (private_key_jwt or basic) →
ID token verified against the JWKS with PyJWT and checked by OIDC's rules → UserInfo.
"""

from __future__ import annotations

from typing import Any

import jwt as pyjwt
import pytest
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import OAuth2Client
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from authlib.oidc.core import CodeIDToken
from authlib.oidc.discovery import OpenIDProviderMetadata
from joserfc.errors import InvalidClaimError

from identity_world import (
    ADA,
    BOB,
    ISSUER,
    World,
    auth_request,
    authorize_in_browser,
    query_of,
    redeem,
)


def discover(hub: World) -> dict[str, Any]:
    answer = hub.client.get("/.well-known/openid-configuration")
    assert answer.status_code == 200
    metadata: dict[str, Any] = answer.json()
    return metadata


def relying_party(hub: World, name: str, metadata: dict[str, Any]) -> OAuth2Client:
    """Authlib's OAuth 2.0 client as the service would configure it, over the test transport."""
    rp = hub.rps[name]
    common: dict[str, Any] = {
        "scope": "openid profile",
        "redirect_uri": rp.redirect_uri,
        "code_challenge_method": "S256",
        "transport": hub.client._transport,
    }
    if rp.key is not None:
        client = OAuth2Client(
            rp.client_id, rp.key, token_endpoint_auth_method="private_key_jwt", **common
        )
        client.register_client_auth_method(
            PrivateKeyJWT(metadata["token_endpoint"], headers={"kid": rp.key.kid}, alg="ES256")
        )
        return client
    return OAuth2Client(
        rp.client_id, rp.secret, token_endpoint_auth_method="client_secret_basic", **common
    )


def verify_id_token(
    hub: World, metadata: dict[str, Any], id_token: str, client_id: str, **params: str
) -> dict[str, Any]:
    """Check the signature against the published JWKS (PyJWT), then OIDC's claim rules (Authlib)."""
    jwks = pyjwt.PyJWKSet.from_dict(hub.client.get(metadata["jwks_uri"]).json())
    header = pyjwt.get_unverified_header(id_token)
    key = jwks[header["kid"]]
    claims: dict[str, Any] = pyjwt.decode(
        id_token,
        key.key,
        algorithms=metadata["id_token_signing_alg_values_supported"],
        audience=client_id,
        issuer=metadata["issuer"],
        options={"require": ["iss", "sub", "aud", "exp", "iat", "nonce", "auth_time"]},
    )
    checked = CodeIDToken(
        claims,
        header,
        {"iss": {"value": metadata["issuer"]}, "aud": {"values": [client_id]}},
        {"client_id": client_id, **params},
    )
    checked.validate()
    return claims


def run_flow(hub: World, name: str, nhs: str = ADA) -> tuple[dict[str, Any], dict[str, Any]]:
    metadata = discover(hub)
    client = relying_party(hub, name, metadata)
    verifier, nonce = generate_token(48), generate_token(20)
    url, _state = client.create_authorization_url(
        metadata["authorization_endpoint"], code_verifier=verifier, nonce=nonce, vtr='["Cl"]'
    )
    callback = authorize_in_browser(hub.client, url, nhs)
    assert callback.startswith(hub.rps[name].redirect_uri + "?")
    token = client.fetch_token(
        metadata["token_endpoint"], authorization_response=callback, code_verifier=verifier
    )
    claims = verify_id_token(
        hub,
        metadata,
        token["id_token"],
        hub.rps[name].client_id,
        nonce=nonce,
        access_token=token["access_token"],
    )
    info = client.get(metadata["userinfo_endpoint"])
    assert info.status_code == 200, info.text
    assert info.headers["cache-control"] == "no-store"
    return claims, info.json()


def test_discovery_is_valid_openid_provider_metadata(hub: World) -> None:
    metadata = discover(hub)
    OpenIDProviderMetadata(metadata).validate()
    assert metadata["issuer"] == ISSUER
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert metadata["subject_types_supported"] == ["pairwise"]
    assert metadata["token_endpoint_auth_methods_supported"][0] == "private_key_jwt"
    assert metadata["id_token_signing_alg_values_supported"] == ["ES256", "RS256"]
    assert metadata["request_uri_parameter_supported"] is False


@pytest.mark.parametrize("name", ["gov", "bank"], ids=["private_key_jwt+ES256", "basic+RS256"])
def test_code_flow_with_a_standard_client(hub: World, name: str) -> None:
    claims, info = run_flow(hub, name)
    assert claims["vot"] == "Cl"
    assert claims["vtm"] == ISSUER + "/trustmark"
    assert info["sub"] == claims["sub"]
    # P0 is no proof of who someone is: asked-for profile claims are withheld.
    assert set(info) == {"sub"}


def test_the_id_token_uses_the_clients_algorithm(hub: World) -> None:
    req = auth_request(hub.rps["bank"])
    code = query_of(authorize_in_browser(hub.client, req.url))["code"]
    token = redeem(hub, "bank", code, req.verifier).json()
    assert pyjwt.get_unverified_header(token["id_token"])["alg"] == "RS256"
    assert pyjwt.get_unverified_header(token["access_token"])["typ"] == "at+jwt"


def test_a_nonce_that_does_not_match_is_refused_by_the_client(hub: World) -> None:
    metadata = discover(hub)
    req = auth_request(hub.rps["gov"])
    code = query_of(authorize_in_browser(hub.client, req.url))["code"]
    token = redeem(hub, "gov", code, req.verifier).json()
    claims = verify_id_token(
        hub, metadata, token["id_token"], hub.rps["gov"].client_id, nonce=req.params["nonce"]
    )
    assert claims["nonce"] == req.params["nonce"]
    with pytest.raises(InvalidClaimError):
        verify_id_token(hub, metadata, token["id_token"], hub.rps["gov"].client_id, nonce="another")


def test_pairwise_subjects_differ_between_sectors_and_hold_within_one(hub: World) -> None:
    gov, _ = run_flow(hub, "gov")
    bank, _ = run_flow(hub, "bank")
    assert gov["sub"] != bank["sub"]
    again, _ = run_flow(hub, "gov")
    assert again["sub"] == gov["sub"]
    # Another service of the same sector (a different client) sees the same subject.
    req = auth_request(hub.rps["gov2"])
    code = query_of(authorize_in_browser(hub.client, req.url))["code"]
    token = redeem(hub, "gov2", code, req.verifier).json()
    assert pyjwt.decode(token["id_token"], options={"verify_signature": False})["sub"] == gov["sub"]
    # A subject is a 256-bit keyed hash: neither the citizen's row id nor the NHS number.
    for claims in (gov, bank):
        assert len(claims["sub"]) == 43 and ADA not in claims["sub"]
        assert claims["sub"] != str(hub.citizen_ids[ADA])


def test_two_citizens_get_two_subjects(hub: World) -> None:
    ada, _ = run_flow(hub, "gov", ADA)
    hub.client.cookies.clear()
    bob, _ = run_flow(hub, "gov", BOB)
    assert ada["sub"] != bob["sub"]


def test_a_signed_in_citizen_is_not_asked_again(hub: World) -> None:
    first = auth_request(hub.rps["gov"])
    authorize_in_browser(hub.client, first.url)
    second = auth_request(hub.rps["bank"])
    answer = hub.client.get(second.url, follow_redirects=False)
    assert answer.status_code == 302
    assert query_of(answer.headers["location"])["state"] == second.params["state"]
