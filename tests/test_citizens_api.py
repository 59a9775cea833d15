"""Citizens at the API edge: bad identifiers are refused whole, with the field named."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from trusthub.identity.models import Citizen, CitizenAddress

GOOD: dict[str, Any] = {
    "nhs_number": "943 476 5919",
    "nino": "ab 12 34 56 c",
    "given_name": "Ada",
    "family_name": "Lovelace",
    "date_of_birth": "1985-12-10",
    "address": {
        "line1": "12 Ockham Road",
        "town": "London",
        "postcode": "sw1a2aa",
        "moved_in": "2015-04-01",
    },
}


def _rows(client: TestClient) -> tuple[int, int]:
    with client.app.state.sessions() as session:  # type: ignore[attr-defined]
        citizens = session.scalar(select(func.count()).select_from(Citizen))
        addresses = session.scalar(select(func.count()).select_from(CitizenAddress))
        return int(citizens or 0), int(addresses or 0)


def _with(path: str, value: Any) -> dict[str, Any]:
    body: dict[str, Any] = {**GOOD, "address": dict(GOOD["address"])}
    target = body
    *parents, leaf = path.split(".")
    for key in parents:
        target = target[key]
    target[leaf] = value
    return body


def test_register_citizen_normalises_identifiers(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    response = client.post("/api/v1/citizens", json=GOOD, headers=admin_headers)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["nhs_number"] == "9434765919"
    assert body["nino"] == "AB123456C"
    assert body["addresses"][0]["postcode"] == "SW1A 2AA"
    assert _rows(client) == (1, 1)
    fetched = client.get(f"/api/v1/citizens/{body['id']}", headers=admin_headers).json()
    assert fetched == body


BAD_INPUT = [
    ("nhs_number", "943 476 5918", "check digit"),
    ("nhs_number", "12345", "10 digits"),
    ("nino", "QQ123456C", "cannot start with"),
    ("nino", "AB123456E", "ends in A, B, C or D"),
    ("address.postcode", "QA1 1AA", "not a UK postcode"),
    ("address.postcode", "ZZ9", "5 to 7"),
    ("date_of_birth", "2023-02-30", "date"),
    ("date_of_birth", "2999-01-01", "future"),
    ("date_of_birth", "10/12/1985", "date"),
    ("address.moved_in", "yesterday", "date"),
    ("given_name", "", "at least 1 character"),
]


@pytest.mark.parametrize(("field", "value", "message"), BAD_INPUT)
def test_bad_input_is_refused_with_field_named_and_nothing_stored(
    client: TestClient, admin_headers: dict[str, str], field: str, value: str, message: str
) -> None:
    response = client.post("/api/v1/citizens", json=_with(field, value), headers=admin_headers)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 422
    assert problem["title"] == "Invalid input"
    errors = {e["field"]: e["message"] for e in problem["errors"]}
    assert field in errors, errors
    assert message in errors[field]
    assert value not in response.text or value == ""
    assert _rows(client) == (0, 0)


def test_unknown_fields_are_refused(client: TestClient, admin_headers: dict[str, str]) -> None:
    response = client.post(
        "/api/v1/citizens", json={**GOOD, "religion": "none"}, headers=admin_headers
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "religion"
    assert _rows(client) == (0, 0)


def test_same_nhs_number_twice_is_a_conflict(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    assert client.post("/api/v1/citizens", json=GOOD, headers=admin_headers).status_code == 201
    again = client.post(
        "/api/v1/citizens", json={**GOOD, "nino": "CE000000B"}, headers=admin_headers
    )
    assert again.status_code == 409
    assert again.headers["content-type"] == "application/problem+json"
    assert _rows(client) == (1, 1)


def test_citizen_endpoints_refuse_without_the_operator_token(client: TestClient) -> None:
    assert client.post("/api/v1/citizens", json=GOOD).status_code == 401
    wrong = {"Authorization": "Bearer not-the-token"}
    assert client.post("/api/v1/citizens", json=GOOD, headers=wrong).status_code == 401
    assert client.get("/api/v1/citizens/1", headers=wrong).status_code == 401
    assert _rows(client) == (0, 0)


def test_a_move_keeps_the_old_address_in_history(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    created = client.post("/api/v1/citizens", json=GOOD, headers=admin_headers).json()
    move = {
        "line1": "3 New Street",
        "town": "Leeds",
        "postcode": "LS1 4AP",
        "moved_in": "2022-06-01",
    }
    moved = client.post(
        f"/api/v1/citizens/{created['id']}/addresses", json=move, headers=admin_headers
    )
    assert moved.status_code == 200, moved.text
    history = moved.json()["addresses"]
    assert [a["postcode"] for a in history] == ["SW1A 2AA", "LS1 4AP"]
    assert history[0]["moved_out"] == "2022-06-01"
    assert history[1]["moved_out"] is None


def test_a_move_back_in_time_is_refused(client: TestClient, admin_headers: dict[str, str]) -> None:
    created = client.post("/api/v1/citizens", json=GOOD, headers=admin_headers).json()
    move = {
        "line1": "3 New Street",
        "town": "Leeds",
        "postcode": "LS1 4AP",
        "moved_in": "2001-01-01",
    }
    response = client.post(
        f"/api/v1/citizens/{created['id']}/addresses", json=move, headers=admin_headers
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "moved_in"
    assert _rows(client) == (1, 1)
