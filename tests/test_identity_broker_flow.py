"""The broker end to end: a service asks the hub, the citizen proves who they are at a demo
identity provider, and the service gets a verified identity at the level it asked — with the
privacy split kept both ways and every release on the ledger before the tokens."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from joserfc import jwt
from joserfc.jwk import KeySet

from broker_world import IDP, at_provider, choose_provider, prove, through_broker
from identity_world import ADA, ISSUER, World, auth_request, query_of, redeem
from trusthub.identity.broker.client import discover, forget
from trusthub.identity.broker.config import broker_setup, find
from trusthub.identity.oidc.claims import CORE_IDENTITY_CLAIM
from trusthub.identity.oidc.keys import rotate_key_file
from trusthub.ledger import service as ledger_service


def verified(world: World, id_token: str, client_id: str) -> dict[str, Any]:
    keys = KeySet.import_key_set(world.client.get("/oauth2/jwks").json())
    token = jwt.decode(id_token, keys)
    registry = jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": ISSUER}, aud={"essential": True, "value": client_id}
    )
    registry.validate(token.claims)
    return dict(token.claims)


def test_a_service_gets_a_p2_identity_through_a_provider(brokered: World) -> None:
    prove(brokered)
    rp = brokered.rps["gov"]
    asked = auth_request(rp, vtr='["Cl.Cm.P2"]', scope="openid profile")
    outbound, back = through_broker(brokered, asked.url)

    # the provider never learns the service: only the hub's client and callback are sent
    sent = query_of(outbound)
    assert sent["client_id"] == "trusthub-hub-post-office"
    assert sent["redirect_uri"] == ISSUER + "/identity/broker/callback"
    assert sent["vtr"] == '["Cl.Cm.P2"]'
    for secret in (rp.client_id, rp.redirect_uri, "Universal Credit", asked.params["state"]):
        assert secret not in outbound

    returned = query_of(back)
    assert back.startswith(rp.redirect_uri) and returned["state"] == asked.params["state"]
    tokens = redeem(brokered, "gov", returned["code"], asked.verifier)
    assert tokens.status_code == 200, tokens.text
    claims = verified(brokered, tokens.json()["id_token"], rp.client_id)
    assert claims["vot"] == "Cl.Cm.P2" and claims["vtm"] == ISSUER + "/trustmark"
    assert claims["nonce"] == asked.params["nonce"]

    info = brokered.client.get(
        "/oauth2/userinfo", headers={"Authorization": f"Bearer {tokens.json()['access_token']}"}
    ).json()
    assert info["given_name"] == "Ada" and info["birthdate"] == "1985-12-10"
    # the service never learns which provider: nothing of it in what the service gets
    everything = tokens.text + str(info)
    assert IDP not in everything and "/idp/" not in everything and "Pillarbox" not in everything

    core = info[CORE_IDENTITY_CLAIM]
    core_keys = KeySet.import_key_set(brokered.client.get("/identity/core-identity/jwks").json())
    id_keys = KeySet.import_key_set(brokered.client.get("/oauth2/jwks").json())
    assert not {k.kid for k in core_keys} & {k.kid for k in id_keys}  # a key of its own
    decoded = jwt.decode(core, core_keys)
    assert decoded.claims["sub"] == claims["sub"] and decoded.claims["vot"] == "P2"
    assert decoded.claims["aud"] == rp.client_id and decoded.claims["iss"] == ISSUER
    subject = decoded.claims["vc"]["credentialSubject"]
    assert subject["birthDate"] == [{"value": "1985-12-10"}]
    assert decoded.claims["vc"]["evidence"] == [{"type": "IdentityCheck", "verifier": ISSUER}]

    # the release is on the ledger, where the citizen can see it
    ledger = brokered.client.app.state.ledger  # type: ignore[attr-defined]
    with ledger.sessions() as session:
        found = ledger_service.entries_for_citizen(
            session, brokered.citizen_ids[ADA], ledger.keys.commitment
        )
    released = [e.entry for e in found if e.entry.source == "identity"]
    assert len(released) == 1
    assert released[0].client == rp.client_id and released[0].organisation == "dwp"
    assert released[0].purpose == "identity_verification"
    assert set(released[0].fields) == {
        "sub", "vot", "vtm", "given_name", "family_name", "birthdate", CORE_IDENTITY_CLAIM,
    }  # fmt: skip

    account = brokered.client.get("/account")
    assert account.status_code == 200
    assert "Universal Credit" in account.text and "Pillarbox" in account.text
    assert urlsplit(back).netloc == "rp.gov.example"


def test_signing_in_to_the_account_page_itself(brokered: World) -> None:
    from broker_world import at_provider, csrf_of

    prove(brokered)
    client = brokered.client
    assert "You are not signed in" in client.get("/account").text
    page = client.get("/account/sign-in")
    assert page.status_code == 200 and "DEMO" not in page.text
    answer = client.post(
        "/account/sign-in",
        data={"provider": IDP, "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    back = at_provider(client, answer.headers["location"])
    answer = client.get(back, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/account"
    account = client.get("/account").text
    assert "Pillarbox" in account and "Cl.Cm.P2" in account


def test_a_provider_that_rotates_its_key_mid_sign_in_is_still_believed(
    brokered: World, tmp_path: Path
) -> None:
    """The broker keeps a provider's keys for minutes, and fetches them again for an unknown
    kid: a rotation counts at once, with no restart and no refused sign-in."""
    other = "credit-bureau"  # a provider this test's browser has not signed in to
    prove(brokered, idp=other)
    provider = find(broker_setup(brokered.settings), other)
    assert provider is not None
    forget(provider)
    rp = brokered.rps["gov"]
    asked = auth_request(rp, vtr='["Cl.Cm.P2"]', scope="openid profile")
    answer = brokered.client.get(asked.url, follow_redirects=False)
    outbound = choose_provider(brokered.client, answer.headers["location"], other)
    before = {key.kid for key in discover(provider, None).keys}  # as the broker holds them

    new_kid = rotate_key_file(tmp_path / "keys" / "idp" / f"{other}.jwks.json", "ES256", 1)
    assert new_kid not in before

    back = at_provider(brokered.client, outbound)
    answer = brokered.client.get(back, follow_redirects=False)
    assert answer.status_code == 302, answer.text
    returned = query_of(answer.headers["location"])
    assert redeem(brokered, "gov", returned["code"], asked.verifier).status_code == 200
