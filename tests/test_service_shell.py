"""The service shell: health, metrics, docs, problem+json errors, request ids, private logs."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient


def test_healthz_checks_the_database(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.text == "ok"


def test_metrics_are_prometheus_text(client: TestClient) -> None:
    client.get("/healthz")
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert 'trusthub_http_requests_total{method="GET",route="/healthz",status="200"}' in (
        response.text
    )


def test_openapi_and_docs_are_served(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert spec["info"]["title"] == "TrustHub"
    assert "/api/v1/citizens" in spec["paths"]
    assert "/api/v1/organisations" in spec["paths"]
    docs = client.get("/docs")
    assert docs.status_code == 200
    assert "swagger" in docs.text.lower()


def test_unknown_api_route_is_problem_json(client: TestClient) -> None:
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == 404
    assert body["type"].startswith("https://")
    assert body["instance"] == "/api/v1/no-such-thing"


def test_request_id_is_returned_and_kept_when_well_formed(client: TestClient) -> None:
    generated = client.get("/healthz").headers["x-request-id"]
    assert len(generated) == 32
    kept = client.get("/healthz", headers={"X-Request-ID": "abc-123"}).headers["x-request-id"]
    assert kept == "abc-123"
    refused = client.get("/healthz", headers={"X-Request-ID": "bad id\nwith newline"})
    assert refused.headers["x-request-id"] != "bad id\nwith newline"


def test_logs_are_json_with_request_id_and_no_personal_data(
    capfd: pytest.CaptureFixture[str], client: TestClient, admin_headers: dict[str, str]
) -> None:
    citizen = {
        "nhs_number": "9434765919",
        "nino": "AB123456C",
        "given_name": "Wilhelmina",
        "family_name": "Zebedee",
        "date_of_birth": "1970-01-01",
        "address": {
            "line1": "1 High St",
            "town": "York",
            "postcode": "YO1 7HH",
            "moved_in": "2000-01-01",
        },
    }
    created = client.post("/api/v1/citizens", json=citizen, headers=admin_headers)
    client.get(f"/api/v1/citizens/{created.json()['id']}", headers=admin_headers)
    client.post(
        "/api/v1/citizens", json={**citizen, "nhs_number": "9434765918"}, headers=admin_headers
    )
    logged = capfd.readouterr().err
    for secret in ("9434765919", "9434765918", "AB123456C", "Wilhelmina", "Zebedee", "YO1 7HH"):
        assert secret not in logged
    assert admin_headers["Authorization"].split()[1] not in logged
    lines = [json.loads(line) for line in logged.splitlines() if line.startswith("{")]
    requests = [line for line in lines if line.get("event") == "request"]
    assert {r["route"] for r in requests} >= {"/api/v1/citizens", "/api/v1/citizens/{citizen_id}"}
    assert all(len(r["request_id"]) == 32 for r in requests)
