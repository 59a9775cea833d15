"""CKAN's own client library, ckanapi's RemoteCKAN, drives the Action API unchanged."""

from __future__ import annotations

from collections.abc import Iterator

import ckanapi
import pytest

from .conftest import PRICE_ROWS, Catalogue


@pytest.fixture
def ckan(live_url: str) -> Iterator[ckanapi.RemoteCKAN]:
    with ckanapi.RemoteCKAN(live_url, user_agent="trusthub-tests") as remote:
        yield remote


@pytest.fixture
def ckan_get(live_url: str) -> Iterator[ckanapi.RemoteCKAN]:
    """The same client in its GET-only mode, which sends parameters in the query string."""
    with ckanapi.RemoteCKAN(live_url, get_only=True) as remote:
        yield remote


def test_catalogue_actions(ckan: ckanapi.RemoteCKAN, catalogue: Catalogue) -> None:
    assert ckan.action.package_list() == ["flood-warnings", "price-paid-data"]
    package = ckan.action.package_show(id="price-paid-data")
    assert package["license_id"] == "OGL-UK-3.0"
    assert package["license_title"] == "Open Government Licence v3.0"
    assert package["organization"]["name"] == "hm-land-registry"
    assert package["version"] == "1"
    assert {t["name"] for t in package["tags"]} >= {"house prices"}
    resource = package["resources"][0]
    assert resource["datastore_active"] is True
    assert resource["row_count"] == PRICE_ROWS
    assert set(resource["downloads"]) == {"csv", "jsonl", "parquet"}
    assert ckan.action.package_show(id=package["id"])["name"] == "price-paid-data"

    shown = ckan.action.resource_show(id=resource["id"])
    assert shown["package_id"] == package["id"]
    assert [f["id"] for f in shown["fields"]][:3] == ["transaction_id", "price", "date_of_transfer"]


def test_package_search(ckan: ckanapi.RemoteCKAN, catalogue: Catalogue) -> None:
    found = ckan.action.package_search(q="flood")
    assert found["count"] == 1
    assert found["results"][0]["name"] == "flood-warnings"
    assert ckan.action.package_search(fq="organization:hm-land-registry")["count"] == 1
    assert ckan.action.package_search(q="nothing-matches-this")["count"] == 0
    everything = ckan.action.package_search(rows=1, start=1, sort="name asc")
    assert everything["count"] == 2
    assert [p["name"] for p in everything["results"]] == ["price-paid-data"]
    faceted = ckan.action.package_search(**{"facet.field": ["organization"]})
    assert faceted["facets"]["organization"] == {"environment-agency": 1, "hm-land-registry": 1}


def test_organizations(ckan: ckanapi.RemoteCKAN, catalogue: Catalogue) -> None:
    assert ckan.action.organization_list() == ["environment-agency", "hm-land-registry"]
    full = ckan.action.organization_list(all_fields=True)
    assert {o["name"]: o["package_count"] for o in full} == {
        "environment-agency": 1,
        "hm-land-registry": 1,
    }
    org = ckan.action.organization_show(id="hm-land-registry", include_datasets=True)
    assert org["title"] == "HM Land Registry"
    assert [p["name"] for p in org["packages"]] == ["price-paid-data"]
    assert ckan.action.organization_show(id=org["id"])["name"] == "hm-land-registry"


def test_datastore_search(ckan: ckanapi.RemoteCKAN, catalogue: Catalogue) -> None:
    rid = catalogue.price_resource
    first = ckan.action.datastore_search(resource_id=rid, limit=5)
    assert first["total"] == PRICE_ROWS
    assert [r["_id"] for r in first["records"]] == [1, 2, 3, 4, 5]
    assert first["fields"][0] == {"id": "_id", "type": "int", "info": None}

    district = first["records"][0]["postcode_district"]
    filtered = ckan.action.datastore_search(
        resource_id=rid,
        filters={"postcode_district": district},
        fields=["postcode_district", "price"],
        sort="price desc",
        limit=1000,
    )
    assert filtered["total"] == len(filtered["records"]) > 0
    assert {r["postcode_district"] for r in filtered["records"]} == {district}
    prices = [r["price"] for r in filtered["records"]]
    assert prices == sorted(prices, reverse=True)
    assert set(filtered["records"][0]) == {"postcode_district", "price"}

    paged = ckan.action.datastore_search(resource_id=rid, limit=2, offset=2)
    assert [r["_id"] for r in paged["records"]] == [3, 4]
    assert paged["_links"]["next"].endswith("offset=4")

    ranged = ckan.action.datastore_search(
        resource_id=rid,
        filters={"date_of_transfer": {"gte": "2010-01-01", "lt": "2011-01-01"}},
        limit=1000,
    )
    assert ranged["total"] > 0
    assert all(r["date_of_transfer"].startswith("2010") for r in ranged["records"])

    street = first["records"][0]["street"]
    searched = ckan.action.datastore_search(resource_id=rid, q=street.lower(), limit=5)
    assert searched["total"] > 0
    assert all(street in " ".join(map(str, r.values())) for r in searched["records"])


def test_datastore_search_by_get(ckan_get: ckanapi.RemoteCKAN, catalogue: Catalogue) -> None:
    result = ckan_get.action.datastore_search(
        resource_id=catalogue.warnings_resource,
        filters='{"severity_level": [1, 2]}',
        fields="severity_level,severity",
        limit=3,
    )
    assert result["total"] > 0
    assert {r["severity_level"] for r in result["records"]} <= {1, 2}
    assert ckan_get.action.package_show(id="flood-warnings")["name"] == "flood-warnings"


def test_datastore_sql_and_info(ckan: ckanapi.RemoteCKAN, catalogue: Catalogue) -> None:
    rid = catalogue.price_resource
    result = ckan.action.datastore_search_sql(
        sql=f'SELECT region, count(*) AS sales, median(price) AS median_price FROM "{rid}" '
        "GROUP BY region ORDER BY region"
    )
    assert sum(r["sales"] for r in result["records"]) == PRICE_ROWS
    assert [f["id"] for f in result["fields"]] == ["region", "sales", "median_price"]
    assert result["records_truncated"] is False

    info = ckan.action.datastore_info(id=rid)
    assert info["meta"]["count"] == PRICE_ROWS
    assert ckan.action.datastore_info(resource_id=rid)["meta"]["id"] == rid
    by_name = {f["id"]: f for f in info["fields"]}
    assert by_name["price"]["type"] == "int4"
    assert by_name["price"]["info"]["label"] == "Price"
    assert by_name["price"]["info"]["classification"] == "non_personal"


def test_errors_come_back_as_ckan_reports_them(
    ckan: ckanapi.RemoteCKAN, catalogue: Catalogue
) -> None:
    with pytest.raises(ckanapi.NotFound):
        ckan.action.package_show(id="no-such-dataset")
    with pytest.raises(ckanapi.NotFound):
        ckan.action.datastore_search(resource_id="no-such-resource")
    with pytest.raises(ckanapi.ValidationError) as missing:
        ckan.action.package_show()
    assert "id" in missing.value.error_dict
    with pytest.raises(ckanapi.ValidationError) as bad_field:
        ckan.action.datastore_search(
            resource_id=catalogue.price_resource, filters={"no_such_field": 1}
        )
    assert "filters" in bad_field.value.error_dict
    with pytest.raises(ckanapi.ValidationError) as refused:
        ckan.action.datastore_search_sql(sql=f'DELETE FROM "{catalogue.price_resource}"')
    assert "query" in refused.value.error_dict
