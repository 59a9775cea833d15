"""A citizen in Chromium: a real access through the exchange, then sign in, see it, verify it.

The verification runs in the browser with WebCrypto against the public ledger API; a tampered
proof is shown to fail with the same code.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import test_start_page as start
from playwright.sync_api import Page, expect

from citizen_world import seed
from identity_world import ADA, assertion_form, build_world
from live_server import free_port, live_server
from trusthub.identity.oidc.keys import new_jwks
from trusthub.migrations import upgrade

pytestmark = pytest.mark.browser
Traffic = start.Traffic
playwright, browser, page = start.playwright, start.browser, start.page  # the shared fixtures
_assert_accessible_and_clean = start._assert_accessible_and_clean


@pytest.fixture(scope="module")
def hub_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The app under uvicorn, seeded, with one access to Ada's record made through the exchange."""
    workdir = tmp_path_factory.mktemp("citizen-app")
    database_url = f"sqlite:///{workdir / 'trusthub.db'}"
    upgrade(database_url)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    world = build_world(database_url, workdir / "seed-keys", new_jwks(), issuer=url)
    references = seed(world)
    world.client.app.state.engine.dispose()  # type: ignore[attr-defined]
    settings = {
        "TRUSTHUB_DATABASE_URL": database_url,
        "TRUSTHUB_LOG_JSON": "true",
        "TRUSTHUB_PUBLIC_URL": url,
    }
    with live_server(workdir, settings, port=port) as base:
        assert world.machine_key is not None
        form = {"grant_type": "client_credentials", "scope": "exchange"}
        form.update(
            assertion_form(world.machine_key, world.machine_id, audience=f"{base}/oauth2/token")
        )
        token = httpx.post(f"{base}/oauth2/token", data=form).json()["access_token"]
        answer = httpx.post(
            f"{base}/exchange/v1/records",
            json={
                "agreement": references["service"],
                "purpose_category": "public_service_delivery",
                "subject": {"nhs_number": ADA},
            },
            headers={"Authorization": f"Bearer {token}"},
        )
        assert answer.status_code == 200, answer.text
        yield {"url": base, "ledger_index": answer.json()["ledger"]["index"], **references}


def _sign_in(browser_page: Page, base: str) -> None:
    browser_page.goto(base + "/citizen")
    assert browser_page.url == base + "/citizen/sign-in"
    browser_page.get_by_role("button", name="Sign in (demo)").click()
    # the hub's sign-in page (the broker's choice of provider, with the DEMO form in development);
    # a refused request fails here, showing the refusal page and its reason
    expect(browser_page.get_by_role("main")).to_contain_text("NHS number of a demo citizen")
    browser_page.get_by_label("NHS number of a demo citizen").fill(ADA)
    browser_page.get_by_role("button", name=re.compile(r"^(DEMO sign-in|Sign in)$")).click()
    browser_page.wait_for_url(base + "/citizen")


def test_a_citizen_sees_and_verifies_an_access(
    page: tuple[Page, Traffic], hub_url: dict[str, Any], tmp_path: Path
) -> None:
    browser_page, traffic = page
    base = hub_url["url"]
    _sign_in(browser_page, base)
    expect(browser_page.get_by_role("heading", level=1)).to_have_text("Your data")
    access = browser_page.locator(f"#access-{hub_url['ledger_index']}")
    expect(access).to_contain_text("DWP")
    expect(access).to_contain_text("Permitted")
    expect(access).to_contain_text("Providing a public service to you")
    _assert_accessible_and_clean(browser_page, traffic)

    access.get_by_role("button", name="Check this record").click()
    result = access.locator(".trusthub-verify-result")
    expect(result.locator(".govuk-tag")).to_have_text("Verified", timeout=15_000)
    expect(result).to_contain_text("Passed: The ledger’s checkpoint is signed by its published key")
    expect(result).to_contain_text("Passed: The entry is in the signed ledger")
    expect(result).not_to_contain_text("Failed")

    with browser_page.expect_download() as csv_download:
        browser_page.get_by_role("link", name="spreadsheet (CSV)").click()
    csv_text = Path(csv_download.value.path()).read_text()
    entry_id = access.get_attribute("data-entry-id")
    assert entry_id and entry_id in csv_text and "Permitted" in csv_text
    with browser_page.expect_download() as json_download:
        browser_page.get_by_role("link", name="JSON", exact=True).click()
    downloaded = json.loads(Path(json_download.value.path()).read_text())
    assert [a["entry_id"] for a in downloaded["accesses"]] == [entry_id]

    expect(browser_page.locator("#opt-out-state")).to_have_text("not opted out")
    browser_page.get_by_label("No, I opt out of research and planning").check()
    browser_page.get_by_role("button", name="Save my opt-out choice").click()
    expect(browser_page.get_by_role("alert")).to_contain_text("opt-out choice has been saved")
    expect(browser_page.locator("#opt-out-state")).to_have_text("opted out")
    assert browser_page.get_by_label("No, I opt out of research and planning").is_checked()


def test_a_tampered_proof_fails_in_the_browser(
    page: tuple[Page, Traffic], hub_url: dict[str, Any]
) -> None:
    browser_page, _ = page
    base = hub_url["url"]
    _sign_in(browser_page, base)
    access = browser_page.locator(f"#access-{hub_url['ledger_index']}")
    item = {
        "index": int(access.get_attribute("data-index") or 0),
        "position": None,
        "entryId": access.get_attribute("data-entry-id"),
        "commitment": access.get_attribute("data-commitment"),
        "blinding": access.get_attribute("data-blinding"),
        "citizen": browser_page.locator("#timeline").get_attribute("data-citizen"),
    }
    outcome: dict[str, Any] = browser_page.evaluate(
        """async (item) => {
            const v = await import("/assets/ledger-verify.js");
            const genuine = await v.verifyAccess(item);
            const flip = (hex) => (hex[0] === "0" ? "1" : "0") + hex.slice(1);
            const tampering = (mutate) => async (url, options) => {
                const answer = await fetch(url, options);
                if (!url.includes("/proofs/") && !url.includes("/entries/")) return answer;
                const body = await answer.json();
                mutate(body);
                return new Response(JSON.stringify(body), { status: 200 });
            };
            const badPath = await v.verifyAccess(item, tampering((b) => {
                if (b.inclusion_path) b.inclusion_path.push("00".repeat(32));
            }));
            const badEntry = await v.verifyAccess(item, tampering((b) => {
                if (!b.leaf_input) return;
                b.leaf_input = btoa(atob(b.leaf_input).replace("permit", "refuse"));
            }));
            const wrongCitizen = await v.verifyAccess({ ...item, citizen: item.citizen + "0" });
            // RFC 9162 section 2.1.3.2 directly: a one-bit change in a path fails.
            const leaf = await v.leafHash(new TextEncoder().encode("a"));
            const other = await v.leafHash(new TextEncoder().encode("b"));
            const root = await v.nodeHash(leaf, other);
            const good = await v.verifyInclusion(0, 2, leaf, [other], root);
            const corrupted = other.slice();
            corrupted[0] ^= 1;
            const bad = await v.verifyInclusion(0, 2, leaf, [corrupted], root);
            const wrongSize = await v.verifyInclusion(0, 3, leaf, [other], root);
            return { genuine: genuine.ok, badPath: badPath.ok, badEntry: badEntry.ok,
                     wrongCitizen: wrongCitizen.ok, good, bad, wrongSize };
        }""",
        item,
    )
    assert outcome == {
        "genuine": True,
        "badPath": False,
        "badEntry": False,
        "wrongCitizen": False,
        "good": True,
        "bad": False,
        "wrongSize": False,
    }


def test_the_auditors_page_is_accessible(
    page: tuple[Page, Traffic], hub_url: dict[str, Any]
) -> None:
    browser_page, traffic = page
    browser_page.goto(hub_url["url"] + "/ledger", wait_until="networkidle")
    expect(browser_page.get_by_role("heading", level=1)).to_have_text("The ledger")
    # growth, organisations and agreements; nothing was refused, so no refusals chart
    assert browser_page.locator("svg.trusthub-chart").count() == 3
    _assert_accessible_and_clean(browser_page, traffic)
