"""Requests the provider must refuse, after the OpenID Foundation's Basic OP conformance list.

Each test sends the request a careless or hostile party would and checks it is turned away —
and, where it matters, that nothing was issued on the way.
"""

from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import Any

import pytest
from joserfc import jwt
from sqlalchemy import update

from identity_world import (
    ADA,
    ISSUER,
    World,
    assertion_form,
    auth_request,
    authorize_in_browser,
    new_ec_key,
    query_of,
    redeem,
    set_cookie,
    sign_in_at,
)
from trusthub.db import make_session_factory, transaction
from trusthub.identity.oidc.models import AuthorizationCode
from trusthub.models_common import utcnow

BEARER = "Bearer "


def _code(hub: World, rp: str = "gov", **overrides: str | None) -> tuple[str, str]:
    req = auth_request(hub.rps[rp], **overrides)
    return query_of(authorize_in_browser(hub.client, req.url))["code"], req.verifier


def _tokens(hub: World, rp: str = "gov") -> dict[str, Any]:
    code, verifier = _code(hub, rp)
    answer = redeem(hub, rp, code, verifier)
    assert answer.status_code == 200, answer.text
    tokens: dict[str, Any] = answer.json()
    return tokens


def _userinfo(hub: World, access_token: str) -> Any:
    return hub.client.get("/oauth2/userinfo", headers={"Authorization": BEARER + access_token})


def _error_back(hub: World, url: str) -> dict[str, str]:
    """The error a refused authorization request sends back to the (registered) redirect URI."""
    answer = hub.client.get(url, follow_redirects=False)
    assert answer.status_code == 302, answer.text
    return query_of(answer.headers["location"])


# --- redirect URIs --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "https://evil.example/callback",
        "https://rp.gov.example/callback/",
        "https://rp.gov.example/callback?next=x",
        "https://RP.gov.example/callback",
        "http://rp.gov.example/callback",
        "https://pensions.gov.example/callback",  # another client's URI
        None,
    ],
)
def test_an_unregistered_redirect_uri_is_never_redirected_to(
    hub: World, redirect_uri: str | None
) -> None:
    req = auth_request(hub.rps["gov"], redirect_uri=redirect_uri)
    answer = hub.client.get(req.url, follow_redirects=False)
    assert answer.status_code == 400
    assert "location" not in answer.headers
    assert "text/html" in answer.headers["content-type"]


def test_an_unknown_client_is_not_redirected(hub: World) -> None:
    req = auth_request(hub.rps["gov"], client_id="no-such-client")
    answer = hub.client.get(req.url, follow_redirects=False)
    assert answer.status_code == 400 and "location" not in answer.headers


def test_the_token_endpoint_wants_the_same_redirect_uri(hub: World) -> None:
    code, verifier = _code(hub)
    answer = redeem(hub, "gov", code, verifier, redirect_uri="https://rp.gov.example/other")
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_grant"


# --- authorization request parameters -------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"code_challenge": None, "code_challenge_method": None}, "invalid_request"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge_method": None}, "invalid_request"),
        ({"code_challenge": "too-short"}, "invalid_request"),
        ({"nonce": None}, "invalid_request"),
        ({"state": None}, "invalid_request"),
        ({"scope": "profile"}, "invalid_scope"),
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"response_type": "code id_token"}, "unsupported_response_type"),
        ({"vtr": "Cl"}, "invalid_request"),
        ({"vtr": '["Cl.Xx"]'}, "invalid_request"),
        ({"vtr": '["Cl.P2"]'}, "invalid_request"),
        ({"max_age": "soon"}, "invalid_request"),
        ({"prompt": "none"}, "login_required"),
        ({"vtr": '["Cl.Cm"]'}, "unmet_authentication_requirements"),
        ({"vtr": None}, "unmet_authentication_requirements"),  # the default is Cl.Cm
    ],
)
def test_a_malformed_authorization_request_is_refused_to_the_service(
    hub: World, overrides: dict[str, str | None], error: str
) -> None:
    req = auth_request(hub.rps["gov"], **overrides)
    back = _error_back(hub, req.url)
    assert back["error"] == error
    assert back.get("state") == req.params.get("state")
    assert "code" not in back


def test_a_nonce_is_single_use(hub: World) -> None:
    _code(hub, nonce="used-once")
    back = _error_back(hub, auth_request(hub.rps["gov"], nonce="used-once").url)
    assert back["error"] == "invalid_request"


def test_repeated_parameters_are_refused(hub: World) -> None:
    req = auth_request(hub.rps["gov"])
    answer = hub.client.get(req.url + "&scope=openid+profile", follow_redirects=False)
    assert answer.status_code == 400 and "location" not in answer.headers


# --- the authorization code -----------------------------------------------------------------


def test_a_code_is_single_use_and_a_reuse_revokes_its_tokens(hub: World) -> None:
    code, verifier = _code(hub)
    first = redeem(hub, "gov", code, verifier)
    assert first.status_code == 200
    access_token = first.json()["access_token"]
    assert _userinfo(hub, access_token).status_code == 200

    again = redeem(hub, "gov", code, verifier)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    assert "access_token" not in again.json()
    assert _userinfo(hub, access_token).status_code == 401


def test_a_code_for_one_client_is_useless_to_another(hub: World) -> None:
    code, verifier = _code(hub, "gov")
    answer = redeem(hub, "bank", code, verifier, redirect_uri=hub.rps["gov"].redirect_uri)
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"


def test_an_expired_code_is_refused(hub: World) -> None:
    code, verifier = _code(hub)
    factory = make_session_factory(hub.client.app.state.engine)  # type: ignore[attr-defined]
    with transaction(factory) as session:
        session.execute(
            update(AuthorizationCode).values(expires_at=utcnow() - timedelta(seconds=1))
        )
    answer = redeem(hub, "gov", code, verifier)
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"


@pytest.mark.parametrize(
    ("verifier", "error"),
    [
        (None, "invalid_request"),
        ("x" * 43, "invalid_grant"),
        ("short", "invalid_request"),
    ],
    ids=["missing", "wrong", "malformed"],
)
def test_pkce_verifier_must_match(hub: World, verifier: str | None, error: str) -> None:
    code, right = _code(hub)
    answer = redeem(hub, "gov", code, verifier)
    assert answer.status_code == 400 and answer.json()["error"] == error
    # The code was spent by the failed attempt: the right verifier is too late now.
    assert redeem(hub, "gov", code, right).status_code == 400


def test_a_made_up_code_is_refused(hub: World) -> None:
    answer = redeem(hub, "gov", "not-a-code", "x" * 43)
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"


# --- client authentication ------------------------------------------------------------------


def _token_request(hub: World, form: dict[str, str], **kwargs: Any) -> Any:
    code, verifier = _code(hub)
    rp = hub.rps["gov"]
    body = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": rp.redirect_uri,
        "code_verifier": verifier,
        **form,
    }
    return hub.client.post("/oauth2/token", data=body, **kwargs)


def _refused_client(answer: Any) -> None:
    assert answer.status_code in (400, 401), answer.text
    assert answer.json()["error"] == "invalid_client"
    assert "access_token" not in answer.json()


@pytest.mark.parametrize(
    "case",
    [
        "wrong key",
        "replayed",
        "expired",
        "too old",
        "future",
        "no expiry",
        "long-lived without iat",
        "wrong audience",
        "issuer is not subject",
        "alg none",
        "HS256 with the public key",
        "unknown client",
        "client_id differs",
        "tampered",
    ],
)
def test_a_bad_client_assertion_is_refused(hub: World, case: str) -> None:
    rp = hub.rps["gov"]
    assert rp.key is not None
    now = int(time.time())
    form: dict[str, str]
    if case == "wrong key":
        form = assertion_form(new_ec_key(), rp.client_id)
    elif case == "replayed":
        form = assertion_form(rp.key, rp.client_id, jti="once")
        assert _token_request(hub, form).status_code == 200
    elif case == "expired":
        form = assertion_form(rp.key, rp.client_id, iat=now - 120, exp=now - 61)
    elif case == "too old":
        form = assertion_form(rp.key, rp.client_id, iat=now - 400, exp=now + 600)
    elif case == "future":
        form = assertion_form(rp.key, rp.client_id, iat=now + 600, exp=now + 900)
    elif case == "no expiry":
        form = assertion_form(rp.key, rp.client_id, exp=None)
    elif case == "long-lived without iat":
        form = assertion_form(rp.key, rp.client_id, iat=None, exp=now + 3600)
    elif case == "wrong audience":
        form = assertion_form(rp.key, rp.client_id, audience="https://elsewhere.example/token")
    elif case == "issuer is not subject":
        form = assertion_form(rp.key, rp.client_id, iss="someone-else")
    elif case == "alg none":
        header = {"alg": "none"}
        body = {
            "iss": rp.client_id,
            "sub": rp.client_id,
            "aud": ISSUER + "/oauth2/token",
            "exp": now + 60,
            "jti": "n",
        }
        import base64

        def part(data: dict[str, Any]) -> str:
            raw = base64.urlsafe_b64encode(json.dumps(data).encode())
            return raw.rstrip(b"=").decode()

        form = {
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": f"{part(header)}.{part(body)}.",
        }
    elif case == "HS256 with the public key":
        from joserfc.jwk import OctKey

        public_json = json.dumps(rp.key.as_dict(private=False)).encode()
        form = assertion_form(OctKey.import_key(public_json), rp.client_id, alg="HS256")
    elif case == "unknown client":
        form = assertion_form(rp.key, "no-such-client")
    elif case == "client_id differs":
        form = {**assertion_form(rp.key, rp.client_id), "client_id": hub.rps["bank"].client_id}
    else:  # tampered
        form = assertion_form(rp.key, rp.client_id)
        head, body, signature = form["client_assertion"].split(".")
        claims = json.loads(_b64d(body))
        claims["sub"] = claims["iss"] = hub.rps["gov2"].client_id
        form["client_assertion"] = ".".join([head, _b64e(claims), signature])
    _refused_client(_token_request(hub, form))


def _b64d(text: str) -> bytes:
    import base64

    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _b64e(data: dict[str, Any]) -> str:
    import base64

    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_basic_auth_with_a_wrong_secret_is_refused(hub: World) -> None:
    code, verifier = _code(hub, "bank")
    rp = hub.rps["bank"]
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": rp.redirect_uri,
        "code_verifier": verifier,
    }
    answer = hub.client.post("/oauth2/token", data=form, auth=(rp.client_id, "wrong"))
    assert answer.status_code == 401 and answer.json()["error"] == "invalid_client"


def test_a_client_must_use_its_registered_auth_method(hub: World) -> None:
    # gov is registered for private_key_jwt: a (made-up) basic secret gets nowhere,
    # and bank (client_secret_basic) cannot switch to an assertion either.
    answer = _token_request(hub, {}, auth=(hub.rps["gov"].client_id, "anything"))
    _refused_client(answer)
    bank_key = new_ec_key()
    code, verifier = _code(hub, "bank")
    rp = hub.rps["bank"]
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": rp.redirect_uri,
        "code_verifier": verifier,
        **assertion_form(bank_key, rp.client_id),
    }
    _refused_client(hub.client.post("/oauth2/token", data=form))


def test_no_client_authentication_is_refused(hub: World) -> None:
    _refused_client(_token_request(hub, {"client_id": hub.rps["gov"].client_id}))


def test_the_token_endpoint_takes_only_form_posts(hub: World) -> None:
    answer = hub.client.post("/oauth2/token", json={"grant_type": "client_credentials"})
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_request"
    assert hub.client.get("/oauth2/token").status_code == 405


def test_relying_parties_cannot_use_client_credentials(hub: World) -> None:
    rp = hub.rps["gov"]
    assert rp.key is not None
    form = {"grant_type": "client_credentials", **assertion_form(rp.key, rp.client_id)}
    answer = hub.client.post("/oauth2/token", data=form)
    assert answer.status_code == 400 and answer.json()["error"] == "unauthorized_client"


# --- tokens at UserInfo ---------------------------------------------------------------------


def test_userinfo_refuses_missing_altered_expired_and_foreign_tokens(hub: World) -> None:
    tokens = _tokens(hub)
    good = tokens["access_token"]
    assert _userinfo(hub, good).status_code == 200

    assert hub.client.get("/oauth2/userinfo").status_code == 401
    head, body, signature = good.split(".")
    claims = json.loads(_b64d(body))
    claims["sub"] = "someone-else"
    assert _userinfo(hub, ".".join([head, _b64e(claims), signature])).status_code == 401
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    assert _userinfo(hub, ".".join([head, body, flipped])).status_code == 401

    key = hub.provider.keyring().signing_set("ES256")
    expired = {**claims, "sub": json.loads(_b64d(body))["sub"], "exp": int(time.time()) - 5}
    signed = jwt.encode({"alg": "ES256", "typ": "at+jwt"}, expired, key)
    assert _userinfo(hub, signed).status_code == 401

    # Signed by us but never issued (no record): refused too.
    forged = jwt.encode({"alg": "ES256", "typ": "at+jwt"}, {**claims, "jti": "x"}, key)
    assert _userinfo(hub, forged).status_code == 401

    # An ID token is not an access token.
    assert _userinfo(hub, tokens["id_token"]).status_code == 401

    # Nor is a machine client's access token.
    from identity_world import machine_token

    machine = machine_token(hub).json()["access_token"]
    assert _userinfo(hub, machine).status_code == 401


def test_userinfo_errors_carry_a_bearer_challenge(hub: World) -> None:
    answer = _userinfo(hub, "garbage")
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"].lower().startswith("bearer")


# --- the sign-in pages ----------------------------------------------------------------------


def _to_sign_in(hub: World) -> str:
    answer = hub.client.get(auth_request(hub.rps["gov"]).url, follow_redirects=False)
    assert answer.status_code == 303
    return str(answer.headers["location"])


def test_the_sign_in_form_needs_its_csrf_token(hub: World) -> None:
    path = _to_sign_in(hub)
    missing = hub.client.post(path, data={"nhs_number": ADA}, follow_redirects=False)
    assert missing.status_code == 403
    wrong = hub.client.post(
        path, data={"nhs_number": ADA, "csrf_token": "forged"}, follow_redirects=False
    )
    assert wrong.status_code == 403
    assert "set-cookie" not in wrong.headers


def test_a_sign_in_cannot_be_finished_in_another_browser(hub: World) -> None:
    path = _to_sign_in(hub)
    page = hub.client.get(path)
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    hub.client.cookies.clear()  # another browser: no binding cookie
    set_cookie(hub.client, "__Host-trusthub_flow", "attacker")
    answer = hub.client.post(
        path, data={"nhs_number": ADA, "csrf_token": token}, follow_redirects=False
    )
    assert answer.status_code == 403


def test_a_finished_sign_in_link_cannot_be_replayed(hub: World) -> None:
    path = _to_sign_in(hub)
    carry_on = sign_in_at(hub.client, path, ADA)
    assert hub.client.get(carry_on, follow_redirects=False).status_code == 302
    assert hub.client.get(carry_on, follow_redirects=False).status_code == 400


def test_a_bad_nhs_number_is_refused_and_nothing_is_signed_in(hub: World) -> None:
    path = _to_sign_in(hub)
    page = hub.client.get(path)
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    for nhs, status in (("9434765918", 422), ("9434765911", 422), ("4010232137", 422)):
        answer = hub.client.post(
            path, data={"nhs_number": nhs, "csrf_token": token}, follow_redirects=False
        )
        assert answer.status_code == status
        assert "set-cookie" not in answer.headers or "session" not in answer.headers["set-cookie"]


def test_prompt_login_asks_again(hub: World) -> None:
    authorize_in_browser(hub.client, auth_request(hub.rps["gov"]).url)
    again = hub.client.get(auth_request(hub.rps["gov"], prompt="login").url, follow_redirects=False)
    assert again.status_code == 303 and again.headers["location"].startswith("/identity/sign-in/")


def test_demo_sign_in_is_off_unless_configured(
    database_url: str, tmp_path: Any, signing_jwks: dict[str, Any]
) -> None:
    from identity_world import build_world

    off = build_world(database_url, tmp_path / "keys", signing_jwks, identity_demo_sign_in=False)
    with off.client:
        back = _error_back(off, auth_request(off.rps["gov"]).url)
        assert back["error"] == "unmet_authentication_requirements"
        assert off.client.get("/identity/sign-in/anything").status_code == 404
    off.client.app.state.engine.dispose()  # type: ignore[attr-defined]


def test_sign_in_pages_cannot_be_framed_or_cached(hub: World) -> None:
    page = hub.client.get(_to_sign_in(hub))
    assert page.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"


def test_signing_in_again_ends_the_previous_session(hub: World) -> None:
    authorize_in_browser(hub.client, auth_request(hub.rps["gov"]).url)
    old = hub.client.cookies.get("__Host-trusthub_session")
    authorize_in_browser(hub.client, auth_request(hub.rps["gov"], prompt="login").url)
    new = hub.client.cookies.get("__Host-trusthub_session")
    assert old and new and old != new
    hub.client.cookies.clear()
    set_cookie(hub.client, "__Host-trusthub_session", old)
    again = hub.client.get(auth_request(hub.rps["gov"]).url, follow_redirects=False)
    assert again.status_code == 303  # the old cookie no longer signs anyone in
