"""A person in Chromium proves who they are at a demo identity provider: create an account, set
up security codes, give a passport, answer questions, and go back to the relying party at P2+.
Every page passes axe (WCAG 2.x AA) and loads nothing from elsewhere."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pyotp
import pytest
import test_start_page as start
from playwright.sync_api import Page, Route, expect
from sqlalchemy import select

from identity_world import pkce_pair
from live_server import free_port, live_server
from trusthub.db import make_engine, make_session_factory, transaction
from trusthub.demo.service import seed_database
from trusthub.idp import demo, mrz, service, world
from trusthub.idp.models import IdpAccount
from trusthub.idp.proving_service import questions_for
from trusthub.migrations import upgrade

pytestmark = pytest.mark.browser
Traffic = start.Traffic
playwright, browser, page = start.playwright, start.browser, start.page  # the shared fixtures
REDIRECT = "http://127.0.0.1:9/callback"
SEED = 2017


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    workdir: Path = tmp_path_factory.mktemp("idp-browser")
    database_url = f"sqlite:///{workdir / 'trusthub.db'}"
    upgrade(database_url)
    engine = make_engine(database_url)
    seed_database(engine, 150, SEED)
    with transaction(make_session_factory(engine)) as db:
        client = service.register_client(db, "post-office", [REDIRECT], secret=True)
        person = demo._people(db, 1)[0]
        facts = {
            "given": person.given_name, "family": person.family_name,
            "born": person.date_of_birth, "address": person.addresses[-1],
            "mrz": mrz.make_td3(
                person.family_name, person.given_name,
                world.passport_number(SEED, person.nhs_number), person.date_of_birth, "<",
                date(2031, 1, 1),
            ),
        }  # fmt: skip
        db.expunge_all()
    port = free_port()
    origin = f"http://127.0.0.1:{port}"
    settings = {
        "TRUSTHUB_DATABASE_URL": database_url,
        "TRUSTHUB_PUBLIC_URL": origin,
        "TRUSTHUB_IDENTITY_KEYS_DIR": str(workdir / "keys"),
        "TRUSTHUB_IDP_KEYS_DIR": str(workdir / "keys" / "idp"),
        "TRUSTHUB_LEDGER_KEY_DIR": str(workdir / "ledger"),
        "TRUSTHUB_EXCHANGE_KEYS_DIR": str(workdir / "exchange"),
    }
    with live_server(workdir, settings, port=port):
        yield {"origin": origin, "client_id": client.client_id, "engine": engine, **facts}
    engine.dispose()


def test_proving_identity_in_the_browser(live: dict[str, Any], page: tuple[Page, Traffic]) -> None:
    tab, traffic = page
    _, challenge = pkce_pair()
    query = urlencode({
        "response_type": "code", "client_id": live["client_id"], "redirect_uri": REDIRECT,
        "scope": "openid profile", "state": "state-1234", "nonce": "nonce-1234",
        "code_challenge": challenge, "code_challenge_method": "S256", "vtr": '["Cl.Cm.P2"]',
    })  # fmt: skip
    came_back: list[str] = []

    def relying_party(route: Route) -> None:
        came_back.append(route.request.url)
        route.fulfill(body="back")

    tab.route(REDIRECT + "**", relying_party)
    tab.goto(f"{live['origin']}/idp/post-office/oauth2/authorize?{query}")
    expect(tab.locator("h1")).to_have_text("Sign in to Pillarbox ID")
    start._assert_accessible_and_clean(tab, traffic)
    tab.click("text=Create an account and prove who you are")

    expect(tab.locator("h1")).to_contain_text("Create a Pillarbox ID account")
    start._assert_accessible_and_clean(tab, traffic)
    address = live["address"]
    for name, value in (
        ("username", "browser.person"), ("password", "a long browser password"),
        ("given_name", live["given"]), ("family_name", live["family"]),
        ("birthdate", live["born"].isoformat()), ("line1", address.line1),
        ("town", address.town), ("postcode", address.postcode),
    ):  # fmt: skip
        tab.fill(f"input[name={name}]", value)
    tab.click("button:has-text('Create account')")

    expect(tab.locator("h1")).to_have_text("Set up security codes")
    start._assert_accessible_and_clean(tab, traffic)
    secret = tab.locator("#totp-secret").inner_text()
    tab.fill("input[name=totp]", pyotp.TOTP(secret).now())
    tab.click("button:has-text('Continue')")

    expect(tab.locator("h1")).to_have_text("Prove who you are")
    start._assert_accessible_and_clean(tab, traffic)
    tab.fill("input[name=mrz_line1]", live["mrz"][0])
    tab.fill("input[name=mrz_line2]", live["mrz"][1])
    tab.click("button:has-text('Continue')")

    expect(tab.locator("h1")).to_have_text("Answer some questions")
    start._assert_accessible_and_clean(tab, traffic)
    with make_session_factory(live["engine"])() as db:
        account = db.scalar(select(IdpAccount).where(IdpAccount.username == "browser.person"))
        assert account is not None
        asked = questions_for(db, account)
    for question in asked:
        tab.locator(f'input[name={question.id}][value="{question.answer}"]').check()
    tab.click("button:has-text('Continue')")

    expect(tab.locator("h1")).to_have_text("You have proven your identity")
    start._assert_accessible_and_clean(tab, traffic)
    tab.click("#continue")
    expect(tab.locator("body")).to_have_text("back")
    assert re.search(r"[?&]code=", came_back[-1]) and "state=state-1234" in came_back[-1]
