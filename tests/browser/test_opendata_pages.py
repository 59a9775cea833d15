"""The open-data pages in Debian's Chromium: search, the dataset page, its preview and its chart."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from live_server import live_server
from trusthub.db import make_engine, make_session_factory, transaction
from trusthub.migrations import upgrade
from trusthub.opendata import service
from trusthub.opendata.sources import registry
from trusthub.registry.models import OrganisationKind
from trusthub.registry.schemas import OrganisationCreate
from trusthub.registry.service import create_organisation

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOT = Path(tempfile.gettempdir()) / "trusthub-opendata-dataset.png"


def _publish(database_url: str, data_dir: Path, sources: Path) -> None:
    """Price paid and flood warnings, generated small, published through the service."""
    engine = make_engine(database_url)
    factory = make_session_factory(engine)
    kinds = registry()
    try:
        with transaction(factory) as session:
            for slug, name in (
                ("hm-land-registry", "HM Land Registry"),
                ("environment-agency", "Environment Agency"),
            ):
                create_organisation(
                    session,
                    OrganisationCreate(
                        slug=slug,
                        name=name,
                        kind=OrganisationKind.GOVERNMENT_DEPARTMENT,
                        dpo_name="Data Protection Officer",
                        dpo_email=f"dpo@{slug}.example",
                    ),
                )
        for kind, rows in (("price-paid", 20_000), ("flood-warnings", 500)):
            chosen = kinds[kind]
            files = chosen.generate(sources / kind, rows, 11)
            select = {n: service.TableSource(q) for n, q in chosen.select(files).items()}
            with transaction(factory) as session:
                package = service.publish_version(session, data_dir, chosen.manifest(), select)
            with transaction(factory) as session:
                service.warm_chart(session, data_dir, package.name)
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    workdir = tmp_path_factory.mktemp("opendata-browser")
    database_url = f"sqlite:///{workdir / 'trusthub.db'}"
    data_dir = workdir / "opendata"
    upgrade(database_url)
    _publish(database_url, data_dir, workdir / "sources")
    settings = {
        "TRUSTHUB_DATABASE_URL": database_url,
        "TRUSTHUB_OPENDATA_DATA_DIR": str(data_dir),
    }
    with live_server(workdir, settings) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).is_file() or shutil.which(CHROMIUM) is None:
        pytest.skip(f"Debian's Chromium is not installed at {CHROMIUM}")
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[tuple[Page, list[str]]]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"pageerror: {error}"))
    page.on(
        "response",
        lambda response: (
            problems.append(f"{response.status} {response.url}") if response.status >= 400 else None
        ),
    )
    yield page, problems
    context.close()


def test_search_finds_a_dataset_and_opens_it(page: tuple[Page, list[str]], base_url: str) -> None:
    browser_page, problems = page
    browser_page.goto(base_url + "/opendata", wait_until="networkidle")
    assert browser_page.get_by_role("heading", level=1).inner_text() == "Open data"
    browser_page.get_by_label("Search datasets").fill("house prices")
    browser_page.get_by_role("button", name="Search").click()
    browser_page.wait_for_load_state("networkidle")
    assert "1 dataset" in browser_page.locator("#results-heading").inner_text()
    browser_page.get_by_role("link", name="Price Paid Data").click()
    browser_page.wait_for_load_state("networkidle")
    assert browser_page.get_by_role("heading", level=1).inner_text() == "Price Paid Data"
    assert not problems, problems


def test_dataset_page_draws_its_chart(page: tuple[Page, list[str]], base_url: str) -> None:
    browser_page, problems = page
    browser_page.goto(base_url + "/opendata/datasets/price-paid-data", wait_until="networkidle")
    chart = browser_page.locator("svg.trusthub-chart")
    assert chart.is_visible()
    box = chart.bounding_box()
    assert box is not None and box["width"] > 300 and box["height"] > 150
    lines = browser_page.locator("svg.trusthub-chart polyline")
    assert lines.count() == 10  # one per region
    assert lines.first.evaluate("el => el.getTotalLength()") > 100
    assert chart.get_attribute("role") == "img"
    assert "Median price paid" in (chart.locator("title").first.text_content() or "")

    preview = browser_page.locator("table.trusthub-preview tbody tr")
    assert preview.count() == 10
    assert browser_page.get_by_role("row", name="price").count() >= 1  # the data dictionary
    assert (
        browser_page.locator("pre[data-language=python]").inner_text().startswith("import ckanapi")
    )
    browser_page.screenshot(path=str(SCREENSHOT), full_page=True)
    assert not problems, problems


def test_bar_chart_of_flood_warnings(page: tuple[Page, list[str]], base_url: str) -> None:
    browser_page, problems = page
    browser_page.goto(base_url + "/opendata/datasets/flood-warnings", wait_until="networkidle")
    bars = browser_page.locator("svg.trusthub-chart rect.trusthub-chart__bar")
    assert bars.count() == 4  # one per severity
    heights = [float(bars.nth(i).get_attribute("height") or 0) for i in range(bars.count())]
    assert all(h > 0 for h in heights)
    assert not problems, problems
