"""Signing out (RP-initiated logout) and rotating the provider's signing keys."""

from __future__ import annotations

from typing import Any

import jwt as pyjwt
import pytest

from identity_world import (
    ADA,
    BOB,
    World,
    auth_request,
    authorize_in_browser,
    query_of,
    redeem,
    set_cookie,
)
from trusthub.identity.oidc.keys import KeyConfigError
from trusthub.identity.service import rotate_signing_keys, signing_keys

SIGNED_OUT = "https://rp.gov.example/signed-out"


def _tokens(hub: World, rp: str = "gov", nhs: str = ADA) -> dict[str, Any]:
    req = auth_request(hub.rps[rp])
    code = query_of(authorize_in_browser(hub.client, req.url, nhs))["code"]
    answer = redeem(hub, rp, code, req.verifier)
    assert answer.status_code == 200, answer.text
    tokens: dict[str, Any] = answer.json()
    return tokens


def _signed_in(hub: World) -> bool:
    answer = hub.client.get(auth_request(hub.rps["gov"]).url, follow_redirects=False)
    return answer.status_code == 302


def _logout(hub: World, **params: str) -> Any:
    return hub.client.get("/oauth2/logout", params=params, follow_redirects=False)


def test_logout_with_a_hint_returns_to_the_registered_uri(hub: World) -> None:
    tokens = _tokens(hub)
    assert _signed_in(hub)
    answer = _logout(
        hub, id_token_hint=tokens["id_token"], post_logout_redirect_uri=SIGNED_OUT, state="s1"
    )
    assert answer.status_code == 302
    assert answer.headers["location"] == SIGNED_OUT + "?state=s1"
    assert "max-age=0" in answer.headers["set-cookie"].lower()
    hub.client.cookies.clear()
    assert not _signed_in(hub)


def test_logout_ends_the_session_even_if_the_cookie_stays(hub: World) -> None:
    tokens = _tokens(hub)
    session = hub.client.cookies.get("__Host-trusthub_session")
    assert session
    _logout(hub, id_token_hint=tokens["id_token"], post_logout_redirect_uri=SIGNED_OUT)
    set_cookie(hub.client, "__Host-trusthub_session", session)
    assert not _signed_in(hub)


def test_an_unregistered_post_logout_uri_is_not_followed(hub: World) -> None:
    tokens = _tokens(hub)
    answer = _logout(
        hub, id_token_hint=tokens["id_token"], post_logout_redirect_uri="https://evil.example/"
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == "/identity/signed-out"


def test_logout_without_a_hint_asks_first_and_wants_the_csrf_token(hub: World) -> None:
    _tokens(hub)
    page = _logout(hub)
    assert page.status_code == 200 and "Do you want to sign out?" in page.text
    assert _signed_in(hub)
    forged = hub.client.post(
        "/oauth2/logout", data={"csrf_token": "forged"}, follow_redirects=False
    )
    assert forged.status_code == 200 and _signed_in(hub)
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    done = hub.client.post("/oauth2/logout", data={"csrf_token": token}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/identity/signed-out"
    assert not _signed_in(hub)


def test_an_altered_hint_is_refused_and_signs_nobody_out(hub: World) -> None:
    tokens = _tokens(hub)
    head, body, signature = tokens["id_token"].split(".")
    answer = _logout(
        hub,
        id_token_hint=f"{head}.{body}.{signature[:-4]}AAAA",
        post_logout_redirect_uri=SIGNED_OUT,
    )
    assert answer.status_code == 400 and "location" not in answer.headers
    assert _signed_in(hub)


def test_a_hint_for_someone_else_needs_confirmation(hub: World) -> None:
    bob = _tokens(hub, nhs=BOB)
    hub.client.cookies.clear()
    _tokens(hub, nhs=ADA)
    answer = _logout(hub, id_token_hint=bob["id_token"], post_logout_redirect_uri=SIGNED_OUT)
    assert answer.status_code == 200 and "Do you want to sign out?" in answer.text
    assert _signed_in(hub)


def test_a_hint_and_a_client_id_must_agree(hub: World) -> None:
    tokens = _tokens(hub)
    answer = _logout(hub, id_token_hint=tokens["id_token"], client_id=hub.rps["bank"].client_id)
    assert answer.status_code == 400


# --- key rotation ---------------------------------------------------------------------------


def _kid(token: str) -> str:
    return str(pyjwt.get_unverified_header(token)["kid"])


def _verifies(hub: World, token: str, audience: str) -> bool:
    jwks = pyjwt.PyJWKSet.from_dict(hub.client.get("/oauth2/jwks").json())
    kid = _kid(token)
    if kid not in {key.key_id for key in jwks.keys}:
        return False
    pyjwt.decode(token, jwks[kid].key, algorithms=["ES256", "RS256"], audience=audience)
    return True


def _userinfo_status(hub: World, access_token: str) -> int:
    answer = hub.client.get("/oauth2/userinfo", headers={"Authorization": f"Bearer {access_token}"})
    return int(answer.status_code)


def test_rotation_overlaps_old_and_new_keys(hub: World) -> None:
    audience = hub.rps["gov"].client_id
    before = _tokens(hub)
    old_kid = _kid(before["id_token"])

    new_kid = rotate_signing_keys(hub.settings, "ES256", keep=1)
    assert new_kid != old_kid
    published = [k["kid"] for k in hub.client.get("/oauth2/jwks").json()["keys"]]
    assert old_kid in published and new_kid in published
    assert all("d" not in k for k in hub.client.get("/oauth2/jwks").json()["keys"])

    # During the overlap, what the old key signed still verifies and still works.
    assert _verifies(hub, before["id_token"], audience)
    assert _userinfo_status(hub, before["access_token"]) == 200
    # New tokens are signed by the new key.
    after = _tokens(hub)
    assert _kid(after["id_token"]) == new_kid and _kid(after["access_token"]) == new_kid

    # A second rotation drops the oldest key: its tokens stop verifying.
    rotate_signing_keys(hub.settings, "ES256", keep=1)
    assert not _verifies(hub, before["id_token"], audience)
    assert _userinfo_status(hub, before["access_token"]) == 401
    assert _verifies(hub, after["id_token"], audience)
    assert _userinfo_status(hub, after["access_token"]) == 200


def test_rotating_one_algorithm_leaves_the_other_alone(hub: World) -> None:
    ring = signing_keys(hub.settings)
    rsa_kid = ring.signing_key("RS256").kid
    rotate_signing_keys(hub.settings, "ES256")
    assert signing_keys(hub.settings).signing_key("RS256").kid == rsa_kid
    with pytest.raises(KeyConfigError):
        rotate_signing_keys(hub.settings, "HS256")
    with pytest.raises(KeyConfigError):
        rotate_signing_keys(hub.settings, "ES256", keep=0)
