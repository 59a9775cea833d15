"""Generators make files shaped like the real ones; loaders read the real formats and quirks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest

from trusthub.opendata import storage
from trusthub.opendata.sources import companies, flood, price_paid, registry


def load(kind: str, files: list[Path], tmp_path: Path) -> tuple[list[str], list[tuple[Any, ...]]]:
    chosen = registry()[kind]
    ((resource, sql),) = chosen.select(files).items()
    target = tmp_path / f"{resource}.duckdb"
    spec = chosen.manifest().resources[0]
    count = storage.materialise(sql, target, sort_by=spec.sort_by)
    with duckdb.connect(str(target), read_only=True) as connection:
        result = connection.execute("SELECT * FROM data ORDER BY rowid")
        names = [d[0] for d in result.description]
        rows = result.fetchall()
    assert count == len(rows)
    assert names == [f.name for f in spec.fields], "the data dictionary names every column"
    return names, rows


@pytest.mark.parametrize("kind", sorted(registry()))
def test_every_generator_round_trips_through_its_loader(kind: str, tmp_path: Path) -> None:
    chosen = registry()[kind]
    files = chosen.generate(tmp_path / "src", 1_000, 3)
    again = chosen.generate(tmp_path / "again", 1_000, 3)
    assert [f.read_bytes() for f in files] == [f.read_bytes() for f in again], "deterministic"
    _, rows = load(kind, files, tmp_path)
    assert len(rows) == 1_000


def test_price_paid_reads_the_published_format(tmp_path: Path) -> None:
    """Lines as pp-monthly-update.csv has them: quoted commas, no postcode, change records."""
    path = tmp_path / "pp-monthly-update.csv"
    path.write_text(
        '"{0C5A9F1E-1111-4A8B-E063-4804A8C0A1B2}","325000","2024-03-28 00:00","SW1A 2AA","F",'
        '"N","L","10","FLAT 3, RIVER COURT","DOWNING STREET","","LONDON","CITY OF WESTMINSTER",'
        '"GREATER LONDON","A","A"\n'
        '"{0C5A9F1E-2222-4A8B-E063-4804A8C0A1B2}","180000","2024-02-01 00:00","","D","Y","F",'
        '"ROSE COTTAGE","","MILL LANE","","NORWICH","NORWICH","NORFOLK","B","C"\n'
        '"{0C5A9F1E-3333-4A8B-E063-4804A8C0A1B2}","0","2024-01-15 00:00","CF10 1AA","T","N","F",'
        '"7","","HIGH STREET","","CARDIFF","CARDIFF","CARDIFF","A","D"\n'
    )
    names, rows = load("price-paid", [path], tmp_path)
    by_id = {r[0]: dict(zip(names, r, strict=True)) for r in rows}
    flat = by_id["{0C5A9F1E-1111-4A8B-E063-4804A8C0A1B2}"]
    assert flat["saon"] == "FLAT 3, RIVER COURT"
    assert flat["price"] == 325000
    assert str(flat["date_of_transfer"]) == "2024-03-28"
    assert flat["postcode_district"] == "SW1A"
    assert flat["region"] == "London"
    cottage = by_id["{0C5A9F1E-2222-4A8B-E063-4804A8C0A1B2}"]
    assert cottage["postcode"] is None and cottage["postcode_district"] is None
    assert cottage["record_status"] == "C" and cottage["region"] == "East of England"
    assert by_id["{0C5A9F1E-3333-4A8B-E063-4804A8C0A1B2}"]["record_status"] == "D"


def test_price_paid_file_has_sixteen_quoted_unheaded_columns(tmp_path: Path) -> None:
    (path,) = price_paid.generate(tmp_path, 50, 1)
    first = path.read_text().splitlines()[0]
    assert first.startswith('"{') and first.endswith('"')
    assert len(next(iter(__import__("csv").reader([first])))) == 16


def test_stations_tolerate_arrays_and_status_urls(tmp_path: Path) -> None:
    path = tmp_path / "stations.json"
    path.write_text(
        '{"@context": "x", "meta": {}, "items": ['
        '{"stationReference": "E1", "label": ["Kingston", "Kingston (old)"], "lat": [51.4, 51.41],'
        ' "long": -0.3, "RLOIid": ["1", "2"], "status": "http://environment.data.gov.uk/'
        'flood-monitoring/def/core/statusActive", "measures": {"@id": "m"}},'
        '{"stationReference": "E2", "label": "Reading", "lat": 51.45, "long": -0.97,'
        ' "measures": [{"@id": "a"}, {"@id": "b"}]}]}'
    )
    names, rows = load("flood-stations", [path], tmp_path)
    stations = {r[0]: dict(zip(names, r, strict=True)) for r in rows}
    assert stations["E1"]["label"] == "Kingston"
    assert stations["E1"]["lat"] == pytest.approx(51.4)
    assert stations["E1"]["status"] == "Active"
    assert stations["E1"]["measure_count"] == 1
    assert stations["E2"]["measure_count"] == 2
    assert stations["E2"]["status"] is None


def test_readings_take_the_first_of_two_values(tmp_path: Path) -> None:
    path = tmp_path / "readings-full-2024-01-01.csv"
    base = "http://environment.data.gov.uk/flood-monitoring/id/measures/"
    path.write_text(
        "dateTime,measure,value\n"
        f"2024-01-01T00:15:00Z,{base}1029TH-level-stage-i-15_min-mASD,0.395|0.396\n"
        f"2024-01-01T00:30:00Z,{base}E2043-flow--i-15_min-m3_s,12.5\n"
    )
    names, rows = load("flood-readings", [path], tmp_path)
    values = {r[names.index("measure_id")]: r for r in rows}
    stage = values["1029TH-level-stage-i-15_min-mASD"]
    assert stage[names.index("value")] == pytest.approx(0.395)
    assert stage[names.index("station_reference")] == "1029TH"
    assert stage[names.index("unit")] == "mASD"
    assert values["E2043-flow--i-15_min-m3_s"][names.index("parameter")] == "flow"


def test_risk_bands_are_normalised(tmp_path: Path) -> None:
    path = tmp_path / "rofrs.csv"
    path.write_text(
        "WKT,prob_4band,suitabilit,pub_date,st_area_sh,st_perimet\n"
        '"POLYGON ((0 0,50 0,50 50,0 50,0 0))",VERY LOW ,Town to Street,2024/03/28,2500,200\n'
        '"POLYGON ((0 0,50 0,50 50,0 50,0 0))",High,County to Town,28/03/2024,2500,200\n'
    )
    names, rows = load("flood-risk", [path], tmp_path)
    assert sorted(r[names.index("risk_band")] for r in rows) == ["High", "Very Low"]
    assert {str(r[names.index("pub_date")]) for r in rows} == {"2024-03-28"}


def test_companies_header_quirks_and_dates(tmp_path: Path) -> None:
    files = companies.generate(tmp_path / "src", 10, 5)
    header = files[0].read_text().splitlines()[0]
    assert '" CompanyNumber"' in header, "the real header's leading spaces are kept"
    assert len(companies.HEADER) == 55
    names, rows = load("companies", files, tmp_path)
    assert len(names) == 55
    first = dict(zip(names, rows[0], strict=True))
    assert first["company_number"] == "00000001" or first["company_number"].startswith("SC")
    assert first["incorporation_date"] is not None
    assert isinstance(first["accounts_account_ref_month"], int)


def test_companies_parts_at_scale_boundaries(tmp_path: Path) -> None:
    assert companies.PART_ROWS == 850_000
    assert companies.column_name(" RegAddress.PostTown") == "reg_address_post_town"
    assert companies.column_name("SICCode.SicText_1") == "siccode_sic_text_1"


def test_flood_warning_envelope_is_the_api_shape(tmp_path: Path) -> None:
    import json

    (path,) = flood.generate_warnings(tmp_path, 5, 1)
    document = json.loads(path.read_text())
    assert set(document) == {"@context", "meta", "items"}
    assert {"floodAreaID", "severity", "severityLevel", "floodArea"} <= set(document["items"][0])
