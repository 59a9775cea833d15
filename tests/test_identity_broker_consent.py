"""Consent for services outside government, step-up, the ledger gate, and the citizen's account.

All through the real stack: the hub, the demo identity provider and the ledger.
"""

from __future__ import annotations

from typing import Any

import pytest

from broker_world import at_provider, choose_provider, csrf_of, prove, through_broker
from identity_world import (
    ADA,
    ISSUER,
    RelyingParty,
    World,
    auth_request,
    authorize_in_browser,
    query_of,
    redeem,
)
from trusthub.db import make_session_factory, transaction
from trusthub.identity.oidc.claims import CORE_IDENTITY_CLAIM
from trusthub.identity.oidc.schemas import RelyingPartyCreate
from trusthub.identity.service import register_relying_party
from trusthub.ledger import service as ledger_service


def shop(world: World, **extra: Any) -> RelyingParty:
    """A service outside government, registered to ask consent."""
    app = world.client.app
    with transaction(make_session_factory(app.state.engine)) as db:  # type: ignore[attr-defined]
        view = register_relying_party(
            db,
            RelyingPartyCreate(
                name="Acme Car Hire",
                organisation="bank",
                redirect_uris=["https://cars.example/callback"],
                token_endpoint_auth_method="client_secret_basic",
                scopes=["openid", "profile"],
                kind="non_government",
                **extra,
            ),
        )
    rp = RelyingParty(view.client_id, "https://cars.example/callback", secret=view.client_secret)
    world.rps["shop"] = rp
    return rp


def identity_entries(world: World) -> list[Any]:
    ledger = world.client.app.state.ledger  # type: ignore[attr-defined]
    with ledger.sessions() as session:
        found = ledger_service.entries_for_citizen(
            session, world.citizen_ids[ADA], ledger.keys.commitment
        )
    return [e.entry for e in found if e.entry.source == "identity"]


def sign_in_to_consent(world: World, url: str) -> str:
    """Through the broker to the consent page; returns its path."""
    answer = world.client.get(url, follow_redirects=False)
    assert answer.status_code == 303
    back = at_provider(world.client, choose_provider(world.client, answer.headers["location"]))
    answer = world.client.get(back, follow_redirects=False)  # straight to the consent page
    assert answer.status_code == 303, answer.text
    location = str(answer.headers["location"])
    assert location.startswith("/identity/consent/")
    return location


def test_a_service_outside_government_asks_consent_once(brokered: World) -> None:
    prove(brokered)
    rp = shop(brokered)
    asked = auth_request(rp, vtr='["Cl.Cm.P2"]', scope="openid profile")
    consent_path = sign_in_to_consent(brokered, asked.url)
    page = brokered.client.get(consent_path)
    assert page.status_code == 200 and "Acme Car Hire" in page.text
    for claim in ("given_name", "family_name", "birthdate", CORE_IDENTITY_CLAIM):
        assert claim in page.text
    token = csrf_of(page.text)
    unticked = brokered.client.post(
        consent_path, data={"decision": "allow", "csrf_token": token}, follow_redirects=False
    )
    assert unticked.status_code == 422
    forged = brokered.client.post(
        consent_path,
        data={"decision": "allow", "agree": "yes", "csrf_token": "forged"},
        follow_redirects=False,
    )
    assert forged.status_code == 403
    agreed = brokered.client.post(
        consent_path,
        data={"decision": "allow", "agree": "yes", "csrf_token": token},
        follow_redirects=False,
    )
    assert agreed.status_code == 303
    back = brokered.client.get(agreed.headers["location"], follow_redirects=False)
    assert back.status_code == 302 and back.headers["location"].startswith(rp.redirect_uri)
    code = query_of(back.headers["location"])["code"]
    assert redeem(brokered, "shop", code, asked.verifier).status_code == 200
    assert [e.organisation for e in identity_entries(brokered)] == ["bank"]

    # consent is remembered for this service and these claims: straight back the next time
    again = auth_request(rp, vtr='["Cl.Cm.P2"]', scope="openid profile")
    answer = brokered.client.get(again.url, follow_redirects=False)
    assert answer.status_code == 302 and answer.headers["location"].startswith(rp.redirect_uri)

    # withdrawn from the account page, it is asked again
    account = brokered.client.get("/account")
    assert "Acme Car Hire" in account.text
    withdraw = account.text.split('action="/account/consents/')[1].split('"')[0]
    forged = brokered.client.post(
        f"/account/consents/{withdraw}", data={"csrf_token": "x"}, follow_redirects=False
    )
    assert forged.status_code == 403
    done = brokered.client.post(
        f"/account/consents/{withdraw}",
        data={"csrf_token": csrf_of(account.text)},
        follow_redirects=False,
    )
    assert done.status_code == 303
    third = brokered.client.get(
        auth_request(rp, vtr='["Cl.Cm.P2"]', scope="openid profile").url, follow_redirects=False
    )
    assert third.status_code == 303 and third.headers["location"].startswith("/identity/consent/")


def test_refusing_consent_tells_the_service_and_releases_nothing(brokered: World) -> None:
    prove(brokered)
    rp = shop(brokered)
    consent_path = sign_in_to_consent(
        brokered, auth_request(rp, vtr='["Cl.Cm.P2"]', scope="openid profile").url
    )
    token = csrf_of(brokered.client.get(consent_path).text)
    refused = brokered.client.post(
        consent_path, data={"decision": "deny", "csrf_token": token}, follow_redirects=False
    )
    assert refused.status_code == 302
    assert query_of(refused.headers["location"])["error"] == "access_denied"
    assert identity_entries(brokered) == []


def test_prompt_none_needing_consent_is_consent_required(brokered: World) -> None:
    prove(brokered)
    rp = shop(brokered)
    sign_in_to_consent(brokered, auth_request(rp, vtr='["Cl.Cm.P2"]', scope="openid profile").url)
    silent = brokered.client.get(
        auth_request(rp, vtr='["Cl.Cm.P2"]', scope="openid profile", prompt="none").url,
        follow_redirects=False,
    )
    assert query_of(silent.headers["location"])["error"] == "consent_required"


def test_a_government_service_never_shows_the_consent_screen(brokered: World) -> None:
    prove(brokered)
    _, back = through_broker(
        brokered, auth_request(brokered.rps["gov"], vtr='["Cl.Cm.P2"]', scope="openid profile").url
    )
    assert back.startswith(brokered.rps["gov"].redirect_uri)


def test_a_p0_session_is_stepped_up_at_a_provider(brokered: World) -> None:
    """Signed in with the DEMO sign-in (Cl.P0), a service asking Cl.Cm.P2 sends the citizen to
    prove more; prompt=none meanwhile gets login_required."""
    prove(brokered)
    rp = brokered.rps["gov"]
    authorize_in_browser(brokered.client, auth_request(rp, vtr='["Cl"]').url)  # DEMO: Cl.P0
    silent = brokered.client.get(
        auth_request(rp, vtr='["Cl.Cm.P2"]', prompt="none").url, follow_redirects=False
    )
    assert query_of(silent.headers["location"])["error"] == "login_required"
    asked = auth_request(rp, vtr='["Cl.Cm.P2"]', scope="openid profile")
    _, back = through_broker(brokered, asked.url)
    tokens = redeem(brokered, "gov", query_of(back)["code"], asked.verifier).json()
    assert "id_token" in tokens


def test_a_minimum_level_raises_what_is_asked(brokered: World) -> None:
    rp = shop(brokered, minimum_level="Cl.Cm.P2")
    authorize_in_browser(brokered.client, auth_request(brokered.rps["gov"], vtr='["Cl"]').url)
    answer = brokered.client.get(auth_request(rp, vtr='["Cl"]').url, follow_redirects=False)
    assert answer.status_code == 303  # the Cl.P0 session is not enough for this service
    assert answer.headers["location"].startswith("/identity/sign-in/")


def test_no_ledger_entry_no_tokens(brokered: World) -> None:
    prove(brokered)
    asked = auth_request(brokered.rps["gov"], vtr='["Cl.Cm.P2"]', scope="openid profile")
    _, back = through_broker(brokered, asked.url)
    brokered.client.app.state.ledger.writer.stop()  # type: ignore[attr-defined]
    answer = redeem(brokered, "gov", query_of(back)["code"], asked.verifier)
    assert answer.status_code == 503
    assert "access_token" not in answer.text and "id_token" not in answer.text
    assert answer.json()["error"] == "temporarily_unavailable"


def test_sign_out_everywhere_ends_sessions_and_access(brokered: World) -> None:
    prove(brokered)
    asked = auth_request(brokered.rps["gov"], vtr='["Cl.Cm.P2"]', scope="openid profile")
    _, back = through_broker(brokered, asked.url)
    access = redeem(brokered, "gov", query_of(back)["code"], asked.verifier).json()
    bearer = {"Authorization": f"Bearer {access['access_token']}"}
    assert brokered.client.get("/oauth2/userinfo", headers=bearer).status_code == 200
    account = brokered.client.get("/account")
    session = brokered.client.cookies.get("__Host-trusthub_session")
    forged = brokered.client.post(
        "/account/sign-out-everywhere", data={"csrf_token": "x"}, follow_redirects=False
    )
    assert forged.status_code == 403
    out = brokered.client.post(
        "/account/sign-out-everywhere",
        data={"csrf_token": csrf_of(account.text)},
        follow_redirects=False,
    )
    assert out.status_code == 303
    assert brokered.client.get("/oauth2/userinfo", headers=bearer).status_code == 401
    assert session is not None
    brokered.client.cookies.set("__Host-trusthub_session", session, domain="testserver.local")
    assert "You are not signed in" in brokered.client.get("/account").text


def test_sign_in_attempts_are_rate_limited(brokered: World) -> None:
    answer = brokered.client.get(auth_request(brokered.rps["gov"]).url, follow_redirects=False)
    chooser = answer.headers["location"]
    token = csrf_of(brokered.client.get(chooser).text)
    statuses = [
        brokered.client.post(
            chooser, data={"nhs_number": "1", "csrf_token": token}, follow_redirects=False
        ).status_code
        for _ in range(25)
    ]
    assert statuses[0] == 422 and statuses[-1] == 429


@pytest.mark.parametrize("path", ["/account/sign-out-everywhere", "/account/consents/1/withdraw"])
def test_account_forms_need_a_session_and_csrf(brokered: World, path: str) -> None:
    assert brokered.client.post(path, data={}, follow_redirects=False).status_code == 403
    assert ISSUER


def test_registering_a_service_outside_government(
    brokered: World, admin_headers: dict[str, str]
) -> None:
    body = {
        "name": "Acme Insurance",
        "organisation": "bank",
        "redirect_uris": ["https://insure.example/cb"],
        "token_endpoint_auth_method": "client_secret_basic",
        "scopes": ["openid", "profile"],
        "kind": "non_government",
        "allowed_claims": ["given_name", "birthdate"],
        "minimum_level": "Cl.Cm.P2",
    }
    made = brokered.client.post(
        "/api/v1/identity/relying-parties", json=body, headers=admin_headers
    )
    assert made.status_code == 201, made.text
    view = made.json()
    assert view["kind"] == "non_government" and view["minimum_level"] == "Cl.Cm.P2"
    assert view["allowed_claims"] == ["given_name", "birthdate"]
    for bad in ({"kind": "bank"}, {"minimum_level": "P9"}, {"allowed_claims": ["nino"]}):
        refused = brokered.client.post(
            "/api/v1/identity/relying-parties", json={**body, **bad}, headers=admin_headers
        )
        assert refused.status_code == 422, bad


def test_a_service_gets_only_the_claims_it_is_allowed(brokered: World) -> None:
    prove(brokered)
    rp = shop(brokered, allowed_claims=["given_name"])
    asked = auth_request(rp, vtr='["Cl.Cm.P2"]', scope="openid profile")
    consent_path = sign_in_to_consent(brokered, asked.url)
    page = brokered.client.get(consent_path)
    assert "given_name" in page.text and "birthdate" not in page.text
    agreed = brokered.client.post(
        consent_path,
        data={"decision": "allow", "agree": "yes", "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    back = brokered.client.get(agreed.headers["location"], follow_redirects=False)
    code = query_of(back.headers["location"])["code"]
    tokens = redeem(brokered, "shop", code, asked.verifier).json()
    info = brokered.client.get(
        "/oauth2/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    ).json()
    assert set(info) == {"sub", "given_name"}
    assert set(identity_entries(brokered)[0].fields) == {"sub", "vot", "vtm", "given_name"}
