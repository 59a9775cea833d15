"""Agreements through the API: both DPOs approve, history is kept, the register is public."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

HOSPITAL = {
    "slug": "eye-hospital",
    "name": "Riverside Eye Hospital",
    "kind": "nhs_body",
    "dpo_name": "Dr Dee",
    "dpo_email": "dpo@eye.example",
}
UNIVERSITY = {
    "slug": "uni",
    "name": "University of Somewhere",
    "kind": "research_partner",
    "dpo_name": "Prof Pee",
    "dpo_email": "dpo@uni.example",
}
SCANS = {
    "slug": "oct-scans",
    "title": "OCT scans",
    "record_key": "nhs_number",
    "fields": [
        {"name": "nhs_number", "classification": "direct_identifier"},
        {"name": "age_band", "classification": "quasi_identifier"},
        {"name": "diagnosis", "classification": "sensitive"},
    ],
}
TERMS: dict[str, Any] = {
    "provider": "eye-hospital",
    "recipient": "uni",
    "dataset": "oct-scans",
    "fields": ["nhs_number", "age_band", "diagnosis"],
    "purpose": "Train a model that spots urgent eye disease earlier.",
    "purpose_category": "research",
    "lawful_basis": "public_task",
    "article9_condition": "archiving_research_statistics",
    "legal_gateway": "NHS Act 2006 s.251",
    "data_form": "pseudonymised",
    "retention_days": 730,
    "starts_on": "2026-01-01",
    "ends_on": "2099-12-31",
    "dpia_reference": "DPIA-2026-007",
    "contacts": [
        {"role": "Information asset owner", "name": "Ann Owner", "email": "iao@eye.example"}
    ],
}


@pytest.fixture
def world(client: TestClient, admin_headers: dict[str, str]) -> TestClient:
    for org in (HOSPITAL, UNIVERSITY):
        assert (
            client.post("/api/v1/organisations", json=org, headers=admin_headers).status_code == 201
        )
    created = client.post(
        "/api/v1/organisations/eye-hospital/datasets", json=SCANS, headers=admin_headers
    )
    assert created.status_code == 201
    return client


def _draft(client: TestClient, headers: dict[str, str], terms: dict[str, Any] = TERMS) -> Any:
    return client.post(
        "/api/v1/agreements", params={"actor": "Ann Owner"}, json=terms, headers=headers
    )


def _act(client: TestClient, headers: dict[str, str], ref: str, kind: str, party: str) -> Any:
    body = {"party": party, "actor": f"{party} DPO"}
    return client.post(f"/api/v1/agreements/{ref}/{kind}", json=body, headers=headers)


def test_both_dpos_must_approve_before_it_is_active(
    world: TestClient, admin_headers: dict[str, str]
) -> None:
    drafted = _draft(world, admin_headers)
    assert drafted.status_code == 201, drafted.text
    ref = drafted.json()["reference"]
    assert drafted.json()["status"] == "draft"
    once = _act(world, admin_headers, ref, "approve", "provider").json()
    assert once["status"] == "draft" and once["approved_by"] == ["provider"]
    twice = _act(world, admin_headers, ref, "approve", "provider")
    assert twice.status_code == 409
    both = _act(world, admin_headers, ref, "approve", "recipient").json()
    assert both["status"] == "active"


def test_history_is_kept_and_amendment_resets_approvals(
    world: TestClient, admin_headers: dict[str, str]
) -> None:
    ref = _draft(world, admin_headers).json()["reference"]
    _act(world, admin_headers, ref, "approve", "provider")
    amended = world.put(
        f"/api/v1/agreements/{ref}/terms",
        params={"actor": "Ann Owner"},
        json={**TERMS, "fields": ["nhs_number", "diagnosis"]},
        headers=admin_headers,
    ).json()
    assert amended["version"] == 2 and amended["approved_by"] == []
    assert [e["kind"] for e in amended["history"]] == ["drafted", "approved", "amended"]
    _act(world, admin_headers, ref, "approve", "provider")
    _act(world, admin_headers, ref, "approve", "recipient")
    _act(world, admin_headers, ref, "suspend", "recipient")
    final = _act(world, admin_headers, ref, "revoke", "operator").json()
    assert final["status"] == "revoked"
    assert [e["kind"] for e in final["history"]] == [
        "drafted",
        "approved",
        "amended",
        "approved",
        "approved",
        "suspended",
        "revoked",
    ]
    assert final["terms"]["fields"] == ["nhs_number", "diagnosis"]
    assert _act(world, admin_headers, ref, "reinstate", "provider").status_code == 409


def test_the_public_register_lists_agreements_past_draft_without_contacts(
    world: TestClient, admin_headers: dict[str, str]
) -> None:
    ref = _draft(world, admin_headers).json()["reference"]
    assert world.get("/api/v1/register").json() == []
    _act(world, admin_headers, ref, "approve", "provider")
    _act(world, admin_headers, ref, "approve", "recipient")
    register = world.get("/api/v1/register").json()
    assert [(e["reference"], e["status"]) for e in register] == [(ref, "active")]
    assert "contacts" not in register[0] and "iao@eye.example" not in str(register)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"fields": ["nhs_number", "retina_colour"]}, "fields"),
        ({"article9_condition": None}, "article9_condition"),
        ({"recipient": "nobody"}, "recipient"),
        ({"dataset": "no-such-data"}, "dataset"),
        ({"lawful_basis": "because"}, "lawful_basis"),
        ({"ends_on": "2025-01-01"}, "ends_on"),
        ({"contacts": []}, "contacts"),
    ],
)
def test_bad_terms_are_refused_and_nothing_is_stored(
    world: TestClient, admin_headers: dict[str, str], change: dict[str, Any], field: str
) -> None:
    response = _draft(world, admin_headers, {**TERMS, **change})
    assert response.status_code == 422, response.text
    assert field in [e["field"] for e in response.json()["errors"]]
    assert world.get("/api/v1/register").json() == []
    assert world.get("/api/v1/agreements/DSA-2026-00001", headers=admin_headers).status_code == 404


def test_drafting_needs_the_operator_token(world: TestClient) -> None:
    assert world.post("/api/v1/agreements", params={"actor": "x"}, json=TERMS).status_code == 401


def test_the_register_page_shows_approved_agreements_and_has_a_json_twin(
    world: TestClient, admin_headers: dict[str, str]
) -> None:
    ref = _draft(world, admin_headers).json()["reference"]
    assert "No agreements have been approved yet" in world.get("/register").text
    _act(world, admin_headers, ref, "approve", "provider")
    _act(world, admin_headers, ref, "approve", "recipient")
    page = world.get("/register")
    assert page.status_code == 200
    assert ref in page.text and "NHS Act 2006 s.251" in page.text
    twin = world.get("/register.json").json()
    assert twin["agreements"] == world.get("/api/v1/register").json()
