"""The real app in Debian's Chromium: pages are styled, load no fonts and pass axe (WCAG 2.x AA)."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Playwright, Request, Response, sync_playwright

from live_server import live_server
from trusthub.db import make_engine, make_session_factory, transaction
from trusthub.migrations import upgrade
from trusthub.registry.models import OrganisationKind
from trusthub.registry.schemas import DatasetCreate, FieldCreate, OrganisationCreate
from trusthub.registry.service import create_dataset, create_organisation
from trusthub.web.rendering import STATIC_DIR

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
AXE = STATIC_DIR / "vendor" / "axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
BLOCKING_IMPACTS = {"serious", "critical"}
SCREENSHOT = Path(tempfile.gettempdir()) / "trusthub-start.png"
SEEDED_ORGANISATION = "moorfields"


def _seed(database_url: str) -> None:
    """One organisation with every field class, so tables and tags are on the pages axe checks."""
    engine = make_engine(database_url)
    try:
        with transaction(make_session_factory(engine)) as session:
            create_organisation(
                session,
                OrganisationCreate(
                    slug=SEEDED_ORGANISATION,
                    name="Moorfields Eye Hospital NHS Foundation Trust",
                    kind=OrganisationKind.NHS_BODY,
                    dpo_name="Priya Shah",
                    dpo_email="dpo@moorfields.example",
                ),
            )
            create_dataset(
                session,
                SEEDED_ORGANISATION,
                DatasetCreate(
                    slug="eye-scans",
                    title="Retinal scans",
                    description="Optical coherence tomography scans taken in clinic.",
                    record_key="nhs_number",
                    fields=[
                        FieldCreate(
                            name="nhs_number",
                            classification="direct_identifier",
                            description="The patient's NHS number.",
                        ),
                        FieldCreate(name="postcode_district", classification="quasi_identifier"),
                        FieldCreate(name="diagnosis", classification="sensitive"),
                        FieldCreate(name="scanner_model", classification="non_personal"),
                    ],
                ),
            )
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app under uvicorn in a child process, on a migrated and seeded SQLite file."""
    if not AXE.is_file() or not (STATIC_DIR / "govuk" / "govuk-frontend.min.css").is_file():
        pytest.fail("front-end assets are missing: run scripts/build-assets.sh first")
    workdir = tmp_path_factory.mktemp("browser-app")
    database_url = f"sqlite:///{workdir / 'trusthub.db'}"
    upgrade(database_url)
    _seed(database_url)

    settings = {"TRUSTHUB_DATABASE_URL": database_url, "TRUSTHUB_LOG_JSON": "true"}
    with live_server(workdir, settings) as url:
        yield url


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if shutil.which(CHROMIUM) is None:
        message = f"Debian's Chromium is not installed at {CHROMIUM}"
        if os.environ.get("TRUSTHUB_REQUIRE_BROWSER"):
            pytest.fail(message + " but TRUSTHUB_REQUIRE_BROWSER is set")
        pytest.skip(message + " (scripts/system-deps.sh installs it)")
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@dataclass
class Traffic:
    """What the page asked the network for, and what went wrong."""

    urls: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)


@pytest.fixture
def page(browser: Browser) -> Iterator[tuple[Page, Traffic]]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    traffic = Traffic()

    def on_request(request: Request) -> None:
        traffic.urls.append(request.url)

    def on_failed(request: Request) -> None:
        traffic.failed.append(f"{request.url} ({request.failure})")

    def on_response(response: Response) -> None:
        if response.status >= 400:
            traffic.errors.append(f"{response.status} {response.url}")

    page.on("request", on_request)
    page.on("requestfailed", on_failed)
    page.on("response", on_response)
    page.on("console", lambda message: traffic.console.append(f"{message.type}: {message.text}"))
    page.on("pageerror", lambda error: traffic.console.append(f"pageerror: {error}"))
    yield page, traffic
    context.close()


def _run_axe(page: Page) -> list[dict[str, Any]]:
    """Inject axe-core from our static folder and run the WCAG 2.x A and AA rules."""
    page.add_script_tag(path=str(AXE))
    result: dict[str, Any] = page.evaluate(
        """async (tags) => {
            const results = await axe.run(document, { runOnly: { type: "tag", values: tags } });
            return { violations: results.violations.map((v) => ({
                id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
                nodes: v.nodes.map((n) => ({ target: n.target, summary: n.failureSummary })),
            })) };
        }""",
        WCAG_TAGS,
    )
    violations: list[dict[str, Any]] = result["violations"]
    return violations


def _describe(violations: list[dict[str, Any]]) -> str:
    lines = []
    for violation in violations:
        lines.append(f"[{violation['impact']}] {violation['id']}: {violation['help']}")
        lines.append(f"    {violation['helpUrl']}")
        for node in violation["nodes"][:5]:
            lines.append(f"    at {json.dumps(node['target'])}: {node['summary']}")
    return "\n".join(lines)


def _assert_accessible_and_clean(page: Page, traffic: Traffic) -> None:
    violations = _run_axe(page)
    blocking = [v for v in violations if v["impact"] in BLOCKING_IMPACTS]
    if violations:
        print(f"axe on {page.url}:\n{_describe(violations)}")
    assert not blocking, f"axe found serious or critical violations on {page.url}:\n" + _describe(
        blocking
    )
    fonts = [u for u in traffic.urls if "/fonts/" in u or u.endswith((".woff", ".woff2"))]
    assert not fonts, f"the page requested font files: {fonts}"
    assert not traffic.failed, f"requests failed: {traffic.failed}"
    assert not traffic.errors, f"error responses: {traffic.errors}"
    problems = [m for m in traffic.console if m.startswith(("error", "pageerror"))]
    assert not problems, f"browser console errors: {problems}"


def test_start_page(page: tuple[Page, Traffic], base_url: str) -> None:
    browser_page, traffic = page
    browser_page.goto(base_url + "/", wait_until="networkidle")

    assert browser_page.title() == "Your data and who uses it – TrustHub"
    heading = browser_page.get_by_role("heading", level=1)
    assert heading.is_visible()
    assert heading.inner_text() == "Your data and who uses it"
    assert browser_page.get_by_role("link", name="TrustHub").first.is_visible()
    assert browser_page.get_by_text("Synthetic data only").is_visible()

    # GOV.UK Frontend's CSS and JS both arrived and ran.
    header_colour = browser_page.eval_on_selector(
        ".govuk-header", "el => getComputedStyle(el).backgroundColor"
    )
    assert header_colour == "rgb(11, 12, 12)"
    body_classes = browser_page.eval_on_selector("body", "el => el.className")
    assert "govuk-frontend-supported" in body_classes
    font = heading.evaluate("el => getComputedStyle(el).fontFamily")
    assert font.startswith("system-ui"), font
    assert browser_page.locator("svg.govuk-header__logotype, .govuk-logo").count() == 0

    browser_page.screenshot(path=str(SCREENSHOT), full_page=True)
    _assert_accessible_and_clean(browser_page, traffic)


@pytest.mark.parametrize(
    ("path", "heading"),
    [
        ("/organisations", "Organisations"),
        (f"/organisations/{SEEDED_ORGANISATION}", "Moorfields Eye Hospital NHS Foundation Trust"),
        ("/citizen/sign-in", "Sign in to see your data"),
        ("/ledger", "The ledger"),
        ("/register", "Register of data-sharing agreements"),
    ],
)
def test_page_is_accessible(
    page: tuple[Page, Traffic], base_url: str, path: str, heading: str
) -> None:
    browser_page, traffic = page
    browser_page.goto(base_url + path, wait_until="networkidle")
    assert browser_page.get_by_role("heading", level=1).inner_text() == heading
    _assert_accessible_and_clean(browser_page, traffic)


def test_not_found_page_is_accessible(page: tuple[Page, Traffic], base_url: str) -> None:
    browser_page, _ = page
    response = browser_page.goto(base_url + "/organisations/no-such-body")
    assert response is not None and response.status == 404
    assert browser_page.get_by_role("heading", level=1).inner_text() == "Page not found"
    violations = [v for v in _run_axe(browser_page) if v["impact"] in BLOCKING_IMPACTS]
    assert not violations, _describe(violations)
