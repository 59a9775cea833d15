"""Full downloads in three formats, and DCAT-AP that rdflib reads back."""

from __future__ import annotations

import csv
import io
import json

import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from rdflib import Graph, Namespace, URIRef
from rdflib.namespace import DCTERMS, RDF

from trusthub.opendata import downloads

from .conftest import PRICE_ROWS, Catalogue

DCAT = Namespace("http://www.w3.org/ns/dcat#")  # open namespace: nothing for pytest to trip on


def test_csv_download_is_whole_and_streamed(od_client: TestClient, catalogue: Catalogue) -> None:
    response = od_client.get(f"/datastore/dump/{catalogue.price_resource}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "price-paid-data-v1-price-paid.csv" in response.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0][:4] == ["_id", "transaction_id", "price", "date_of_transfer"]
    assert len(rows) == PRICE_ROWS + 1
    assert [int(r[0]) for r in rows[1:]] == list(range(1, PRICE_ROWS + 1))


def test_csv_crosses_batches_without_repeating_the_header(catalogue: Catalogue) -> None:
    path = catalogue.data_dir / "tables" / f"{catalogue.price_resource}.duckdb"
    chunks = list(downloads.csv_chunks(path, batch_rows=500))
    assert len(chunks) >= PRICE_ROWS // 500
    text = b"".join(chunks).decode()
    assert text.count('"_id"') == 1
    assert len(text.splitlines()) == PRICE_ROWS + 1


def test_jsonl_and_parquet_downloads(od_client: TestClient, catalogue: Catalogue) -> None:
    rid = catalogue.warnings_resource
    lines = od_client.get(f"/datastore/dump/{rid}", params={"format": "jsonl"}).text.splitlines()
    assert len(lines) == 400
    first = json.loads(lines[0])
    assert first["_id"] == 1 and "severity" in first

    response = od_client.get(f"/datastore/dump/{rid}", params={"format": "parquet"})
    assert response.headers["content-type"] == "application/vnd.apache.parquet"
    table = pq.read_table(io.BytesIO(response.content))
    assert table.num_rows == 400
    assert table.column_names[:2] == ["_id", "flood_area_id"]


def test_unknown_format_and_resource(od_client: TestClient, catalogue: Catalogue) -> None:
    rid = catalogue.price_resource
    assert od_client.get(f"/datastore/dump/{rid}", params={"format": "xlsx"}).status_code == 422
    assert od_client.get("/datastore/dump/not-a-resource").status_code == 404


@pytest.mark.parametrize(("suffix", "rdf_format"), [("ttl", "turtle"), ("jsonld", "json-ld")])
def test_dcat_catalogue_parses(
    od_client: TestClient, catalogue: Catalogue, suffix: str, rdf_format: str
) -> None:
    response = od_client.get(f"/opendata/catalog.{suffix}")
    assert response.status_code == 200
    graph = Graph().parse(data=response.text, format=rdf_format)
    catalogues = list(graph.subjects(RDF.type, DCAT.Catalog))
    assert len(catalogues) == 1
    datasets = set(graph.subjects(RDF.type, DCAT.Dataset))
    assert set(graph.objects(catalogues[0], DCAT.dataset)) == datasets
    assert len(datasets) == 2
    price = next(d for d in datasets if str(d).endswith("/opendata/datasets/price-paid-data"))
    titles = {str(t) for t in graph.objects(price, DCTERMS.title)}
    assert titles == {"Price Paid Data"}
    distributions = set(graph.objects(price, DCAT.distribution))
    assert len(distributions) == 3
    for distribution in distributions:
        assert (distribution, RDF.type, DCAT.Distribution) in graph
        assert set(graph.objects(distribution, DCTERMS.license)) == {
            URIRef("https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/")
        }
        assert list(graph.objects(distribution, DCAT.downloadURL))
    assert str(next(graph.objects(price, DCTERMS.accrualPeriodicity))).endswith("/MONTHLY")


def test_dcat_for_one_dataset(od_client: TestClient, catalogue: Catalogue) -> None:
    graph = Graph().parse(
        data=od_client.get("/opendata/datasets/flood-warnings.ttl").text, format="turtle"
    )
    assert len(set(graph.subjects(RDF.type, DCAT.Dataset))) == 1
    assert od_client.get("/opendata/datasets/no-such.ttl").status_code == 404
