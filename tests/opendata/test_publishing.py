"""Publishing: versions that stay, and a gate that no path — API, service, CLI — gets round."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from trusthub.cli import app as cli
from trusthub.db import transaction
from trusthub.opendata import service
from trusthub.opendata.models import DatasetVersion, OpenDataset, Resource, Source
from trusthub.opendata.schemas import DatasetCreate, FieldSpec, VersionCreate

from .conftest import Catalogue

CSV = "site,reading,month\nA,1.5,2024-01\nB,2.5,2024-02\nC,3.5,2024-03\n"


def manifest(classification: str = "non_personal", name: str = "river-sites") -> dict[str, Any]:
    return {
        "dataset": {
            "name": name,
            "organisation": "environment-agency",
            "title": "River sites",
            "keywords": ["rivers"],
            "update_frequency": "monthly",
        },
        "notes": "First.",
        "resources": [
            {
                "name": "readings",
                "fields": [
                    {"name": "site", "classification": classification, "label": "Site"},
                    {"name": "reading", "classification": "non_personal"},
                    {"name": "month", "classification": "non_personal"},
                ],
            }
        ],
    }


def upload(
    client: TestClient, headers: dict[str, str], body: dict[str, Any], csv: str = CSV
) -> Any:
    return client.post(
        "/api/v1/opendata/versions",
        data={"manifest": json.dumps(body)},
        files={"readings": ("readings.csv", csv.encode(), "text/csv")},
        headers=headers,
    )


def counts(factory: sessionmaker[Session]) -> tuple[int, int, int]:
    with factory() as session:
        return (
            session.scalar(select(func.count()).select_from(OpenDataset)) or 0,
            session.scalar(select(func.count()).select_from(DatasetVersion)) or 0,
            session.scalar(select(func.count()).select_from(Resource)) or 0,
        )


def tables_on_disk(catalogue: Catalogue) -> int:
    return len(list((catalogue.data_dir / "tables").glob("*.duckdb")))


def test_upload_publishes_versions_and_old_ones_stay(
    od_client: TestClient, admin_headers: dict[str, str], catalogue: Catalogue
) -> None:
    first = upload(od_client, admin_headers, manifest())
    assert first.status_code == 201, first.text
    old = first.json()["resources"][0]
    assert first.json()["version"] == "1"

    second = upload(
        od_client, admin_headers, {**manifest(), "notes": "More."}, CSV + "D,4.5,2024-04\n"
    )
    assert second.status_code == 201, second.text
    package = od_client.get("/api/3/action/package_show", params={"id": "river-sites"}).json()
    assert package["result"]["version"] == "2"
    assert [v["version"] for v in package["result"]["versions"]] == [2, 1]
    assert package["result"]["resources"][0]["row_count"] == 4

    # Version 1 is still there, as it was: shown, searchable and downloadable.
    older = od_client.get(
        "/api/3/action/package_show", params={"id": "river-sites", "version": 1}
    ).json()["result"]
    assert older["resources"][0]["id"] == old["id"]
    search = od_client.get(
        "/api/3/action/datastore_search", params={"resource_id": old["id"]}
    ).json()["result"]
    assert search["total"] == 3
    dump = od_client.get(f"/datastore/dump/{old['id']}", params={"format": "csv"})
    assert dump.text.splitlines() == [
        '"_id","site","reading","month"',
        '1,"A",1.5,"2024-01"',
        '2,"B",2.5,"2024-02"',
        '3,"C",3.5,"2024-03"',
    ]


@pytest.mark.parametrize("classification", ["quasi_identifier", "sensitive", "direct_identifier"])
def test_api_refuses_a_personal_field_and_stores_nothing(
    od_client: TestClient,
    admin_headers: dict[str, str],
    catalogue: Catalogue,
    session_factory: sessionmaker[Session],
    classification: str,
) -> None:
    before, files = counts(session_factory), tables_on_disk(catalogue)
    response = upload(od_client, admin_headers, manifest(classification))
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"].endswith("/not-publishable")
    assert "field 'site'" in problem["detail"]
    assert counts(session_factory) == before
    assert tables_on_disk(catalogue) == files
    assert "river-sites" not in od_client.get("/api/3/action/package_list").json()["result"]


def test_api_refuses_an_unclassified_column(
    od_client: TestClient, admin_headers: dict[str, str], catalogue: Catalogue
) -> None:
    body = manifest()
    body["resources"][0]["fields"] = body["resources"][0]["fields"][1:]  # 'site' left out
    response = upload(od_client, admin_headers, body)
    assert response.status_code == 422
    assert "field 'site' of resource 'readings' is not classified" in response.json()["detail"]


def test_api_cannot_claim_a_risk_verdict(
    od_client: TestClient, admin_headers: dict[str, str], catalogue: Catalogue
) -> None:
    for extra in ({"risk_passed": True}, {"source": "release"}):
        response = upload(od_client, admin_headers, {**manifest("quasi_identifier"), **extra})
        assert response.status_code == 422
        assert response.json()["type"].endswith("/invalid-input")


def test_upload_needs_the_operator_token(od_client: TestClient, catalogue: Catalogue) -> None:
    assert upload(od_client, {}, manifest()).status_code == 401


def test_service_refuses_and_writes_nothing(
    catalogue: Catalogue, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    path = tmp_path / "readings.csv"
    path.write_text(CSV)
    before, files = counts(session_factory), tables_on_disk(catalogue)
    with pytest.raises(service.NotPublishable) as refused, transaction(session_factory) as session:
        service.publish_version(
            session,
            catalogue.data_dir,
            VersionCreate.model_validate(manifest("sensitive")),
            {"readings": service.table_from_csv(path)},
        )
    assert refused.value.reasons[0].startswith("field 'site' of resource 'readings'")
    assert counts(session_factory) == before
    assert tables_on_disk(catalogue) == files


def test_cli_refuses_a_personal_field(
    catalogue: Catalogue, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    data = tmp_path / "readings.csv"
    data.write_text(CSV)
    refused = tmp_path / "personal.json"
    refused.write_text(json.dumps(manifest("quasi_identifier")))
    accepted = tmp_path / "open.json"
    accepted.write_text(json.dumps(manifest()))
    env = {
        "TRUSTHUB_DATABASE_URL": str(catalogue.settings.database_url),
        "TRUSTHUB_OPENDATA_DATA_DIR": str(catalogue.data_dir),
    }
    before = counts(session_factory)
    runner = CliRunner()
    result = runner.invoke(
        cli, ["opendata", "publish", str(refused), "--file", f"readings={data}"], env=env
    )
    assert result.exit_code == 1
    assert "Not publishable" in result.output
    assert counts(session_factory) == before

    result = runner.invoke(
        cli, ["opendata", "publish", str(accepted), "--file", f"readings={data}"], env=env
    )
    assert result.exit_code == 0, result.output
    assert "published river-sites version 1" in result.output


def _release_dataset() -> DatasetCreate:
    return DatasetCreate(
        name="eye-scan-summary",
        organisation="environment-agency",
        title="Anonymised summary",
        update_frequency="annual",
    )


@pytest.mark.parametrize("verdict", [False, None])
def test_release_hand_over_refuses_without_a_passing_report(
    catalogue: Catalogue, session_factory: sessionmaker[Session], verdict: bool | None
) -> None:
    table = pa.table({"region": ["North", "South"], "band": ["40-49", "50-59"], "count": [12, 15]})
    dictionary = [
        FieldSpec(name="region", classification="quasi_identifier"),
        FieldSpec(name="band", classification="quasi_identifier"),
        FieldSpec(name="count", classification="non_personal"),
    ]
    before = counts(session_factory)
    with pytest.raises(service.NotPublishable), transaction(session_factory) as session:
        service.publish_release_output(
            session,
            catalogue.data_dir,
            dataset=_release_dataset(),
            release_ref="release-7",
            table=table,
            data_dictionary=dictionary,
            risk_report_passed=verdict,
        )
    assert counts(session_factory) == before

    with transaction(session_factory) as session:
        package = service.publish_release_output(
            session,
            catalogue.data_dir,
            dataset=_release_dataset(),
            release_ref="release-7",
            table=table,
            data_dictionary=dictionary,
            risk_report_passed=True,
        )
    assert package.versions[0].source == Source.RELEASE.value
    assert package.versions[0].release_ref == "release-7"
    assert package.resources[0].row_count == 2


def test_release_output_with_a_direct_identifier_is_refused_even_if_passed(
    catalogue: Catalogue, session_factory: sessionmaker[Session]
) -> None:
    with pytest.raises(service.NotPublishable) as refused, transaction(session_factory) as session:
        service.publish_release_output(
            session,
            catalogue.data_dir,
            dataset=_release_dataset(),
            release_ref="release-8",
            table=pa.table({"nhs_number": ["9434765919"]}),
            data_dictionary=[FieldSpec(name="nhs_number", classification="direct_identifier")],
            risk_report_passed=True,
        )
    assert "never published" in refused.value.reasons[0]


def test_openapi_describes_the_whole_api(od_client: TestClient, catalogue: Catalogue) -> None:
    spec = od_client.get("/openapi.json").json()
    paths = spec["paths"]
    for name in (
        "package_list", "package_show", "package_search", "organization_list",
        "organization_show", "resource_show", "datastore_search", "datastore_search_sql",
        "datastore_info",
    ):  # fmt: skip
        path = paths[f"/api/3/action/{name}"]
        assert set(path) == {"get", "post"}
        assert path["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert "resource_id" in {
        p["name"] for p in paths["/api/3/action/datastore_search"]["get"]["parameters"]
    }
    for path in ("/datastore/dump/{resource_id}", "/opendata/catalog.ttl",
                 "/opendata/catalog.jsonld", "/api/v1/opendata/versions"):  # fmt: skip
        assert path in paths


def test_a_file_resource_is_published_as_given(
    od_client: TestClient, admin_headers: dict[str, str], catalogue: Catalogue
) -> None:
    body = manifest()
    body["resources"].append(
        {
            "name": "methodology",
            "kind": "file",
            "format": "PDF",
            "fields": [{"name": "document", "classification": "non_personal"}],
        }
    )
    response = od_client.post(
        "/api/v1/opendata/versions",
        data={"manifest": json.dumps(body)},
        files={
            "readings": ("*.csv", CSV.encode(), "text/csv"),  # a glob is only ever a name here
            "methodology": ("how we measure.pdf", b"%PDF-1.7 not really", "application/pdf"),
        },
        headers=admin_headers,
    )
    assert response.status_code == 201, response.text
    resources = {r["name"]: r for r in response.json()["resources"]}
    assert resources["readings"]["row_count"] == 3
    document = resources["methodology"]
    assert document["datastore_active"] is False
    assert document["url"].endswith("/how-we-measure.pdf")
    download = od_client.get(document["url"].replace("http://testserver", ""))
    assert download.content == b"%PDF-1.7 not really"
    search = od_client.get("/api/3/action/datastore_search", params={"resource_id": document["id"]})
    assert search.status_code == 404
