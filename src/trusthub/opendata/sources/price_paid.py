"""HM Land Registry Price Paid Data: 16 columns, no header, every field quoted, ~30M rows.

The real file (pp-complete.csv) has a transaction id in braces, dates as ``YYYY-MM-DD 00:00``,
empty fields as ``""``, commas inside quoted addresses, and missing postcodes; monthly update
files add change (C) and delete (D) records. The loader keeps all 16 columns and derives two that
people ask by: the postcode district (``SW1A``) and the region (from the county).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

from trusthub.opendata.schemas import (
    ChartSpec,
    DatasetCreate,
    FieldSpec,
    ResourceSpec,
    VersionCreate,
)
from trusthub.opendata.sources import Kind
from trusthub.opendata.sources.sqlgen import copy_csv, draw, file_list, non_empty, pick, uniforms
from trusthub.opendata.storage import quote_literal
from trusthub.registry.models import FieldClassification

COLUMNS = [
    (
        "transaction_id",
        "Transaction unique identifier",
        "A reference number generated automatically for each published sale.",
    ),
    ("price", "Price", "Sale price stated on the transfer deed, in pounds."),
    (
        "date_of_transfer",
        "Date of transfer",
        "Date when the sale was completed, as stated on the transfer deed.",
    ),
    ("postcode", "Postcode", "The postcode used at the time of the original transaction."),
    (
        "property_type",
        "Property type",
        "D detached, S semi-detached, T terraced, F flats/maisonettes, O other.",
    ),
    ("old_new", "Old/New", "Y a newly built property, N an established residential building."),
    ("duration", "Duration", "Tenure: F freehold, L leasehold."),
    ("paon", "PAON", "Primary addressable object name: usually the house number or name."),
    ("saon", "SAON", "Secondary addressable object name, e.g. a flat number."),
    ("street", "Street", ""),
    ("locality", "Locality", ""),
    ("town_city", "Town/City", ""),
    ("district", "District", "Local authority district."),
    ("county", "County", ""),
    (
        "ppd_category_type",
        "PPD category type",
        "A standard price paid entry, B additional price paid entry.",
    ),
    ("record_status", "Record status", "A addition, C change, D delete (monthly files only)."),
]
DERIVED = [
    (
        "postcode_district",
        "Postcode district",
        "Derived: the outward code of the postcode, e.g. SW1A.",
    ),
    ("region", "Region", "Derived from the county: the ITL1 region of England and Wales."),
]

# county, local authority district, town, region, postcode areas, price level (England = 1)
PLACES: list[tuple[str, str, str, str, str, float]] = [
    ("GREATER LONDON", "CITY OF WESTMINSTER", "LONDON", "London", "SW W WC NW", 3.2),
    ("GREATER LONDON", "CAMDEN", "LONDON", "London", "NW N WC", 2.9),
    ("GREATER LONDON", "SOUTHWARK", "LONDON", "London", "SE", 2.0),
    ("GREATER LONDON", "NEWHAM", "LONDON", "London", "E", 1.5),
    ("GREATER LONDON", "CROYDON", "CROYDON", "London", "CR SE", 1.4),
    ("GREATER LONDON", "BARNET", "BARNET", "London", "EN N NW", 1.9),
    ("SURREY", "GUILDFORD", "GUILDFORD", "South East", "GU", 1.8),
    ("KENT", "MAIDSTONE", "MAIDSTONE", "South East", "ME", 1.2),
    ("KENT", "CANTERBURY", "CANTERBURY", "South East", "CT", 1.2),
    ("HAMPSHIRE", "WINCHESTER", "WINCHESTER", "South East", "SO", 1.6),
    ("OXFORDSHIRE", "OXFORD", "OXFORD", "South East", "OX", 1.7),
    ("EAST SUSSEX", "BRIGHTON AND HOVE", "BRIGHTON", "South East", "BN", 1.5),
    ("CAMBRIDGESHIRE", "CAMBRIDGE", "CAMBRIDGE", "East of England", "CB", 1.6),
    ("NORFOLK", "NORWICH", "NORWICH", "East of England", "NR", 0.95),
    ("ESSEX", "CHELMSFORD", "CHELMSFORD", "East of England", "CM", 1.3),
    ("HERTFORDSHIRE", "ST ALBANS", "ST ALBANS", "East of England", "AL", 1.9),
    ("BRISTOL", "CITY OF BRISTOL", "BRISTOL", "South West", "BS", 1.2),
    ("DEVON", "EXETER", "EXETER", "South West", "EX", 1.1),
    ("CORNWALL", "CORNWALL", "TRURO", "South West", "TR PL", 1.0),
    ("DORSET", "BOURNEMOUTH, CHRISTCHURCH AND POOLE", "BOURNEMOUTH", "South West", "BH", 1.2),
    ("WEST MIDLANDS", "BIRMINGHAM", "BIRMINGHAM", "West Midlands", "B", 0.85),
    ("WEST MIDLANDS", "COVENTRY", "COVENTRY", "West Midlands", "CV", 0.8),
    ("HEREFORDSHIRE", "COUNTY OF HEREFORDSHIRE", "HEREFORD", "West Midlands", "HR", 1.0),
    ("NOTTINGHAMSHIRE", "NOTTINGHAM", "NOTTINGHAM", "East Midlands", "NG", 0.75),
    ("LEICESTERSHIRE", "LEICESTER", "LEICESTER", "East Midlands", "LE", 0.8),
    ("DERBYSHIRE", "DERBY", "DERBY", "East Midlands", "DE", 0.75),
    ("GREATER MANCHESTER", "MANCHESTER", "MANCHESTER", "North West", "M", 0.75),
    ("MERSEYSIDE", "LIVERPOOL", "LIVERPOOL", "North West", "L", 0.65),
    ("CUMBRIA", "CUMBERLAND", "CARLISLE", "North West", "CA", 0.7),
    ("LANCASHIRE", "PRESTON", "PRESTON", "North West", "PR", 0.65),
    ("WEST YORKSHIRE", "LEEDS", "LEEDS", "Yorkshire and The Humber", "LS", 0.8),
    ("SOUTH YORKSHIRE", "SHEFFIELD", "SHEFFIELD", "Yorkshire and The Humber", "S", 0.7),
    ("NORTH YORKSHIRE", "YORK", "YORK", "Yorkshire and The Humber", "YO", 1.0),
    (
        "CITY OF KINGSTON UPON HULL",
        "CITY OF KINGSTON UPON HULL",
        "HULL",
        "Yorkshire and The Humber",
        "HU",
        0.5,
    ),
    ("TYNE AND WEAR", "NEWCASTLE UPON TYNE", "NEWCASTLE UPON TYNE", "North East", "NE", 0.6),
    ("COUNTY DURHAM", "COUNTY DURHAM", "DURHAM", "North East", "DH DL", 0.5),
    ("CARDIFF", "CARDIFF", "CARDIFF", "Wales", "CF", 0.85),
    ("SWANSEA", "SWANSEA", "SWANSEA", "Wales", "SA", 0.65),
    ("GWYNEDD", "GWYNEDD", "BANGOR", "Wales", "LL", 0.7),
    ("POWYS", "POWYS", "BRECON", "Wales", "LD SY", 0.75),
]
STREETS = [
    "HIGH STREET",
    "STATION ROAD",
    "CHURCH LANE",
    "MILL LANE",
    "VICTORIA ROAD",
    "GREEN LANE",
    "MANOR ROAD",
    "PARK AVENUE",
    "THE AVENUE",
    "QUEENS ROAD",
    "NEW ROAD",
    "GROVE ROAD",
    "KINGS ROAD",
    "SCHOOL LANE",
    "THE GREEN",
    "ALBERT ROAD",
    "CHESTNUT CLOSE",
    "ORCHARD WAY",
    "MEADOW VIEW",
    "WINDSOR ROAD",
    "YORK ROAD",
    "RECTORY LANE",
    "BRIDGE STREET",
    "NORTH STREET",
]
HOUSE_NAMES = ["ROSE COTTAGE", "THE OLD RECTORY", "FERN LODGE", "THE BARN", "IVY HOUSE"]
LOCALITIES = ["", "", "", "", "", "", "UPPER TOWN", "WESTFIELD", "NEWBURY PARK", "OLD VILLAGE"]
DISTRICTS = 40
"""Districts per postcode area: about 2,400 in all, as England and Wales have (SW1A, M1, …)."""
START_DAY = "1995-01-01"
DAYS = 11_322  # to the end of 2025
BASE_PRICE = 62_000  # England and Wales mean in 1995, roughly


def _places_sql() -> str:
    rows = ", ".join(
        f"({n}, {quote_literal(c)}, {quote_literal(d)}, {quote_literal(t)}, {quote_literal(r)}, "
        f"{quote_literal(a)}, {f})"
        for n, (c, d, t, r, a, f) in enumerate(PLACES)
    )
    return f"(VALUES {rows}) AS places(idx, county, district, town, region, areas, level)"


def generator_sql(start: int, end: int, seed: int) -> str:
    """Rows shaped like pp-complete.csv, made by DuckDB in parallel and repeatable for a seed."""
    u = uniforms(seed)
    box_muller = f"sqrt(-2 * ln(1 - {u(4)})) * cos(2 * pi() * {u(5)})"
    return f"""
    WITH base AS (
        SELECT i, places.*, ({u(3)} * {DAYS})::INTEGER AS day,
               ({u(6)} * 100)::INTEGER AS kind_roll, md5(i::VARCHAR || '-{int(seed)}') AS h,
               string_split(places.areas, ' ') AS area_list
        FROM range({int(start)}, {int(end)}) AS t(i)
        JOIN {_places_sql()} ON places.idx = {draw(seed, 1)} % {len(PLACES)}
    ), shaped AS (
        SELECT *, CASE WHEN kind_roll < 25 THEN 'D' WHEN kind_roll < 52 THEN 'S'
                       WHEN kind_roll < 80 THEN 'T' WHEN kind_roll < 98 THEN 'F' ELSE 'O' END AS ptype,
               date '{START_DAY}' + day AS sold
        FROM base AS p
    )
    SELECT
        '{{' || upper(substr(h, 1, 8) || '-' || substr(h, 9, 4) || '-' || substr(h, 13, 4) || '-'
              || substr(h, 17, 4) || '-' || substr(h, 21, 12)) || '}}' AS transaction_id,
        (greatest(1000, round({BASE_PRICE} * level * exp(0.058 * day / 365.25)
            * CASE ptype WHEN 'D' THEN 1.6 WHEN 'S' THEN 1.0 WHEN 'T' THEN 0.85
                         WHEN 'F' THEN 0.8 ELSE 1.3 END
            * exp(0.42 * {box_muller}), -2)))::BIGINT::VARCHAR AS price,
        strftime(sold, '%Y-%m-%d 00:00') AS date_of_transfer,
        CASE WHEN {u(7)} < 0.002 THEN ''
             ELSE area_list[1 + ({draw(seed, 8)} % len(area_list))::INTEGER]
                  || (1 + {draw(seed, 9)} % {DISTRICTS})::VARCHAR || ' '
                  || ({draw(seed, 10)} % 10)::VARCHAR
                  || chr(65 + ({draw(seed, 11)} % 26)::INTEGER)
                  || chr(65 + ({draw(seed, 12)} % 26)::INTEGER) END AS postcode,
        ptype AS property_type,
        CASE WHEN {u(13)} < 0.1 THEN 'Y' ELSE 'N' END AS old_new,
        CASE WHEN ptype = 'F' THEN 'L' WHEN {u(14)} < 0.08 THEN 'L' ELSE 'F' END AS duration,
        CASE WHEN {u(15)} < 0.03 THEN {pick(seed, 16, HOUSE_NAMES)}
             WHEN {u(17)} < 0.01 THEN (1 + {draw(seed, 18)} % 40)::VARCHAR || ', '
                  || {pick(seed, 19, HOUSE_NAMES)}
             ELSE (1 + {draw(seed, 20)} % 180)::VARCHAR END AS paon,
        CASE WHEN ptype = 'F' THEN 'FLAT ' || (1 + {draw(seed, 21)} % 30)::VARCHAR
             ELSE '' END AS saon,
        {pick(seed, 22, STREETS)} AS street,
        {pick(seed, 23, LOCALITIES)} AS locality,
        town AS town_city,
        district,
        county,
        CASE WHEN {u(24)} < 0.05 THEN 'B' ELSE 'A' END AS ppd_category_type,
        'A' AS record_status
    FROM shaped
    ORDER BY i
    """


CHUNK_ROWS = 2_000_000


def generate(
    out_dir: Path, rows: int, seed: int, progress: Callable[[int], None] | None = None
) -> list[Path]:
    """Write ``pp-complete.csv`` as HM Land Registry publishes it: unheaded, every field quoted.

    Made in chunks that are appended in order (an unheaded CSV concatenates), so that progress
    can be shown and memory stays small at 30 million rows.
    """
    target = out_dir / "pp-complete.csv"
    out_dir.mkdir(parents=True, exist_ok=True)
    with target.open("wb") as out:
        for start in range(0, max(rows, 1), CHUNK_ROWS):
            end = min(rows, start + CHUNK_ROWS)
            part = out_dir / f".pp-part-{start}.csv"
            copy_csv(generator_sql(start, end, seed), part, header=False, force_quote=True)
            with part.open("rb") as chunk:
                shutil.copyfileobj(chunk, out, 1 << 22)
            part.unlink()
            if progress:
                progress(end - start)
    return [target]


def _regions_sql() -> str:
    pairs = sorted({(c, r) for c, _, _, r, _, _ in PLACES})
    values = ", ".join(f"({quote_literal(c)}, {quote_literal(r)})" for c, r in pairs)
    return f"(VALUES {values}) AS regions(region_county, region_name)"


def load_sql(paths: Sequence[Path]) -> str:
    """Read the published files as they are: unheaded, quoted, with empty strings for nothing."""
    names = ", ".join(f"{quote_literal(n)}: 'VARCHAR'" for n, _, _ in COLUMNS)
    text = non_empty
    return f"""
    SELECT
        {text("transaction_id")} AS transaction_id,
        TRY_CAST(price AS INTEGER) AS price,
        TRY_CAST(substr(trim(date_of_transfer), 1, 10) AS DATE) AS date_of_transfer,
        {text("upper(postcode)")} AS postcode,
        {text("property_type")} AS property_type,
        {text("old_new")} AS old_new,
        {text("duration")} AS duration,
        {text("paon")} AS paon,
        {text("saon")} AS saon,
        {text("street")} AS street,
        {text("locality")} AS locality,
        {text("town_city")} AS town_city,
        {text("district")} AS district,
        {text("county")} AS county,
        {text("ppd_category_type")} AS ppd_category_type,
        {text("record_status")} AS record_status,
        NULLIF(split_part(upper(trim(postcode)), ' ', 1), '') AS postcode_district,
        regions.region_name AS region
    FROM read_csv({file_list(paths)}, header = false, columns = {{{names}}}, quote = '"',
                  escape = '"', delim = ',', null_padding = true, strict_mode = false,
                  parallel = true)
    LEFT JOIN {_regions_sql()} ON regions.region_county = upper(trim(county))
    """


def select(paths: Sequence[Path]) -> dict[str, str]:
    return {"price-paid": load_sql(paths)}


def manifest(organisation: str = "hm-land-registry") -> VersionCreate:
    fields = [
        FieldSpec(name=n, label=label, notes=notes, classification=FieldClassification.NON_PERSONAL)
        for n, label, notes in COLUMNS + DERIVED
    ]
    return VersionCreate(
        dataset=DatasetCreate(
            name="price-paid-data",
            organisation=organisation,
            title="Price Paid Data",
            description=(
                "Residential property sales in England and Wales that are sold for value and "
                "lodged with HM Land Registry for registration, since January 1995."
            ),
            keywords=["house prices", "property", "land registry", "housing"],
            temporal_start=None,
            spatial="England and Wales",
            update_frequency="monthly",
            chart=ChartSpec(
                title="Median price paid by month and region",
                resource="price-paid",
                kind="line",
                x="date_of_transfer",
                bucket="month",
                y="price",
                agg="median",
                series="region",
                y_label="Median price (£)",
            ),
        ),
        notes="Complete Price Paid Data.",
        resources=[
            ResourceSpec(
                name="price-paid",
                description="Every sale, one row each, with the derived postcode district and region.",
                fields=fields,
                sort_by=["postcode_district", "date_of_transfer"],
            )
        ],
    )


KIND = Kind(
    name="price-paid",
    summary="HM Land Registry Price Paid Data (pp-complete.csv, unheaded, 16 columns)",
    default_rows=30_000_000,
    generate=generate,
    manifest=manifest,
    select=select,
)
