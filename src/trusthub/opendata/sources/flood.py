"""Environment Agency flood data: warnings, monitoring stations, readings and long-term risk bands.

Shapes follow the Real-Time Flood Monitoring API (``/id/floods`` and ``/id/stations`` JSON, with
``items`` inside an envelope), its daily readings archive (``readings-full-YYYY-MM-DD.csv``) and
the Risk of Flooding from Rivers and Sea layer exported to CSV with its geometry as WKT. Known
quirks tolerated: station fields that are sometimes arrays instead of single values (``label``,
``lat``, ``RLOIid``…), readings whose value holds two numbers joined by ``|``, status given as a
URL, and risk bands in inconsistent case and spacing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

import duckdb

from trusthub.opendata.schemas import (
    ChartSpec,
    DatasetCreate,
    FieldSpec,
    ResourceSpec,
    VersionCreate,
)
from trusthub.opendata.sources import Kind
from trusthub.opendata.sources.sqlgen import copy_csv, draw, file_list, pick, uniforms
from trusthub.opendata.storage import quote_literal
from trusthub.registry.models import FieldClassification

API = "http://environment.data.gov.uk/flood-monitoring"
AREAS = [
    "Wessex",
    "Thames",
    "Yorkshire",
    "Devon and Cornwall",
    "East Anglia",
    "Cumbria and Lancashire",
    "Hertfordshire and North London",
    "Kent S London and E Sussex",
]
COUNTIES = [
    "Wiltshire",
    "Oxfordshire",
    "North Yorkshire",
    "Devon",
    "Norfolk",
    "Cumbria",
    "Hertfordshire",
    "Kent",
    "Somerset",
    "Lincolnshire",
]
RIVERS = [
    "River Thames",
    "River Avon",
    "River Severn",
    "River Ouse",
    "River Eden",
    "River Exe",
    "River Wensum",
    "River Lea",
    "River Medway",
    "Tidal Trent",
]
SEVERITIES = [
    (1, "Severe Flood Warning"),
    (2, "Flood Warning"),
    (3, "Flood Alert"),
    (4, "Warning no longer in force"),
]
PARAMETERS = [
    ("level", "stage", "mASD"),
    ("level", "downstage", "mAOD"),
    ("flow", "", "m3_s"),
    ("rainfall", "", "mm"),
]
BANDS = ["High", "Medium", "Low", "Very Low"]
META = {
    "publisher": "Environment Agency",
    "licence": "http://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/",
    "documentation": "http://environment.data.gov.uk/flood-monitoring/doc/reference",
    "version": "0.9",
    "comment": "Status: Beta service",
}


Progress = Callable[[int], None]


def _done(paths: list[Path], rows: int, progress: Progress | None) -> list[Path]:
    if progress:
        progress(rows)
    return paths


def _non_personal(columns: Sequence[tuple[str, str, str]]) -> list[FieldSpec]:
    return [
        FieldSpec(name=n, label=label, notes=notes, classification=FieldClassification.NON_PERSONAL)
        for n, label, notes in columns
    ]


def _envelope(items_sql: str, target: Path) -> Path:
    """Write ``{"@context", "meta", "items": [...]}`` as the API does, items made by DuckDB."""
    target.parent.mkdir(parents=True, exist_ok=True)
    lines = target.with_suffix(".items.jsonl")
    with duckdb.connect(":memory:") as connection:
        connection.execute(f"COPY ({items_sql}) TO {quote_literal(str(lines))} (FORMAT json)")
    with target.open("w", encoding="utf-8") as out, lines.open(encoding="utf-8") as items:
        out.write(json.dumps({"@context": f"{API}/meta/context.jsonld", "meta": META})[:-1])
        out.write(', "items": [\n')
        for n, line in enumerate(items):
            out.write((",\n" if n else "") + line.rstrip("\n"))
        out.write("\n]}\n")
    lines.unlink()
    return target


def _items(paths: Sequence[Path]) -> str:
    """Each item of each envelope file as one JSON value; the envelope is one object per file."""
    largest = max(p.stat().st_size for p in paths) + 1024
    return (
        "(SELECT unnest(from_json(json->'$.items', '[\"JSON\"]')) AS j FROM read_json_objects("
        f"{file_list(paths)}, format = 'auto', maximum_object_size = {largest}))"
    )


def _first(path: str) -> str:
    """A field that the API sometimes gives as an array of values: take the first."""
    return (
        f"CASE WHEN json_type(j, '{path}') = 'ARRAY' THEN json_extract_string(j, '{path}[0]') "
        f"ELSE json_extract_string(j, '{path}') END"
    )


# --- flood warnings -----------------------------------------------------------------------------

WARNING_COLUMNS = [
    ("flood_area_id", "Flood area", "The flood area's notation, e.g. 112WAFTUBA."),
    ("description", "Description", "The area the warning covers."),
    ("ea_area_name", "EA area", ""),
    ("county", "County", "Counties the flood area touches."),
    ("river_or_sea", "River or sea", ""),
    (
        "severity",
        "Severity",
        "Severe Flood Warning, Flood Warning, Flood Alert, or no longer in force.",
    ),
    ("severity_level", "Severity level", "1 (most severe) to 4."),
    ("is_tidal", "Tidal", ""),
    ("message", "Message", "The message issued with the warning."),
    ("time_raised", "Raised", ""),
    ("time_severity_changed", "Severity changed", ""),
    ("time_message_changed", "Message changed", ""),
]


def generate_warnings(
    out_dir: Path, rows: int, seed: int, progress: Progress | None = None
) -> list[Path]:
    u = uniforms(seed)
    level = f"(CASE WHEN {u(1)} < 0.05 THEN 1 WHEN {u(1)} < 0.3 THEN 2 WHEN {u(1)} < 0.85 THEN 3 ELSE 4 END)"
    severity = (
        "(CASE lvl "
        + " ".join(f"WHEN {n} THEN {quote_literal(s)}" for n, s in SEVERITIES)
        + " END)"
    )
    items = f"""
    SELECT "@id", description, eaAreaName, eaRegionName, floodArea, floodAreaID, isTidal, message,
           {severity} AS severity, lvl AS severityLevel, timeMessageChanged, timeRaised,
           timeSeverityChanged
    FROM (
        SELECT '{API}/id/floods/' || code AS "@id", river || ' at ' || county AS description,
               area AS eaAreaName, 'No longer used' AS eaRegionName,
               {{'@id': '{API}/id/floodAreas/' || code, 'county': county, 'notation': code,
                 'polygon': '{API}/id/floodAreas/' || code || '/polygon', 'riverOrSea': river}}
                 AS floodArea,
               code AS floodAreaID, {u(2)} < 0.15 AS isTidal,
               'Flooding is possible on the ' || river || '. Be prepared.' AS message,
               {level} AS lvl,
               strftime(raised + INTERVAL (({u(3)} * 3600)::INTEGER) SECOND, '%Y-%m-%dT%H:%M:%S') AS timeMessageChanged,
               strftime(raised, '%Y-%m-%dT%H:%M:%S') AS timeRaised,
               strftime(raised + INTERVAL (({u(4)} * 7200)::INTEGER) SECOND, '%Y-%m-%dT%H:%M:%S') AS timeSeverityChanged
        FROM (
            SELECT i, {pick(seed, 5, AREAS)} AS area, {pick(seed, 6, COUNTIES)} AS county,
                   {pick(seed, 7, RIVERS)} AS river,
                   (100 + {draw(seed, 8)} % 900)::VARCHAR || 'WAF'
                     || chr(65 + ({draw(seed, 9)} % 26)::INTEGER) || 'X'
                     || (i % 1000)::VARCHAR AS code,
                   TIMESTAMP '2015-01-01' + INTERVAL (({u(10)} * 3650 * 86400)::BIGINT) SECOND AS raised
            FROM range({int(rows)}) AS t(i)
        )
    )
    """
    return _done([_envelope(items, out_dir / "floods.json")], rows, progress)


def warnings_select(paths: Sequence[Path]) -> dict[str, str]:
    sql = f"""
    SELECT json_extract_string(j, '$.floodAreaID') AS flood_area_id,
           json_extract_string(j, '$.description') AS description,
           json_extract_string(j, '$.eaAreaName') AS ea_area_name,
           {_first("$.floodArea.county")} AS county,
           {_first("$.floodArea.riverOrSea")} AS river_or_sea,
           trim(json_extract_string(j, '$.severity')) AS severity,
           TRY_CAST(json_extract_string(j, '$.severityLevel') AS INTEGER) AS severity_level,
           TRY_CAST(json_extract_string(j, '$.isTidal') AS BOOLEAN) AS is_tidal,
           json_extract_string(j, '$.message') AS message,
           TRY_CAST(json_extract_string(j, '$.timeRaised') AS TIMESTAMP) AS time_raised,
           TRY_CAST(json_extract_string(j, '$.timeSeverityChanged') AS TIMESTAMP) AS time_severity_changed,
           TRY_CAST(json_extract_string(j, '$.timeMessageChanged') AS TIMESTAMP) AS time_message_changed
    FROM {_items(paths)}
    """
    return {"flood-warnings": sql}


def warnings_manifest(organisation: str = "environment-agency") -> VersionCreate:
    return VersionCreate(
        dataset=DatasetCreate(
            name="flood-warnings",
            organisation=organisation,
            title="Flood warnings and alerts",
            description="Flood warnings and alerts issued by the Environment Agency for England.",
            keywords=["flooding", "flood warnings", "environment"],
            spatial="England",
            update_frequency="continuous",
            chart=ChartSpec(
                title="Flood warnings by severity",
                resource="flood-warnings",
                kind="bar",
                x="severity",
                agg="count",
                y_label="Warnings",
            ),
        ),
        notes="Flood warnings feed.",
        resources=[
            ResourceSpec(
                name="flood-warnings",
                description="One row per warning or alert.",
                fields=_non_personal(WARNING_COLUMNS),
                sort_by=["severity_level", "time_raised"],
            )
        ],
    )


# --- monitoring stations ------------------------------------------------------------------------

STATION_COLUMNS = [
    ("station_reference", "Station reference", ""),
    ("label", "Label", "The station's name; the first one where the API gives several."),
    ("river_name", "River", ""),
    ("catchment_name", "Catchment", ""),
    ("town", "Town", ""),
    ("lat", "Latitude", "WGS84."),
    ("long", "Longitude", "WGS84."),
    ("easting", "Easting", "British National Grid."),
    ("northing", "Northing", "British National Grid."),
    ("date_opened", "Opened", ""),
    ("status", "Status", "Active, Closed or Suspended (the API gives a URL)."),
    ("measure_count", "Measures", "How many measures the station reports."),
]


def generate_stations(
    out_dir: Path, rows: int, seed: int, progress: Progress | None = None
) -> list[Path]:
    u = uniforms(seed)
    items = f"""
    SELECT '{API}/id/stations/' || ref AS "@id",
           CASE WHEN {u(1)} < 0.02 THEN to_json([label, label || ' (old)']) ELSE to_json(label) END AS label,
           CASE WHEN {u(2)} < 0.02 THEN to_json([lat, lat + 0.001]) ELSE to_json(lat) END AS lat,
           to_json(long) AS long, easting, northing, river AS riverName,
           catchment AS catchmentName, town, ref AS stationReference, ref AS notation,
           '{API}/def/core/status' || status AS status, opened AS dateOpened,
           list_transform(range(1 + ({draw(seed, 3)} % 3)::INTEGER),
                          lambda x: {{'@id': '{API}/id/measures/' || ref || '-level-stage-i-15_min-m'}}) AS measures
    FROM (
        SELECT i, (1000 + i)::VARCHAR || 'TH' AS ref,
               {pick(seed, 4, RIVERS)} || ' at ' || {pick(seed, 5, COUNTIES)} AS label,
               round(50.0 + {u(6)} * 5.5, 6) AS lat, round(-5.5 + {u(7)} * 7.2, 6) AS long,
               (100000 + {draw(seed, 8)} % 550000)::INTEGER AS easting,
               (10000 + {draw(seed, 9)} % 640000)::INTEGER AS northing,
               {pick(seed, 10, RIVERS)} AS river, {pick(seed, 11, AREAS)} AS catchment,
               {pick(seed, 12, COUNTIES)} AS town,
               {pick(seed, 13, ["Active", "Active", "Active", "Closed", "Suspended"])} AS status,
               strftime(DATE '1950-01-01' + ({draw(seed, 14)} % 25000)::INTEGER, '%Y-%m-%d') AS opened
        FROM range({int(rows)}) AS t(i)
    )
    """
    return _done([_envelope(items, out_dir / "stations.json")], rows, progress)


def stations_select(paths: Sequence[Path]) -> dict[str, str]:
    sql = f"""
    SELECT json_extract_string(j, '$.stationReference') AS station_reference,
           {_first("$.label")} AS label,
           {_first("$.riverName")} AS river_name,
           {_first("$.catchmentName")} AS catchment_name,
           {_first("$.town")} AS town,
           TRY_CAST({_first("$.lat")} AS DOUBLE) AS lat,
           TRY_CAST({_first("$.long")} AS DOUBLE) AS long,
           TRY_CAST({_first("$.easting")} AS INTEGER) AS easting,
           TRY_CAST({_first("$.northing")} AS INTEGER) AS northing,
           TRY_CAST({_first("$.dateOpened")} AS DATE) AS date_opened,
           regexp_extract({_first("$.status")}, '(Active|Closed|Suspended|ukcmf)$') AS status,
           CASE json_type(j, '$.measures') WHEN 'ARRAY' THEN json_array_length(j, '$.measures')
                WHEN 'OBJECT' THEN 1 ELSE 0 END AS measure_count
    FROM {_items(paths)}
    """
    return {"stations": sql}


def stations_manifest(organisation: str = "environment-agency") -> VersionCreate:
    return VersionCreate(
        dataset=DatasetCreate(
            name="flood-monitoring-stations",
            organisation=organisation,
            title="Flood monitoring stations",
            description="River level, flow, tide and rainfall stations of the Environment Agency.",
            keywords=["flooding", "rivers", "monitoring stations"],
            spatial="England",
            update_frequency="weekly",
        ),
        resources=[
            ResourceSpec(
                name="stations",
                description="One row per station.",
                fields=_non_personal(STATION_COLUMNS),
                sort_by=["station_reference"],
            )
        ],
    )


# --- readings -----------------------------------------------------------------------------------

READING_COLUMNS = [
    ("date_time", "Time", "UTC."),
    ("measure_id", "Measure", "The measure's notation, e.g. 1029TH-level-stage-i-15_min-mASD."),
    ("station_reference", "Station", ""),
    ("parameter", "Parameter", "level, flow, rainfall, …"),
    ("unit", "Unit", ""),
    ("value", "Value", "The first value where the archive gives two joined by '|'."),
]


def generate_readings(
    out_dir: Path, rows: int, seed: int, progress: Progress | None = None
) -> list[Path]:
    u = uniforms(seed)
    stations = max(1, rows // 96)
    parameter = pick(
        seed, 1, [f"{p}-{q}-i-15_min-{unit}".replace("--", "-") for p, q, unit in PARAMETERS], "s"
    )
    sql = f"""
    SELECT strftime(TIMESTAMP '2024-01-01' + INTERVAL (15 * (i // {stations})) MINUTE, '%Y-%m-%dT%H:%M:%SZ') AS dateTime,
           '{API}/id/measures/' || (1000 + s)::VARCHAR || 'TH-' || {parameter} AS measure,
           CASE WHEN {u(2)} < 0.001
                THEN round(v, 3)::VARCHAR || '|' || round(v + 0.001, 3)::VARCHAR
                ELSE round(v, 3)::VARCHAR END AS value
    FROM (SELECT i, i % {stations} AS s, 0.2 + {u(3)} * 3.0 AS v FROM range({int(rows)}) AS t(i))
    """
    target = out_dir / "readings-full-2024-01-01.csv"
    return _done([copy_csv(sql, target, header=True, force_quote=False)], rows, progress)


def readings_select(paths: Sequence[Path]) -> dict[str, str]:
    sql = f"""
    SELECT TRY_CAST(replace("dateTime", 'Z', '') AS TIMESTAMP) AS date_time,
           regexp_extract(measure, '/measures/(.*)$', 1) AS measure_id,
           split_part(regexp_extract(measure, '/measures/(.*)$', 1), '-', 1) AS station_reference,
           split_part(regexp_extract(measure, '/measures/(.*)$', 1), '-', 2) AS parameter,
           regexp_extract(measure, '-([^-]+)$', 1) AS unit,
           TRY_CAST(split_part(value, '|', 1) AS DOUBLE) AS value
    FROM read_csv({file_list(paths)}, header = true,
                  columns = {{'dateTime': 'VARCHAR', 'measure': 'VARCHAR', 'value': 'VARCHAR'}},
                  null_padding = true, strict_mode = false)
    """
    return {"readings": sql}


def readings_manifest(organisation: str = "environment-agency") -> VersionCreate:
    return VersionCreate(
        dataset=DatasetCreate(
            name="flood-monitoring-readings",
            organisation=organisation,
            title="Flood monitoring readings",
            description="Every 15-minute reading of river level, flow and rainfall, from the daily archive.",
            keywords=["flooding", "river levels", "rainfall"],
            spatial="England",
            update_frequency="daily",
            chart=ChartSpec(
                title="Mean reading by day and parameter",
                resource="readings",
                kind="line",
                x="date_time",
                bucket="month",
                y="value",
                agg="mean",
                series="parameter",
            ),
        ),
        resources=[
            ResourceSpec(
                name="readings",
                description="One row per reading.",
                fields=_non_personal(READING_COLUMNS),
                sort_by=["station_reference", "date_time"],
            )
        ],
    )


# --- long-term flood risk -----------------------------------------------------------------------

RISK_COLUMNS = [
    ("wkt", "Geometry", "The 50 m cell, as well-known text in British National Grid (EPSG:27700)."),
    ("risk_band", "Risk band", "High, Medium, Low or Very Low chance of flooding each year."),
    ("suitability", "Suitability", "The scale the assessment is suitable for."),
    ("pub_date", "Published", ""),
    ("area_m2", "Area", "Square metres."),
    ("perimeter_m", "Perimeter", "Metres."),
]


def generate_risk(
    out_dir: Path, rows: int, seed: int, progress: Progress | None = None
) -> list[Path]:
    u = uniforms(seed)
    band = f"(CASE WHEN {u(1)} < 0.1 THEN 'High' WHEN {u(1)} < 0.35 THEN 'Medium' WHEN {u(1)} < 0.7 THEN 'Low' ELSE 'Very Low' END)"
    sql = f"""
    SELECT 'POLYGON ((' || x || ' ' || y || ', ' || (x + 50) || ' ' || y || ', ' || (x + 50) || ' '
             || (y + 50) || ', ' || x || ' ' || (y + 50) || ', ' || x || ' ' || y || '))' AS WKT,
           CASE WHEN {u(2)} < 0.01 THEN upper({band}) || ' ' ELSE {band} END AS prob_4band,
           {pick(seed, 3, ["Town to Street", "County to Town", "National to County"])} AS suitabilit,
           '2024/03/28' AS pub_date, 2500.0 AS st_area_sh, 200.0 AS st_perimet
    FROM (SELECT i, 100000 + ({draw(seed, 4)} % 11000) * 50 AS x,
                 10000 + ({draw(seed, 5)} % 12800) * 50 AS y FROM range({int(rows)}) AS t(i))
    """
    target = out_dir / "rofrs.csv"
    return _done([copy_csv(sql, target, header=True, force_quote=False)], rows, progress)


def risk_select(paths: Sequence[Path]) -> dict[str, str]:
    sql = f"""
    SELECT "WKT" AS wkt,
           CASE lower(trim(prob_4band)) WHEN 'high' THEN 'High' WHEN 'medium' THEN 'Medium'
                WHEN 'low' THEN 'Low' WHEN 'very low' THEN 'Very Low' END AS risk_band,
           trim(suitabilit) AS suitability,
           coalesce(TRY_STRPTIME(pub_date, '%Y/%m/%d'), TRY_STRPTIME(pub_date, '%d/%m/%Y'),
                    TRY_CAST(pub_date AS TIMESTAMP))::DATE AS pub_date,
           TRY_CAST(st_area_sh AS DOUBLE) AS area_m2,
           TRY_CAST(st_perimet AS DOUBLE) AS perimeter_m
    FROM read_csv({file_list(paths)}, header = true, all_varchar = true, null_padding = true,
                  strict_mode = false)
    """
    return {"risk-bands": sql}


def risk_manifest(organisation: str = "environment-agency") -> VersionCreate:
    return VersionCreate(
        dataset=DatasetCreate(
            name="flood-risk-rivers-and-sea",
            organisation=organisation,
            title="Risk of Flooding from Rivers and Sea",
            description="The chance of flooding each year from rivers and the sea, in 50 m cells, "
            "in four bands, taking flood defences into account.",
            keywords=["flooding", "flood risk", "planning"],
            spatial="England",
            update_frequency="quarterly",
            chart=ChartSpec(
                title="Cells by risk band",
                resource="risk-bands",
                kind="bar",
                x="risk_band",
                agg="count",
                y_label="50 m cells",
            ),
        ),
        resources=[
            ResourceSpec(
                name="risk-bands",
                description="One row per 50 m cell at risk.",
                fields=_non_personal(RISK_COLUMNS),
                sort_by=["risk_band"],
            )
        ],
    )


KINDS = [
    Kind(
        "flood-warnings",
        "Environment Agency flood warnings (/id/floods JSON)",
        20_000,
        generate_warnings,
        warnings_manifest,
        warnings_select,
    ),
    Kind(
        "flood-stations",
        "Environment Agency monitoring stations (/id/stations JSON)",
        5_000,
        generate_stations,
        stations_manifest,
        stations_select,
    ),
    Kind(
        "flood-readings",
        "Environment Agency readings archive (readings-full-*.csv)",
        500_000,
        generate_readings,
        readings_manifest,
        readings_select,
    ),
    Kind(
        "flood-risk",
        "Risk of Flooding from Rivers and Sea (CSV export with WKT)",
        1_000_000,
        generate_risk,
        risk_manifest,
        risk_select,
    ),
]
