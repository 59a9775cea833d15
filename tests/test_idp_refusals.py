"""What a demo identity provider refuses: bad credentials, many tries, forged forms, bad PKCE."""

from __future__ import annotations

import base64
import hashlib
import secrets
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pyotp

from idp_world import (
    ISSUER,
    PASSWORD,
    REDIRECT,
    IdpWorld,
    sign_in,
    sign_in_form,
)

pytest_plugins = ["idp_world"]


def start(world: IdpWorld, vtr: str = '["Cl.Cm.P2"]', **extra: str) -> tuple[Any, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    params = {
        "response_type": "code",
        "client_id": world.secret_client_id,
        "redirect_uri": REDIRECT,
        "scope": "openid profile",
        "state": "s" * 16,
        "nonce": secrets.token_urlsafe(12),
        "code_challenge": challenge.rstrip(b"=").decode(),
        "code_challenge_method": "S256",
        "vtr": vtr,
        **extra,
    }
    answer = world.client.get(
        "/idp/post-office/oauth2/authorize?" + urlencode(params), follow_redirects=False
    )
    return answer, verifier


def query(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def code_for(world: IdpWorld, username: str = "ada") -> tuple[str, str]:
    answer, verifier = start(world)
    signed = sign_in(world, answer.headers["location"], username)
    return query(signed.headers["location"])["code"], verifier


def redeem(world: IdpWorld, code: str, verifier: str) -> Any:
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "code_verifier": verifier,
    }
    auth = (world.secret_client_id, world.secret)
    return world.client.post("/idp/post-office/oauth2/token", data=form, auth=auth)


def test_a_wrong_password_is_refused_and_sets_no_session(idp: IdpWorld) -> None:
    answer, _ = start(idp)
    refused = sign_in(idp, answer.headers["location"], "ada", password="not the password")
    assert refused.status_code == 401
    assert "set-cookie" not in refused.headers
    assert "Enter the username, password and security code" in refused.text


def test_an_unknown_account_is_refused_the_same_way(idp: IdpWorld) -> None:
    answer, _ = start(idp)
    refused = sign_in(idp, answer.headers["location"], "nobody", password=PASSWORD)
    assert refused.status_code == 401
    assert "Enter the username, password and security code" in refused.text


def test_a_wrong_or_replayed_security_code_is_refused(idp: IdpWorld) -> None:
    answer, _ = start(idp)
    location = answer.headers["location"]
    code = pyotp.TOTP(idp.totp["ada"]).now()
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    assert sign_in(idp, location, "ada", totp=wrong).status_code == 401
    assert sign_in(idp, location, "ada", totp=code).status_code == 302
    again, _ = start(idp, prompt="login")
    assert sign_in(idp, again.headers["location"], "ada", totp=code).status_code == 401


def test_two_factors_cannot_be_met_without_an_authenticator(idp: IdpWorld) -> None:
    answer, _ = start(idp)
    assert sign_in(idp, answer.headers["location"], "cyd", totp="123456").status_code == 401


def test_too_many_failures_lock_the_account_even_with_the_right_password(idp: IdpWorld) -> None:
    answer, _ = start(idp)
    location = answer.headers["location"]
    for _ in range(5):
        assert sign_in(idp, location, "ada", password="wrong password").status_code == 401
    locked = sign_in(idp, location, "ada")
    assert locked.status_code == 429
    assert int(locked.headers["retry-after"]) > 0
    other = sign_in(idp, location, "bob", totp=pyotp.TOTP(idp.totp["bob"]).now())
    assert other.status_code == 303  # another account from the same address is not locked


def test_too_many_failures_from_one_address_stop_it_trying_other_accounts(idp: IdpWorld) -> None:
    answer, _ = start(idp)
    location = answer.headers["location"]
    for n in range(20):
        assert sign_in(idp, location, f"guess{n}", password="wrong password").status_code == 401
    assert sign_in(idp, location, "bob").status_code == 429


def test_a_form_without_its_csrf_token_is_refused(idp: IdpWorld) -> None:
    answer, _ = start(idp)
    location = answer.headers["location"]
    sign_in_form(idp, location)
    code = pyotp.TOTP(idp.totp["ada"]).now()
    for token in ("", "forged"):
        posted = idp.client.post(
            location,
            data={"username": "ada", "password": PASSWORD, "totp": code, "csrf_token": token},
            follow_redirects=False,
        )
        assert posted.status_code == 403
        assert "set-cookie" not in posted.headers


def test_a_wrong_pkce_verifier_gets_no_token(idp: IdpWorld) -> None:
    code, verifier = code_for(idp)
    refused = redeem(idp, code, verifier[:-1] + ("A" if verifier[-1] != "A" else "B"))
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_grant"
    assert redeem(idp, code, verifier).status_code == 400  # and the code is spent


def test_a_code_works_once_and_a_reuse_revokes_its_token(idp: IdpWorld) -> None:
    code, verifier = code_for(idp)
    first = redeem(idp, code, verifier)
    assert first.status_code == 200
    bearer = {"authorization": f"Bearer {first.json()['access_token']}"}
    assert idp.client.get("/idp/post-office/oauth2/userinfo", headers=bearer).status_code == 200
    assert redeem(idp, code, verifier).json()["error"] == "invalid_grant"
    assert idp.client.get("/idp/post-office/oauth2/userinfo", headers=bearer).status_code == 401


def test_a_wrong_client_secret_gets_no_token(idp: IdpWorld) -> None:
    code, verifier = code_for(idp)
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
            "code_verifier": verifier}  # fmt: skip
    refused = idp.client.post(
        "/idp/post-office/oauth2/token", data=form, auth=(idp.secret_client_id, "wrong")
    )
    assert refused.status_code == 401
    assert refused.json()["error"] == "invalid_client"


def test_a_code_from_one_provider_is_useless_at_another(idp: IdpWorld) -> None:
    code, verifier = code_for(idp)
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
            "code_verifier": verifier}  # fmt: skip
    auth = (idp.secret_client_id, idp.secret)
    refused = idp.client.post("/idp/bank/oauth2/token", data=form, auth=auth)
    assert refused.json()["error"] == "invalid_client"


def test_pkce_and_an_exact_redirect_are_required(idp: IdpWorld) -> None:
    no_pkce, _ = start(idp, code_challenge="", code_challenge_method="")
    assert query(no_pkce.headers["location"])["error"] == "invalid_request"
    plain, _ = start(idp, code_challenge_method="plain")
    assert query(plain.headers["location"])["error"] == "invalid_request"
    elsewhere, _ = start(idp, redirect_uri="https://evil.example/callback")
    assert elsewhere.status_code == 400
    assert "location" not in elsewhere.headers


def test_what_no_sign_in_here_can_reach_is_refused_to_the_client(idp: IdpWorld) -> None:
    answer, _ = start(idp, vtr='["Cl.Cm.P4"]')
    assert answer.status_code == 302
    assert query(answer.headers["location"])["error"] == "unmet_authentication_requirements"
    silent, _ = start(idp, prompt="none")
    assert query(silent.headers["location"])["error"] == "login_required"


def test_an_unproven_identity_cannot_be_asserted_at_p2(idp: IdpWorld) -> None:
    answer, _ = start(idp)
    signed = sign_in(idp, answer.headers["location"], "bob")
    assert signed.status_code == 303
    assert "/idp/post-office/prove/" in signed.headers["location"]
    handle = signed.headers["location"].rsplit("/", 1)[1]
    back = idp.client.get(
        f"/idp/post-office/oauth2/authorize/continue/{handle}", follow_redirects=False
    )
    assert query(back.headers["location"])["error"] == "unmet_authentication_requirements"


def test_userinfo_needs_a_live_token(idp: IdpWorld) -> None:
    assert idp.client.get("/idp/post-office/oauth2/userinfo").status_code == 401
    forged = {"Authorization": "Bearer not-a-token"}
    assert idp.client.get("/idp/post-office/oauth2/userinfo", headers=forged).status_code == 401
    assert ISSUER.endswith("/idp/post-office")


def test_a_nonce_that_got_a_code_is_refused_the_next_time(idp: IdpWorld) -> None:
    answer, _ = start(idp, nonce="used-once")
    signed = sign_in(idp, answer.headers["location"], "ada")
    assert "code" in query(signed.headers["location"])
    again, _ = start(idp, nonce="used-once")  # signed in already: answered at once
    refused = query(again.headers["location"])
    assert refused["error"] == "invalid_request" and "code" not in refused
