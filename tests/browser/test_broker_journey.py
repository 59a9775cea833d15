"""A citizen in Chromium: a service outside government starts sign-in, the citizen chooses an
identity provider, signs in there with password and TOTP, agrees to share, and is back at the
service with a verified P2 identity; then their account shows the service."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import jwt as pyjwt
import pyotp
import pytest
import test_start_page as start
from playwright.sync_api import Page, Route, expect

from broker_world import PASSWORD, TOTP_SECRET, make_brokered, prove
from identity_world import World, pkce_pair, query_of
from live_server import live_hub
from test_identity_broker_consent import shop

pytestmark = pytest.mark.browser
Traffic = start.Traffic
playwright, browser, page = start.playwright, start.browser, start.page  # the shared fixtures
RP = "https://cars.example"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, signing_jwks: dict[str, Any]) -> Iterator[World]:
    def build(database_url: str, keys: Path, issuer: str) -> World:
        hub = make_brokered(database_url, keys, signing_jwks, issuer=issuer)
        prove(hub)
        shop(hub)
        return hub

    with live_hub(tmp_path_factory.mktemp("broker-browser"), build, providers=True) as hub:
        yield hub


def test_the_citizens_journey_through_the_broker(live: World, page: tuple[Page, Traffic]) -> None:
    tab, traffic = page
    issuer = live.provider.issuer
    rp = live.rps["shop"]
    verifier, challenge = pkce_pair()
    nonce, state = "n-" + os.urandom(8).hex(), "s-" + os.urandom(8).hex()
    authorize = (
        issuer
        + "/oauth2/authorize?"
        + urlencode(
            {
                "response_type": "code",
                "client_id": rp.client_id,
                "redirect_uri": rp.redirect_uri,
                "scope": "openid profile",
                "state": state,
                "nonce": nonce,
                "code_challenge": challenge,
                "code_challenge_method": "S256",
                "vtr": '["Cl.Cm.P2"]',
            }
        )
    )
    came_back: list[str] = []

    def service(route: Route) -> None:
        """The relying party's own pages: a start page, and its callback."""
        if route.request.url.startswith(rp.redirect_uri):
            came_back.append(route.request.url)
            route.fulfill(status=200, content_type="text/html", body="<h1>Signed in</h1>")
            return
        body = f'<h1>Acme Car Hire</h1><a id="start" href="{authorize}">Sign in with TrustHub</a>'
        route.fulfill(status=200, content_type="text/html", body=body)

    tab.route(RP + "/**", service)
    tab.goto(RP + "/start")
    tab.click("#start")

    expect(tab.locator("h1")).to_contain_text("How do you want to prove who you are?")
    start._assert_accessible_and_clean(tab, traffic)
    tab.check("#provider-post-office")
    tab.click("button:has-text('Continue')")

    expect(tab).to_have_url(re.compile(r"/idp/post-office/sign-in/"))
    tab.fill("input[name=username]", "ada")
    tab.fill("input[name=password]", PASSWORD)
    tab.fill("input[name=totp]", pyotp.TOTP(TOTP_SECRET).now())
    tab.click("button:has-text('Sign in')")

    expect(tab.locator("h1")).to_contain_text("Share your details with Acme Car Hire?")
    start._assert_accessible_and_clean(tab, traffic)
    expect(tab.locator(".govuk-summary-list")).to_contain_text("Your date of birth")
    tab.check("#agree")
    tab.click("button:has-text('Share and continue')")

    expect(tab.locator("h1")).to_have_text("Signed in")
    returned = query_of(came_back[-1])
    assert returned["state"] == state

    assert rp.secret is not None
    tokens = httpx.post(
        issuer + "/oauth2/token",
        data={
            "grant_type": "authorization_code",
            "code": returned["code"],
            "redirect_uri": rp.redirect_uri,
            "code_verifier": verifier,
        },
        auth=(rp.client_id, rp.secret),
    ).json()
    jwks = pyjwt.PyJWKClient(issuer + "/oauth2/jwks")
    claims = pyjwt.decode(
        tokens["id_token"],
        jwks.get_signing_key_from_jwt(tokens["id_token"]).key,
        algorithms=["ES256"],
        audience=rp.client_id,
        issuer=issuer,
    )
    assert claims["vot"] == "Cl.Cm.P2" and claims["nonce"] == nonce

    traffic.failed.clear()  # the service's own made-up host is not the hub's to answer for
    tab.goto(issuer + "/account")
    expect(tab.locator("#services")).to_contain_text("Acme Car Hire")
    expect(tab.locator("#providers")).to_contain_text("Pillarbox")
    expect(tab.locator("#consents")).to_contain_text("Acme Car Hire")
    start._assert_accessible_and_clean(tab, traffic)
