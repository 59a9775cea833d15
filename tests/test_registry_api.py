"""Organisations and their datasets, with every field classified."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

ORG = {
    "slug": "dwp",
    "name": "Department for Work and Pensions",
    "kind": "government_department",
    "dpo_name": "Pat Example",
    "dpo_email": "dpo@dwp.example",
}
DATASET: dict[str, Any] = {
    "slug": "claims",
    "title": "Benefit claims",
    "record_key": "nino",
    "fields": [
        {"name": "nino", "classification": "direct_identifier"},
        {"name": "postcode", "classification": "quasi_identifier"},
        {"name": "benefit", "classification": "sensitive"},
        {"name": "office", "classification": "non_personal"},
    ],
}


def test_register_an_organisation_and_a_classified_dataset(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    assert client.post("/api/v1/organisations", json=ORG, headers=admin_headers).status_code == 201
    created = client.post("/api/v1/organisations/dwp/datasets", json=DATASET, headers=admin_headers)
    assert created.status_code == 201, created.text
    org = client.get("/api/v1/organisations/dwp").json()
    assert org["kind_label"] == "Government department"
    fields = org["datasets"][0]["fields"]
    assert [(f["name"], f["classification"]) for f in fields] == [
        (f["name"], f["classification"]) for f in DATASET["fields"]
    ]
    assert [o["slug"] for o in client.get("/api/v1/organisations").json()] == ["dwp"]


def test_duplicate_organisation_is_a_conflict(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    client.post("/api/v1/organisations", json=ORG, headers=admin_headers)
    again = client.post("/api/v1/organisations", json=ORG, headers=admin_headers)
    assert again.status_code == 409
    assert len(client.get("/api/v1/organisations").json()) == 1


def test_bad_organisations_are_refused(client: TestClient, admin_headers: dict[str, str]) -> None:
    for bad in (
        {**ORG, "kind": "shadowy_agency"},
        {**ORG, "dpo_email": "not-an-address"},
        {**ORG, "slug": "Has Spaces"},
    ):
        response = client.post("/api/v1/organisations", json=bad, headers=admin_headers)
        assert response.status_code == 422
        assert response.headers["content-type"] == "application/problem+json"
    assert client.get("/api/v1/organisations").json() == []


def test_bad_datasets_are_refused_and_nothing_is_stored(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    client.post("/api/v1/organisations", json=ORG, headers=admin_headers)
    url = "/api/v1/organisations/dwp/datasets"
    unclassified = {**DATASET, "fields": [{"name": "nino", "classification": "secret-ish"}]}
    wrong_key = {**DATASET, "record_key": "nhs_number"}
    repeated = {**DATASET, "fields": DATASET["fields"] + [DATASET["fields"][0]]}
    for bad, field in (
        (unclassified, "fields.0.classification"),
        (wrong_key, "record_key"),
        (repeated, "fields"),
    ):
        response = client.post(url, json=bad, headers=admin_headers)
        assert response.status_code == 422, response.text
        assert field in [e["field"] for e in response.json()["errors"]]
    assert client.get("/api/v1/organisations/dwp").json()["datasets"] == []


def test_datasets_for_an_unknown_organisation_are_not_found(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    response = client.post(
        "/api/v1/organisations/nope/datasets", json=DATASET, headers=admin_headers
    )
    assert response.status_code == 404


def test_registering_needs_the_operator_token(client: TestClient) -> None:
    assert client.post("/api/v1/organisations", json=ORG).status_code == 401
    assert client.get("/api/v1/organisations").json() == []
