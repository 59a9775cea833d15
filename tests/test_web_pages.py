"""The web pages: rendered from the service layer, each with a ``.json`` twin of the same data."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from trusthub.registry.models import FieldClassification, OrganisationKind
from trusthub.registry.schemas import DatasetCreate, FieldCreate, OrganisationCreate
from trusthub.registry.service import create_dataset, create_organisation

HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


@pytest.fixture
def seeded(client: TestClient) -> TestClient:
    """Two organisations, one with a dataset covering every field classification."""
    sessions: sessionmaker[Session] = client.app.state.sessions  # type: ignore[attr-defined]
    with sessions() as session, session.begin():
        create_organisation(
            session,
            OrganisationCreate(
                slug="moorfields",
                name="Moorfields Eye Hospital NHS Foundation Trust",
                kind=OrganisationKind.NHS_BODY,
                dpo_name="Priya Shah",
                dpo_email="dpo@moorfields.example",
            ),
        )
        create_dataset(
            session,
            "moorfields",
            DatasetCreate(
                slug="eye-scans",
                title="Retinal scans",
                description="Optical coherence tomography scans taken in clinic.",
                record_key="nhs_number",
                fields=[
                    FieldCreate(name="nhs_number", classification="direct_identifier"),
                    FieldCreate(name="postcode_district", classification="quasi_identifier"),
                    FieldCreate(name="diagnosis", classification="sensitive"),
                    FieldCreate(name="scanner_model", classification="non_personal"),
                ],
            ),
        )
        create_organisation(
            session,
            OrganisationCreate(
                slug="dwp",
                name="Department for Work & Pensions",
                kind=OrganisationKind.GOVERNMENT_DEPARTMENT,
                dpo_name="Sam Jones",
                dpo_email="dpo@dwp.example",
            ),
        )
    return client


def test_start_page_explains_trusthub_and_links_only_to_real_pages(client: TestClient) -> None:
    response = client.get("/", headers=HTML)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    body = response.text
    assert "<title>Your data and who uses it – TrustHub</title>" in body
    assert "Synthetic data only" in body
    assert "See who has used your data" in body
    assert 'href="/citizen"' in body
    assert 'href="/organisations"' in body
    assert 'href="/docs"' in body
    assert 'href="/healthz"' in body
    internal = set(re.findall(r'href="(/[^"]*)"', body)) - {"/.json"}
    for href in internal:
        assert client.get(href).status_code == 200, href


def test_pages_are_not_dressed_as_gov_uk(client: TestClient) -> None:
    for path in ("/", "/citizen", "/organisations"):
        body = client.get(path).text
        assert "GDS Transport" not in body
        assert "/assets/fonts" not in body
        assert "crown" not in body.lower()
        assert "govuk-logo" not in body
        assert "govuk-header__logotype" not in body


def test_trusthub_css_sets_a_system_font(client: TestClient) -> None:
    css = client.get("/assets/trusthub.css")
    assert css.status_code == 200
    assert "system-ui" in css.text


def test_citizen_page_sends_the_signed_out_to_sign_in(client: TestClient) -> None:
    answer = client.get("/citizen", headers=HTML, follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/citizen/sign-in"
    assert "Sign in to see your data" in client.get("/citizen", headers=HTML).text
    assert client.get("/citizen.json").status_code == 401


def test_organisations_page_lists_kind_and_dpo(seeded: TestClient) -> None:
    body = seeded.get("/organisations").text
    assert "2 registered organisations" in body
    assert 'href="/organisations/moorfields"' in body
    assert "Moorfields Eye Hospital NHS Foundation Trust" in body
    assert "NHS body" in body
    assert "Government department" in body
    assert "Department for Work &amp; Pensions" in body  # escaped, not raw
    assert "mailto:dpo@moorfields.example" in body


def test_empty_register_says_so(client: TestClient) -> None:
    assert "No organisations are registered yet." in client.get("/organisations").text
    assert client.get("/organisations.json").json() == {"organisations": []}


def test_organisation_page_shows_each_field_classification_as_a_tag(seeded: TestClient) -> None:
    body = seeded.get("/organisations/moorfields").text
    assert "Retinal scans" in body
    expected = {
        "direct_identifier": ("govuk-tag--red", "Direct identifier"),
        "quasi_identifier": ("govuk-tag--orange", "Quasi-identifier"),
        "sensitive": ("govuk-tag--purple", "Sensitive"),
        "non_personal": ("govuk-tag--green", "Non-personal"),
    }
    assert set(expected) == {c.value for c in FieldClassification}
    for value, (tag_class, label) in expected.items():
        tag = (
            f'<strong class="govuk-tag {tag_class}" data-classification="{value}">{label}</strong>'
        )
        assert tag in body


def test_organisation_without_datasets_says_so(seeded: TestClient) -> None:
    body = seeded.get("/organisations/dwp").text
    assert "has not registered any datasets yet" in body


@pytest.mark.parametrize(
    ("path", "api_path", "key"),
    [
        ("/organisations", "/api/v1/organisations", "organisations"),
        ("/organisations/moorfields", "/api/v1/organisations/moorfields", "organisation"),
    ],
)
def test_json_twin_returns_the_data_the_page_shows(
    seeded: TestClient, path: str, api_path: str, key: str
) -> None:
    twin = seeded.get(path + ".json")
    assert twin.status_code == 200
    assert twin.headers["content-type"] == "application/json"
    assert twin.json() == {key: seeded.get(api_path).json()}
    assert f'<link rel="alternate" type="application/json" href="{path}.json">' in (
        seeded.get(path).text
    )


def test_start_page_json_twin_holds_its_promises_and_links(client: TestClient) -> None:
    data = client.get("/.json").json()
    body = client.get("/").text
    assert len(data["promises"]) == 5
    for promise in data["promises"]:
        assert promise["title"] in body
    assert [link["href"] for link in data["links"]] == [
        "/citizen",
        "/organisations",
        "/opendata",
        "/register",
        "/docs",
    ]


def test_unknown_organisation_gets_the_not_found_page(client: TestClient) -> None:
    response = client.get("/organisations/no-such-body", headers=HTML)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "Page not found" in response.text
    assert "govuk-template" in response.text


def test_unknown_organisation_json_twin_is_problem_json(client: TestClient) -> None:
    response = client.get("/organisations/no-such-body.json")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"].endswith("/not-found")


def test_unknown_path_is_a_page_for_browsers_and_problem_json_for_machines(
    client: TestClient,
) -> None:
    page = client.get("/no/such/page", headers=HTML)
    assert page.status_code == 404
    assert "Page not found" in page.text
    machine = client.get("/no/such/page", headers={"Accept": "application/json"})
    assert machine.status_code == 404
    assert machine.headers["content-type"] == "application/problem+json"
    api = client.get("/api/v1/no-such-thing", headers=HTML)
    assert api.status_code == 404
    assert api.headers["content-type"] == "application/problem+json"
